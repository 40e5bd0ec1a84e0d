"""The aws target's pure parts: what is missing, the Job manifests, the simulator cases."""

from __future__ import annotations

from pgiam.e2e.targets.aws import job_manifest, missing_prerequisites, simulator_cases

TEMPLATE = {"metadata": {"labels": {"app": "demo"}}, "spec": {
    "serviceAccountName": "demo-app",
    "containers": [{"name": "app", "image": "img", "ports": [{"containerPort": 8080}],
                    "env": [{"name": "DB_HOST", "value": "h"}],
                    "readinessProbe": {"httpGet": {"path": "/readyz"}},
                    "livenessProbe": {"httpGet": {"path": "/healthz"}}}]}}


def test_missing_tools_and_region_are_each_named(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    missing = missing_prerequisites({"PATH": "/nonexistent"})
    text = " ".join(missing)
    assert "Pulumi CLI" in text and "kubectl" in text and "AWS CLI" in text
    assert "region" in text
    assert "credentials" not in text


def test_a_job_runs_the_pods_template_without_probes_or_restarts():
    job = job_manifest("j1", "demo", TEMPLATE, ["python", "-m", "app", "check"],
                       service_account="intruder", secret_env={"PW": ("s", "k")})
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert (job["kind"], job["metadata"]["namespace"], job["spec"]["backoffLimit"]) == (
        "Job", "demo", 0)
    assert pod["restartPolicy"] == "Never" and pod["serviceAccountName"] == "intruder"
    assert "readinessProbe" not in container and "livenessProbe" not in container
    assert container["command"] == ["python", "-m", "app", "check"]
    assert {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}} in \
        container["env"]
    assert TEMPLATE["spec"]["serviceAccountName"] == "demo-app"  # the template is not changed


def test_the_simulator_allows_only_the_exact_dbuser_arn():
    cases = simulator_cases("arn:aws-us-gov:iam::123456789012:role/r", "us-gov-west-1",
                            "cluster-ABC", "app_user", "pgadmin")
    allowed = [arn for _, arn, must in cases if must]
    assert allowed == ["arn:aws-us-gov:rds-db:us-gov-west-1:123456789012:dbuser:cluster-ABC/"
                       "app_user"]
    assert {arn.rsplit(":", 1)[1] for _, arn, must in cases if not must} == {
        "cluster-ABC/*", "*/app_user", "cluster-ABC/pgadmin"}


def test_a_ctrl_c_the_terminal_delivered_is_not_forwarded_to_the_cli(monkeypatch):
    """The terminal sends Ctrl-C to the whole foreground group, the Pulumi CLI included: a
    second SIGINT from us would make it abandon the update with pending operations."""
    import os
    import signal

    from pgiam.e2e.targets import aws

    monkeypatch.setattr(aws, "terminal_foreground_group", os.getpgrp)
    assert aws.delivered_by_terminal(signal.SIGINT)
    assert not aws.delivered_by_terminal(signal.SIGTERM)
    monkeypatch.setattr(aws, "terminal_foreground_group", lambda: None)
    assert not aws.delivered_by_terminal(signal.SIGINT)


def test_a_pod_identity_intruder_job_asks_the_node_agent_with_its_own_token():
    """Under EKS Pod Identity the intruder's Job depends on no IRSA annotation: its pods carry
    the agent's URI and a projected token of their own service account."""
    from pgiam.e2e.engine.pod_identity import AUDIENCE, pod_identity_intruder
    from pgiam.e2e.targets.aws import EKS_AGENT_URL

    template = pod_identity_intruder(TEMPLATE, EKS_AGENT_URL, "us-east-1")
    job = job_manifest("j1", "demo", template, ["python", "-c", "probe"],
                       service_account="intruder", secret_env={})
    pod = job["spec"]["template"]["spec"]
    env = {item["name"]: item.get("value") for item in pod["containers"][0]["env"]}
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == "http://169.254.170.23/v1/credentials"
    assert "AWS_ROLE_ARN" not in env and pod["serviceAccountName"] == "intruder"
    [volume] = [v for v in pod["volumes"] if "projected" in v]
    assert volume["projected"]["sources"][0]["serviceAccountToken"]["audience"] == AUDIENCE
