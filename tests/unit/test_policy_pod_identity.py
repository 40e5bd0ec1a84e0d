"""EKS Pod Identity rules: the service-principal trust, the association's role and conditions,
and the workload's association; each refusal next to a passing positive control on the same
shape, known (after up) and unknown (preview, linked by dependencies)."""

from __future__ import annotations

import json

import pytest

from iamdb_rules.catalog import BY_NAME
from iamdb_rules.model import Resource
from iamdb_rules.props import UNKNOWN

pytestmark = pytest.mark.unit

ACCOUNT = "111122223333"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/pod-role"
CLUSTER_ARN = f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/prod"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789ABCDEF0123456789"


def res(type_: str, name: str, props: dict, deps: dict | None = None) -> Resource:
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::{name}", name, props,
                    property_dependencies=deps or {})


def pods_statement(**changes) -> dict:
    statement = {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                 "Action": ["sts:AssumeRole", "sts:TagSession"]}
    statement.update(changes)
    return {k: v for k, v in statement.items() if v is not None}


def oidc_statement() -> dict:
    return {"Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:demo:app",
                                           f"{ISSUER}:aud": "sts.amazonaws.com"}}}


def role(*statements: dict, arn: str | None = ROLE_ARN) -> Resource:
    document = json.dumps({"Version": "2012-10-17",
                           "Statement": list(statements) or [pods_statement()]})
    props = {"name": "pod-role", "assumeRolePolicy": document}
    if arn is not None:
        props["arn"] = arn
    return res("aws:iam/role:Role", "pod-role", props)


def association(namespace="demo", service_account="app", role_arn=ROLE_ARN, cluster="prod",
                deps=None) -> Resource:
    return res("aws:eks/podIdentityAssociation:PodIdentityAssociation", f"assoc-{service_account}",
               {"clusterName": cluster, "namespace": namespace,
                "serviceAccount": service_account, "roleArn": role_arn}, deps)


def deployment(account="app", namespace="demo") -> Resource:
    spec = {"serviceAccountName": account,
            "containers": [{"name": "c", "image": "i",
                            "env": [{"name": "DB_HOST", "value": "db"}]}]}
    return res("kubernetes:apps/v1:Deployment", f"web-{account}", {
        "metadata": {"namespace": namespace}, "spec": {"template": {"spec": spec}}})


def run(rule: str, subject):
    policy = BY_NAME[rule]
    return policy.run(subject, policy.context(stack="dev"))


# --- pod-identity-trust ------------------------------------------------------------------------

def test_the_documented_trust_passes():
    assert run("pod-identity-trust", role()) == ([], [])


@pytest.mark.parametrize("statement, words", [
    (pods_statement(Principal={"Service": "*"}), "wildcard"),
    (pods_statement(Principal={"Service": ["pods.eks.amazonaws.com", "ec2.amazonaws.com"]}),
     "ec2.amazonaws.com"),
    (pods_statement(Principal={"Service": "pods.eks.amazonaws.com",
                               "AWS": f"arn:aws:iam::{ACCOUNT}:root"}), "AWS principal"),
    (pods_statement(Action="sts:*"), "wildcards"),
    (pods_statement(Action="sts:AssumeRole"), "sts:tagsession"),
    (pods_statement(Action=["sts:AssumeRole", "sts:TagSession", "sts:AssumeRoleWithWebIdentity"]),
     "also allows"),
    (pods_statement(Action=None, NotAction="iam:*"), "NotAction"),
    (pods_statement(Condition={"StringEquals": {"aws:SourceAccount": "444455556666"}}),
     "444455556666"),
])
def test_a_miswired_pod_identity_trust_is_reported(statement, words):
    violations, _ = run("pod-identity-trust", role(statement))
    assert len(violations) == 1, violations
    assert words.lower() in violations[0].message.lower()


def test_a_role_trusted_both_ways_is_judged_on_the_pod_identity_statement():
    assert run("pod-identity-trust", role(oidc_statement(), pods_statement())) == ([], [])
    violations, _ = run("pod-identity-trust", role(oidc_statement(),
                                                   pods_statement(Action="sts:*")))
    assert len(violations) == 1


def test_source_account_is_compared_with_the_role_once_known_and_must_be_an_account():
    statement = pods_statement(Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}})
    assert run("pod-identity-trust", role(statement)) == ([], [])
    assert run("pod-identity-trust", role(statement, arn=None)) == ([], [])
    pattern = pods_statement(Condition={"StringLike": {"aws:SourceAccount": "*"}})
    assert len(run("pod-identity-trust", role(pattern, arn=None))[0]) == 1


def test_source_account_of_another_account_denies_the_association():
    statement = pods_statement(Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}})
    assert run("pod-identity-association-role", [role(statement), association()]) == ([], [])
    foreign = pods_statement(Condition={"StringEquals": {"aws:SourceAccount": "444455556666"}})
    violations, _ = run("pod-identity-association-role", [role(foreign), association()])
    assert len(violations) == 1 and "444455556666" in violations[0].message


def test_an_irsa_only_role_is_not_this_rules_business():
    assert run("pod-identity-trust", role(oidc_statement())) == ([], [])


# --- pod-identity-association-role -------------------------------------------------------------

def test_an_association_naming_a_pod_identity_role_passes():
    assert run("pod-identity-association-role", [role(), association()]) == ([], [])


def test_an_association_whose_role_trusts_only_an_oidc_provider_is_refused():
    violations, _ = run("pod-identity-association-role", [role(oidc_statement()), association()])
    assert len(violations) == 1 and "only an OIDC provider" in violations[0].message


def test_a_role_trusted_both_ways_satisfies_the_association():
    assert run("pod-identity-association-role",
               [role(oidc_statement(), pods_statement()), association()]) == ([], [])


@pytest.mark.parametrize("condition, words", [
    ({"StringEquals": {"aws:RequestTag/kubernetes-service-account": "other"}}, "'app'"),
    ({"StringEquals": {"aws:RequestTag/kubernetes-namespace": "other"}}, "'demo'"),
    ({"StringEquals": {"aws:RequestTag/eks-cluster-name": "staging"}}, "'prod'"),
    ({"ArnEquals": {"aws:SourceArn": f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/staging"}},
     "cluster/staging"),
    ({"ArnEquals": {"aws:SourceArn": "arn:aws:eks:us-east-1:444455556666:cluster/prod"}},
     "444455556666"),
    ({"StringEquals": {"aws:RequestTag/eks-cluster-arn": "arn:aws:eks:*:*:cluster/*"}},
     "cluster/*"),
])
def test_trust_conditions_naming_another_cluster_or_account_deny_eks(condition, words):
    good = {"StringEquals": {"aws:RequestTag/kubernetes-service-account": "app",
                             "aws:RequestTag/kubernetes-namespace": "demo",
                             "aws:RequestTag/eks-cluster-name": "prod",
                             "aws:RequestTag/eks-cluster-arn": CLUSTER_ARN},
            "ArnEquals": {"aws:SourceArn": CLUSTER_ARN}}
    assert run("pod-identity-association-role",
               [role(pods_statement(Condition=good)), association()]) == ([], [])
    violations, _ = run("pod-identity-association-role",
                        [role(pods_statement(Condition=condition)), association()])
    assert len(violations) == 1 and words in violations[0].message


def test_an_association_linked_by_dependency_at_preview_is_judged():
    role_at_preview = res("aws:iam/role:Role", "pod-role",
                          {"assumeRolePolicy": json.dumps({"Version": "2012-10-17",
                                                           "Statement": [oidc_statement()]})})
    linked = association(role_arn=UNKNOWN, deps={"roleArn": (role_at_preview.urn,)})
    violations, _ = run("pod-identity-association-role", [role_at_preview, linked])
    assert len(violations) == 1
    unlinked = association(role_arn=UNKNOWN, deps={"roleArn": ("urn:other",)})
    assert run("pod-identity-association-role", [role_at_preview, unlinked])[0] == []


def test_an_unknown_trust_is_deferred_not_passed():
    unknown_role = res("aws:iam/role:Role", "pod-role",
                       {"arn": ROLE_ARN, "assumeRolePolicy": UNKNOWN})
    violations, deferred = run("pod-identity-association-role", [unknown_role, association()])
    assert violations == [] and len(deferred) == 1


# --- pod-identity-workload-association ---------------------------------------------------------

def test_a_workload_under_the_associated_service_account_passes():
    assert run("pod-identity-workload-association",
               [role(), association(), deployment()]) == ([], [])


@pytest.mark.parametrize("workload", [deployment(account="other"),
                                      deployment(namespace="other"),
                                      deployment(account="default")])
def test_a_workload_under_a_service_account_no_association_names_is_reported(workload):
    violations, _ = run("pod-identity-workload-association", [role(), association(), workload])
    assert len(violations) == 1 and "no EKS Pod Identity association" in violations[0].message


def test_a_stack_without_associations_is_left_to_the_irsa_rules():
    assert run("pod-identity-workload-association", [deployment(account="other")]) == ([], [])


def test_an_association_not_known_yet_defers_the_workload():
    pending = association(service_account=UNKNOWN)
    violations, deferred = run("pod-identity-workload-association",
                               [pending, deployment(account="other")])
    assert violations == [] and len(deferred) == 1
