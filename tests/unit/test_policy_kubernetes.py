"""Kubernetes: static AWS credentials and weak PostgreSQL sslmodes, in every workload kind and
in Secrets and ConfigMaps; credentials are never echoed in messages."""

from __future__ import annotations

import base64

import pytest

from iamdb_rules.catalog import BY_NAME
from iamdb_rules.model import Resource
from iamdb_rules.props import UNKNOWN

KEY_ID = "AKIAIOSFODNN7EXAMPLE"


def pod_spec(env, **extra):
    return {"containers": [{"name": "app", "image": "app:1", "env": env}], **extra}


WORKLOADS = {
    "kubernetes:core/v1:Pod": lambda spec: {"spec": spec},
    "kubernetes:apps/v1:Deployment": lambda spec: {"spec": {"template": {"spec": spec}}},
    "kubernetes:apps/v1:StatefulSet": lambda spec: {"spec": {"template": {"spec": spec}}},
    "kubernetes:apps/v1:DaemonSet": lambda spec: {"spec": {"template": {"spec": spec}}},
    "kubernetes:apps/v1:ReplicaSet": lambda spec: {"spec": {"template": {"spec": spec}}},
    "kubernetes:batch/v1:Job": lambda spec: {"spec": {"template": {"spec": spec}}},
    "kubernetes:batch/v1:CronJob": lambda spec: {
        "spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}},
    "kubernetes:apps/v1:DeploymentPatch": lambda spec: {"spec": {"template": {"spec": spec}}},
    "kubernetes:core/v1:PodTemplate": lambda spec: {"template": {"spec": spec}},
}


def workload(type_: str, env, **extra) -> Resource:
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::w", "w",
                    WORKLOADS[type_](pod_spec(env, **extra)))


def obj(kind: str, **props) -> Resource:
    type_ = f"kubernetes:core/v1:{kind}"
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::o", "o", props)


def run(rule: str, subject):
    policy = BY_NAME[rule]
    return policy.run(subject, policy.context(stack="dev"))


CREDENTIALS = "kubernetes-no-static-aws-credentials"
SSLMODE = "kubernetes-postgres-sslmode"


@pytest.mark.parametrize("type_", sorted(WORKLOADS))
def test_credential_variables_are_found_in_every_workload_kind(type_):
    violations, _ = run(CREDENTIALS, workload(type_, [{"name": "AWS_ACCESS_KEY_ID",
                                                       "value": KEY_ID}]))
    assert len(violations) == 1
    assert KEY_ID not in violations[0].message


@pytest.mark.parametrize("env, expected", [
    ([{"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
     1),
    ([{"name": "aws_session_token", "value": "FwoGZXIvYXdzE"}], 1),
    ([{"name": "API_KEY", "value": f"prefix {KEY_ID} suffix"}], 1),
    ([{"name": "AWS_REGION", "value": "us-east-1"},
      {"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::111122223333:role/app"}], 0),
    ([{"name": "AWS_ACCESS_KEY_ID", "value": ""}], 0),
], ids=["secret-ref", "session-token-any-case", "key-id-in-another-variable", "irsa-variables",
        "empty"])
def test_static_credentials_in_env(env, expected):
    assert len(run(CREDENTIALS, workload("kubernetes:apps/v1:Deployment", env))[0]) == expected


def test_key_in_command_or_args_is_found():
    spec = {"containers": [{"name": "c", "image": "aws-cli", "args": [
        "aws", "configure", "set", "aws_access_key_id", KEY_ID]}]}
    resource = Resource("kubernetes:core/v1:Pod", "urn:pulumi:dev::p::kubernetes:core/v1:Pod::p",
                        "p", {"spec": spec})
    violations, _ = run(CREDENTIALS, resource)
    assert len(violations) == 1 and "AKIA************MPLE" in violations[0].message


@pytest.mark.parametrize("resource, expected", [
    (obj("Secret", stringData={"AWS_ACCESS_KEY_ID": "x"}), 1),
    (obj("Secret", data={"aws-secret-access-key": base64.b64encode(b"s3cr3t").decode()}), 1),
    (obj("Secret", data={"credentials": base64.b64encode(
        b"[default]\naws_secret_access_key = abc\n").decode()}), 1),
    (obj("Secret", stringData={"config": f"key={KEY_ID}"}), 1),
    (obj("ConfigMap", data={"AWS_SECRET_ACCESS_KEY": "abc"}), 1),
    (obj("Secret", stringData={"password": "hunter2"}), 0),
    (obj("ConfigMap", data={"AWS_REGION": "us-east-1"}), 0),
], ids=["string-data-key", "data-key-dashes", "data-credentials-file", "key-id-in-value",
        "configmap", "other-secret", "configmap-region"])
def test_credentials_in_secrets_and_configmaps(resource, expected):
    violations, _ = run(CREDENTIALS, resource)
    assert len(violations) == expected
    for violation in violations:
        assert "hunter2" not in violation.message and "abc" not in violation.message


def test_unknown_credential_variable_is_deferred():
    violations, deferred = run(CREDENTIALS, workload("kubernetes:core/v1:Pod", [
        {"name": "AWS_SECRET_ACCESS_KEY", "value": UNKNOWN}]))
    assert violations == [] and deferred


def test_unknown_pod_spec_is_deferred():
    resource = Resource("kubernetes:apps/v1:Deployment", "urn:x", "d", {"spec": UNKNOWN})
    assert run(CREDENTIALS, resource)[1] and run(SSLMODE, resource)[1]


@pytest.mark.parametrize("env, expected", [
    ([{"name": "PGSSLMODE", "value": "verify-full"}, {"name": "PGHOST", "value": "db"}], 0),
    ([{"name": "PGSSLMODE", "value": "require"}], 0),
    ([{"name": "PGSSLMODE", "value": "disable"}], 1),
    ([{"name": "PGSSLMODE", "value": "Prefer"}], 1),
    ([{"name": "DB_SSLMODE", "value": "allow"}], 1),
    ([{"name": "DATABASE_SSL_MODE", "value": "disable"}], 1),
    ([{"name": "DATABASE_URL", "value": "postgres://u@h/db?sslmode=disable"}], 1),
    ([{"name": "DSN", "value": "host=h dbname=d sslmode = 'prefer'"}], 1),
    ([{"name": "JDBC_URL", "value": "jdbc:postgresql://h/d?sslmode=allow"}], 1),
    ([{"name": "DATABASE_URL", "value": "postgresql://u@h/db"}], 1),
    ([{"name": "DATABASE_URL", "value": "postgresql://u@h/db"},
      {"name": "PGSSLMODE", "value": "verify-full"}], 0),
    ([{"name": "PGHOST", "value": "db"}], 1),
    ([{"name": "DB_HOST", "value": "db"}], 0),
    ([{"name": "PGSSLMODE", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "m"}}},
      {"name": "PGHOST", "value": "db"}], 0),
    ([{"name": "DATABASE_URL", "value": "postgresql+psycopg2://u@h/db"}], 1),
    ([{"name": "DATABASE_URL", "value": "postgresql+asyncpg://u@h/db?sslmode=verify-full"}], 0),
    ([{"name": "JDBC_URL", "value": "jdbc:postgresql://h/d?ssl=false"}], 1),
    ([{"name": "JDBC_URL", "value": "jdbc:postgresql://h/d?ssl=true"}], 0),
    ([{"name": "DATABASE_URL", "value": "postgres://u@h/db?sslmode=no-verify"}], 0),
], ids=["verify-full", "require", "disable", "prefer-any-case", "db-sslmode", "ssl-mode",
        "url-disable", "dsn-prefer", "jdbc-allow", "url-without-sslmode", "url-plus-pgsslmode",
        "pghost-without-sslmode", "app-specific-host", "sslmode-from-configmap",
        "sqlalchemy-url-without-sslmode", "sqlalchemy-url-verify-full", "jdbc-ssl-false",
        "jdbc-ssl-true-is-verify-full", "no-verify-is-the-advisory-rule"])
def test_sslmode_in_containers(env, expected):
    assert len(run(SSLMODE, workload("kubernetes:batch/v1:CronJob", env))[0]) == expected


def test_sslmode_in_init_containers_and_args():
    spec = {"initContainers": [{"name": "migrate", "image": "m", "args": [
        "psql", "sslmode=disable host=db"]}], "containers": []}
    resource = Resource("kubernetes:core/v1:Pod", "urn:x", "p", {"spec": spec})
    assert len(run(SSLMODE, resource)[0]) == 1


@pytest.mark.parametrize("resource, expected", [
    (obj("ConfigMap", data={"database.yml": "production:\n  adapter: postgresql\n"
                                            "  sslmode: disable\n"}), 1),
    (obj("ConfigMap", data={"appsettings.json": '{"Db": "Host=db;SSL Mode=Prefer"}'}), 1),
    (obj("ConfigMap", data={"config.json": '{"sslmode": "allow"}'}), 1),
    (obj("ConfigMap", data={"appsettings.json": '{"Db": "Host=db;SSL Mode=VerifyFull"}'}), 0),
    (obj("ConfigMap", data={"PGSSLMODE": "disable"}), 1),
    (obj("ConfigMap", data={"DATABASE_URL": "postgres://h/d?sslmode=prefer"}), 1),
    (obj("Secret", stringData={"PGSSLMODE": "verify-full"}), 0),
    (obj("Secret", data={"PGSSLMODE": base64.b64encode(b"allow").decode()}), 1),
], ids=["rails-yaml", "npgsql", "json-config", "npgsql-verify-full", "configmap-disable",
        "configmap-url", "secret-verify-full", "secret-base64-allow"])
def test_sslmode_in_configmaps_and_secrets(resource, expected):
    assert len(run(SSLMODE, resource)[0]) == expected


def test_unknown_sslmode_is_deferred():
    violations, deferred = run(SSLMODE, workload("kubernetes:apps/v1:Deployment", [
        {"name": "PGSSLMODE", "value": UNKNOWN}, {"name": "PGHOST", "value": "db"}]))
    assert violations == [] and deferred


def test_libpq_default_is_not_assumed_when_env_comes_from_elsewhere():
    env_from = Resource("kubernetes:core/v1:Pod", "urn:x", "p", {"spec": {
        "containers": [{"name": "c", "image": "i", "env": [{"name": "PGHOST", "value": "db"}],
                        "envFrom": [{"configMapRef": {"name": "pg"}}]}]}})
    assert run(SSLMODE, env_from) == ([], [])
    unknown_entry = workload("kubernetes:core/v1:Pod", [{"name": "PGHOST", "value": "db"},
                                                       UNKNOWN])
    assert run(SSLMODE, unknown_entry)[0] == []


VERIFY = "kubernetes-postgres-sslmode-verify-full"


@pytest.mark.parametrize("env, expected", [
    ([{"name": "PGSSLMODE", "value": "require"}], 1),
    ([{"name": "DB_SSLMODE", "value": "verify-ca"}], 1),
    ([{"name": "DATABASE_URL", "value": "postgres://u@h/db?sslmode=no-verify"}], 1),
    ([{"name": "PGSSLMODE", "value": "verify-full"}], 0),
    ([{"name": "PGSSLMODE", "value": "disable"}], 0),
    ([{"name": "PGHOST", "value": "db"}], 0),
], ids=["require", "verify-ca", "no-verify", "verify-full", "disable-is-the-mandatory-rule",
        "libpq-default-is-the-mandatory-rule"])
def test_advisory_rule_reports_tls_that_does_not_verify_the_server(env, expected):
    assert BY_NAME[VERIFY].enforcement == "advisory"
    assert len(run(VERIFY, workload("kubernetes:apps/v1:Deployment", env))[0]) == expected


def release(values) -> Resource:
    type_ = "kubernetes:helm.sh/v3:Release"
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::r", "r", {"chart": "app",
                                                                  "values": values})


@pytest.mark.parametrize("values, expected", [
    ({"env": [{"name": "PGSSLMODE", "value": "disable"}]}, 1),
    ({"database": {"sslmode": "prefer"}}, 1),
    ({"database": {"url": "postgres://h/d?sslmode=allow"}}, 1),
    ({"args": ["--dsn", "host=h sslmode=disable"]}, 1),
    ({"env": [{"name": "PGSSLMODE", "value": "verify-full"}], "sslmode": "verify-full"}, 0),
    ({"database": {"sslmode": UNKNOWN}}, 0),
], ids=["env-pair", "sslmode-key", "url", "dsn-in-a-list", "verify-full", "unknown"])
def test_sslmode_in_helm_values_and_custom_resources(values, expected):
    assert len(run(SSLMODE, release(values))[0]) == expected


@pytest.mark.parametrize("values, expected", [
    ({"env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI/K7MDENG"}]}, 1),
    ({"aws": {"secretAccessKey": "wJalrXUtnFEMI/K7MDENG"}}, 1),
    ({"extraEnv": {"AWS_SESSION_TOKEN": "FwoGZXIvYXdzE"}}, 1),
    ({"aws": {"accessKeyId": KEY_ID}}, 1),
    ({"aws": {"secretAccessKey": ""}}, 0),
    ({"aws": {"secretAccessKey": "{{ .Values.secret }}"}}, 0),
    ({"data": [{"secretKey": "AWS_SECRET_ACCESS_KEY",
                "remoteRef": {"key": "prod/aws", "property": "secret"}}]}, 0),
], ids=["env-pair", "secret-access-key", "session-token", "key-id", "empty", "template",
        "external-secret-mapping"])
def test_credentials_in_helm_values_and_custom_resources(values, expected):
    violations, _ = run(CREDENTIALS, release(values))
    assert len(violations) == expected
    assert all("wJalr" not in violation.message for violation in violations)


def config_group(**props) -> Resource:
    type_ = "kubernetes:yaml/v2:ConfigGroup"
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::g", "g", props)


MANIFEST = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api}}
spec:
  template:
    spec:
      containers:
      - {{name: api, image: api, env: [{{name: AWS_ACCESS_KEY_ID, value: {KEY_ID}}}]}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings}}
data: {{PGSSLMODE: prefer}}
"""


def test_objects_inside_a_manifest_component_are_checked_as_objects():
    for group in (config_group(yaml=MANIFEST), config_group(yaml=[MANIFEST]),
                  config_group(objs=[{"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": "settings"},
                                      "data": {"PGSSLMODE": "prefer"}}])):
        violations, _ = run(SSLMODE, group)
        assert len(violations) == 1 and "ConfigMap/settings .data.PGSSLMODE" in \
            violations[0].message and violations[0].urn == group.urn
    violations, _ = run(CREDENTIALS, config_group(yaml=MANIFEST))
    assert len(violations) == 1 and "Deployment/api" in violations[0].message
    assert run(SSLMODE, config_group(yaml="kind: [")) == ([], [])


ENV_FROM = "kubernetes-postgres-sslmode-env-from"


def loaded(kind: str, name: str, data: dict, namespace: str = "default") -> Resource:
    type_ = f"kubernetes:core/v1:{kind}"
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::{name}", name,
                    {"metadata": {"name": name, "namespace": namespace}, "data": data})


def env_from_workload(refs: list, env: list | None = None) -> Resource:
    spec = {"containers": [{"name": "app", "image": "app:1", "env": env or [], "envFrom": refs}]}
    type_ = "kubernetes:apps/v1:Deployment"
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::api", "api",
                    {"metadata": {"namespace": "default"}, "spec": {"template": {"spec": spec}}})


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("objects, refs, env, reported", [
    ([loaded("ConfigMap", "db", {"PGHOST": "db.example.com", "PGUSER": "app"})],
     [{"configMapRef": {"name": "db"}}], [], True),
    ([loaded("Secret", "db", {"DATABASE_URL": b64("postgres://app@db.example.com/app")})],
     [{"secretRef": {"name": "db"}}], [], True),
    ([loaded("ConfigMap", "db", {"HOST": "db.example.com"})],
     [{"configMapRef": {"name": "db"}, "prefix": "PG"}], [], True),
    ([loaded("ConfigMap", "db", {"PGHOST": "db.example.com", "PGSSLMODE": "verify-full"})],
     [{"configMapRef": {"name": "db"}}], [], False),
    ([loaded("ConfigMap", "db", {"PGHOST": "db.example.com"})],
     [{"configMapRef": {"name": "db"}}], [{"name": "PGSSLMODE", "value": "verify-full"}], False),
    ([loaded("ConfigMap", "tls", {"PGSSLMODE": "verify-full"}),
      loaded("ConfigMap", "db", {"PGHOST": "db.example.com"})],
     [{"configMapRef": {"name": "db"}}, {"configMapRef": {"name": "tls"}}], [], False),
    ([loaded("Secret", "db", {"DATABASE_URL": b64("postgres://db.example.com/app?sslmode=verify-full")})],
     [{"secretRef": {"name": "db"}}], [], False),
    ([loaded("ConfigMap", "db", {"PGHOST": "db.example.com"})],
     [{"configMapRef": {"name": "elsewhere"}}], [], False),
    ([loaded("ConfigMap", "db", {"PGHOST": "db.example.com"}, namespace="other")],
     [{"configMapRef": {"name": "db"}}], [], False),
    ([loaded("ConfigMap", "db", {"LOG_LEVEL": "info"})], [{"configMapRef": {"name": "db"}}], [], False),
], ids=["pghost", "url-in-secret", "prefixed-host", "sslmode-alongside", "sslmode-in-env",
        "sslmode-from-another-object", "url-with-sslmode", "object-outside-the-stack",
        "object-in-another-namespace", "not-a-database-client"])
def test_libpq_configured_through_env_from_needs_an_sslmode_in_what_it_loads(objects, refs, env, reported):
    violations, deferred = run(ENV_FROM, [*objects, env_from_workload(refs, env)])
    assert bool(violations) == reported and not deferred
    for violation in violations:
        assert violation.urn.endswith("::api") and "prefer" in violation.message


def test_an_unknown_host_or_sslmode_in_a_loaded_object_defers_and_an_unknown_password_does_not():
    unknown_host = loaded("ConfigMap", "db", {"PGHOST": UNKNOWN})
    violations, deferred = run(ENV_FROM, [unknown_host, env_from_workload([{"configMapRef": {"name": "db"}}])])
    assert not violations and deferred
    unknown_password = loaded("Secret", "db", {"PGHOST": b64("db.example.com"), "PGPASSWORD": UNKNOWN})
    violations, deferred = run(ENV_FROM, [unknown_password, env_from_workload([{"secretRef": {"name": "db"}}])])
    assert violations and not deferred
