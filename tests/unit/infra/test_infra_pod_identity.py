"""EKS Pod Identity mode (``iam-postgres:identityMode=pod-identity``): the builder's trust
document, the program's resources, and the mistakes people make with them, each caught by the
same checks the stack tests run (the mutation discipline of test_infra_mutations.py)."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from iampg.policy_documents import (
    PolicyInputError,
    parse_eks_cluster_arn,
    pod_identity_trust_policy,
)
from infra_checks import (
    IRSA_ANNOTATION,
    PodIdentityExpectation,
    Stack,
    check_pod_identity_trust_document,
    failing_checks,
    pod_identity_expectation,
    stack_from_run,
)

pytestmark = pytest.mark.unit

CLUSTER_ARN = "arn:aws:eks:us-east-1:123456789012:cluster/iam-postgres-prod"
EXPECT = PodIdentityExpectation("123456789012", CLUSTER_ARN, "demo", "demo-app")

Mutation = Callable[[dict[str, Any], PodIdentityExpectation], None]


def _statement(document: dict[str, Any]) -> dict[str, Any]:
    return document["Statement"][0]


def _equals(document: dict[str, Any]) -> dict[str, Any]:
    return _statement(document)["Condition"]["StringEquals"]


def _set_statement(key: str, value: Any) -> Mutation:
    def mutate(document, expect):
        _statement(document)[key] = value
    return mutate


def _drop_condition(key: str) -> Mutation:
    def mutate(document, expect):
        del _equals(document)[key]
    return mutate


def _condition(key: str, value: Callable[[PodIdentityExpectation], str]) -> Mutation:
    def mutate(document, expect):
        _equals(document)[key] = value(expect)
    return mutate


def _string_like_star_on_service_account(document, expect):
    condition = _statement(document)["Condition"]
    condition["StringLike"] = {"aws:RequestTag/kubernetes-service-account": "*"}
    del condition["StringEquals"]["aws:RequestTag/kubernetes-service-account"]


def _no_condition(document, expect):
    del _statement(document)["Condition"]


def _oidc_only(document, expect):
    provider = (f"arn:aws:iam::{expect.account_id}:oidc-provider/"
                "oidc.eks.us-east-1.amazonaws.com/id/ABC")
    document["Statement"] = [{"Effect": "Allow", "Principal": {"Federated": provider},
                              "Action": "sts:AssumeRoleWithWebIdentity"}]


def _second_statement(document, expect):
    document["Statement"].append({"Effect": "Allow", "Action": "sts:AssumeRole",
                                  "Principal": {"AWS": f"arn:aws:iam::{expect.account_id}:root"}})


POD_TRUST_MUTATIONS: dict[str, Mutation] = {
    "Principal *": _set_statement("Principal", "*"),
    "Principal Service *": _set_statement("Principal", {"Service": "*"}),
    "another service principal": _set_statement("Principal", {"Service": "ec2.amazonaws.com"}),
    "service principal plus the account": _set_statement(
        "Principal", {"Service": "pods.eks.amazonaws.com",
                      "AWS": "arn:aws:iam::123456789012:root"}),
    "role trusts only an OIDC provider": _oidc_only,
    "sts:* action": _set_statement("Action", "sts:*"),
    "TagSession forgotten": _set_statement("Action", "sts:AssumeRole"),
    "AssumeRole forgotten": _set_statement("Action", "sts:TagSession"),
    "no condition": _no_condition,
    "service account tag forgotten": _drop_condition("aws:RequestTag/kubernetes-service-account"),
    "namespace tag forgotten": _drop_condition("aws:RequestTag/kubernetes-namespace"),
    "cluster tag forgotten": _drop_condition("aws:RequestTag/eks-cluster-arn"),
    "source account forgotten": _drop_condition("aws:SourceAccount"),
    "StringLike * on the service account": _string_like_star_on_service_account,
    "another service account": _condition("aws:RequestTag/kubernetes-service-account",
                                          lambda e: "other"),
    "another source account": _condition(
        "aws:SourceAccount", lambda e: e.account_id[:-1] + ("1" if e.account_id[-1] != "1" else "2")),
    "a second statement": _second_statement,
}


def test_builder_trust_names_only_the_eks_auth_service_for_one_service_account():
    document = pod_identity_trust_policy(CLUSTER_ARN, "demo", "demo-app")
    check_pod_identity_trust_document(document, EXPECT)
    assert _statement(document)["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert _statement(document)["Action"] == ["sts:AssumeRole", "sts:TagSession"]


@pytest.mark.parametrize("mutation", POD_TRUST_MUTATIONS.values(), ids=list(POD_TRUST_MUTATIONS))
def test_pod_identity_trust_check_catches(mutation):
    document = pod_identity_trust_policy(CLUSTER_ARN, "demo", "demo-app")
    check_pod_identity_trust_document(document, EXPECT)
    mutant = copy.deepcopy(document)
    mutation(mutant, EXPECT)
    with pytest.raises(AssertionError):
        check_pod_identity_trust_document(mutant, EXPECT)


@pytest.mark.parametrize("arn, argument", [
    ("arn:aws:eks:us-east-1:123456789012:cluster/*", "cluster_arn"),
    ("arn:aws:eks:us-east-1:123456789012:nodegroup/c/n", "cluster_arn"),
    ("arn:aws:iam::123456789012:role/x", "cluster_arn"),
    ("arn:aws:eks:cn-north-1:123456789012:cluster/c", "cluster_arn"),
    ("arn:aws:eks:us-east-1:1234:cluster/c", "cluster_arn"),
    ("arn:aws:eks:us-east-1:123456789012:cluster/-bad", "cluster_arn"),
])
def test_cluster_arn_is_refused_when_it_is_not_one_cluster(arn, argument):
    with pytest.raises(PolicyInputError, match=argument):
        pod_identity_trust_policy(arn, "demo", "demo-app")


def test_cluster_arn_parts_in_every_partition():
    ref = parse_eks_cluster_arn("arn:aws-us-gov:eks:us-gov-west-1:210987654321:cluster/a_b-1")
    assert (ref.partition, ref.region, ref.account_id, ref.name) == (
        "aws-us-gov", "us-gov-west-1", "210987654321", "a_b-1")


@pytest.mark.parametrize("namespace, service_account", [("demo-*", "app"), ("demo", "app?"),
                                                        ("Demo", "app"), ("demo", "")])
def test_builder_refuses_wildcards_and_bad_names(namespace, service_account):
    with pytest.raises(PolicyInputError):
        pod_identity_trust_policy(CLUSTER_ARN, namespace, service_account)


# ---------------------------------------------------------------------------------------------
# The program in pod-identity mode
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["pod-identity", "pod-identity-dev-us-gov"])
def pod_run(request, stack_runs):
    return stack_runs(request.param)


def _fresh(run) -> Stack:
    stack = stack_from_run(run)
    return dataclasses.replace(stack, resources=tuple(
        dataclasses.replace(r, inputs=copy.deepcopy(dict(r.inputs)),
                            outputs=copy.deepcopy(dict(r.outputs)))
        for r in stack.resources))


def test_pod_identity_stack_passes_every_check(pod_run):
    assert failing_checks(_fresh(pod_run)) == {}


def test_pod_identity_stack_has_association_agent_and_no_irsa(pod_run):
    stack = _fresh(pod_run)
    types = {r.type for r in stack.resources}
    assert "aws:eks/podIdentityAssociation:PodIdentityAssociation" in types
    assert "aws:eks/addon:Addon" in types
    annotations = stack.one("kubernetes:core/v1:ServiceAccount").inputs["metadata"]["annotations"]
    assert IRSA_ANNOTATION not in annotations
    assert "sts:AssumeRoleWithWebIdentity" not in json.dumps(
        [r.inputs for r in stack.of_type("aws:iam/role:Role")])
    assert pod_run.outputs["identityMode"] == "pod-identity"


def test_irsa_stack_has_no_pod_identity_resources(prod_run):
    types = {r.type for r in stack_from_run(prod_run).resources}
    assert not types & {"aws:eks/podIdentityAssociation:PodIdentityAssociation",
                        "aws:eks/addon:Addon"}
    assert prod_run.outputs["identityMode"] == "irsa"


StackMutation = Callable[[Stack], None]


def _one(stack: Stack, type_: str):
    return stack.one(type_).inputs


def _association(key: str, value: Any) -> StackMutation:
    def mutate(stack: Stack) -> None:
        _one(stack, "aws:eks/podIdentityAssociation:PodIdentityAssociation")[key] = value
    return mutate


def _trust(mutation: Mutation) -> StackMutation:
    def mutate(stack: Stack) -> None:
        role = next(r for r in stack.of_type("aws:iam/role:Role")
                    if "pods.eks.amazonaws.com" in r.inputs["assumeRolePolicy"])
        document = json.loads(role.inputs["assumeRolePolicy"])
        mutation(document, pod_identity_expectation(stack))
        role.inputs["assumeRolePolicy"] = json.dumps(document)
    return mutate


def _drop(type_: str) -> StackMutation:
    def mutate(stack: Stack) -> None:
        object.__setattr__(stack, "resources",
                           tuple(r for r in stack.resources if r.type != type_))
    return mutate


def _annotate(stack: Stack) -> None:
    role = next(r for r in stack.of_type("aws:iam/role:Role")
                if "pods.eks.amazonaws.com" in r.inputs["assumeRolePolicy"])
    _one(stack, "kubernetes:core/v1:ServiceAccount")["metadata"]["annotations"] = {
        IRSA_ANNOTATION: role.outputs["arn"]}


POD_STACK_MUTATIONS: dict[str, tuple[StackMutation, str]] = {
    **{f"trust: {name}": (_trust(m), "check_trust_policy")
       for name, m in POD_TRUST_MUTATIONS.items() if name != "role trusts only an OIDC provider"},
    # An OIDC-only role is no longer recognised as the Pod Identity role at all.
    "trust: role trusts only an OIDC provider": (_trust(_oidc_only), "check_trust_policy"),
    "association names another service account": (
        _association("serviceAccount", "other-app"), "check_pod_identity"),
    "association names another namespace": (_association("namespace", "other"),
                                            "check_pod_identity"),
    "association on another cluster": (_association("clusterName", "other-cluster"),
                                       "check_pod_identity"),
    "association names another role": (
        _association("roleArn", "arn:aws:iam::123456789012:role/other"), "check_pod_identity"),
    "no association": (_drop("aws:eks/podIdentityAssociation:PodIdentityAssociation"),
                       "check_pod_identity"),
    "agent add-on missing": (_drop("aws:eks/addon:Addon"), "check_pod_identity"),
    "IRSA annotation left on the service account": (_annotate, "check_service_account"),
}


def test_every_pod_identity_mutation_is_caught_by_its_check(pod_run):
    escaped = {}
    for name, (mutation, catcher) in POD_STACK_MUTATIONS.items():
        stack = _fresh(pod_run)
        mutation(stack)
        failures = failing_checks(stack)
        if catcher not in failures:
            escaped[name] = f"{catcher} let it through; failing: {sorted(failures)}"
    assert escaped == {}


def test_identity_mode_refuses_an_unknown_value(mock_runtime):
    from infra_stack import run_stack

    with pytest.raises(Exception, match="identityMode"):
        run_stack({"identityMode": "kiam"})
