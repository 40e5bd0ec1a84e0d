"""``pgiam preview`` on ``programs/identity_managed_policy_mistakes``: a data platform team's IAM
users, groups and automation roles given AWS managed policies by ARN (plain strings, f-strings
with ``aws.get_partition()``, ``Output.concat``, exclusive lists mixing the team's own connect
policy), in a stack with an IAM-auth Aurora cluster. Both modes: each one granting
``rds-db:connect`` on every database user is reported by ``rds-db-connect-managed-policy`` on the
resource that attaches it, the list element by index; the controls (a user with only the scoped
connect policy, one with ReadOnlyAccess, a group with both) are not; the pod role is left to
``irsa-role-broad-permissions``."""

from __future__ import annotations

import pytest

from preview_runner import PROGRAMS, preview

PROGRAM = PROGRAMS / "identity_managed_policy_mistakes"
RULE = "rds-db-connect-managed-policy"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:dev::identity-managed-policy-mistakes::{type_}::{name}"


IAM = "aws:iam/"
# resource -> the element reported (its property, by index in a list)
MISTAKES = {
    urn(f"{IAM}userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
        "analyst-policies"): ".policyArns[1]",
    urn(f"{IAM}groupPolicyAttachment:GroupPolicyAttachment", "dbas-power-user"): ".policyArn",
    urn(f"{IAM}groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
        "oncall-policies"): ".policyArns[1]",
    urn(f"{IAM}userPolicyAttachment:UserPolicyAttachment", "build-bot-admin"): ".policyArn",
    urn(f"{IAM}role:Role", "deployer"): ".managedPolicyArns[1]",
    urn(f"{IAM}rolePolicyAttachment:RolePolicyAttachment", "bastion-power-user"): ".policyArn",
    urn(f"{IAM}policyAttachment:PolicyAttachment", "break-glass-admin"): ".policyArn",
}
POD_ROLE = urn(f"{IAM}role:Role", "ingest-pods")


def _found(result) -> dict[str, str]:
    """Each violation of the rule: its URN -> the property its Where: line names."""
    found = {}
    for violation in result.report["violations"]:
        if violation["policy"] != RULE:
            continue
        assert violation["enforcement"] == "advisory"
        where = violation["message"].split("\nWhere: ", 1)[1].split("\n", 1)[0]
        assert violation["urn"] not in found, f"reported twice: {violation['urn']}"
        found[violation["urn"]] = where.rsplit(" ", 1)[1]
    return found


@pytest.mark.parametrize("mode", ["preview", "up"])
def test_each_identity_given_a_managed_policy_that_connects_everywhere_is_reported(mode):
    result = preview(PROGRAM, "--mode", mode)
    assert result.returncode == (1 if mode == "up" else 0), result.stderr
    found = _found(result)
    assert found == MISTAKES, (f"missing: {sorted(set(MISTAKES) - set(found))}\n"
                               f"unexpected: {sorted(set(found) - set(MISTAKES))}")
    assert not any(u.rsplit("::", 1)[1].startswith("good-") for _, u in result.violations())
    messages = {v["urn"]: v["message"] for v in result.report["violations"] if v["policy"] == RULE}
    assert "arn:aws:iam::aws:policy/PowerUserAccess" in messages[
        urn(f"{IAM}groupPolicyAttachment:GroupPolicyAttachment", "dbas-power-user")]
    # the team's own connect policy in the same list is not what is reported
    analyst = messages[urn(f"{IAM}userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
                           "analyst-policies")]
    assert "AdministratorAccess" in analyst and "good-reporting-connect" not in analyst


def test_the_pod_role_is_left_to_the_broad_permissions_rule():
    up = preview(PROGRAM, "--mode", "up")
    assert up.violations("mandatory") == {("irsa-role-broad-permissions", POD_ROLE)}
    assert (RULE, POD_ROLE) not in up.violations()
    assert up.report["deferred"] == []
    # at preview the role's trust is not known yet: whether pods assume it waits
    at_preview = preview(PROGRAM)
    assert (RULE, POD_ROLE) in at_preview.deferred()
    assert {policy for policy, _ in at_preview.deferred() if policy == RULE} == {RULE}
    assert {u for policy, u in at_preview.deferred() if policy == RULE} == {POD_ROLE}
