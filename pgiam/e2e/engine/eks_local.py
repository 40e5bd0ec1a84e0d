"""The local Kubernetes cluster behind an EKS cluster of the stack, whichever resource made it
(pulumi-eks's ``eks:index:Cluster`` or a plain ``aws.eks.Cluster``): what a pod's network means
here, the issuer's thumbprint, and starting and stopping the cluster's local node."""

from __future__ import annotations

import hashlib

from pgiam.e2e.engine.context import EngineContext, LocalCluster
from pgiam.e2e.engine.network import pod_network_env


def issuer_thumbprint(ca_bundle: str) -> str:
    """SHA-1 of the first certificate of the local cloud's CA bundle (IAM wants the root CA's
    thumbprint of the issuer's TLS chain; the strict STS does not check it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        with open(ca_bundle, "rb") as stream:
            certificate = x509.load_pem_x509_certificate(stream.read())
        return hashlib.sha1(certificate.public_bytes(Encoding.DER)).hexdigest()  # noqa: S324
    except (OSError, ValueError):
        return hashlib.sha1(ca_bundle.encode()).hexdigest()  # noqa: S324


def network_env(ctx: EngineContext) -> dict[str, str]:
    """What "the network" of a pod means here: AWS's endpoints are the local cloud's."""
    env = {"AWS_ENDPOINT_URL": ctx.cloud.endpoint_url, **dict(ctx.cloud.resolver_env)}
    if ctx.cloud.endpoint_url.startswith("https://"):
        env["AWS_CA_BUNDLE"] = ctx.cloud.ca_bundle
    return env


def attach_local_cluster(ctx: EngineContext, name: str, endpoint: str) -> LocalCluster:
    """Start the local cluster that runs what the program deploys into EKS cluster ``name``
    (its Kubernetes provider finds it by ``endpoint``)."""
    local = ctx.add_cluster(name, endpoint, network_env(ctx))
    local.kubelet.pod_network = lambda env, directory: pod_network_env(ctx, name, env, directory)
    local.kubelet.rds_ca_bundle = ctx.cloud.ca_bundle
    return local


def detach_local_cluster(ctx: EngineContext, name: str) -> None:
    """Stop every pod and Service proxy of the local cluster ``name`` and forget it."""
    cluster = ctx.clusters.pop(name, None)
    if cluster is None:
        return
    for pod in list(cluster.kubelet.pods.values()):
        cluster.kubelet.stop_pod(pod)
    for namespace, service in list(cluster.kubelet.services):
        cluster.kubelet.stop_service(namespace, service)
