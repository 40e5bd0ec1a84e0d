"""EKS Pod Identity's pod mutation, as the EKS Pod Identity webhook performs it at admission.

For a pod whose service account an association of its cluster names, every container gets
``AWS_CONTAINER_CREDENTIALS_FULL_URI`` (the node's Pod Identity Agent, ``/v1/credentials``) and
``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`` (a projected service account token with audience
``pods.eks.amazonaws.com``), plus ``AWS_REGION``/``AWS_DEFAULT_REGION`` when the container does
not set them; boto3's container credentials provider reads both unchanged. A container that
already sets the variables is left alone, as the webhook does. Here the agent listens on a
loopback port of this machine (botocore accepts a plain-HTTP full URI only for loopback, ECS's
169.254.170.2 and EKS's 169.254.170.23 / fd00:ec2::23), so the URI is the local cluster's agent.

Pure: no I/O, no other engine module; ``kube.plan_pod`` applies it after the IRSA mutation (a
service account with both gets both, and boto3's chain then prefers the web identity).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

AUDIENCE = "pods.eks.amazonaws.com"
TOKEN_VOLUME = "eks-pod-identity-token"
TOKEN_MOUNT_PATH = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
TOKEN_FILE = "eks-pod-identity-token"
# The webhook's projected token lifetime (EKS User Guide: 24 hours).
TOKEN_EXPIRATION = 86400
FULL_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
TOKEN_FILE_ENV = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"


def _has_env(container: Mapping[str, Any], name: str) -> bool:
    return any(item.get("name") == name for item in container.get("env") or [])


def pod_identity_mutation(pod_spec: Mapping[str, Any], agent_url: str | None,
                          region: str) -> dict[str, Any]:
    """The pod spec as the Pod Identity webhook returns it: unchanged when ``agent_url`` is None
    (no association names the pod's service account)."""
    spec = copy.deepcopy(dict(pod_spec))
    if not agent_url:
        return spec
    mutated = False
    for container in spec.get("containers") or []:
        if _has_env(container, FULL_URI) or _has_env(container, TOKEN_FILE_ENV):
            continue
        env = container.setdefault("env", [])
        additions = [(FULL_URI, agent_url), (TOKEN_FILE_ENV, f"{TOKEN_MOUNT_PATH}/{TOKEN_FILE}")]
        for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
            if not _has_env(container, name):
                additions.append((name, region))
        env.extend({"name": name, "value": value} for name, value in additions)
        container.setdefault("volumeMounts", []).append(
            {"name": TOKEN_VOLUME, "mountPath": TOKEN_MOUNT_PATH, "readOnly": True})
        mutated = True
    if mutated and not any(v.get("name") == TOKEN_VOLUME for v in spec.get("volumes") or []):
        spec.setdefault("volumes", []).append({"name": TOKEN_VOLUME, "projected": {"sources": [
            {"serviceAccountToken": {"audience": AUDIENCE, "expirationSeconds": TOKEN_EXPIRATION,
                                     "path": TOKEN_FILE}}]}})
    return spec


# EKS Auth's answers, through the agent, that mean "not this pod" (another service account or
# namespace has no association: ResourceNotFoundException; a role whose trust refuses EKS Auth:
# AccessDeniedException). A token error would be the harness's own defect, not a refusal.
POD_IDENTITY_REFUSALS = ("ResourceNotFoundException", "AccessDeniedException")


def pod_identity_intruder(template: Mapping[str, Any], agent_url: str,
                          region: str) -> dict[str, Any]:
    """A pod template (``{metadata, spec}``) that asks the agent for credentials whatever its
    service account: what a pod of a service account no association names can always do (the
    agent listens on every node), with its own projected token."""
    intruder = copy.deepcopy(dict(template))
    intruder["spec"] = pod_identity_mutation(intruder.get("spec") or {}, agent_url, region)
    return intruder
