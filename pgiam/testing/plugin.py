"""The pgiam pytest plugin (entry point ``pytest11: pgiam``): fixtures for a team's own tests.

Fixtures (docs/testing-plugin.md):

``pgiam_program``      ``pgiam_program(directory, config=None, preview=False) -> StackUnderTest``:
                       the Pulumi project in ``directory`` run under the mock runtime with
                       realistic values; one run per (directory, config, preview) and session.
``pgiam_localcloud``   a running local cloud for the session (``pgiam.localcloud.client.LocalCloud``,
                       admin keys issued), stopped at the end.
``pgiam_db_login``     ``pgiam_db_login(session, host, port, user, dbname, **options)``: an IAM
                       token login over ``verify-full`` against the session's local cloud (its
                       endpoint and CA filled in).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """The layer markers a team's suite uses with pgiam, declared so ``--strict-markers``
    accepts them where the team's configuration does not declare them itself."""
    for name, text in (("unit", "fast tests of a program under the mock runtime"),
                       ("integration", "tests that start local servers (pgiam's local cloud)"),
                       ("e2e", "full ephemeral-stack runs through pgiam e2e")):
        config.addinivalue_line("markers", f"{name}: {text}")


def new_state_parent() -> Path:
    """A fresh directory for local cloud state directories: under /tmp with mode 0711 (not
    pytest's 0700 ``tmp_path``), as the ``postgres`` user that runs the local RDS servers must
    traverse it, and Unix socket paths stay short. One per xdist worker by its name."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    base = Path(tempfile.mkdtemp(prefix=f"pgiam-lc-{worker}-", dir="/tmp"))
    os.chmod(base, 0o711)
    return base


@pytest.fixture(scope="session")
def pgiam_program() -> Callable[..., Any]:
    from pgiam.testing.program import run_pulumi_program

    cache: dict[tuple[str, tuple[tuple[str, str], ...], bool], Any] = {}

    def run(directory: str | os.PathLike[str], config: dict[str, str] | None = None, *,
            preview: bool = False) -> Any:
        key = (str(Path(directory).resolve()), tuple(sorted((config or {}).items())), preview)
        if key not in cache:
            cache[key] = run_pulumi_program(directory, config, preview=preview)
        return cache[key]

    return run


@pytest.fixture(scope="session")
def pgiam_localcloud() -> Iterator[Any]:
    from pgiam.localcloud.client import LocalCloud

    base = new_state_parent()
    cloud = LocalCloud.up(base / "shared")
    try:
        yield cloud
    finally:
        cloud.down()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pgiam_db_login(pgiam_localcloud: Any) -> Callable[..., Any]:
    from pgiam.testing.database import iam_db_login

    def login(session: Any, host: str, port: int, user: str, dbname: str, **options: Any) -> Any:
        options.setdefault("endpoint_url", pgiam_localcloud.endpoint_url)
        options.setdefault("sslrootcert", str(pgiam_localcloud.ca_bundle))
        options.setdefault("region", pgiam_localcloud.region)
        return iam_db_login(session, host, port, user, dbname, **options)

    return login
