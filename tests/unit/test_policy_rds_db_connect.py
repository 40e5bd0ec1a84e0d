"""rds-db:connect grants in every resource shape and document form, with wildcard actions,
NotAction and NotResource; exact dbuser ARNs pass, everything broader or wrong is a violation."""

from __future__ import annotations

import json

import pytest

from iamdb_rules.catalog import BY_NAME
from iamdb_rules.model import Resource
from iamdb_rules.props import UNKNOWN

GOOD_ARN = ("arn:aws:rds-db:us-east-1:111122223333:dbuser:"
            "cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ/app_user")


def document(resource, action="rds-db:connect", as_text=True, **extra):
    statement = {"Effect": "Allow", "Resource": resource, **extra}
    if action is not None:
        statement["Action"] = action
    body = {"Version": "2012-10-17", "Statement": [statement]}
    return json.dumps(body) if as_text else body


SHAPES = {
    "role-policy": ("aws:iam/rolePolicy:RolePolicy", lambda doc: {"role": "r", "policy": doc}),
    "policy": ("aws:iam/policy:Policy", lambda doc: {"policy": doc}),
    "user-policy": ("aws:iam/userPolicy:UserPolicy", lambda doc: {"user": "u", "policy": doc}),
    "group-policy": ("aws:iam/groupPolicy:GroupPolicy", lambda doc: {"group": "g", "policy": doc}),
    "role-inline": ("aws:iam/role:Role",
                    lambda doc: {"assumeRolePolicy": json.dumps({
                        "Version": "2012-10-17", "Statement": [{
                            "Effect": "Allow", "Action": "sts:AssumeRole",
                            "Principal": {"Service": "ec2.amazonaws.com"}}]}),
                        "inlinePolicies": [{"name": "first", "policy": json.dumps({
                            "Version": "2012-10-17", "Statement": [{
                                "Effect": "Allow", "Action": "s3:GetObject",
                                "Resource": "arn:aws:s3:::b/*"}]})},
                            {"name": "connect", "policy": doc}]}),
    "native-managed": ("aws-native:iam:ManagedPolicy", lambda doc: {"policyDocument": doc}),
    "native-role": ("aws-native:iam:Role",
                    lambda doc: {"policies": [{"policyName": "c", "policyDocument": doc}]}),
    "sso-inline": ("aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy",
                   lambda doc: {"instanceArn": "arn:aws:sso:::instance/ssoins-1",
                                "inlinePolicy": doc}),
    "native-permission-set": ("aws-native:sso:PermissionSet",
                              lambda doc: {"name": "db-users", "inlinePolicy": doc}),
}


def shaped(shape: str, doc) -> Resource:
    type_, props = SHAPES[shape]
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::grant", "grant", props(doc))


def run(subject):
    rule = BY_NAME["rds-db-connect-resource"]
    return rule.run(subject, rule.context(stack="dev"))


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("as_text", [True, False], ids=["json", "object"])
def test_exact_dbuser_arn_passes_in_every_shape(shape, as_text):
    assert run(shaped(shape, document(GOOD_ARN, as_text=as_text))) == ([], [])
    assert run(shaped(shape, document([GOOD_ARN, GOOD_ARN.replace("app_user", "ro")],
                                      as_text=as_text))) == ([], [])


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_wildcard_resource_is_a_violation_in_every_shape(shape):
    violations, _ = run(shaped(shape, document("*")))
    assert len(violations) == 1 and violations[0].urn.endswith("::grant")


@pytest.mark.parametrize("resource, fragment", [
    ("*", "every database user of every database"),
    ("arn:aws:rds-db:*:111122223333:dbuser:cluster-ABC/app_user", "a wildcard region"),
    ("arn:aws:rds-db:us-east-1:*:dbuser:cluster-ABC/app_user", "a wildcard account"),
    ("arn:aws:rds-db:us-east-1:111122223333:dbuser:*/app_user", "a wildcard resource id"),
    ("arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-*/app_user", "a wildcard resource id"),
    ("arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABC/*", "a wildcard user"),
    ("arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABC/app?", "a wildcard user"),
    ("arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABC/a/b", "a wildcard user"),
    ("arn:aws:rds-db:us-east-1:111122223333:dbuser:my-aurora/app_user", "no DbClusterResourceId"),
    ("arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-mydb/app_user",
     "no DbClusterResourceId"),
    ("arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABC/", "no database user"),
    ("arn:aws:rds-db::111122223333:dbuser:cluster-ABC/app_user", "no region"),
    ("arn:aws:rds-db:us-east-1:1111:dbuser:cluster-ABC/app_user", "not 12 digits"),
    ("arn:aws:rds:us-east-1:111122223333:cluster:my-aurora", "the database's own ARN"),
    ("arn:aws:rds:us-east-1:111122223333:db:my-instance", "the database's own ARN"),
    ("arn:aws:rds-db:us-east-1:111122223333:*", "not a dbuser ARN"),
    ("arn:aws:*:us-east-1:111122223333:dbuser:cluster-ABC/app_user", "wildcard service"),
    ("arn:aws:s3:::bucket", "not an rds-db dbuser ARN"),
    ("arn:*:rds-db:us-east-1:111122223333:dbuser:cluster-ABC/app_user", "a wildcard partition"),
])
def test_resource_that_is_not_one_exact_database_user_is_a_violation(resource, fragment):
    violations, _ = run(shaped("role-policy", document(resource)))
    assert len(violations) == 1
    assert fragment in violations[0].message and "Fix:" in violations[0].message


@pytest.mark.parametrize("resource", [
    "arn:aws:rds-db:us-east-1:111122223333:dbuser:db-ABCDEFGHIJKLMNOPQRSTUVWXYZ/app_user",
    "arn:aws:rds-db:us-east-1:111122223333:dbuser:prx-0123456789abcdef0/app_user",
    "arn:aws:rds-db:us-east-1:111122223333:dbuser:prx-ABCDEFGHIJKL01234/app_user",
    "arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABC/${aws:username}",
    "arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABC/${aws:PrincipalTag/db-user}",
    "arn:aws-cn:rds-db:cn-north-1:111122223333:dbuser:cluster-ABC/app_user",
], ids=["instance-resource-id", "proxy-id", "proxy-id-upper", "username-variable",
        "principal-tag-variable", "china-partition"])
def test_other_exact_dbuser_forms_pass(resource):
    assert run(shaped("role-policy", document(resource))) == ([], [])


def test_a_wildcard_next_to_a_policy_variable_is_still_a_wildcard():
    arn = "arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABC/${aws:username}*"
    assert len(run(shaped("role-policy", document(arn)))[0]) == 1


@pytest.mark.parametrize("action", [
    "rds-db:*", "rds-db:conn*", "*", "RDS-DB:Connect", "rds-db:c?nnect",
    ["s3:GetObject", "rds-*:*"],
])
def test_wildcard_actions_that_include_connect_are_checked(action):
    violations, _ = run(shaped("policy", document("*", action=action)))
    assert len(violations) == 1


def test_not_action_that_leaves_connect_in_is_checked_and_one_that_removes_it_is_not():
    assert run(shaped("policy", document("*", action=None, NotAction="s3:*")))[0]
    assert run(shaped("policy", document("*", action=None, NotAction="rds-db:*"))) == ([], [])


def test_not_resource_with_allow_is_a_violation():
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rds-db:connect", "NotResource": GOOD_ARN}]})
    violations, _ = run(shaped("policy", doc))
    assert "NotResource" in violations[0].message


@pytest.mark.parametrize("doc", [
    document("*", action="s3:*"),
    document("*", Effect="Deny"),
    json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ec2:*",
                                                        "Resource": "*"}}),
], ids=["other-service", "deny", "single-statement-object"])
def test_statements_that_do_not_grant_connect_are_not_checked(doc):
    assert run(shaped("policy", doc)) == ([], [])


def test_unknown_document_or_resource_is_deferred():
    violations, deferred = run(shaped("role-policy", UNKNOWN))
    assert violations == [] and len(deferred) == 1
    partly = document([GOOD_ARN, UNKNOWN], as_text=False)
    violations, deferred = run(shaped("role-policy", partly))
    assert violations == [] and len(deferred) == 1
    wrong_and_unknown = document(["*", UNKNOWN], as_text=False)
    violations, deferred = run(shaped("role-policy", wrong_and_unknown))
    assert len(violations) == 1 and len(deferred) == 1


def test_unknown_action_is_deferred():
    violations, deferred = run(shaped("policy", document("*", action=UNKNOWN, as_text=False)))
    assert violations == [] and "whether it grants rds-db:connect" in deferred[0].reason


def test_snake_case_object_documents_are_read():
    doc = {"version": "2012-10-17", "statement": [{"effect": "Allow", "action": "rds-db:*",
                                                   "resource": "*"}]}
    assert run(shaped("policy", doc))[0]
