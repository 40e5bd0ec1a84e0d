"""Shared fixtures of the integration layer. Every xdist worker gets its own servers, ports and
state directories. Sections: local cloud (issue #4); add yours below in a section of its own.

Local cloud fixtures:
  ``localcloud``          one running local cloud per worker (session scope), a ``LocalCloud``
  ``localcloud_factory``  ``start(**up_options) -> LocalCloud`` for tests that need their own
                          (stopped with ``down`` at teardown)
  ``aws_client``          ``aws_client("iam", **client_options)`` at the worker's local cloud
  ``unique_name``         ``unique_name("role") -> "role-<random>"``: the shared cloud's IAM state
                          outlives each test, so names must not collide
  ``localcloud_oidc_provider``  the ARN of the IAM OIDC provider for the worker's cloud's issuer
                          (client id ``sts.amazonaws.com``), created once as pulumi-eks does
State directories live under ``/tmp`` (not pytest's 0700 ``tmp_path``), mode 0711, so the
``postgres`` user that runs the RDS side's servers can traverse them, and Unix socket paths stay
short.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pgiam.localcloud.client import LocalCloud
from pgiam.testing.plugin import new_state_parent

# --- local cloud (issue #4) ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def localcloud_base_dir() -> Iterator[Path]:
    base = new_state_parent()
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def localcloud(pgiam_localcloud: LocalCloud) -> LocalCloud:
    """The pgiam pytest plugin's session cloud (pgiam.testing.plugin), as a team's suite gets it."""
    return pgiam_localcloud


@pytest.fixture
def localcloud_factory(localcloud_base_dir: Path) -> Iterator[Callable[..., LocalCloud]]:
    started: list[Path] = []

    def start(**options: Any) -> LocalCloud:
        state_dir = localcloud_base_dir / f"cloud-{uuid.uuid4().hex[:8]}"
        started.append(state_dir)
        return LocalCloud.up(state_dir, **options)

    yield start
    from pgiam.localcloud.lifecycle import down

    for state_dir in started:
        down(state_dir)


@pytest.fixture
def aws_client(localcloud: LocalCloud) -> Callable[..., Any]:
    return localcloud.client


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def localcloud_oidc_provider(localcloud: LocalCloud) -> str:
    iam = localcloud.client("iam")
    arn = f"arn:aws:iam::{localcloud.account_id}:oidc-provider/{localcloud.issuer_host_path}"
    existing = {p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]}
    if arn not in existing:
        created = iam.create_open_id_connect_provider(
            Url=localcloud.issuer, ClientIDList=["sts.amazonaws.com"],
            ThumbprintList=[localcloud.info["oidc"]["thumbprint"]])
        assert created["OpenIDConnectProviderArn"] == arn
    return arn


# --- local RDS (issue #5): fixtures in rds_fixtures.py -------------------------------------------
from rds_fixtures import connect_role, daemon_log, rds_databases, role_credentials, shared_cluster  # noqa: E402,F401
