"""Issue 11's mistake classes, rule by rule (unit level): each member of a policy list judged on
its own, the OIDC provider's client ids, the default service account, pod roles reading secrets,
passwords reaching pods, rds_iam roles with a password, multivalued condition keys. Every
refusal has its passing control on the same setup."""

from __future__ import annotations

import base64
import json

import pytest

from iamdb_rules.catalog import BY_NAME
from iamdb_rules.links import refers_to_member
from iamdb_rules.model import Resource
from iamdb_rules.props import UNKNOWN

ISSUER = "oidc.eks.eu-central-1.amazonaws.com/id/5C5C5C5C5C5C5C5C5C5C5C5C5C5C5C5C"
PROVIDER = f"arn:aws:iam::210987654321:oidc-provider/{ISSUER}"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def trust(subject: str, operator: str = "StringEquals") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {operator: {f"{ISSUER}:sub": subject}}}]})


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def res(type_: str, name: str, props: dict, deps: dict | None = None) -> Resource:
    return Resource(type_, f"urn:pulumi:dev::shop::{type_}::{name}", name, props,
                    property_dependencies=deps or {})


def run(rule: str, subject, config=None):
    policy = BY_NAME[rule]
    return policy.run(subject, policy.context(config, stack="dev"))


POD_TRUST = trust("system:serviceaccount:shop:checkout")
CONNECT = doc({"Effect": "Allow", "Action": "rds-db:connect",
               "Resource": "arn:aws:rds-db:eu-central-1:210987654321:dbuser:cluster-ABC/shop"})
own_policy = res(POLICY, "shop-connect", {"arn": "arn:aws:iam::210987654321:policy/shop-connect",
                                          "name": "shop-connect", "policy": CONNECT})


# --- lists of policies --------------------------------------------------------------------

@pytest.mark.parametrize("member, expected", [
    (ADMIN, False),
    ("arn:aws:iam::210987654321:policy/shop-connect", True),
    ("arn:aws:iam::999999999999:policy/vendor", False),
    (UNKNOWN, True),
])
def test_a_list_member_is_judged_by_its_own_value_not_the_list_dependency(member, expected):
    role = res(ROLE, "r", {}, deps={"managedPolicyArns": (own_policy.urn,)})
    assert refers_to_member(role, "managedPolicyArns", member, own_policy) is expected


@pytest.mark.parametrize("prop, holder_type, key", [
    ("managedPolicyArns", None, None),
    ("policyArns", "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
     "roleName"),
])
@pytest.mark.parametrize("foreign, reported", [
    (ADMIN, True), ("arn:aws:iam::aws:policy/PowerUserAccess", True),
    ("arn:aws:iam::aws:policy/AmazonRDSReadOnlyAccess", False),
])
def test_an_aws_managed_policy_next_to_the_stacks_own_is_judged(prop, holder_type, key,
                                                                 foreign, reported):
    members = [own_policy.props["arn"], foreign]
    if holder_type is None:
        role = res(ROLE, "checkout", {"name": "checkout", "assumeRolePolicy": POD_TRUST,
                                      prop: members}, deps={prop: (own_policy.urn,)})
        resources = [own_policy, role]
    else:
        role = res(ROLE, "checkout", {"name": "checkout", "assumeRolePolicy": POD_TRUST})
        holder = res(holder_type, "exclusive", {key: "checkout", prop: members},
                     deps={prop: (own_policy.urn,), key: (role.urn,)})
        resources = [own_policy, role, holder]
    violations, _ = run("irsa-role-broad-permissions", resources)
    assert bool(violations) is reported


# --- OIDC provider ------------------------------------------------------------------------

OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"


@pytest.mark.parametrize("client_ids, reported", [
    (["sts.amazonaws.com"], False),
    (["argocd", "sts.amazonaws.com"], False),
    (["https://kubernetes.default.svc"], True),
    (["sts.amazonaws.com.cn"], True),
    ([], True),
])
def test_oidc_provider_client_ids_hold_the_sts_audience(client_ids, reported):
    violations, deferred = run("irsa-oidc-provider-audience",
                               res(OIDC, "oidc", {"clientIdLists": client_ids}))
    assert bool(violations) is reported and deferred == []


def test_oidc_provider_client_ids_follow_allowed_audiences_and_wait_for_unknowns():
    provider = res(OIDC, "oidc", {"clientIdLists": ["internal-sts"]})
    assert run("irsa-oidc-provider-audience", provider,
               {"allowedAudiences": ["internal-sts"]}) == ([], [])
    _, deferred = run("irsa-oidc-provider-audience", res(OIDC, "oidc", {"clientIdLists": UNKNOWN}))
    assert len(deferred) == 1


# --- default service account --------------------------------------------------------------

@pytest.mark.parametrize("subject, operator, reported", [
    ("system:serviceaccount:shop:default", "StringEquals", True),
    ("system:serviceaccount:*:default", "StringLike", True),
    ("system:serviceaccount:shop:checkout", "StringEquals", False),
    ("system:serviceaccount:shop:default-reader", "StringEquals", False),
])
def test_trusting_the_default_service_account_is_reported(subject, operator, reported):
    violations, _ = run("irsa-trust-default-service-account",
                        res(ROLE, "r", {"assumeRolePolicy": trust(subject, operator)}))
    assert bool(violations) is reported


def test_default_service_account_check_waits_for_an_unknown_trust():
    _, deferred = run("irsa-trust-default-service-account",
                      res(ROLE, "r", {"assumeRolePolicy": UNKNOWN}))
    assert deferred and all(".assumeRolePolicy" in d.reason for d in deferred)


# --- secrets read broadly -----------------------------------------------------------------

MASTER_SECRET = "arn:aws:secretsmanager:eu-central-1:210987654321:secret:rds!cluster-1-AbCdEf"


@pytest.mark.parametrize("statement, reported", [
    ({"Action": "secretsmanager:GetSecretValue", "Resource": "*"}, True),
    ({"Action": "secretsmanager:Get*", "Resource":
      "arn:aws:secretsmanager:eu-central-1:210987654321:secret:*"}, True),
    ({"Action": ["ssm:GetParametersByPath"], "Resource":
      "arn:aws:ssm:eu-central-1:210987654321:parameter/*"}, True),
    ({"Action": "kms:Decrypt", "Resource": "*"}, True),
    ({"Action": "secretsmanager:GetSecretValue", "NotResource": "arn:aws:s3:::x"}, True),
    ({"Action": "secretsmanager:GetSecretValue", "Resource": MASTER_SECRET}, True),
    ({"Action": "secretsmanager:GetSecretValue", "Resource":
      "arn:aws:secretsmanager:eu-central-1:210987654321:secret:shop/flags-1a2b3c"}, False),
    ({"Action": "kms:Decrypt", "Resource": "*",
      "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}}}, False),
    ({"Action": "s3:GetObject", "Resource": "*"}, False),
])
def test_pod_role_reading_secrets_broadly_is_reported(statement, reported):
    database = res("aws:rds/cluster:Cluster", "db", {
        "engine": "aurora-postgresql", "masterUserSecrets": [{"secretArn": MASTER_SECRET}]})
    role = res(ROLE, "checkout", {"assumeRolePolicy": POD_TRUST, "inlinePolicies": [
        {"name": "s", "policy": doc({"Effect": "Allow", **statement})}]})
    violations, _ = run("irsa-role-reads-secrets", [database, role])
    assert bool(violations) is reported


def test_secret_reads_of_roles_pods_do_not_assume_pass():
    role = res(ROLE, "ci", {"assumeRolePolicy": doc({
        "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"},
        "Action": "sts:AssumeRole"}), "inlinePolicies": [{"name": "s", "policy": doc(
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})}]})
    assert run("irsa-role-reads-secrets", [role]) == ([], [])


# --- passwords reaching pods --------------------------------------------------------------

def deployment(env: list) -> Resource:
    return res("kubernetes:apps/v1:Deployment", "api", {"spec": {"template": {"spec": {
        "serviceAccountName": "api", "containers": [{"name": "api", "image": "api:1",
                                                     "env": env}]}}}})


@pytest.mark.parametrize("env, reported", [
    ([{"name": "PGPASSWORD", "value": "pw-123456"}], True),
    ([{"name": "ORDERS_DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}],
     True),
    ([{"name": "DATABASE_URL", "value": "postgres://app:pw-123@db.internal:5432/app"}], True),
    ([{"name": "DSN", "value": "host=db.internal dbname=app user=app password=pw-1"}], True),
    ([{"name": "DATABASE_URL", "value": "postgres://app@db.internal:5432/app?sslmode=verify-full"}],
     False),
    ([{"name": "PGUSER", "value": "app"}, {"name": "GRAFANA_ADMIN_PASSWORD", "value": "x"}], False),
])
def test_database_passwords_in_pod_env_are_reported(env, reported):
    violations, _ = run("kubernetes-no-database-password", [deployment(env)])
    assert bool(violations) is reported
    assert all("pw-1" not in v.message for v in violations)


def test_master_password_reaching_a_secret_or_helm_values_is_reported():
    cluster = res("aws:rds/cluster:Cluster", "db", {"masterPassword": "Sup3r-Master-Pw"})
    secret = res("kubernetes:core/v1:Secret", "creds", {"data": {
        "blob": base64.b64encode(b"Sup3r-Master-Pw").decode()}})
    release = res("kubernetes:helm.sh/v3:Release", "app", {"values": {
        "externalDatabase": {"host": "db", "password": "chart-pw-1"}}})
    clean = res("kubernetes:core/v1:ConfigMap", "cfg", {"data": {"PGHOST": "db"}})
    violations, _ = run("kubernetes-no-database-password", [cluster, secret, release, clean])
    assert {v.urn for v in violations} == {secret.urn, release.urn}


# --- rds_iam with a password --------------------------------------------------------------

PG_ROLE = "postgresql:index/role:Role"


@pytest.mark.parametrize("props, grant, reported", [
    ({"name": "app", "roles": ["rds_iam"], "password": "pw-1"}, False, True),
    ({"name": "app", "password": "pw-1"}, True, True),
    ({"name": "app", "roles": ["rds_iam"]}, False, False),
    ({"name": "app", "password": "pw-1"}, False, False),
])
def test_an_rds_iam_role_sets_no_password(props, grant, reported):
    role = res(PG_ROLE, "app", props)
    resources = [role]
    if grant:
        resources.append(res("postgresql:index/grantRole:GrantRole", "g",
                             {"role": "app", "grantRole": "rds_iam"}))
    violations, _ = run("postgresql-rds-iam-no-password", resources)
    assert bool(violations) is reported


# --- multivalued condition keys -----------------------------------------------------------

@pytest.mark.parametrize("condition, reported", [
    ({"StringEquals": {"aws:TagKeys": ["team"]}}, True),
    ({"StringLike": {"aws:CalledVia": "athena.amazonaws.com"}}, True),
    ({"StringEquals": {"aws:PrincipalOrgPaths": "o-1/r-1/ou-1/"}}, True),
    ({"StringEquals": {"ec2:IKEVersions": "ikev2"}}, True),
    ({"StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}}, True),
    ({"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}}, False),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}, False),
    ({"ForAllValues:StringLike": {"aws:CalledVia": "athena.amazonaws.com"}}, False),
    ({"Null": {"aws:TagKeys": "false"}}, False),
    ({"StringEquals": {"aws:SourceVpce": "vpce-1"}}, False),
])
def test_single_valued_operator_on_a_multivalued_key_is_reported(condition, reported):
    policy = res(POLICY, "p", {"policy": doc({"Effect": "Allow", "Action": "ec2:CreateTags",
                                              "Resource": "*", "Condition": condition})})
    violations, _ = run("iam-condition-multivalued-key-operator", policy)
    assert bool(violations) is reported


@pytest.mark.parametrize("statement", [
    {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::210987654321:root"},
     "Action": "sts:AssumeRole"},
    {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::210987654321:root"},
     "Action": "sts:AssumeRole"},
])
def test_not_principal_in_a_trust_policy_is_an_invalid_document(statement):
    allow = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
             "Action": "sts:AssumeRole"}
    role = res(ROLE, "r", {"assumeRolePolicy": doc(allow, statement)})
    violations, _ = run("iam-policy-document-valid", role)
    assert len(violations) == 1 and "NotPrincipal" in violations[0].message
    assert run("iam-policy-document-valid", res(ROLE, "r", {"assumeRolePolicy": doc(allow)})) \
        == ([], [])


def test_a_secret_read_on_a_resource_not_known_yet_is_deferred_not_passed():
    role = res(ROLE, "checkout", {"assumeRolePolicy": POD_TRUST, "inlinePolicies": [
        {"name": "s", "policy": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
            "Resource": [UNKNOWN]}]}}]})
    violations, deferred = run("irsa-role-reads-secrets", [role])
    assert violations == [] and len(deferred) == 1


@pytest.mark.parametrize("name, reported", [
    ("orders-db-credentials", True), ("pg-auth", True), ("postgres-login", True),
    ("grafana-admin", False), ("dbt-config", False),
])
def test_a_secret_named_for_a_database_with_a_password_key_is_reported(name, reported):
    secret = res("kubernetes:core/v1:Secret", name, {"metadata": {"name": name},
                                                     "stringData": {"username": "app",
                                                                    "password": "pw-123"}})
    violations, _ = run("kubernetes-no-database-password", [secret])
    assert bool(violations) is reported


def test_a_pod_role_document_not_known_yet_defers_the_secret_check():
    role = res(ROLE, "checkout", {"assumeRolePolicy": POD_TRUST,
                                  "inlinePolicies": [{"name": "s", "policy": UNKNOWN}]})
    violations, deferred = run("irsa-role-reads-secrets", [role])
    assert violations == [] and len(deferred) == 1
