"""A plain ``aws.eks.Cluster`` and its ``aws.eks.NodeGroup`` in the local cloud.

Programs that do not use pulumi-eks build EKS from the provider's own resources: a cluster with
a role the program makes, node groups, an ``aws.iam.OpenIdConnectProvider`` for the issuer the
cluster reports (``identities[0].oidcs[0].issuer``), and a kubeconfig assembled from the
cluster's ``endpoint`` and ``certificateAuthority.data``. Here the cluster is made through the
EKS API (moto), its issuer is the local cloud's (whose tokens the strict STS verifies), and a
local Kubernetes cluster answers at its ``endpoint``, so a ``kubernetes.Provider`` built from
that kubeconfig reaches it. A node group is recorded through the EKS API; its nodes are this
machine.
"""

from __future__ import annotations

import base64
from typing import Any

from pgiam.e2e.engine.aws_api import delete_quietly, exists, region_for, truthy
from pgiam.e2e.engine.context import EngineContext
from pgiam.e2e.engine.eks_local import attach_local_cluster, detach_local_cluster
from pgiam.e2e.engine.resources import Created, CreateRequest, EngineError, handles
from pgiam.e2e.engine.state import ResourceEntry

DEFAULT_VERSION = "1.31"


def _vpc_config(inputs: dict[str, Any]) -> dict[str, Any]:
    vpc = dict(inputs.get("vpcConfig") or {})
    config: dict[str, Any] = {"subnetIds": list(vpc.get("subnetIds") or []),
                              "endpointPublicAccess": truthy(vpc.get("endpointPublicAccess",
                                                                     True)),
                              "endpointPrivateAccess": truthy(vpc.get("endpointPrivateAccess",
                                                                      False))}
    if vpc.get("securityGroupIds"):
        config["securityGroupIds"] = list(vpc["securityGroupIds"])
    return config


@handles("aws:eks/cluster:Cluster")
class EksCluster:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        eks = ctx.client("eks", region)
        tags = ctx.tags_for(request.inputs, request.provider)
        name = request.autoname("name", max_length=100)
        if not request.inputs.get("roleArn"):
            raise EngineError(f"aws.eks.Cluster {request.name!r}: roleArn is required")
        vpc_config = _vpc_config(request.inputs)
        cluster = eks.create_cluster(
            name=name, version=str(request.inputs.get("version") or DEFAULT_VERSION),
            roleArn=str(request.inputs["roleArn"]), resourcesVpcConfig=vpc_config,
            **({"tags": tags} if tags else {}))["cluster"]
        endpoint = cluster.get("endpoint") or f"https://{name}.eks.local"
        ca_data = (cluster.get("certificateAuthority") or {}).get("data") or \
            base64.b64encode(b"local").decode()
        attach_local_cluster(ctx, name, endpoint)
        described = cluster.get("resourcesVpcConfig") or {}
        return Created(name, {
            "id": name, "name": name, "arn": cluster.get("arn", ""), "endpoint": endpoint,
            "roleArn": request.inputs["roleArn"], "version": cluster.get("version", ""),
            "status": "ACTIVE", "platformVersion": cluster.get("platformVersion", ""),
            "certificateAuthority": {"data": ca_data},
            "identities": [{"oidcs": [{"issuer": ctx.cloud.issuer.rstrip("/")}]}],
            "vpcConfig": {**vpc_config,
                          "clusterSecurityGroupId": described.get("clusterSecurityGroupId", ""),
                          "vpcId": described.get("vpcId", ""),
                          "securityGroupIds": vpc_config.get("securityGroupIds", []),
                          "publicAccessCidrs": ["0.0.0.0/0"]},
            "clusterId": "", "createdAt": str(cluster.get("createdAt", "")),
            "tags": request.inputs.get("tags") or {}, "tagsAll": tags,
        }, {"region": region, "clusterName": name})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        detach_local_cluster(ctx, entry.data["clusterName"])
        delete_quietly(lambda: ctx.client("eks", entry.data.get("region")).delete_cluster(
            name=entry.data["clusterName"]))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: ctx.client("eks", entry.data.get("region")).describe_cluster(
            name=entry.data["clusterName"]))


@handles("aws:eks/nodeGroup:NodeGroup")
class EksNodeGroup:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        eks = ctx.client("eks", region)
        tags = ctx.tags_for(request.inputs, request.provider)
        cluster_name = str(request.inputs.get("clusterName") or "")
        if cluster_name not in ctx.clusters:
            raise EngineError(f"aws.eks.NodeGroup {request.name!r}: cluster {cluster_name!r} is "
                              "not a cluster of this stack")
        name = request.autoname("nodeGroupName", max_length=63)
        scaling = dict(request.inputs.get("scalingConfig") or {})
        params: dict[str, Any] = {
            "clusterName": cluster_name, "nodegroupName": name,
            "subnets": list(request.inputs.get("subnetIds") or []),
            "nodeRole": str(request.inputs.get("nodeRoleArn") or ""),
            "scalingConfig": {key: int(scaling[key]) for key in ("minSize", "maxSize",
                                                                  "desiredSize")
                              if key in scaling}}
        if request.inputs.get("instanceTypes"):
            params["instanceTypes"] = list(request.inputs["instanceTypes"])
        if tags:
            params["tags"] = tags
        group = eks.create_nodegroup(**params)["nodegroup"]
        return Created(f"{cluster_name}:{name}", {
            "id": f"{cluster_name}:{name}", "arn": group.get("nodegroupArn", ""),
            "clusterName": cluster_name, "nodeGroupName": name, "status": "ACTIVE",
            "nodeRoleArn": params["nodeRole"], "subnetIds": params["subnets"],
            "scalingConfig": scaling, "resources": [], "tagsAll": tags,
        }, {"region": region, "clusterName": cluster_name, "nodegroupName": name})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        delete_quietly(lambda: ctx.client("eks", entry.data.get("region")).delete_nodegroup(
            clusterName=entry.data["clusterName"], nodegroupName=entry.data["nodegroupName"]))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: ctx.client("eks", entry.data.get("region")).describe_nodegroup(
            clusterName=entry.data["clusterName"], nodegroupName=entry.data["nodegroupName"]))
