"""``aws.eks.PodIdentityAssociation`` and ``aws.eks.Addon`` in the local cloud.

An association is made through the EKS API (the local cloud's associations, which its EKS Auth
consults); the local cluster's pod identity webhook then mutates the pods of that namespace and
service account to fetch credentials from the cluster's Pod Identity Agent
(:mod:`pgiam.e2e.engine.pod_identity`). Deleting the association removes the binding too: pods
started afterwards get nothing, and the agent refuses pods already running (EKS Auth no longer
finds the association).

Add-ons: the local cloud has no add-on API (moto implements none); the engine records an add-on
as EKS reports one (``ACTIVE``). ``eks-pod-identity-agent`` is what makes a cluster's agent serve:
without it, associated pods get the environment but the agent is not there, as on EKS.
"""

from __future__ import annotations

import urllib.parse

from pgiam.e2e.engine.aws_api import delete_quietly, exists, region_for
from pgiam.e2e.engine.context import EngineContext
from pgiam.e2e.engine.resources import Created, CreateRequest, EngineError, handles
from pgiam.e2e.engine.state import ResourceEntry

AGENT_ADDON = "eks-pod-identity-agent"


def agent_url(ctx: EngineContext, cluster_name: str) -> str:
    """The local cloud's Pod Identity Agent URL for ``cluster_name`` (its pod-identity
    extension's template, one path per cluster)."""
    template = ctx.cloud.pod_identity_agent_url
    if not template or "{cluster}" not in template:
        raise EngineError(f"the local cloud serves no Pod Identity Agent for cluster "
                          f"{cluster_name!r} (its up JSON names no pod-identity agent_url)")
    return template.format(cluster=urllib.parse.quote(cluster_name, safe=""))


@handles("aws:eks/podIdentityAssociation:PodIdentityAssociation")
class PodIdentityAssociation:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        eks = ctx.client("eks", region)
        inputs = request.inputs
        cluster_name = str(inputs.get("clusterName") or "")
        namespace = str(inputs.get("namespace") or "")
        service_account = str(inputs.get("serviceAccount") or "")
        role_arn = str(inputs.get("roleArn") or "")
        if not (cluster_name and namespace and service_account and role_arn):
            raise EngineError(f"aws.eks.PodIdentityAssociation {request.name!r}: clusterName, "
                              "namespace, serviceAccount and roleArn are required")
        tags = ctx.tags_for(inputs, request.provider)
        association = eks.create_pod_identity_association(
            clusterName=cluster_name, namespace=namespace, serviceAccount=service_account,
            roleArn=role_arn, **({"tags": tags} if tags else {}))["association"]
        association_id = association["associationId"]
        data = {"region": region, "clusterName": cluster_name, "associationId": association_id,
                "namespace": namespace, "serviceAccount": service_account}
        local = ctx.clusters.get(cluster_name)
        if local is not None:
            try:
                local.model.pod_identity[(namespace, service_account)] = agent_url(
                    ctx, cluster_name)
            except EngineError:
                self.delete(ctx, ResourceEntry(seq=0, type="", name=request.name, data=data))
                raise
        return Created(association_id, {
            "id": association_id, "associationId": association_id,
            "associationArn": association.get("associationArn", ""),
            "clusterName": cluster_name, "namespace": namespace,
            "serviceAccount": service_account, "roleArn": role_arn,
            "tags": dict(inputs.get("tags") or {}), "tagsAll": tags,
        }, data)

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        data = entry.data
        local = ctx.clusters.get(data.get("clusterName", ""))
        if local is not None:
            local.model.pod_identity.pop((data.get("namespace"), data.get("serviceAccount")),
                                         None)
        delete_quietly(lambda: ctx.client("eks", data.get("region")).
                       delete_pod_identity_association(clusterName=data["clusterName"],
                                                       associationId=data["associationId"]))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: ctx.client("eks", entry.data.get("region")).
                      describe_pod_identity_association(
                          clusterName=entry.data["clusterName"],
                          associationId=entry.data["associationId"]))


@handles("aws:eks/addon:Addon")
class EksAddon:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        cluster_name = str(request.inputs.get("clusterName") or "")
        addon = str(request.inputs.get("addonName") or "")
        if cluster_name not in ctx.clusters:
            raise EngineError(f"aws.eks.Addon {request.name!r}: cluster {cluster_name!r} is not "
                              "a cluster of this stack")
        if not addon:
            raise EngineError(f"aws.eks.Addon {request.name!r}: addonName is required")
        region = region_for(ctx, request)
        arn = (f"arn:{ctx.cloud.partition}:eks:{region}:{ctx.cloud.account_id}:addon/"
               f"{cluster_name}/{addon}/local")
        tags = ctx.tags_for(request.inputs, request.provider)
        return Created(f"{cluster_name}:{addon}", {
            "id": f"{cluster_name}:{addon}", "arn": arn, "clusterName": cluster_name,
            "addonName": addon, "addonVersion": str(request.inputs.get("addonVersion") or
                                                    "local"),
            "status": "ACTIVE", "tags": dict(request.inputs.get("tags") or {}), "tagsAll": tags,
        }, {"clusterName": cluster_name, "addonName": addon})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        return None    # recorded only: nothing to remove in the local cloud

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return entry.data.get("clusterName") in ctx.clusters
