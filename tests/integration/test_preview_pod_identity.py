"""``pgiam preview`` with the real pack on EKS Pod Identity programs, in both preview modes:
every Pod Identity mistake (pod_identity_mistakes) is reported by the policy named for it on the
offending resource and nothing else is; a correct stack of another shape (pod_identity_correct)
and infra/ in pod-identity mode pass."""

from __future__ import annotations

import pytest

from preview_runner import INFRA_CONFIG, PROGRAMS, ROOT, preview

pytestmark = pytest.mark.integration


def urn(type_: str, name: str, project: str = "pod-identity-mistakes") -> str:
    return f"urn:pulumi:dev::{project}::{type_}::{name}"


ROLE = "aws:iam/role:Role"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"

KNOWN_AT_PREVIEW = {
    ("pod-identity-trust", urn(ROLE, "service-principal-wildcard")),
    ("pod-identity-trust", urn(ROLE, "sts-star")),
    ("pod-identity-trust", urn(ROLE, "no-tag-session")),
    ("irsa-role-broad-permissions",
     urn("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "admin-pod-role-admin")),
    ("pod-identity-association-role", urn(ASSOCIATION, "trust-tags-mismatch")),
    ("pod-identity-workload-association", urn(DEPLOYMENT, "runs-as-unassociated-sa")),
}
# The OIDC-only trust is built from the provider's ARN, known after up.
KNOWN_AFTER_UP = KNOWN_AT_PREVIEW | {
    ("pod-identity-association-role", urn(ASSOCIATION, "role-trusts-only-oidc")),
    # the OIDC-only role trusts orders/batch: the IRSA rule sees the same unassociated workload
    ("irsa-workload-service-account", urn(DEPLOYMENT, "runs-as-unassociated-sa")),
}


@pytest.mark.parametrize("mode, expected", [("preview", KNOWN_AT_PREVIEW),
                                            ("up", KNOWN_AFTER_UP)])
def test_every_pod_identity_mistake_is_reported_on_its_resource_and_nothing_else(mode, expected):
    result = preview(PROGRAMS / "pod_identity_mistakes", "--mode", mode)
    assert result.returncode == 1, result.stderr
    assert result.violations() == expected
    if mode == "preview":
        assert ("pod-identity-association-role",
                urn(ASSOCIATION, "role-trusts-only-oidc")) in result.deferred()
    else:
        assert result.deferred() == set()


def test_the_good_resources_are_not_reported():
    result = preview(PROGRAMS / "pod_identity_mistakes", "--mode", "up")
    assert not [urn_ for _, urn_ in result.violations() if "::good-" in urn_]


@pytest.mark.parametrize("mode", ["preview", "up"])
def test_a_correct_pod_identity_stack_of_another_shape_passes(mode):
    result = preview(PROGRAMS / "pod_identity_correct", "--mode", mode)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.report["violations"] == []
    if mode == "up":
        assert result.report["deferred"] == []


@pytest.mark.parametrize("mode", ["preview", "up"])
def test_infra_in_pod_identity_mode_passes_the_pack(mode):
    result = preview(ROOT / "infra", *INFRA_CONFIG, "--config",
                     "iam-postgres:identityMode=pod-identity", "--mode", mode)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.report["violations"] == []
