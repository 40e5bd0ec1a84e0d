"""DemoApp: the demo application (``app/``, image built from ``app/Dockerfile``) on EKS with IRSA.

A namespace, a service account annotated with the IRSA role's ARN, a Deployment of the app
under that service account, and a LoadBalancer Service in front of it. The pod holds no
credential: EKS's pod identity webhook sees the annotation and injects ``AWS_ROLE_ARN`` and a
projected web identity token, which boto3 exchanges for the role's credentials.

The Kubernetes API token is not mounted (``automountServiceAccountToken: false``): the app never
calls the Kubernetes API, and IRSA's token is a separate projected volume the webhook adds. The
pod runs as the image's non-root user (uid 10001, app/Dockerfile) with a read-only root file
system; ``fsGroup`` makes the projected token readable to that user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .policy_documents import validate_namespace, validate_service_account_name

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
# Where app/Dockerfile puts the RDS CA bundle at build time (the image's own PGSSLROOTCERT).
IMAGE_CA_BUNDLE = "/etc/ssl/certs/rds-global-bundle.pem"
CA_MOUNT_DIR = "/etc/pgiam/db-ca"
CA_FILE = "ca.pem"
APP_UID = 10001
CONTAINER_PORT = 8080
SERVICE_PORT = 80


@dataclass
class DemoAppArgs:
    namespace: str
    service_account_name: str
    role_arn: pulumi.Input[str]
    image: str
    db_host: pulumi.Input[str]
    db_port: pulumi.Input[int]
    db_name: str
    db_user: str
    region: pulumi.Input[str]
    # PEM of the CA that signs the database endpoint; None: the RDS bundle baked into the image.
    ca_bundle: str | None = None
    replicas: int = 1
    # False under EKS Pod Identity: the association binds the role, the service account carries
    # no IRSA annotation (an annotation would make the webhook inject a web identity as well).
    irsa: bool = True


def app_url(status: Any) -> str:
    """``http://<load balancer>`` from a Service's status, once the load balancer exists."""
    ingress = (getattr(getattr(status, "load_balancer", None), "ingress", None) or [])
    for entry in ingress:
        address = getattr(entry, "hostname", None) or getattr(entry, "ip", None)
        if address:
            return f"http://{address}"
    return ""


def container_env(args: DemoAppArgs, sslrootcert: str) -> list[dict[str, Any]]:
    """The pod environment of docs/architecture.md; nothing that looks like a credential."""
    return [
        {"name": "DB_HOST", "value": args.db_host},
        {"name": "DB_PORT", "value": pulumi.Output.from_input(args.db_port).apply(str)},
        {"name": "DB_NAME", "value": args.db_name},
        {"name": "DB_USER", "value": args.db_user},
        {"name": "AWS_REGION", "value": args.region},
        {"name": "PGSSLMODE", "value": "verify-full"},
        {"name": "PGSSLROOTCERT", "value": sslrootcert},
        {"name": "PORT", "value": str(CONTAINER_PORT)},
    ]


class DemoApp(pulumi.ComponentResource):
    app_url: pulumi.Output[str]
    namespace: pulumi.Output[str]
    service_account_name: pulumi.Output[str]

    def __init__(self, name: str, args: DemoAppArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        validate_namespace(args.namespace)
        validate_service_account_name(args.service_account_name)
        super().__init__("iampg:index:DemoApp", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "pgiam"}

        namespace = k8s.core.v1.Namespace(
            f"{name}-ns", metadata={"name": args.namespace, "labels": labels}, opts=child)
        ns_name = namespace.metadata.name
        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={"name": args.service_account_name, "namespace": ns_name,
                      "labels": labels,
                      "annotations": {IRSA_ANNOTATION: args.role_arn} if args.irsa else {}},
            automount_service_account_token=False,
            opts=child)

        volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"medium": "Memory"}}]
        mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
        sslrootcert = IMAGE_CA_BUNDLE
        if args.ca_bundle is not None:
            ca = k8s.core.v1.ConfigMap(
                f"{name}-db-ca", metadata={"name": "db-ca-bundle", "namespace": ns_name,
                                           "labels": labels},
                data={CA_FILE: args.ca_bundle}, opts=child)
            volumes.append({"name": "db-ca", "configMap": {"name": ca.metadata.name}})
            mounts.append({"name": "db-ca", "mountPath": CA_MOUNT_DIR, "readOnly": True})
            sslrootcert = f"{CA_MOUNT_DIR}/{CA_FILE}"

        probe = {"httpGet": {"port": "http"}, "periodSeconds": 10, "timeoutSeconds": 5}
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={"name": name, "namespace": ns_name, "labels": labels},
            spec={
                "replicas": args.replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": service_account.metadata.name,
                        "automountServiceAccountToken": False,
                        "securityContext": {
                            "runAsNonRoot": True, "runAsUser": APP_UID, "runAsGroup": APP_UID,
                            "fsGroup": APP_UID, "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [{
                            "name": "app",
                            "image": args.image,
                            "imagePullPolicy": "IfNotPresent",
                            "ports": [{"name": "http", "containerPort": CONTAINER_PORT}],
                            "env": container_env(args, sslrootcert),
                            "readinessProbe": {**probe, "httpGet": {"path": "/readyz",
                                                                    "port": "http"}},
                            "livenessProbe": {**probe, "httpGet": {"path": "/healthz",
                                                                   "port": "http"},
                                              "initialDelaySeconds": 10},
                            "resources": {"requests": {"cpu": "50m", "memory": "96Mi"},
                                          "limits": {"memory": "256Mi"}},
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": mounts,
                        }],
                        "volumes": volumes,
                    },
                },
            },
            opts=child)
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": name, "namespace": ns_name, "labels": labels},
            spec={"type": "LoadBalancer", "selector": labels,
                  "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http"}]},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment]))

        self.namespace = ns_name
        self.service_account_name = service_account.metadata.name
        self.app_url = service.status.apply(app_url)
        self.register_outputs({
            "appUrl": self.app_url,
            "namespace": self.namespace,
            "serviceAccount": self.service_account_name,
        })
