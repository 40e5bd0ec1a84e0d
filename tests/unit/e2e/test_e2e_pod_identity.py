"""The EKS Pod Identity webhook's pod mutation in the local cluster: only pods of an associated
service account get the container-credentials environment and a token for the agent's audience."""

from __future__ import annotations

import pytest

from pgiam.e2e.engine.kube import ROLE_ANNOTATION, ClusterModel, plan_pod
from pgiam.e2e.engine.pod_identity import (
    AUDIENCE,
    FULL_URI,
    TOKEN_FILE,
    TOKEN_FILE_ENV,
    TOKEN_MOUNT_PATH,
    pod_identity_mutation,
)

pytestmark = pytest.mark.unit

AGENT = "http://127.0.0.1:47001/v1/credentials"
IMAGE = "123.dkr.ecr.eu-west-1.amazonaws.com/pgiam-demo-app:0.1.0"


@pytest.fixture
def model() -> ClusterModel:
    cluster = ClusterModel("c", "eu-west-1")
    cluster.admit("v1", "Namespace", {"metadata": {"name": "demo"}})
    cluster.admit("v1", "Namespace", {"metadata": {"name": "other"}})
    for namespace in ("demo", "other"):
        for name in ("demo-app", "reporter"):
            cluster.admit("v1", "ServiceAccount", {"metadata": {"name": name,
                                                                "namespace": namespace}})
    cluster.pod_identity[("demo", "demo-app")] = AGENT
    return cluster


def template(account: str, **container: object) -> dict:
    base = {"name": "app", "image": IMAGE, "env": [{"name": "DB_HOST", "value": "db.local"}]}
    base.update(container)
    return {"metadata": {}, "spec": {"serviceAccountName": account, "containers": [base]}}


def test_the_associated_service_account_gets_the_agent_and_a_pods_eks_token(model):
    plan = plan_pod(model, "demo", "pod-1", template("demo-app"))
    env = plan.containers[0].env
    assert env[FULL_URI] == AGENT
    assert env[TOKEN_FILE_ENV] == f"{TOKEN_MOUNT_PATH}/{TOKEN_FILE}"
    assert (env["AWS_REGION"], env["AWS_DEFAULT_REGION"]) == ("eu-west-1", "eu-west-1")
    assert "AWS_ROLE_ARN" not in env
    [token] = [v for v in plan.volumes.values() if v.token_path is not None]
    assert (token.token_audience, token.token_path) == (AUDIENCE, TOKEN_FILE)


@pytest.mark.parametrize("namespace, account", [("demo", "reporter"), ("other", "demo-app")])
def test_another_service_account_or_namespace_gets_nothing(model, namespace, account):
    plan = plan_pod(model, namespace, "pod-1", template(account))
    env = plan.containers[0].env
    assert FULL_URI not in env and TOKEN_FILE_ENV not in env
    assert not [v for v in plan.volumes.values() if v.token_path is not None]


def test_a_service_account_with_both_gets_both_and_keeps_the_web_identity(model):
    model.admit("v1", "ServiceAccount", {"metadata": {
        "name": "both", "namespace": "demo",
        "annotations": {ROLE_ANNOTATION: "arn:aws:iam::123456789012:role/r"}}})
    model.pod_identity[("demo", "both")] = AGENT
    env = plan_pod(model, "demo", "pod-1", template("both")).containers[0].env
    assert env["AWS_ROLE_ARN"] and env[FULL_URI] == AGENT


def test_a_container_that_sets_the_variables_itself_is_left_alone():
    spec = {"containers": [{"name": "a", "env": [{"name": FULL_URI, "value": "http://x"}]}]}
    assert pod_identity_mutation(spec, AGENT, "eu-west-1") == spec


def test_no_association_leaves_the_spec_unchanged():
    spec = {"containers": [{"name": "a"}]}
    assert pod_identity_mutation(spec, None, "eu-west-1") == spec


# --- the association handler's agent look-up --------------------------------------------------

def _ctx(template: str):
    from types import SimpleNamespace

    return SimpleNamespace(cloud=SimpleNamespace(pod_identity_agent_url=template))


def test_the_agent_url_is_the_local_clouds_template_for_the_cluster():
    from pgiam.e2e.engine.aws_eks_pod_identity import agent_url

    template = "http://127.0.0.1:4711/clusters/{cluster}/v1/credentials"
    assert agent_url(_ctx(template), "iam-postgres-e2e") == \
        "http://127.0.0.1:4711/clusters/iam-postgres-e2e/v1/credentials"


def test_a_local_cloud_without_an_agent_is_a_named_engine_error():
    from pgiam.e2e.engine.aws_eks_pod_identity import agent_url
    from pgiam.e2e.engine.resources import EngineError

    with pytest.raises(EngineError, match="no Pod Identity Agent for cluster 'c'"):
        agent_url(_ctx(""), "c")


def test_the_intruder_template_asks_the_agent_whatever_its_service_account(model):
    from pgiam.e2e.engine.pod_identity import pod_identity_intruder

    intruder = pod_identity_intruder(template("reporter"), AGENT, "eu-west-1")
    plan = plan_pod(model, "demo", "probe", intruder)
    assert plan.containers[0].env[FULL_URI] == AGENT
    [token] = [v for v in plan.volumes.values() if v.token_path is not None]
    assert token.token_audience == AUDIENCE and plan.service_account == "reporter"


def test_the_other_service_account_verdict_takes_the_agents_refusal_under_pod_identity():
    from pgiam.e2e import checks
    from pgiam.e2e.engine.pod_identity import POD_IDENTITY_REFUSALS

    control = {"label": "control", "result": "allowed", "arn": "arn:aws:sts::1:assumed-role/r/s"}
    intruder = {"label": "intruder", "result": "refused", "code": "ResourceNotFoundException",
                "message": "No Pod Identity Association found."}
    verdict = checks.judge_assume_role(control, intruder, "arn:aws:iam::1:role/r", "sa",
                                       refusals=POD_IDENTITY_REFUSALS)
    assert "ResourceNotFoundException" in verdict.message
    with pytest.raises(checks.CheckFailure):
        checks.judge_assume_role(control, intruder, "arn:aws:iam::1:role/r", "sa")
    with pytest.raises(checks.CheckFailure):
        checks.judge_assume_role(control, {**intruder, "code": "InvalidTokenException"},
                                 "arn:aws:iam::1:role/r", "sa", refusals=POD_IDENTITY_REFUSALS)
