"""RDS rules of the policy pack, on plain resources (inputs for resource rules, outputs for the
TLS stack rule), compliant and not, known and unknown."""

from __future__ import annotations

import pytest

from iamdb_rules.catalog import BY_NAME
from iamdb_rules.model import Resource
from iamdb_rules.props import UNKNOWN

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/instance:Instance"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
CLUSTER_PG = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
PG = "aws:rds/parameterGroup:ParameterGroup"


def res(type_: str, props: dict, name: str = "db", deps: dict | None = None) -> Resource:
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::{name}", name, props,
                    property_dependencies=deps or {})


def run(rule: str, subject, config=None, stack: str = "dev"):
    policy = BY_NAME[rule]
    return policy.run(subject, policy.context(config, stack=stack))


@pytest.mark.parametrize("type_, props", [
    (CLUSTER, {"engine": "aurora-postgresql", "iamDatabaseAuthenticationEnabled": True}),
    (CLUSTER, {"engine": "aurora-mysql", "iamDatabaseAuthenticationEnabled": "true"}),
    (INSTANCE, {"engine": "postgres", "iamDatabaseAuthenticationEnabled": True}),
    (INSTANCE, {"engine": "MariaDB", "iamDatabaseAuthenticationEnabled": True}),
    (INSTANCE, {"engine": "sqlserver-ex"}),
    (INSTANCE, {"engine": "oracle-ee"}),
    (INSTANCE, {"replicateSourceDb": "source-db", "iamDatabaseAuthenticationEnabled": True}),
    ("aws:s3/bucket:Bucket", {}),
], ids=["aurora-pg", "aurora-mysql-string-true", "postgres", "mariadb-any-case",
        "sqlserver-has-no-iam-auth", "oracle", "replica-without-engine", "other-type"])
def test_iam_auth_enabled_or_not_applicable_passes(type_, props):
    assert run("rds-iam-auth-enabled", res(type_, props)) == ([], [])


@pytest.mark.parametrize("type_, props", [
    (CLUSTER, {"engine": "aurora-postgresql"}),
    (CLUSTER, {"engine": "aurora-postgresql", "iamDatabaseAuthenticationEnabled": False}),
    (CLUSTER, {"engine": "postgres", "iamDatabaseAuthenticationEnabled": "false"}),
    (CLUSTER, {"engine": "aurora"}),
    (INSTANCE, {"engine": "mysql", "iamDatabaseAuthenticationEnabled": False}),
    (INSTANCE, {"engine": "postgres"}),
], ids=["cluster-unset", "cluster-false", "multi-az-cluster-string-false", "aurora-mysql-5.6",
        "mysql-instance", "postgres-instance-unset"])
def test_iam_auth_off_is_a_violation_naming_the_flag(type_, props):
    violations, deferred = run("rds-iam-auth-enabled", res(type_, props))
    assert len(violations) == 1 and not deferred
    assert "iamDatabaseAuthenticationEnabled" in violations[0].message
    assert violations[0].urn.endswith("::db") and "Fix:" in violations[0].message


def test_serverless_v1_cannot_do_iam_auth():
    violations, _ = run("rds-iam-auth-enabled", res(CLUSTER, {
        "engine": "aurora-postgresql", "engineMode": "serverless",
        "iamDatabaseAuthenticationEnabled": True}))
    assert len(violations) == 1 and "Serverless v1" in violations[0].message


@pytest.mark.parametrize("props", [
    {"engine": UNKNOWN, "iamDatabaseAuthenticationEnabled": False},
    {"engine": "aurora-postgresql", "iamDatabaseAuthenticationEnabled": UNKNOWN},
])
def test_unknown_engine_or_flag_is_deferred_not_a_violation(props):
    violations, deferred = run("rds-iam-auth-enabled", res(CLUSTER, props))
    assert violations == [] and len(deferred) == 1


@pytest.mark.parametrize("type_, props, expected", [
    (CLUSTER, {"engine": "aurora-postgresql", "storageEncrypted": True}, 0),
    (CLUSTER, {"engine": "aurora-postgresql"}, 1),
    (CLUSTER, {"engine": "aurora-mysql", "engineMode": "serverless"}, 0),
    (INSTANCE, {"engine": "postgres", "storageEncrypted": "false", "kmsKeyId": "arn:aws:kms:x"}, 1),
    (INSTANCE, {"engine": "sqlserver-ex"}, 1),
    (INSTANCE, {"engine": "postgres", "replicateSourceDb": "primary"}, 0),
    (CLUSTER_INSTANCE, {"engine": "aurora-postgresql"}, 0),
], ids=["encrypted", "cluster-unset", "serverless-v1-always-encrypted", "kms-without-flag",
        "any-engine", "replica-inherits", "cluster-instance-is-cluster-level"])
def test_storage_encryption(type_, props, expected):
    violations, deferred = run("rds-storage-encrypted", res(type_, props))
    assert len(violations) == expected and not deferred


def test_unknown_encryption_flag_is_deferred():
    assert run("rds-storage-encrypted", res(CLUSTER, {"storageEncrypted": UNKNOWN}))[1]


@pytest.mark.parametrize("type_, public, stack, allowed, expected", [
    (INSTANCE, True, "prod", [], 1),
    (CLUSTER_INSTANCE, "true", "prod", [], 1),
    (CLUSTER_INSTANCE, True, "dev-alice", ["dev-*"], 0),
    (CLUSTER_INSTANCE, True, "prod", ["dev-*"], 1),
    (INSTANCE, False, "prod", [], 0),
    (INSTANCE, None, "prod", [], 0),
    (CLUSTER, True, "prod", [], 1),
], ids=["instance-public", "cluster-instance-public", "allowed-stack-pattern",
        "not-an-allowed-stack", "private", "unset-is-private", "multi-az-cluster-public"])
def test_public_access_by_stack(type_, public, stack, allowed, expected):
    props = {} if public is None else {"publiclyAccessible": public}
    violations, _ = run("rds-not-publicly-accessible", res(type_, props),
                        {"allowedStacks": allowed}, stack=stack)
    assert len(violations) == expected
    if expected:
        assert repr(stack) in violations[0].message


MULTI_AZ = {"engine": "postgres", "dbClusterInstanceClass": "db.m6gd.large"}


@pytest.mark.parametrize("props, expected", [
    (MULTI_AZ, (1, 0)),
    ({**MULTI_AZ, "dbSubnetGroupName": "default"}, (1, 0)),
    ({**MULTI_AZ, "dbSubnetGroupName": "private-subnets"}, (0, 0)),
    ({**MULTI_AZ, "publiclyAccessible": False}, (0, 0)),
    ({**MULTI_AZ, "dbSubnetGroupName": UNKNOWN}, (0, 1)),
    ({"engine": "aurora-postgresql"}, (0, 0)),
], ids=["no-subnet-group", "default-subnet-group", "own-subnet-group", "explicitly-private",
        "unknown-subnet-group", "aurora-cluster"])
def test_multi_az_db_cluster_is_public_by_default_without_a_subnet_group(props, expected):
    violations, deferred = run("rds-not-publicly-accessible", res(CLUSTER, props))
    assert (len(violations), len(deferred)) == expected
    if violations:
        assert "by default" in violations[0].message


PROXY = "aws:rds/proxy:Proxy"


@pytest.mark.parametrize("props, expected", [
    ({"engineFamily": "POSTGRESQL", "auths": [{"authScheme": "SECRETS", "iamAuth": "REQUIRED"}]},
     (0, 0)),
    ({"engineFamily": "POSTGRESQL", "defaultAuthScheme": "IAM_AUTH"}, (0, 0)),
    ({"engineFamily": "SQLSERVER", "auths": [{"iamAuth": "DISABLED"}]}, (0, 0)),
    ({"engineFamily": "POSTGRESQL", "auths": [{"authScheme": "SECRETS"}]}, (1, 0)),
    ({"engineFamily": "MYSQL", "auths": [{"iamAuth": "REQUIRED"}, {"iamAuth": "DISABLED"}]},
     (1, 0)),
    ({"engineFamily": "POSTGRESQL"}, (1, 0)),
    ({"engineFamily": "POSTGRESQL", "auths": [{"iamAuth": UNKNOWN}]}, (0, 1)),
    ({"engineFamily": UNKNOWN}, (0, 1)),
], ids=["iam-required", "end-to-end-iam", "sqlserver", "iam-auth-default-disabled",
        "one-entry-disabled", "no-auths", "unknown-entry", "unknown-family"])
def test_rds_proxy_requires_iam_auth_from_its_clients(props, expected):
    violations, deferred = run("rds-iam-auth-enabled", res(PROXY, props))
    assert (len(violations), len(deferred)) == expected


@pytest.mark.parametrize("props, expected", [
    ({"engineFamily": "POSTGRESQL", "requireTls": True}, (0, 0)),
    ({"engineFamily": "POSTGRESQL", "requireTls": "false"}, (1, 0)),
    ({"engineFamily": "MYSQL"}, (1, 0)),
    ({"engineFamily": "POSTGRESQL", "requireTls": UNKNOWN}, (0, 1)),
], ids=["tls-required", "tls-off", "tls-default-off", "unknown"])
def test_rds_proxy_requires_tls(props, expected):
    violations, deferred = run("rds-force-ssl", [res(PROXY, props)])
    assert (len(violations), len(deferred)) == expected


def test_unknown_public_flag_is_deferred():
    assert run("rds-not-publicly-accessible",
               res(INSTANCE, {"publiclyAccessible": UNKNOWN}))[1]


# ---- TLS forced: a stack rule over the database and its parameter group ------------------

def _group(type_: str, name: str, value: object, group_name: object = "pg-1") -> Resource:
    params = value if value == UNKNOWN else [{"name": "rds.force_ssl", "value": value}]
    return res(type_, {"name": group_name, "parameters": params}, name=name)


@pytest.mark.parametrize("cluster_props, group, deps, expected", [
    ({"dbClusterParameterGroupName": "pg-1"}, ("1",), {}, (0, 0)),
    ({"dbClusterParameterGroupName": "pg-1"}, ("0",), {}, (1, 0)),
    ({"dbClusterParameterGroupName": UNKNOWN}, ("1",), {"dbClusterParameterGroupName": True},
     (0, 0)),
    ({"dbClusterParameterGroupName": UNKNOWN}, ("0",), {"dbClusterParameterGroupName": True},
     (1, 0)),
    ({"dbClusterParameterGroupName": UNKNOWN}, None, {}, (0, 1)),
    ({}, None, {}, (1, 0)),
    ({"dbClusterParameterGroupName": "default.aurora-postgresql16"}, None, {}, (1, 0)),
    ({"dbClusterParameterGroupName": "shared-params"}, None, {}, (0, 1)),
    ({"dbClusterParameterGroupName": "pg-1"}, (UNKNOWN,), {}, (0, 1)),
], ids=["linked-by-name-forces", "linked-by-name-does-not", "linked-by-dependency-forces",
        "linked-by-dependency-does-not", "unknown-link", "default-group",
        "named-default-group", "group-outside-the-stack", "unknown-parameters"])
def test_force_ssl_follows_the_linked_parameter_group(cluster_props, group, deps, expected):
    resources = []
    group_urn = None
    if group is not None:
        parameter_group = _group(CLUSTER_PG, "params", group[0])
        resources.append(parameter_group)
        group_urn = parameter_group.urn
    dependencies = {key: (group_urn,) for key in deps} if group_urn else {}
    resources.append(res(CLUSTER, {"engine": "aurora-postgresql", **cluster_props},
                         deps=dependencies))
    violations, deferred = run("rds-force-ssl", resources)
    assert (len(violations), len(deferred)) == expected


def test_force_ssl_for_mysql_is_require_secure_transport():
    group = res(PG, {"name": "mysql-params",
                     "parameters": [{"name": "require_secure_transport", "value": "ON"}]},
                name="params")
    instance = res(INSTANCE, {"engine": "mysql", "parameterGroupName": "mysql-params"})
    assert run("rds-force-ssl", [group, instance]) == ([], [])
    weak = res(PG, {"name": "mysql-params", "parameters": [{"name": "rds.force_ssl",
                                                            "value": "1"}]}, name="params")
    violations, _ = run("rds-force-ssl", [weak, instance])
    assert "require_secure_transport" in violations[0].message
    assert violations[0].urn == weak.urn


def test_rds_postgres_15_default_group_already_forces_tls():
    modern = res(INSTANCE, {"engine": "postgres", "engineVersion": "16.3"})
    legacy = res(INSTANCE, {"engine": "postgres", "engineVersion": "14.9"}, name="old")
    violations, _ = run("rds-force-ssl", [modern, legacy])
    assert [v.urn for v in violations] == [legacy.urn]


@pytest.mark.parametrize("type_, props", [
    (INSTANCE, {"replicateSourceDb": "orders-primary"}),
    (INSTANCE, {"replicateSourceDb": "arn:aws:rds:us-east-1:123456789012:db:orders"}),
    (INSTANCE, {"snapshotIdentifier": "orders-final-snapshot"}),
    (INSTANCE, {"restoreToPointInTime": {"sourceDbInstanceIdentifier": "orders"}}),
    (CLUSTER, {"globalClusterIdentifier": "orders-global"}),
    (CLUSTER, {"replicationSourceIdentifier": "arn:aws:rds:eu-west-1:123456789012:cluster:o"}),
], ids=["replica-by-identifier", "cross-region-replica", "snapshot-restore", "pitr-restore",
        "global-member", "cross-region-cluster-replica"])
def test_a_database_without_engine_is_judged_as_possibly_postgresql(type_, props):
    violations, _ = run("rds-iam-auth-enabled", res(type_, props))
    assert len(violations) == 1
    assert "engine not set, possibly PostgreSQL" in violations[0].message


def test_engine_less_replica_takes_its_source_engine_for_the_tls_parameter():
    source = res(INSTANCE, {"engine": "mysql", "identifier": "shop-primary",
                            "iamDatabaseAuthenticationEnabled": True}, name="primary")
    replica = res(INSTANCE, {"replicateSourceDb": "shop-primary",
                             "iamDatabaseAuthenticationEnabled": True}, name="replica")
    violations, _ = run("rds-force-ssl", [source, replica])
    replica_messages = [v.message for v in violations if v.urn == replica.urn]
    assert len(replica_messages) == 1 and "require_secure_transport=ON" in replica_messages[0]


def test_engine_less_replica_of_an_outside_database_is_assumed_postgresql_for_tls():
    replica = res(INSTANCE, {"replicateSourceDb": "arn:aws:rds:us-east-1:123456789012:db:x",
                             "iamDatabaseAuthenticationEnabled": True})
    violations, _ = run("rds-force-ssl", [replica])
    assert len(violations) == 1 and "rds.force_ssl=1" in violations[0].message


@pytest.mark.parametrize("props, reported", [
    ({"engine": "aurora-postgresql"}, True),
    ({"engine": "aurora-postgresql", "storageEncrypted": True}, False),
    ({"sourceDbClusterIdentifier": "arn:aws:rds:us-east-1:123456789012:cluster:o"}, False),
])
def test_global_cluster_encrypts_its_storage(props, reported):
    violations, _ = run("rds-storage-encrypted", res("aws:rds/globalCluster:GlobalCluster", props))
    assert bool(violations) == reported


def test_a_snapshot_restore_without_storage_encrypted_is_deferred_not_reported():
    restored = res(INSTANCE, {"engine": "postgres", "snapshotIdentifier": "final-snap"})
    assert run("rds-storage-encrypted", restored)[0] == []
    assert len(run("rds-storage-encrypted", restored)[1]) == 1
    explicit_off = res(INSTANCE, {"engine": "postgres", "snapshotIdentifier": "final-snap",
                                  "storageEncrypted": False})
    assert len(run("rds-storage-encrypted", explicit_off)[0]) == 1
