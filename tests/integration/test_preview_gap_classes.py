"""``pgiam preview`` on ``programs/gap_classes_mistakes``: the mistakes of issue 11 §2 written the
way a payments team would (a ``PodRole`` component, ``Output.json_dumps``,
``get_policy_document(...).json``, an exclusive attachment list, Serverless v2 in a global
cluster, a snapshot restore, Helm values), not the way the rules' own tests write them. Both
modes: each mistake is reported by its policy on its resource, and nothing else is."""

from __future__ import annotations

import pytest

from preview_runner import PROGRAMS, preview

PROGRAM = PROGRAMS / "gap_classes_mistakes"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:dev::gap-classes-mistakes::{type_}::{name}"


ROLE, CLUSTER, INSTANCE = "aws:iam/role:Role", "aws:rds/cluster:Cluster", "aws:rds/instance:Instance"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POD_ROLE = "payments:index:PodRole$aws:iam/role:Role"
KNOWN_AT_PREVIEW = {
    ("irsa-oidc-provider-audience",
     urn("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "oidc-api-audience")),
    ("rds-iam-auth-enabled", urn(CLUSTER, "serverless-member-no-iam")),
    ("rds-storage-encrypted", urn("aws:rds/globalCluster:GlobalCluster", "global-unencrypted")),
    ("rds-not-publicly-accessible", urn(INSTANCE, "snapshot-restore-public")),
    ("irsa-trust-default-service-account", urn(ROLE, "namespace-default-account")),
    ("iam-policy-document-valid", urn(ROLE, "trust-with-not-principal")),
    ("iam-policy-document-valid", urn("aws:kms/key:Key", "key-policy-allow-not-principal")),
    ("postgresql-rds-iam-no-password",
     urn("postgresql:index/role:Role", "iam-login-keeps-password")),
    ("kubernetes-no-database-password",
     urn("kubernetes:helm.sh/v3:Release", "helm-values-password")),
    ("kubernetes-no-database-password",
     urn("kubernetes:core/v1:ConfigMap", "properties-with-password")),
}
AFTER_UP = KNOWN_AT_PREVIEW | {
    ("irsa-role-broad-permissions",
     urn("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
         "exclusive-rds-full-access")),
    ("irsa-role-reads-secrets", urn(ROLE_POLICY, "reads-every-parameter")),
    ("irsa-role-reads-secrets", urn(ROLE_POLICY, "reads-master-secrets")),
    ("kubernetes-no-database-password",
     urn("kubernetes:core/v1:Secret", "database-url-with-password")),
}
ADVISORY = {("iam-condition-multivalued-key-operator",
             urn("aws:iam/policy:Policy", "called-via-without-qualifier"))}
ADVISORY_UP = ADVISORY | {("irsa-role-unreadable-policy", urn(POD_ROLE, "settler"))}


@pytest.mark.parametrize("mode, expected", [("preview", KNOWN_AT_PREVIEW), ("up", AFTER_UP)])
def test_each_mistake_of_the_team_program_is_reported_on_its_resource(mode, expected):
    result = preview(PROGRAM, "--mode", mode)
    assert result.returncode == 1, result.stderr
    found = result.violations("mandatory")
    assert found == expected, (f"missing: {sorted(expected - found)}\n"
                               f"unexpected: {sorted(found - expected)}")
    assert (ADVISORY_UP if mode == "up" else ADVISORY) <= result.violations("advisory")
    assert not any(u.rsplit("::", 1)[1].startswith("good-") for _, u in result.violations())
    if mode == "up":
        assert result.report["deferred"] == []


def test_preview_defers_what_needs_the_roles_trust_and_the_secrets_contents():
    deferred = preview(PROGRAM).deferred()
    assert ("irsa-role-broad-permissions", urn(POD_ROLE, "worker")) in deferred
    assert ("irsa-role-reads-secrets", urn(POD_ROLE, "reconciler")) in deferred
    assert ("irsa-role-unreadable-policy", urn(POD_ROLE, "settler")) in deferred
    assert ("kubernetes-no-database-password",
            urn("kubernetes:core/v1:Secret", "database-url-with-password")) in deferred
