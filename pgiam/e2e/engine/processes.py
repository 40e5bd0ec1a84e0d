"""Processes the engine starts (pods' containers, service proxies): started in their own session
(so a terminal's Ctrl-C reaches the run, which tears them down in order), recorded with their
start time (a reused pid is never mistaken for ours), stopped with SIGTERM then SIGKILL to the
whole process group, and checked for being gone."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pgiam.e2e.engine.state import ProcessEntry


def start_ticks(pid: int) -> int | None:
    """Field 22 of ``/proc/<pid>/stat`` (start time in clock ticks since boot), or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is parenthesised and may contain spaces or parentheses.
    fields = raw[raw.rfind(")") + 2:].split()
    return int(fields[19]) if len(fields) > 19 else None


def _state(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return raw[raw.rfind(")") + 2:].split()[0]


def pid_alive(pid: int) -> bool:
    """A process with this pid exists and is not a zombie (a daemon whose parent is gone may stay
    a zombie until init reaps it; it runs nothing any more)."""
    return _state(pid) not in (None, "Z", "X")


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def is_running(entry: ProcessEntry) -> bool:
    """The recorded process still exists (and is not a zombie); a reused pid does not count."""
    ticks = start_ticks(entry.pid)
    if ticks is None or ticks != entry.start_ticks:
        return False
    return _state(entry.pid) not in (None, "Z", "X")


def spawn(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, log_path: Path,
          role: str, owner: str, description: str, addresses: Sequence[str] = ()
          ) -> tuple[subprocess.Popen, ProcessEntry]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(list(argv), env=dict(env), cwd=str(cwd),
                                   stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    ticks = start_ticks(process.pid) or 0
    entry = ProcessEntry(pid=process.pid, start_ticks=ticks, role=role, owner=owner,
                         description=description, addresses=list(addresses), log=str(log_path))
    return process, entry


def _signal_group(entry: ProcessEntry, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        # start_new_session: the process leads its own group, so its children go too.
        os.killpg(entry.pid, signum)


def stop(entry: ProcessEntry, *, grace_seconds: float = 5.0,
         popen: subprocess.Popen | None = None) -> None:
    """SIGTERM to the process group, SIGKILL after ``grace_seconds``; reaps our own child."""
    if is_running(entry):
        _signal_group(entry, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline and is_running(entry):
            if popen is not None and popen.poll() is not None:
                break
            time.sleep(0.05)
        if is_running(entry):
            _signal_group(entry, signal.SIGKILL)
    elif start_ticks(entry.pid) == entry.start_ticks:
        # The leader exited but its group may live on (a child it started).
        _signal_group(entry, signal.SIGKILL)
    if popen is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=grace_seconds)
    else:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(entry.pid, os.WNOHANG)


def free_port() -> int:
    """A port nobody listens on right now (loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        try:
            probe.connect((host, port))
        except OSError:
            return False
        return True


def wait_listening(port: int, timeout: float, *, host: str = "127.0.0.1",
                   alive: Callable[[], bool] | None = None) -> bool:
    """True once ``host:port`` accepts connections; False after ``timeout`` or once ``alive()``
    says the process that should listen is gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_listening(port, host):
            return True
        if alive is not None and not alive():
            return False
        time.sleep(0.05)
    return False
