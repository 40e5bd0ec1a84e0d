"""``pgiam preview`` on ``programs/awsx_vpc_orders``: a team's program built on providers infra/
does not use (awsx's VPC, a remote component whose outputs include resources; pulumi-tls;
pulumi-command) beside pulumi-eks and Aurora. It runs in both modes and is clean; with the team's
mistakes switched on (a wildcard service account, every database user) ``--mode up`` reports both
and ``--mode preview``, where the documents are not known yet, defers those rules rather than
passing them."""

from __future__ import annotations

import pytest

from preview_runner import PROGRAMS, preview

pytestmark = pytest.mark.integration

PROGRAM = PROGRAMS / "awsx_vpc_orders"
ROLE = "urn:pulumi:dev::orders-platform::aws:iam/role:Role::orders-api"
GRANT = "urn:pulumi:dev::orders-platform::aws:iam/rolePolicy:RolePolicy::orders-api-connect"
MISTAKES = {("irsa-trust-subject", ROLE), ("rds-db-connect-resource", GRANT)}


@pytest.mark.parametrize("mode", ["preview", "up"])
def test_a_program_on_awsx_tls_and_command_previews_clean(mode: str) -> None:
    result = preview(PROGRAM, "--mode", mode)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not result.violations("mandatory")


def test_its_mistakes_are_reported_after_up() -> None:
    result = preview(PROGRAM, "--mode", "up", "--config", "mistakes=true")
    assert result.returncode == 1, result.stdout + result.stderr
    assert MISTAKES <= result.violations("mandatory")


def test_at_preview_its_mistakes_are_deferred_not_passed() -> None:
    result = preview(PROGRAM, "--mode", "preview", "--config", "mistakes=true")
    assert result.returncode == 0, result.stdout + result.stderr
    assert MISTAKES <= result.deferred()
