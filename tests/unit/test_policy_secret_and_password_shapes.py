"""Shapes of the secret-reading and pod-password mistakes written differently from the rules'
first tests: a pod role reading every RDS-managed master secret through a ``rds!`` pattern; a
Secret whose contents a preview does not know (deferred, never passed); a password variable
whose value is not known yet (still a password reaching the pod)."""

from __future__ import annotations

import json

import pytest

from iamdb_rules.catalog import BY_NAME
from iamdb_rules.model import Resource
from iamdb_rules.props import UNKNOWN

ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789ABCDEF0123456789"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
    "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"},
    "Condition": {"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:pay:api",
                                   f"{ISSUER}:aud": "sts.amazonaws.com"}}}]})
ROLE_URN = "urn:pulumi:dev::p::aws:iam/role:Role::api"


def run(rule: str, subject):
    policy = BY_NAME[rule]
    return policy.run(subject, policy.context(stack="dev"))


def pod_role_reading(resource_pattern: str) -> list[Resource]:
    role = Resource("aws:iam/role:Role", ROLE_URN, "api",
                    {"name": "api", "arn": "arn:aws:iam::123456789012:role/api",
                     "assumeRolePolicy": TRUST})
    policy = Resource("aws:iam/rolePolicy:RolePolicy",
                      "urn:pulumi:dev::p::aws:iam/rolePolicy:RolePolicy::read", "read",
                      {"role": "api", "policy": json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                      "Resource": resource_pattern}]})},
                      property_dependencies={"role": (ROLE_URN,)})
    return [role, policy]


SECRETS = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"


@pytest.mark.parametrize("pattern", [SECRETS + "rds!*", SECRETS + "rds!cluster-*",
                                     SECRETS + "rds*", SECRETS + "*"])
def test_a_pattern_covering_rds_managed_master_secrets_is_reported(pattern):
    violations, deferred = run("irsa-role-reads-secrets", pod_role_reading(pattern))
    assert [v.urn for v in violations] == [
        "urn:pulumi:dev::p::aws:iam/rolePolicy:RolePolicy::read"] and deferred == []


@pytest.mark.parametrize("pattern", [SECRETS + "payments/stripe-api-key-AbCdEf",
                                     SECRETS + "payments/*"])
def test_a_named_application_secret_is_not_a_broad_read(pattern):
    assert run("irsa-role-reads-secrets", pod_role_reading(pattern)) == ([], [])


def secret(**props) -> Resource:
    type_ = "kubernetes:core/v1:Secret"
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::db", "db",
                    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, **props})


@pytest.mark.parametrize("props", [{"stringData": UNKNOWN}, {"data": UNKNOWN},
                                   {"stringData": {"DATABASE_URL": UNKNOWN}},
                                   {"stringData": {"ORDERS_DSN": UNKNOWN}}])
def test_unknown_secret_contents_are_deferred_not_passed(props):
    violations, deferred = run("kubernetes-no-database-password", [secret(**props)])
    assert violations == [] and [d.urn for d in deferred] == [secret().urn]


def test_known_string_data_is_judged_though_computed_data_is_unknown():
    violations, deferred = run("kubernetes-no-database-password", [secret(
        data=UNKNOWN, stringData={"DATABASE_URL": "postgresql://app:pw-2024@db:5432/app"})])
    assert len(violations) == 1 and deferred == []
    assert "pw-2024" not in violations[0].message


def test_unknown_non_connection_settings_are_neither_reported_nor_deferred():
    assert run("kubernetes-no-database-password",
               [secret(stringData={"PGHOST": UNKNOWN, "PGUSER": "app"})]) == ([], [])


def test_a_password_variable_with_an_unknown_value_still_reaches_the_pod():
    violations, _ = run("kubernetes-no-database-password", [secret(stringData={
        "PGPASSWORD": UNKNOWN})])
    assert len(violations) == 1 and "PGPASSWORD is set (from a value not known yet)" in \
        violations[0].message


@pytest.mark.parametrize("name", ["SPRING_DATASOURCE_PASSWORD", "QUARKUS_DATASOURCE_PASSWORD",
                                  "TYPEORM_PASSWORD", "FLYWAY_PASSWORD", "JDBC_PASSWORD"])
def test_framework_database_password_variables_from_a_secret_reach_the_pod(name):
    type_ = "kubernetes:apps/v1:Deployment"
    deployment = Resource(type_, f"urn:pulumi:dev::p::{type_}::api", "api", {
        "metadata": {"name": "api"}, "spec": {"template": {"spec": {"containers": [{
            "name": "api", "image": "api:1", "env": [{"name": name, "valueFrom": {
                "secretKeyRef": {"name": "orders", "key": "pw"}}}]}]}}}})
    violations, _ = run("kubernetes-no-database-password", [deployment])
    assert len(violations) == 1 and f"{name} is set (from a Secret)" in violations[0].message


@pytest.mark.parametrize("name", ["REDIS_PASSWORD", "SMTP_PASSWORD", "PASSWORD_MIN_LENGTH"])
def test_other_services_passwords_are_not_database_passwords(name):
    assert run("kubernetes-no-database-password", [secret(stringData={name: "x-1234"})]) == \
        ([], [])


@pytest.mark.parametrize("text", [
    "spring.datasource.url=jdbc:postgresql://orders:5432/app\nspring.datasource.password=pw-2024\n",
    "PGHOST=orders\nPGPASSWORD=pw-2024\n",
    "server:\n  port: 8080\ndatabase:\n  host: orders\n  password: pw-2024\n",
    "db:\n  pass: pw-2024\n  user: app\n",
], ids=["properties", "dotenv", "yaml", "yaml-db-pass"])
def test_a_password_in_a_mounted_configuration_file_is_reported(text):
    configmap = Resource("kubernetes:core/v1:ConfigMap",
                         "urn:pulumi:dev::p::kubernetes:core/v1:ConfigMap::settings", "settings",
                         {"metadata": {"name": "settings"}, "data": {"app.conf": text}})
    violations, _ = run("kubernetes-no-database-password", [configmap])
    assert len(violations) == 1 and "configuration text" in violations[0].message
    assert "pw-2024" not in violations[0].message


@pytest.mark.parametrize("text", [
    "spring.datasource.url=jdbc:postgresql://orders:5432/app\nspring.datasource.password=${DB_PASSWORD}\n",
    "database:\n  host: orders\n  user: app\n  sslmode: verify-full\n",
    "smtp:\n  password: mail-pw\nredis:\n  password: cache-pw\n",
], ids=["placeholder", "no-password", "other-services"])
def test_configuration_files_without_a_database_password_pass(text):
    configmap = Resource("kubernetes:core/v1:ConfigMap",
                         "urn:pulumi:dev::p::kubernetes:core/v1:ConfigMap::settings", "settings",
                         {"metadata": {"name": "settings"}, "data": {"app.conf": text}})
    assert run("kubernetes-no-database-password", [configmap]) == ([], [])
