"""How the local RDS endpoint names resolve: a hosts file in the state directory, read by
`nss_wrapper <https://cwrap.org/nss_wrapper.html>`_ (Debian's ``libnss-wrapper``, which
PostgreSQL's own test suite uses) in every process started with :func:`resolver_env`'s
variables (``LD_PRELOAD=libnss_wrapper.so``, ``NSS_WRAPPER_HOSTS=<file>``). Names it does not
list (``localhost``, real hosts) fall through to the system's resolver.

nss_wrapper rereads the file when its modification time changes (whole seconds), so every write
replaces the file atomically and moves its mtime forward by at least a second: a process that
started before a database was created resolves its name afterwards.

A process that cannot be started with the variables (the test runner, the engine itself) passes
the address as libpq's ``hostaddr`` next to ``host`` (see :func:`connect_address`): libpq then
connects to the address and still verifies the certificate against the name.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from pgiam.localcloud.rds.endpoints import Endpoint, parse_hosts, render_hosts

HOSTS_FILE = "hosts"
LIBRARY_NAME = "libnss_wrapper.so"
_LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
                 "/usr/local/lib")


def find_nss_wrapper() -> str | None:
    """The path of ``libnss_wrapper.so`` (``make postgres`` installs Debian's), or None."""
    for directory in _LIBRARY_DIRS:
        candidate = Path(directory) / LIBRARY_NAME
        if candidate.is_file():
            return str(candidate)
    return None


def resolver_env(hosts_file: os.PathLike[str] | str) -> dict[str, str] | None:
    """The variables that make a process resolve the endpoint names; None without nss_wrapper."""
    library = find_nss_wrapper()
    if library is None:
        return None
    return {"LD_PRELOAD": library, "NSS_WRAPPER_HOSTS": str(hosts_file)}


def write_hosts(path: Path, endpoints: Iterable[Endpoint]) -> None:
    """Replace the hosts file atomically, its mtime at least a second past the previous one."""
    previous = path.stat().st_mtime if path.exists() else 0.0
    fd, temporary = tempfile.mkstemp(prefix=".hosts-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(render_hosts(endpoints))
        os.chmod(temporary, 0o644)
        stamp = max(float(int(os.path.getmtime(temporary))), float(int(previous)) + 1.0)
        os.utime(temporary, (stamp, stamp))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_hosts(path: os.PathLike[str] | str) -> dict[str, str]:
    try:
        return parse_hosts(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def connect_address(hosts_file: os.PathLike[str] | str, host: str) -> str | None:
    """The loopback address of a local endpoint name (for libpq's ``hostaddr``), or None."""
    return read_hosts(hosts_file).get(host.lower().rstrip("."))
