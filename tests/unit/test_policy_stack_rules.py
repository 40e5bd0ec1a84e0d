"""Stack rules: the IRSA chain (service account annotation -> role trust -> workload's service
account) and the database user chain (connect policy -> rds_iam holder, resource id ->
clusterResourceId), at update (known) and preview (unknown, linked by dependencies)."""

from __future__ import annotations

import json

import pytest

from iamdb_rules.catalog import BY_NAME
from iamdb_rules.model import Resource
from iamdb_rules.props import UNKNOWN

ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789ABCDEF0123456789"
ROLE_ARN = "arn:aws:iam::111122223333:role/app-role"
RESOURCE_ID = "cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def res(type_: str, name: str, props: dict, deps: dict | None = None) -> Resource:
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::{name}", name, props,
                    property_dependencies=deps or {})


def trust(*subjects: str, operator: str = "StringEquals") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::111122223333:oidc-provider/{ISSUER}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {operator: {f"{ISSUER}:sub": list(subjects)}}}]})


def role(policy=None, name="app-role", arn=ROLE_ARN) -> Resource:
    return res("aws:iam/role:Role", name, {
        "name": name, "arn": arn,
        "assumeRolePolicy": trust("system:serviceaccount:demo:app") if policy is None else policy})


def service_account(name="app", namespace="demo", role_arn=ROLE_ARN, deps=None) -> Resource:
    metadata = {"name": name, "namespace": namespace,
                "annotations": {"eks.amazonaws.com/role-arn": role_arn}}
    return res("kubernetes:core/v1:ServiceAccount", f"sa-{name}", {"metadata": metadata},
               deps=deps)


def deployment(account=None, namespace="demo", env=None, name="web") -> Resource:
    spec = {"containers": [{"name": "c", "image": "i",
                            "env": env or [{"name": "DB_HOST", "value": "db"}]}]}
    if account is not None:
        spec["serviceAccountName"] = account
    return res("kubernetes:apps/v1:Deployment", name, {
        "metadata": {"namespace": namespace}, "spec": {"template": {"spec": spec}}})


def run(rule: str, resources):
    policy = BY_NAME[rule]
    return policy.run(resources, policy.context(stack="dev"))


SA_RULE = "irsa-service-account-role-trust"
WORKLOAD_RULE = "irsa-workload-service-account"


@pytest.mark.parametrize("resources, expected", [
    ([role(), service_account()], 0),
    ([role(), service_account(name="worker")], 1),
    ([role(), service_account(namespace="other")], 1),
    ([role(trust("system:serviceaccount:demo:*", operator="StringLike")),
      service_account(name="worker")], 0),
    ([role(), service_account(role_arn="arn:aws:iam::111122223333:role/path/app-role")], 0),
    ([role(), service_account(role_arn="arn:aws:iam::999999999999:role/elsewhere")], 0),
], ids=["trusted", "other-name", "other-namespace", "stringlike-covers-it (reported elsewhere)",
        "arn-with-path", "role-of-another-stack"])
def test_annotated_service_account_is_trusted_by_its_role(resources, expected):
    violations, _ = run(SA_RULE, resources)
    assert len(violations) == expected
    if expected:
        assert violations[0].urn.endswith("::sa-" + resources[1].name.split("-", 1)[1])
        assert "AccessDenied" in violations[0].message


def test_preview_links_the_annotation_by_dependency_and_defers_the_unknown_trust():
    pending_role = role(policy=UNKNOWN, arn=UNKNOWN)
    account = service_account(role_arn=UNKNOWN, deps={"metadata": (pending_role.urn,)})
    violations, deferred = run(SA_RULE, [pending_role, account])
    assert violations == [] and "trust policy" in deferred[0].reason
    known_trust = role(arn=UNKNOWN, policy=trust("system:serviceaccount:demo:other"))
    account = service_account(role_arn=UNKNOWN, deps={"metadata": (known_trust.urn,)})
    assert len(run(SA_RULE, [known_trust, account])[0]) == 1


@pytest.mark.parametrize("workload, expected", [
    (deployment("app"), 0),
    (deployment(), 1),
    (deployment("default"), 1),
    (deployment("typo-app"), 1),
    (deployment(env=[{"name": "PORT", "value": "80"}]), 0),
    (deployment(namespace="other"), 0),
], ids=["trusted-account", "implicit-default", "explicit-default", "unannotated",
        "not-an-aws-or-database-client", "namespace-without-irsa-role"])
def test_workloads_run_as_the_trusted_service_account(workload, expected):
    violations, _ = run(WORKLOAD_RULE, [role(), service_account(), workload])
    assert len(violations) == expected
    if expected:
        assert violations[0].urn == workload.urn and "serviceAccountName: app" in \
            violations[0].message


def env_source(kind: str, data: dict, name="db-env", namespace="demo") -> Resource:
    return res(f"kubernetes:core/v1:{kind}", f"{kind.lower()}-{name}",
               {"metadata": {"name": name, "namespace": namespace}, "stringData": data})


def env_from_deployment(ref: dict, account=None, deps=None) -> Resource:
    spec = {"containers": [{"name": "c", "image": "i", "envFrom": [ref]}]}
    if account is not None:
        spec["serviceAccountName"] = account
    return res("kubernetes:apps/v1:Deployment", "web", {
        "metadata": {"namespace": "demo"}, "spec": {"template": {"spec": spec}}}, deps=deps)


@pytest.mark.parametrize("source, ref, expected", [
    (env_source("ConfigMap", {"PGHOST": "db"}), {"configMapRef": {"name": "db-env"}}, 1),
    (env_source("Secret", {"HOST": "db"}), {"secretRef": {"name": "db-env"}, "prefix": "DB_"}, 1),
    (env_source("ConfigMap", {"AWS_REGION": "us-east-1"}), {"configMapRef": {"name": "db-env"}},
     1),
    (env_source("ConfigMap", {"PORT": "80"}), {"configMapRef": {"name": "db-env"}}, 0),
    (env_source("ConfigMap", {"PGHOST": "db"}, namespace="other"),
     {"configMapRef": {"name": "db-env"}}, 0),
    (env_source("ConfigMap", {"PGHOST": "db"}), {"secretRef": {"name": "db-env"}}, 0),
], ids=["configmap-pg-env", "secret-with-prefix", "configmap-aws-env", "not-a-client",
        "configmap-of-another-namespace", "kind-mismatch"])
def test_workload_configured_through_env_from_runs_as_the_trusted_account(source, ref, expected):
    violations, _ = run(WORKLOAD_RULE, [role(), service_account(), source,
                                        env_from_deployment(ref)])
    assert len(violations) == expected
    assert run(WORKLOAD_RULE, [role(), service_account(), source,
                               env_from_deployment(ref, account="app")]) == ([], [])


def test_env_from_an_auto_named_configmap_is_followed_by_dependency_at_preview():
    source = env_source("ConfigMap", {"PGHOST": "db"}, name=UNKNOWN)
    workload = env_from_deployment({"configMapRef": {"name": UNKNOWN}},
                                   deps={"spec": (source.urn,)})
    assert len(run(WORKLOAD_RULE, [role(), service_account(), source, workload])[0]) == 1
    unlinked = env_from_deployment({"configMapRef": {"name": UNKNOWN}})
    assert run(WORKLOAD_RULE, [role(), service_account(), source, unlinked]) == ([], [])


def test_workload_with_unknown_service_account_is_deferred():
    workload = deployment(UNKNOWN)
    violations, deferred = run(WORKLOAD_RULE, [role(), service_account(), workload])
    assert violations == [] and deferred


def connect_policy(user="app_user", resource_id=RESOURCE_ID, region="us-east-1",
                   account="111122223333") -> Resource:
    arn = f"arn:aws:rds-db:{region}:{account}:dbuser:{resource_id}/{user}"
    return res("aws:iam/rolePolicy:RolePolicy", f"connect-{user}", {"role": "app-role",
               "policy": json.dumps({"Version": "2012-10-17", "Statement": [{
                   "Effect": "Allow", "Action": "rds-db:connect", "Resource": arn}]})})


def pg_grant(member="app_user") -> Resource:
    return res("postgresql:index/grantRole:GrantRole", f"grant-{member}",
               {"role": member, "grantRole": "rds_iam"})


def cluster(resource_id=RESOURCE_ID, identifier="my-aurora") -> Resource:
    return res("aws:rds/cluster:Cluster", "db", {
        "engine": "aurora-postgresql", "clusterResourceId": resource_id,
        "clusterIdentifier": identifier,
        "arn": f"arn:aws:rds:us-east-1:111122223333:cluster:{identifier}"})


@pytest.mark.parametrize("resources, expected", [
    ([connect_policy(), pg_grant()], 0),
    ([connect_policy("reporting"), pg_grant()], 1),
    ([connect_policy("reporting")], 0),
    ([connect_policy(), res("postgresql:index/role:Role", "r", {"name": "app_user",
                                                                 "roles": ["rds_iam"]})], 0),
], ids=["holder", "not-a-holder", "stack-manages-no-roles", "holder-through-role-roles"])
def test_connect_user_holds_rds_iam(resources, expected):
    violations, _ = run("rds-connect-user-has-rds-iam", resources)
    assert len(violations) == expected
    if expected:
        assert violations[0].urn == resources[0].urn and "'reporting'" in violations[0].message


def test_connect_user_check_waits_for_unknown_grants():
    violations, deferred = run("rds-connect-user-has-rds-iam",
                               [connect_policy("reporting"), pg_grant(UNKNOWN)])
    assert violations == [] and deferred


@pytest.mark.parametrize("policy, database, expected, fragment", [
    (connect_policy(), cluster(), 0, ""),
    (connect_policy(resource_id="cluster-OTHER"), cluster(), 1, "no database of this stack"),
    (connect_policy(region="eu-west-1"), cluster(), 1, "region 'eu-west-1'"),
    (connect_policy(account="999999999999"), cluster(), 1, "account '999999999999'"),
    (connect_policy(resource_id="db-IDENT"), cluster(identifier="db-IDENT"), 1,
     "is the identifier of"),
], ids=["matches", "other-id", "other-region", "other-account", "identifier"])
def test_connect_resource_id_is_the_clusters(policy, database, expected, fragment):
    violations, _ = run("rds-connect-resource-id-matches-cluster", [database, policy])
    assert len(violations) == expected
    if expected:
        assert fragment in violations[0].message and violations[0].urn == policy.urn


def test_resource_id_check_is_deferred_while_the_cluster_id_is_unknown():
    violations, deferred = run("rds-connect-resource-id-matches-cluster",
                               [cluster(resource_id=UNKNOWN), connect_policy()])
    assert violations == [] and deferred
    instance = res("aws:rds/instance:Instance", "pg", {"engine": "postgres",
                                                       "resourceId": "db-ABCDEF"})
    assert run("rds-connect-resource-id-matches-cluster",
               [instance, connect_policy(resource_id="db-ABCDEF")]) == ([], [])


def test_workload_check_waits_while_another_roles_trust_is_unknown():
    pending = role(policy=UNKNOWN, name="other-role", arn=UNKNOWN)
    violations, deferred = run(WORKLOAD_RULE, [role(), pending, service_account(),
                                               deployment("worker")])
    assert violations == [] and deferred


def test_proxy_resource_id_and_cluster_instance_id_are_told_apart():
    proxy = res("aws:rds/proxy:Proxy", "proxy", {
        "name": "px", "arn": "arn:aws:rds:us-east-1:111122223333:db-proxy:prx-0123456789abcdef0"})
    assert run("rds-connect-resource-id-matches-cluster",
               [cluster(), proxy, connect_policy(resource_id="prx-0123456789abcdef0")]) == ([], [])
    member = res("aws:rds/clusterInstance:ClusterInstance", "writer",
                 {"dbiResourceId": "db-WRITERINSTANCE"})
    violations, _ = run("rds-connect-resource-id-matches-cluster",
                        [cluster(), member, connect_policy(resource_id="db-WRITERINSTANCE")])
    assert len(violations) == 1 and "resource id of the cluster instance" in violations[0].message


CONNECT_RULE = "irsa-database-workload-role-connects"


def other_role() -> Resource:
    return role(trust("system:serviceaccount:demo:worker"), name="worker-role",
                arn="arn:aws:iam::111122223333:role/worker-role")


def connect_on(role_name: str) -> Resource:
    policy = connect_policy()
    return res(policy.type, f"connect-{role_name}", {**policy.props, "role": role_name})


def pod_identity(account: str, role_arn: str) -> Resource:
    return res("aws:eks/podIdentityAssociation:PodIdentityAssociation", f"pia-{account}",
               {"namespace": "demo", "serviceAccount": account, "roleArn": role_arn})


POD_IDENTITY_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
    "Action": ["sts:AssumeRole", "sts:TagSession"]}]})


@pytest.mark.parametrize("resources, expected", [
    ([role(), other_role(), service_account(), deployment("app"), connect_on("app-role")], 0),
    ([role(), other_role(), service_account(), deployment("app"), connect_on("worker-role")], 1),
    ([role(), service_account(), deployment("app")], 0),
    ([role(), other_role(), service_account(), connect_on("worker-role"),
      deployment("app", env=[{"name": "AWS_REGION", "value": "us-east-1"}])], 0),
    ([role(), other_role(), service_account(), deployment("app"), connect_on("worker-role"),
      res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "ext",
          {"role": "app-role", "policyArn": "arn:aws:iam::111122223333:policy/db-access"})], 0),
    ([role(POD_IDENTITY_TRUST), other_role(), pod_identity("app", ROLE_ARN), deployment("app"),
      connect_on("worker-role")], 1),
    ([role(POD_IDENTITY_TRUST), pod_identity("app", ROLE_ARN), deployment("app"),
      connect_on("app-role")], 0),
], ids=["connect-on-the-pods-role", "connect-on-another-role", "stack-grants-no-connect",
        "not-a-database-workload", "policy-outside-the-stack-may-grant-it",
        "pod-identity-role-without-connect", "pod-identity-role-with-connect"])
def test_database_workload_role_is_the_one_granted_connect(resources, expected):
    violations, deferred = run(CONNECT_RULE, resources)
    assert len(violations) == expected and deferred == []
    if expected:
        assert violations[0].urn.endswith("::web") and "app-role" in violations[0].message


def test_database_workload_configured_through_env_from_needs_the_connect_grant():
    database = res("aws:rds/cluster:Cluster", "db", {
        "engine": "aurora-postgresql", "clusterResourceId": RESOURCE_ID,
        "endpoint": "db.cluster-abc.us-east-1.rds.amazonaws.com"})
    source = env_source("ConfigMap", {"PGHOST": "db.cluster-abc.us-east-1.rds.amazonaws.com"})
    workload = env_from_deployment({"configMapRef": {"name": "db-env"}}, account="app")
    base = [database, role(), other_role(), service_account(), source, workload]
    violations, _ = run(CONNECT_RULE, [*base, connect_on("worker-role")])
    assert len(violations) == 1 and violations[0].urn == workload.urn
    assert run(CONNECT_RULE, [*base, connect_on("app-role")]) == ([], [])


def test_pod_identity_association_gives_the_workload_an_identity():
    resources = [role(), service_account(), pod_identity("batch", "arn:aws:iam::1:role/x"),
                 deployment("batch")]
    assert run(WORKLOAD_RULE, resources) == ([], [])


@pytest.mark.parametrize("link, expected", [
    ({"deps": True}, 1),
    ({"host": "db.cluster-abc.us-east-1.rds.amazonaws.com"}, 1),
    ({"host": "legacy-mysql.internal"}, 0),
], ids=["spec-depends-on-the-cluster", "names-the-endpoint", "another-database"])
def test_only_workloads_of_the_stacks_databases_need_the_connect_grant(link, expected):
    database = res("aws:rds/cluster:Cluster", "db", {
        "engine": "aurora-postgresql", "clusterResourceId": RESOURCE_ID,
        "endpoint": "db.cluster-abc.us-east-1.rds.amazonaws.com"})
    workload = deployment("app", env=[{"name": "DB_HOST", "value": link.get("host", "x")}])
    if link.get("deps"):
        workload = res(workload.type, workload.name, workload.props,
                       deps={"spec": (database.urn,)})
    violations, _ = run(CONNECT_RULE, [database, role(), other_role(), service_account(),
                                       workload, connect_on("worker-role")])
    assert len(violations) == expected
