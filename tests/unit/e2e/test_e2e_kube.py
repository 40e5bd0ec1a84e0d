"""The local cluster's model: admission, the pod identity webhook, pod plans."""

from __future__ import annotations

import sys

import pytest

from pgiam.e2e.engine.kube import (
    ROLE_ANNOTATION,
    TOKEN_MOUNT_PATH,
    ClusterModel,
    KubeError,
    command_image,
    deployment_selector,
    expand_references,
    irsa_mutation,
    kind_of_type,
    local_image,
    local_path,
    plan_pod,
    port_key,
    python_argv,
)

ROLE = "arn:aws:iam::123456789012:role/db-irsa"
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.fixture
def model() -> ClusterModel:
    cluster = ClusterModel("c", "eu-west-1")
    cluster.admit("v1", "Namespace", {"metadata": {"name": "demo"}})
    cluster.admit("v1", "ServiceAccount", {"metadata": {
        "name": "demo-app", "namespace": "demo", "annotations": {ROLE_ANNOTATION: ROLE}}})
    cluster.admit("v1", "ServiceAccount", {"metadata": {"name": "plain", "namespace": "demo"}})
    cluster.admit("v1", "ConfigMap", {"metadata": {"name": "db-ca", "namespace": "demo"},
                                      "data": {"ca.pem": PEM}})
    return cluster


def template(account: str = "demo-app", **container: object) -> dict:
    base = {"name": "app", "image": "123.dkr.ecr.eu-west-1.amazonaws.com/pgiam-demo-app:0.1.0",
            "ports": [{"name": "http", "containerPort": 8080}],
            "env": [{"name": "DB_HOST", "value": "db.local"},
                    {"name": "PGSSLROOTCERT", "value": "/etc/pgiam/db-ca/ca.pem"},
                    {"name": "WHERE", "value": "$(DB_HOST):5432"}],
            "volumeMounts": [{"name": "db-ca", "mountPath": "/etc/pgiam/db-ca"}]}
    base.update(container)
    return {"metadata": {"labels": {"app": "demo"}},
            "spec": {"serviceAccountName": account, "containers": [base],
                     "volumes": [{"name": "db-ca", "configMap": {"name": "db-ca"}}]}}


def test_annotated_service_account_gets_the_webhook_environment_and_token(model):
    plan = plan_pod(model, "demo", "pod-1", template())
    env = plan.containers[0].env
    assert env["AWS_ROLE_ARN"] == ROLE
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"] == f"{TOKEN_MOUNT_PATH}/token"
    assert (env["AWS_REGION"], env["AWS_DEFAULT_REGION"]) == ("eu-west-1", "eu-west-1")
    assert env["AWS_STS_REGIONAL_ENDPOINTS"] == "regional"
    token = plan.volumes["aws-iam-token"]
    assert (token.token_audience, token.token_expiration) == ("sts.amazonaws.com", 86400)


def test_webhook_keeps_a_region_the_container_sets(model):
    spec = template()
    spec["spec"]["containers"][0]["env"].append({"name": "AWS_REGION", "value": "us-west-2"})
    env = plan_pod(model, "demo", "pod-1", spec).containers[0].env
    assert env["AWS_REGION"] == "us-west-2"
    assert env["AWS_DEFAULT_REGION"] == "eu-west-1"


def test_audience_and_expiration_annotations_are_honoured():
    account = {"metadata": {"annotations": {ROLE_ANNOTATION: ROLE,
                                            "eks.amazonaws.com/audience": "custom",
                                            "eks.amazonaws.com/token-expiration": "7200"}}}
    spec = irsa_mutation({"containers": [{"name": "a"}]}, account, "us-east-1")
    source = spec["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]
    assert (source["audience"], source["expirationSeconds"]) == ("custom", 7200)


def test_an_account_without_the_annotation_gets_nothing(model):
    plan = plan_pod(model, "demo", "pod-1", template("plain"))
    assert "AWS_ROLE_ARN" not in plan.containers[0].env
    assert "aws-iam-token" not in plan.volumes


def test_a_missing_service_account_is_refused_as_the_admission_controller_does(model):
    with pytest.raises(KubeError, match='serviceaccount "nobody" not found'):
        plan_pod(model, "demo", "pod-1", template("nobody"))


def test_a_missing_config_map_is_refused(model):
    spec = template()
    spec["spec"]["volumes"][0]["configMap"]["name"] = "absent"
    with pytest.raises(KubeError, match='configmap "absent" not found'):
        plan_pod(model, "demo", "pod-1", spec)


def test_env_references_expand_and_the_image_cmd_is_used(model):
    container = plan_pod(model, "demo", "pod-1", template()).containers[0]
    assert container.env["WHERE"] == "db.local:5432"
    assert container.argv == ("python", "-m", "app", "serve")
    assert container.env["PORT"] == "8080"  # the image's ENV
    assert container.ports == {"8080": 8080, "http": 8080}


def test_a_command_replaces_the_image_cmd(model):
    container = plan_pod(model, "demo", "p", template(command=["python", "-m", "app", "check"])
                         ).containers[0]
    assert container.argv == ("python", "-m", "app", "check")


def test_other_images_cannot_run_here():
    with pytest.raises(KubeError, match="runs the demo app's image and the images mapped with "
                                        "--image-command"):
        local_image("nginx:1.27")


def test_an_image_mapped_to_a_command_runs_that_command(model):
    images = {**model.images, "worker": command_image("registry.example/team/worker:2.1="
                                                      "python -m http.server --bind {pod_ip} 9000")}
    mapped = ClusterModel("c", "eu-west-1", objects=model.objects, images=images)
    spec = template(image="registry.example/team/worker@sha256:abc")
    container = plan_pod(mapped, "demo", "pod-1", spec).containers[0]
    assert container.argv == ("python", "-m", "http.server", "--bind", "{pod_ip}", "9000")
    with pytest.raises(KubeError, match="nginx"):        # the control: still refused unmapped
        plan_pod(mapped, "demo", "pod-1", template(image="nginx:1.27"))


@pytest.mark.parametrize("bad", ["worker", "=python x", "worker=", "worker=python 'open"])
def test_a_malformed_image_command_is_refused(bad):
    with pytest.raises(KubeError, match="--image-command"):
        command_image(bad)


def test_paths_inside_a_mount_map_to_the_volume_directory():
    mounts = (("/etc/pgiam/db-ca", "db-ca", ""), ("/etc", "etc", ""))
    dirs = {"db-ca": "/run/pod/volumes/db-ca", "etc": "/run/pod/volumes/etc"}
    assert local_path("/etc/pgiam/db-ca/ca.pem", mounts, dirs) == "/run/pod/volumes/db-ca/ca.pem"
    assert local_path("/etc/hosts", mounts, dirs) == "/run/pod/volumes/etc/hosts"
    assert local_path("/var/log/x", mounts, dirs) is None


def test_expand_references_leaves_unknown_ones_and_unescapes_dollars():
    assert expand_references("$(A)-$(B)-$$(A)", {"A": "1"}) == "1-$(B)-$(A)"


def test_admission_refuses_unknown_kinds_and_missing_namespaces(model):
    with pytest.raises(KubeError, match="does not support networking.k8s.io/v1/Ingress"):
        model.admit("networking.k8s.io/v1", "Ingress", {"metadata": {"name": "x"}})
    with pytest.raises(KubeError, match='namespaces "absent" not found'):
        model.admit("v1", "ConfigMap", {"metadata": {"name": "x", "namespace": "absent"}})
    with pytest.raises(KubeError, match="already exists"):
        model.admit("v1", "Namespace", {"metadata": {"name": "demo"}})


def test_a_selector_that_misses_the_template_labels_is_refused():
    deployment = {"spec": {"selector": {"matchLabels": {"app": "a"}},
                           "template": {"metadata": {"labels": {"app": "b"}}}}}
    with pytest.raises(KubeError, match="does not match"):
        deployment_selector(deployment)


def test_type_tokens_map_to_api_version_and_kind():
    assert kind_of_type("kubernetes:apps/v1:Deployment") == ("apps/v1", "Deployment")
    assert kind_of_type("kubernetes:core/v1:Namespace") == ("v1", "Namespace")


def test_python_stands_for_this_interpreter():
    assert python_argv(("python", "-c", "x")) == [sys.executable, "-c", "x"]
    assert python_argv(("/bin/true",)) == ["/bin/true"]


def test_integer_ports_arriving_as_floats_are_the_integers_they_stand_for(model):
    container = plan_pod(model, "demo", "pod-1",
                         template(ports=[{"containerPort": 8080.0}])).containers[0]
    assert container.ports == {"8080": 8080}
    assert port_key(8080.0) == port_key(8080) == port_key("8080") == "8080"
    assert port_key("http") == "http"


@pytest.mark.parametrize("bad", [8080.5, 0, 70000, True])
def test_ports_kubernetes_refuses_are_refused(bad):
    with pytest.raises(KubeError):
        port_key(bad)


def test_the_kubelet_finds_a_probe_port_given_as_a_float(model, tmp_path):
    from pgiam.e2e.engine.kubelet import Kubelet, RunningContainer

    plan = plan_pod(model, "demo", "pod-1", template()).containers[0]
    running = RunningContainer(plan, [], {}, tmp_path, tmp_path / "log")
    assert Kubelet._port(running, 8080.0) == 8080
    assert Kubelet._port(running, "http") == 8080
    with pytest.raises(KubeError, match="not a declared port"):
        Kubelet._port(running, "metrics")
