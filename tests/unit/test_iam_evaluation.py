"""Decisions over identity policies: deny wins, NotAction/NotResource, names, boundaries."""

from __future__ import annotations

from typing import Any

import pytest

from pgiam.iam import (
    NamedPolicy,
    Policy,
    PolicyDocumentError,
    Request,
    evaluate_identity_policies,
    parse_policy,
    statement_applies,
)

ACCOUNT = "111122223333"
DBUSER = f"arn:aws:rds-db:us-east-1:{ACCOUNT}:dbuser:cluster-ABCDEFGHIJKLMNOP/app_user"


def policy(*statements: dict[str, Any], version: str = "2012-10-17") -> Policy:
    return parse_policy({"Version": version, "Statement": list(statements)})


def decide(policies: list[Policy | NamedPolicy], action: str, resource: str, **context: Any) -> str:
    return evaluate_identity_policies(policies, Request(action, resource, context=context)).effect


def test_rds_connect_policy_allows_only_its_dbuser() -> None:
    connect = policy({"Effect": "Allow", "Action": "rds-db:connect", "Resource": DBUSER})
    assert decide([connect], "rds-db:connect", DBUSER) == "Allow"
    assert decide([connect], "RDS-DB:Connect", DBUSER) == "Allow"
    assert decide([connect], "rds-db:connect", DBUSER.replace("app_user", "admin")) == "ImplicitDeny"
    assert (
        decide([connect], "rds-db:connect", DBUSER.replace("cluster-ABCDEFGHIJKLMNOP", "mycluster"))
        == "ImplicitDeny"
    )
    assert decide([connect], "rds:DescribeDBClusters", DBUSER) == "ImplicitDeny"


# IAM User Guide, "Policy evaluation logic": an explicit deny in any policy overrides any allow.
def test_explicit_deny_in_another_policy_wins_and_is_named() -> None:
    allow = NamedPolicy(
        "inline:connect", policy({"Sid": "Connect", "Effect": "Allow", "Action": "rds-db:*", "Resource": "*"})
    )
    deny = NamedPolicy(
        "arn:aws:iam::aws:policy/Guard",
        policy(
            {
                "Sid": "NoAdmin",
                "Effect": "Deny",
                "Action": "rds-db:connect",
                "Resource": "arn:aws:rds-db:*:*:dbuser:*/admin",
            }
        ),
    )
    admin = DBUSER.replace("app_user", "admin")
    decision = evaluate_identity_policies([allow, deny], Request("rds-db:connect", admin))
    assert decision.effect == "ExplicitDeny" and not decision.allowed
    assert decision.policy_name == "arn:aws:iam::aws:policy/Guard" and decision.statement is not None
    assert decision.statement.sid == "NoAdmin"
    assert str(decision) == "ExplicitDeny by arn:aws:iam::aws:policy/Guard Statement[0] (NoAdmin)"
    allowed = evaluate_identity_policies([allow, deny], Request("rds-db:connect", DBUSER))
    assert (allowed.effect, allowed.policy_name, allowed.statement.sid if allowed.statement else None) == (
        "Allow",
        "inline:connect",
        "Connect",
    )


def test_no_policies_is_implicit_deny() -> None:
    decision = evaluate_identity_policies([], Request("s3:GetObject", "arn:aws:s3:::b/k"))
    assert (decision.effect, decision.statement, decision.policy_name) == ("ImplicitDeny", None, None)


def test_unnamed_policy_is_named_by_its_id() -> None:
    document = parse_policy(
        {"Id": "my-policy", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}
    )
    assert evaluate_identity_policies([document], Request("s3:GetObject", "*")).policy_name == "my-policy"


# IAM User Guide, "IAM JSON policy elements: NotAction": allow everything but IAM; deny all but
# IAM when MFA is absent.
def test_not_action_allow_everything_except_iam() -> None:
    everything_but_iam = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert decide([everything_but_iam], "s3:GetObject", "arn:aws:s3:::b/k") == "Allow"
    assert decide([everything_but_iam], "iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/x") == "ImplicitDeny"


def test_not_action_deny_all_but_iam_without_mfa() -> None:
    policies = [
        policy({"Effect": "Allow", "Action": "*", "Resource": "*"}),
        policy(
            {
                "Sid": "DenyAllUsersNotUsingMFA",
                "Effect": "Deny",
                "NotAction": "iam:*",
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            }
        ),
    ]
    assert (
        decide(policies, "ec2:RunInstances", "*", **{"aws:MultiFactorAuthPresent": False}) == "ExplicitDeny"
    )
    assert decide(policies, "ec2:RunInstances", "*") == "ExplicitDeny"  # key absent: IfExists is true
    assert decide(policies, "ec2:RunInstances", "*", **{"aws:MultiFactorAuthPresent": True}) == "Allow"
    assert decide(policies, "iam:ChangePassword", "*", **{"aws:MultiFactorAuthPresent": False}) == "Allow"


# IAM User Guide, "IAM JSON policy elements: NotResource": deny every S3 resource but Payroll.
def test_not_resource_deny() -> None:
    policies = [
        policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
        policy(
            {
                "Effect": "Deny",
                "Action": "s3:*",
                "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"],
            }
        ),
    ]
    assert decide(policies, "s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/2020.csv") == "Allow"
    assert decide(policies, "s3:GetObject", "arn:aws:s3:::HRBucket/Other/2020.csv") == "ExplicitDeny"


def test_not_resource_allow_is_everything_else() -> None:
    allow = policy({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::HRBucket/Payroll/*"})
    assert decide([allow], "s3:GetObject", "arn:aws:s3:::Public/x") == "Allow"
    assert decide([allow], "s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/x") == "ImplicitDeny"


# IAM User Guide, "IAM policy elements: Variables and tags": resources named after the caller.
def test_policy_variable_in_resource() -> None:
    own_table = policy(
        {
            "Effect": "Allow",
            "Action": "dynamodb:*",
            "Resource": f"arn:aws:dynamodb:us-east-2:{ACCOUNT}:table/${{aws:username}}",
        }
    )
    table = f"arn:aws:dynamodb:us-east-2:{ACCOUNT}:table/"
    assert decide([own_table], "dynamodb:GetItem", table + "bob", **{"aws:username": "bob"}) == "Allow"
    assert (
        decide([own_table], "dynamodb:GetItem", table + "alice", **{"aws:username": "bob"}) == "ImplicitDeny"
    )
    assert decide([own_table], "dynamodb:GetItem", table + "bob") == "ImplicitDeny"  # no username: no match
    tagged = policy(
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::bucket/${aws:PrincipalTag/department}",
        }
    )
    assert (
        decide(
            [tagged], "s3:GetObject", "arn:aws:s3:::bucket/sales", **{"aws:PrincipalTag/department": "sales"}
        )
        == "Allow"
    )


def test_unresolved_variable_in_deny_makes_the_deny_not_apply() -> None:
    policies = [
        policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
        policy({"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::home/${aws:username}/*"}),
    ]
    assert (
        decide(policies, "s3:GetObject", "arn:aws:s3:::home/eve/x", **{"aws:username": "bob"})
        == "ExplicitDeny"
    )
    assert decide(policies, "s3:GetObject", "arn:aws:s3:::home/eve/x") == "Allow"


def test_old_version_resource_variable_is_literal() -> None:
    old = policy(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:username}"},
        version="2008-10-17",
    )
    assert decide([old], "s3:GetObject", "arn:aws:s3:::home/bob", **{"aws:username": "bob"}) == "ImplicitDeny"
    assert decide([old], "s3:GetObject", "arn:aws:s3:::home/${aws:username}") == "Allow"


# IAM User Guide, "Permissions boundaries for IAM entities": the effective permissions are the
# intersection of the identity policies and the boundary.
@pytest.mark.parametrize(
    ("action", "effect"),
    [
        ("s3:GetObject", "Allow"),
        ("rds-db:connect", "ImplicitDeny"),
        ("s3:DeleteObject", "ExplicitDeny"),
        ("ec2:RunInstances", "ImplicitDeny"),
    ],
)
def test_permissions_boundary_intersects(action: str, effect: str) -> None:
    identity = policy({"Effect": "Allow", "Action": ["s3:*", "rds-db:connect"], "Resource": "*"})
    boundary = NamedPolicy(
        "boundary",
        policy(
            {"Effect": "Allow", "Action": ["s3:*", "ec2:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
        ),
    )
    decision = evaluate_identity_policies([identity], Request(action, "*"), permissions_boundary=boundary)
    assert decision.effect == effect
    if action == "rds-db:connect":
        assert decision.policy_name == "boundary"


def test_identity_policy_with_principal_is_refused() -> None:
    with_principal = parse_policy(
        {"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}}
    )
    with pytest.raises(PolicyDocumentError) as caught:
        evaluate_identity_policies([NamedPolicy("bad", with_principal)], Request("s3:GetObject", "*"))
    assert caught.value.where == "bad Statement[0].Principal"


def test_statement_applies_is_the_per_statement_view() -> None:
    statement = policy({"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}).statements[0]
    assert statement_applies(statement, Request("s3:PutObject", "arn:aws:s3:::b/k"))
    assert not statement_applies(statement, Request("s3:PutObject", "arn:aws:s3:::c/k"))
