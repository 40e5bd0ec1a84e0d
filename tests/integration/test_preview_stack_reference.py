"""``pgiam preview`` on a program that takes its OIDC provider from another stack through
``pulumi.StackReference`` and trusts every service account of its namespace: at preview the
reference's outputs are unknown (the trust rules are deferred, a warning names the option);
given the outputs with ``--stack-output`` the mistake is reported, in both modes."""

from __future__ import annotations

import pytest

from preview_runner import PROGRAMS, preview

pytestmark = pytest.mark.integration

PROGRAM = PROGRAMS / "stack_reference"
ROLE = "urn:pulumi:dev::stack-reference::aws:iam/role:Role::shop-api"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789ABCDEF0123456789"
OUTPUTS = ("--stack-output", f"acme/platform/prod:oidcProviderArn=arn:aws:iam::123456789012:oidc-provider/{ISSUER}",
           "--stack-output", f"acme/platform/prod:oidcIssuer=https://{ISSUER}",
           "--stack-output", "acme/platform/prod:vpcId=vpc-0abc")


def test_without_the_outputs_the_preview_defers_and_says_how_to_give_them() -> None:
    result = preview(PROGRAM, "--mode", "preview")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("irsa-trust-subject", ROLE) in result.deferred()
    assert any("--stack-output acme/platform/prod:KEY=VALUE" in w for w in result.report["warnings"])


@pytest.mark.parametrize("mode", ["preview", "up"])
def test_with_the_outputs_the_wildcard_trust_is_reported(mode: str) -> None:
    result = preview(PROGRAM, "--mode", mode, *OUTPUTS)
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("irsa-trust-subject", ROLE) in result.violations("mandatory")
    assert not result.report["warnings"]
