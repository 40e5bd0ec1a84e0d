"""Mutation tests: the mistakes people make, applied to the pure builders' documents, to the
program's registered resources and to the components' arguments, are each caught by the same
checks the stack tests run on the real program (or refused outright by the components)."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from iampg.policy_documents import PolicyInputError, connect_policy, trust_policy
from infra_checks import (
    ConnectExpectation,
    Resource,
    Stack,
    TrustExpectation,
    check_connect_document,
    check_trust_document,
    connect_expectation,
    failing_checks,
    stack_from_run,
    trust_expectation,
)

PROVIDER = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC123"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABC123"
TRUST = TrustExpectation(PROVIDER, ISSUER, "demo", "demo-app")
CONNECT = ConnectExpectation("aws", "us-east-1", "123456789012",
                             "cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ", "app_user",
                             cluster_identifier="db-cluster-1a2b3c4")


@dataclasses.dataclass(frozen=True)
class Names:
    """What a mutation needs to name: the documents' own issuer, provider, ids and user."""

    trust: TrustExpectation
    connect: ConnectExpectation

    @property
    def issuer(self) -> str:
        return self.trust.issuer

    def dbuser_arn(self, resource_id: str | None = None, user: str | None = None,
                   region: str | None = None) -> str:
        c = self.connect
        return (f"arn:{c.partition}:rds-db:{region or c.region}:{c.account_id}:dbuser:"
                f"{resource_id or c.resource_id}/{user or c.db_user}")


Mutation = Callable[[dict[str, Any], Names], None]


def _statement(document: dict[str, Any]) -> dict[str, Any]:
    return document["Statement"][0]


def _equals(document: dict[str, Any]) -> dict[str, Any]:
    return _statement(document)["Condition"]["StringEquals"]


def _string_like_star(document, names):
    condition = _statement(document)["Condition"]
    condition["StringLike"] = {
        key: (f"system:serviceaccount:{names.trust.namespace}:*" if key.endswith(":sub") else value)
        for key, value in condition.pop("StringEquals").items()}


def _star_in_string_equals(document, names):
    _equals(document)[f"{names.issuer}:sub"] = f"system:serviceaccount:{names.trust.namespace}:*"


def _aud_removed(document, names):
    del _equals(document)[f"{names.issuer}:aud"]


def _sub_forgotten(document, names):
    del _equals(document)[f"{names.issuer}:sub"]


def _https_in_keys(document, names):
    condition = _statement(document)["Condition"]
    condition["StringEquals"] = {f"https://{k}": v for k, v in condition["StringEquals"].items()}


def _provider_arn_as_key(document, names):
    condition = _statement(document)["Condition"]
    condition["StringEquals"] = {k.replace(names.issuer, names.trust.provider_arn): v
                                 for k, v in condition["StringEquals"].items()}


def _no_condition(document, names):
    del _statement(document)["Condition"]


def _principal_star(document, names):
    _statement(document)["Principal"] = "*"


def _principal_account(document, names):
    account = names.trust.provider_arn.split(":")[4]
    _statement(document)["Principal"] = {"AWS": f"arn:aws:iam::{account}:root"}


def _action_sts_star(document, names):
    _statement(document)["Action"] = "sts:*"


def _second_trust_statement(document, names):
    account = names.trust.provider_arn.split(":")[4]
    document["Statement"].append({"Effect": "Allow", "Action": "sts:AssumeRole",
                                  "Principal": {"AWS": f"arn:aws:iam::{account}:root"}})


def _sub_for_other_namespace(document, names):
    _equals(document)[f"{names.issuer}:sub"] = \
        f"system:serviceaccount:other:{names.trust.service_account}"


TRUST_MUTATIONS: dict[str, Mutation] = {
    "StringLike with * on the subject": _string_like_star,
    "* inside StringEquals": _star_in_string_equals,
    "aud condition removed": _aud_removed,
    "only aud, sub forgotten": _sub_forgotten,
    "https:// in the condition keys": _https_in_keys,
    "provider ARN as condition key": _provider_arn_as_key,
    "no condition": _no_condition,
    "Principal *": _principal_star,
    "account principal": _principal_account,
    "sts:* action": _action_sts_star,
    "a second statement": _second_trust_statement,
    "another namespace in sub": _sub_for_other_namespace,
}


def _resource(make: Callable[[Names], str]) -> Mutation:
    def mutate(document, names):
        _statement(document)["Resource"] = make(names)
    return mutate


def _action(value: Any) -> Mutation:
    def mutate(document, names):
        _statement(document)["Action"] = value
    return mutate


def _not_resource(document, names):
    _statement(document)["NotResource"] = _statement(document).pop("Resource")


def _second_connect_statement(document, names):
    document["Statement"].append({"Effect": "Allow", "Action": "rds:*", "Resource": "*"})


CONNECT_MUTATIONS: dict[str, Mutation] = {
    "resource widened to /*": _resource(lambda n: n.dbuser_arn(user="*")),
    "cluster identifier instead of resource id": _resource(
        lambda n: n.dbuser_arn(resource_id=n.connect.cluster_identifier)),
    "every cluster": _resource(lambda n: n.dbuser_arn(resource_id="*")),
    "any region": _resource(lambda n: n.dbuser_arn(region="*")),
    "rds cluster ARN instead of dbuser ARN": _resource(
        lambda n: f"arn:{n.connect.partition}:rds:{n.connect.region}:{n.connect.account_id}:"
                  f"cluster:{n.connect.cluster_identifier}"),
    "another user": _resource(lambda n: n.dbuser_arn(user="pgadmin")),
    "resource *": _resource(lambda n: "*"),
    "rds-db:* action": _action("rds-db:*"),
    "* action": _action("*"),
    "rds-db:conn* action": _action("rds-db:conn*"),
    "NotResource": _not_resource,
    "a second statement": _second_connect_statement,
}

BUILDER_NAMES = Names(TRUST, CONNECT)


@pytest.mark.parametrize("mutation", TRUST_MUTATIONS.values(), ids=list(TRUST_MUTATIONS))
def test_trust_document_check_catches(mutation):
    document = trust_policy(PROVIDER, ISSUER, "demo", "demo-app")
    check_trust_document(document, TRUST)
    mutant = copy.deepcopy(document)
    mutation(mutant, BUILDER_NAMES)
    with pytest.raises(AssertionError):
        check_trust_document(mutant, TRUST)


@pytest.mark.parametrize("mutation", CONNECT_MUTATIONS.values(), ids=list(CONNECT_MUTATIONS))
def test_connect_document_check_catches(mutation):
    document = connect_policy("aws", "us-east-1", "123456789012",
                              "cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ", "app_user")
    check_connect_document(document, CONNECT)
    mutant = copy.deepcopy(document)
    mutation(mutant, BUILDER_NAMES)
    with pytest.raises(AssertionError):
        check_connect_document(mutant, CONNECT)


# ---------------------------------------------------------------------------------------------
# The same mistakes made in the program: the registered resources are mutated as the mutated
# program would have registered them, and the stack checks must fail.
# ---------------------------------------------------------------------------------------------

StackMutation = Callable[[Stack], None]


def _find(stack: Stack, type_: str, index: int = 0) -> Resource:
    return stack.of_type(type_)[index]


def _document_mutation(type_: str, key: str, mutation: Mutation) -> StackMutation:
    def mutate(stack: Stack) -> None:
        inputs = _find(stack, type_).inputs
        document = json.loads(inputs[key])
        mutation(document, Names(trust_expectation(stack), connect_expectation(stack)))
        inputs[key] = json.dumps(document)
    return mutate


def _set(type_: str, path: tuple, value: Any) -> StackMutation:
    def mutate(stack: Stack) -> None:
        target = _find(stack, type_).inputs
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return mutate


def _grant_rds_iam_to_master(stack: Stack) -> None:
    _find(stack, "postgresql:index/grantRole:GrantRole").inputs["role"] = "pgadmin"


def _extra_rds_iam_grant_to_master(stack: Stack) -> None:
    grant = _find(stack, "postgresql:index/grantRole:GrantRole")
    extra = dataclasses.replace(grant, name="master-rds-iam",
                                inputs={**grant.inputs, "role": "pgadmin"})
    object.__setattr__(stack, "resources", stack.resources + (extra,))


def _force_ssl_off(stack: Stack) -> None:
    group = _find(stack, "aws:rds/clusterParameterGroup:ClusterParameterGroup").inputs
    group["parameters"] = [{"name": "rds.force_ssl", "value": "0"}]


def _pod_env(stack: Stack) -> list[dict[str, Any]]:
    return _find(stack, "kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"][
        "containers"][0]["env"]


def _env_value(name: str, value: str) -> StackMutation:
    def mutate(stack: Stack) -> None:
        for item in _pod_env(stack):
            if item["name"] == name:
                item["value"] = value
    return mutate


def _static_keys_in_pod(stack: Stack) -> None:
    _pod_env(stack).append({"name": "AWS_ACCESS_KEY_ID", "value": "AKIAIOSFODNN7EXAMPLE"})


def _world_open_port(stack: Stack) -> None:
    _find(stack, "aws:ec2/securityGroup:SecurityGroup").inputs["ingress"][0]["cidrBlocks"] = [
        "0.0.0.0/0"]


def _policy_on_another_role(stack: Stack) -> None:
    _find(stack, "aws:iam/rolePolicy:RolePolicy").inputs["role"] = "some-other-role"


def _kubeconfig_not_secret(stack: Stack) -> None:
    object.__setattr__(stack, "secret_outputs", frozenset())


_TRUST_IN_STACK = {f"trust: {name}": _document_mutation("aws:iam/role:Role", "assumeRolePolicy",
                                                        mutation)
                   for name, mutation in TRUST_MUTATIONS.items()}
_CONNECT_IN_STACK = {f"connect: {name}": _document_mutation("aws:iam/rolePolicy:RolePolicy",
                                                            "policy", mutation)
                     for name, mutation in CONNECT_MUTATIONS.items()}

# mutation -> the check that must catch it
STACK_MUTATIONS: dict[str, tuple[StackMutation, str]] = {
    **{name: (mutation, "check_trust_policy") for name, mutation in _TRUST_IN_STACK.items()},
    **{name: (mutation, "check_connect_policy") for name, mutation in _CONNECT_IN_STACK.items()},
    "IAM auth turned off": (_set("aws:rds/cluster:Cluster",
                                 ("iamDatabaseAuthenticationEnabled",), False), "check_cluster"),
    "storage not encrypted": (_set("aws:rds/cluster:Cluster", ("storageEncrypted",), False),
                              "check_cluster"),
    "rds.force_ssl 0": (_force_ssl_off, "check_cluster"),
    "rds_iam granted to the master user": (_grant_rds_iam_to_master, "check_db_setup"),
    "rds_iam granted to the master user as well": (_extra_rds_iam_grant_to_master,
                                                   "check_db_setup"),
    "IAM user is superuser": (_set("postgresql:index/role:Role", ("superuser",), True),
                              "check_db_setup"),
    "IAM user may create roles": (_set("postgresql:index/role:Role", ("createRole",), True),
                                  "check_db_setup"),
    "IAM user has a password": (_set("postgresql:index/role:Role", ("password",), "hunter2"),
                                "check_db_setup"),
    "table grant widened to ALL": (_set("postgresql:index/grant:Grant", ("privileges",), ["ALL"]),
                                   "check_db_setup"),
    "provider connects without TLS": (_set("pulumi:providers:postgresql", ("sslmode",),
                                           "disable"), "check_db_setup"),
    "service account names another role": (
        _set("kubernetes:core/v1:ServiceAccount",
             ("metadata", "annotations", "eks.amazonaws.com/role-arn"),
             "arn:aws:iam::123456789012:role/other"), "check_service_account"),
    "pods use the default service account": (
        _set("kubernetes:apps/v1:Deployment",
             ("spec", "template", "spec", "serviceAccountName"), "default"), "check_deployment"),
    "DB_USER is another user": (_env_value("DB_USER", "pgadmin"), "check_deployment"),
    "PGSSLMODE require": (_env_value("PGSSLMODE", "require"), "check_deployment"),
    "static AWS keys in the pod": (_static_keys_in_pod, "check_no_static_credentials"),
    "5432 open to the internet": (_world_open_port, "check_network_exposure"),
    "prod cluster publicly accessible": (
        _set("aws:rds/clusterInstance:ClusterInstance", ("publiclyAccessible",), True),
        "check_network_exposure"),
    "connect policy on another role": (_policy_on_another_role, "check_connect_policy"),
    "kubeconfig output not secret": (_kubeconfig_not_secret, "check_outputs"),
}


def _fresh_stack(prod_run) -> Stack:
    stack = stack_from_run(prod_run)
    return dataclasses.replace(stack, resources=tuple(
        dataclasses.replace(r, inputs=copy.deepcopy(dict(r.inputs)),
                            outputs=copy.deepcopy(dict(r.outputs)))
        for r in stack.resources))


def test_unmutated_stack_passes_every_check(prod_run):
    assert failing_checks(_fresh_stack(prod_run)) == {}


def test_every_program_mutation_is_caught_by_its_check(prod_run):
    escaped = {}
    for name, (mutation, catcher) in STACK_MUTATIONS.items():
        stack = _fresh_stack(prod_run)
        mutation(stack)
        failures = failing_checks(stack)
        if catcher not in failures:
            escaped[name] = f"{catcher} let it through; failing: {sorted(failures)}"
    assert escaped == {}


def test_the_issues_mutations_are_all_in_the_list():
    required = {"trust: StringLike with * on the subject", "connect: resource widened to /*",
                "IAM auth turned off", "rds_iam granted to the master user",
                "trust: aud condition removed", "trust: https:// in the condition keys",
                "connect: cluster identifier instead of resource id"}
    assert required <= set(STACK_MUTATIONS)


# ---------------------------------------------------------------------------------------------
# Component arguments that would build the same mistakes are refused before anything exists.
# ---------------------------------------------------------------------------------------------

def _db_setup_args(**changes: Any):
    from iampg.db_setup import DbSetupArgs

    base = {"host": "db.example", "port": 5432, "database": "appdb", "master_username": "pgadmin",
            "master_password": "x", "iam_db_user": "app_user", "sslmode": "verify-full",
            "sslrootcert": "/ca.pem"}
    return DbSetupArgs(**{**base, **changes})


@pytest.mark.parametrize("changes, argument", [
    ({"iam_db_user": "pgadmin"}, "iam_db_user"),
    ({"iam_db_user": "rds_superuser"}, "iam_db_user"),
    ({"iam_db_user": "app*"}, "iam_db_user"),
    ({"sslmode": "disable"}, "sslmode"),
    ({"sslmode": "prefer"}, "sslmode"),
    ({"sslmode": "verify-full", "sslrootcert": None}, "sslrootcert"),
])
def test_db_setup_refuses_arguments_that_would_break_or_weaken_it(pulumi_sdk, changes, argument):
    from iampg.db_setup import check_args

    with pytest.raises(ValueError, match=argument):
        check_args(_db_setup_args(**changes))


def test_db_setup_accepts_require_without_a_ca_file(pulumi_sdk):
    from iampg.db_setup import check_args

    check_args(_db_setup_args(sslmode="require", sslrootcert=None))


def test_components_refuse_wildcards_and_the_master_user_under_the_runtime(mock_runtime):
    from iampg.db_setup import DbSetup
    from iampg.rds_cluster import RdsCluster, RdsClusterArgs

    run_program = mock_runtime

    def cluster(**changes: Any) -> RdsCluster:
        args = {"vpc_id": "vpc-1", "vpc_cidr_block": "10.0.0.0/16", "subnet_ids": ["s-1", "s-2"],
                "db_name": "appdb", "master_username": "pgadmin", "master_password": "x",
                "iam_db_user": "app_user", "engine_version": "16.4",
                "instance_class": "db.t4g.medium"}
        return RdsCluster("db", RdsClusterArgs(**{**args, **changes}))

    with pytest.raises(ValueError, match="iam_db_user"):
        run_program(lambda: cluster(iam_db_user="pgadmin") and None)
    with pytest.raises(PolicyInputError, match="service_account_name"):
        run_program(lambda: cluster().create_iam_role(
            "arn:aws:iam::123456789012:oidc-provider/o.example/id/1", "o.example/id/1", "demo",
            "demo-*") and None)
    with pytest.raises(ValueError, match="iam_db_user"):
        run_program(lambda: DbSetup("setup", _db_setup_args(iam_db_user="pgadmin")) and None)
