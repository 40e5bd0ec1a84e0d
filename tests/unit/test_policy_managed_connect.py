"""rds-db-connect-managed-policy: an IAM user, group or non-pod role of a stack with an IAM-auth
database gets no AWS managed policy whose Allow covers rds-db:connect on every database user,
however it is attached; each list element is judged on its own, pod roles are left to
irsa-role-broad-permissions, unknowns are deferred. A stack rule: resources are outputs."""

from __future__ import annotations

import json

import pytest

from iamdb_rules.catalog import BY_NAME
from iamdb_rules.managed_connect import grants_every_dbuser
from iamdb_rules.model import Resource
from iamdb_rules.props import UNKNOWN
from test_policy_broad_permissions import IRSA_TRUST, SERVICE_TRUST  # the same two trusts

RULE = "rds-db-connect-managed-policy"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
POWER = "arn:aws:iam::aws:policy/PowerUserAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
RDS_FULL = "arn:aws:iam::aws:policy/AmazonRDSFullAccess"
OWN_ARN = "arn:aws:iam::111122223333:policy/orders-connect"
CONNECT = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "rds-db:connect",
    "Resource": "arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABC/orders_app"}]})


def res(type_: str, name: str, props: dict, deps: dict | None = None) -> Resource:
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::{name}", name, props,
                    property_dependencies=deps or {})


def cluster(iam=True) -> Resource:
    return res("aws:rds/cluster:Cluster", "orders", {
        "engine": "aurora-postgresql", "iamDatabaseAuthenticationEnabled": iam})


def user(name="ops") -> Resource:
    return res("aws:iam/user:User", name,
               {"name": name, "arn": f"arn:aws:iam::111122223333:user/{name}"})


def group(name="dbas") -> Resource:
    return res("aws:iam/group:Group", name, {"name": name})


def role(name="ci", trust=SERVICE_TRUST, **props) -> Resource:
    return res("aws:iam/role:Role", name, {
        "name": name, "arn": f"arn:aws:iam::111122223333:role/{name}",
        "assumeRolePolicy": trust, **props})


def own_policy() -> Resource:
    return res("aws:iam/policy:Policy", "orders-connect",
               {"name": "orders-connect", "arn": OWN_ARN, "policy": CONNECT})


def run(resources, database=True):
    rule = BY_NAME[RULE]
    return rule.run(([cluster()] if database else []) + list(resources), rule.context(stack="dev"))


def urns(violations):
    return sorted(v.urn.rsplit("::", 1)[1] for v in violations)


@pytest.mark.parametrize("arn, grants", [
    (ADMIN, True), (POWER, True), ("arn:aws-us-gov:iam::aws:policy/AdministratorAccess", True),
    (READ_ONLY, False), (RDS_FULL, False), ("arn:aws:iam::aws:policy/NoSuchPolicy", False),
    (OWN_ARN, False),
], ids=["admin", "power-user", "gov-partition", "read-only", "rds-full-access", "unknown-name",
        "customer-managed"])
def test_which_managed_policies_grant_every_database_user(arn, grants):
    assert grants_every_dbuser(arn) is grants


def test_the_rule_is_an_advisory_stack_rule():
    rule = BY_NAME[RULE]
    assert (rule.kind, rule.enforcement) == ("stack", "advisory")


@pytest.mark.parametrize("attachment", [
    ("aws:iam/userPolicyAttachment:UserPolicyAttachment", {"user": "ops", "policyArn": ADMIN}),
    ("aws:iam/groupPolicyAttachment:GroupPolicyAttachment", {"group": "dbas", "policyArn": POWER}),
    ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"role": "ci", "policyArn": ADMIN}),
    ("aws:iam/policyAttachment:PolicyAttachment", {"users": ["ops"], "policyArn": ADMIN}),
    ("aws:iam/policyAttachment:PolicyAttachment", {"groups": ["dbas"], "policyArn": ADMIN}),
    ("aws:iam/policyAttachment:PolicyAttachment", {"roles": ["ci"], "policyArn": ADMIN}),
], ids=["user-attachment", "group-attachment", "role-attachment", "policy-attachment-users",
        "policy-attachment-groups", "policy-attachment-roles"])
def test_a_single_attachment_is_reported_on_the_attachment(attachment):
    type_, props = attachment
    violations, deferred = run([user(), group(), role(), res(type_, "grant", props)])
    assert urns(violations) == ["grant"] and not deferred
    [violation] = violations
    assert ".policyArn" in violation.message and "every IAM database user" in violation.message
    assert "Where: " in violation.message and "Fix: " in violation.message


@pytest.mark.parametrize("type_, identity", [
    ("aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive", {"userName": "ops"}),
    ("aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
     {"groupName": "dbas"}),
    ("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", {"roleName": "ci"}),
])
def test_a_list_mixing_the_stacks_policy_and_a_managed_one_reports_the_managed_element(
        type_, identity):
    exclusive = res(type_, "exclusive", {**identity, "policyArns": [OWN_ARN, READ_ONLY, ADMIN]},
                    deps={"policyArns": (own_policy().urn,)})
    violations, deferred = run([user(), group(), role(), own_policy(), exclusive])
    assert urns(violations) == ["exclusive"] and not deferred
    [violation] = violations
    assert ".policyArns[2]\n" in violation.message and ADMIN in violation.message
    assert OWN_ARN not in violation.message and READ_ONLY not in violation.message


def test_every_granting_element_of_a_list_is_reported_by_its_index():
    exclusive = res("aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive", "x",
                    {"userName": "ops", "policyArns": [ADMIN, OWN_ARN, POWER]})
    violations, _ = run([user(), exclusive])
    assert sorted(v.message.split("Where: ", 1)[1].split("\n", 1)[0].rsplit(" ", 1)[1]
                  for v in violations) == [".policyArns[0]", ".policyArns[2]"]


@pytest.mark.parametrize("type_, props", [
    ("aws:iam/role:Role", {"name": "ci", "assumeRolePolicy": SERVICE_TRUST}),
    ("aws-native:iam:Role", {"roleName": "ci", "assumeRolePolicyDocument": SERVICE_TRUST}),
    ("aws-native:iam:User", {"userName": "ops"}),
    ("aws-native:iam:Group", {"groupName": "dbas"}),
])
def test_an_identitys_own_managed_policy_arns(type_, props):
    identity = res(type_, "identity", {**props, "managedPolicyArns": [OWN_ARN, POWER]})
    violations, deferred = run([own_policy(), identity])
    assert urns(violations) == ["identity"] and not deferred
    assert ".managedPolicyArns[1]\n" in violations[0].message


def test_pod_roles_are_left_to_the_broad_permissions_rule():
    pod = role("app", IRSA_TRUST, managedPolicyArns=[ADMIN])
    attachment = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "app-admin",
                     {"role": "app", "policyArn": ADMIN})
    shared = res("aws:iam/policyAttachment:PolicyAttachment", "shared",
                 {"roles": ["app"], "users": ["ops"], "policyArn": ADMIN})
    violations, deferred = run([pod, user(), attachment, shared])
    assert urns(violations) == ["shared"] and not deferred
    assert "ops" in violations[0].message and "::app" not in violations[0].message


@pytest.mark.parametrize("arns", [[OWN_ARN], [READ_ONLY, RDS_FULL], []],
                         ids=["own-scoped-policy", "read-only-and-rds-full", "none"])
def test_no_finding_without_a_managed_policy_granting_every_user(arns):
    exclusive = res("aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive", "x",
                    {"userName": "ops", "policyArns": arns})
    assert run([user(), own_policy(), exclusive]) == ([], [])


@pytest.mark.parametrize("database", [
    None,
    res("aws:rds/cluster:Cluster", "password-only", {"engine": "aurora-postgresql",
                                                     "iamDatabaseAuthenticationEnabled": False}),
], ids=["no-database", "iam-auth-off"])
def test_no_finding_without_an_iam_auth_database(database):
    attachment = res("aws:iam/userPolicyAttachment:UserPolicyAttachment", "admin",
                     {"user": "ops", "policyArn": ADMIN})
    resources = [user(), attachment] + ([database] if database else [])
    assert run(resources, database=False) == ([], [])


@pytest.mark.parametrize("database", [
    res("aws:rds/instance:Instance", "db", {"engine": "postgres",
                                            "iamDatabaseAuthenticationEnabled": "true"}),
    res("aws:rds/proxy:Proxy", "proxy", {"engineFamily": "POSTGRESQL",
                                         "defaultAuthScheme": "IAM_AUTH"}),
    res("aws:rds/proxy:Proxy", "proxy", {"engineFamily": "POSTGRESQL",
                                         "auths": [{"iamAuth": "REQUIRED"}]}),
], ids=["instance", "proxy-end-to-end", "proxy-auths"])
def test_other_iam_auth_databases(database):
    attachment = res("aws:iam/userPolicyAttachment:UserPolicyAttachment", "admin",
                     {"user": "ops", "policyArn": ADMIN})
    violations, _ = run([user(), attachment, database], database=False)
    assert urns(violations) == ["admin"]


def test_unknown_values_are_deferred_not_judged():
    own = own_policy()
    # the stack's own policy not known yet: neither judged nor deferred
    mixed = res("aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive", "mixed",
                {"userName": "ops", "policyArns": [UNKNOWN, ADMIN]},
                deps={"policyArns": (own.urn,)})
    # an element depending on no policy of the stack: deferred
    foreign = res("aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
                  "foreign", {"groupName": "dbas", "policyArns": [UNKNOWN]})
    whole = res("aws:iam/userPolicyAttachment:UserPolicyAttachment", "whole",
                {"user": "ops", "policyArn": UNKNOWN})
    violations, deferred = run([own, user(), group(), mixed, foreign, whole])
    assert urns(violations) == ["mixed"]
    assert ".policyArns[1]\n" in violations[0].message
    assert sorted(d.urn.rsplit("::", 1)[1] for d in deferred) == ["foreign", "whole"]


def test_a_role_whose_trust_is_not_known_yet_is_deferred():
    unknown = role("later", UNKNOWN)
    attachment = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "later-admin",
                     {"role": "later", "policyArn": ADMIN})
    violations, deferred = run([unknown, attachment])
    assert not violations and [d.urn.rsplit("::", 1)[1] for d in deferred] == ["later-admin"]


def test_iam_auth_not_known_yet_defers_the_grant():
    database = res("aws:rds/cluster:Cluster", "orders", {
        "engine": "aurora-postgresql", "iamDatabaseAuthenticationEnabled": UNKNOWN})
    attachment = res("aws:iam/userPolicyAttachment:UserPolicyAttachment", "admin",
                     {"user": "ops", "policyArn": ADMIN})
    violations, deferred = run([database, user(), attachment], database=False)
    assert not violations and [d.urn.rsplit("::", 1)[1] for d in deferred] == ["admin"]


def test_a_role_outside_the_stack_is_judged_by_its_name():
    attachment = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "ops-admin",
                     {"role": "ops-break-glass", "policyArn": ADMIN})
    violations, deferred = run([attachment])
    assert urns(violations) == ["ops-admin"] and not deferred
    assert "ops-break-glass" in violations[0].message


def test_an_exemption_tag_silences_it():
    attachment = res("aws:iam/userPolicyAttachment:UserPolicyAttachment", "admin",
                     {"user": "ops", "policyArn": ADMIN})
    exempt = res("aws:iam/user:User", "ops", {"name": "ops", "tags": {
        "pgiam:exempt": f"{RULE}: break-glass account, MFA enforced"}})
    tagged_role = role("ci", managedPolicyArns=[ADMIN],
                       tags={"pgiam:exempt": f"{RULE}: break-glass role, reviewed"})
    violations, _ = run([exempt, attachment, tagged_role])
    assert urns(violations) == ["admin"]


def test_a_policy_attachment_to_users_groups_and_roles_is_one_finding_naming_them_all():
    attachment = res("aws:iam/policyAttachment:PolicyAttachment", "break-glass",
                     {"users": ["ops"], "groups": ["dbas"], "roles": ["ci", "elsewhere"],
                      "policyArn": ADMIN})
    violations, deferred = run([user(), group(), role(), attachment])
    assert urns(violations) == ["break-glass"] and not deferred
    text_ = violations[0].message
    for named in ("::ops", "::dbas", "::ci", "the role elsewhere (not in this stack)"):
        assert named in text_


def test_identities_named_by_a_dependency_while_their_names_are_not_known_yet():
    ops = res("aws:iam/user:User", "ops", {"name": UNKNOWN})
    ci = role("ci")
    by_user = res("aws:iam/userPolicyAttachment:UserPolicyAttachment", "ops-admin",
                  {"user": UNKNOWN, "policyArn": ADMIN}, deps={"user": (ops.urn,)})
    by_role = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "ci-admin",
                  {"role": UNKNOWN, "policyArn": ADMIN}, deps={"role": (ci.urn,)})
    unlinked = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "who-admin",
                   {"role": UNKNOWN, "policyArn": ADMIN})
    violations, deferred = run([ops, ci, by_user, by_role, unlinked])
    assert urns(violations) == ["ci-admin", "ops-admin"]
    assert [d.urn.rsplit("::", 1)[1] for d in deferred] == ["who-admin"]
