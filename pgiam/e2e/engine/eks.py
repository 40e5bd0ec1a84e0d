"""``eks:index:Cluster`` (pulumi-eks's remote component) in the local cloud.

What pulumi-eks makes of it, locally: the cluster's IAM service role, an EKS cluster through the
EKS API, and (``createOidcProvider``) the IAM OIDC provider for the cluster's issuer - which here
is the local cloud's issuer, whose tokens the strict STS verifies - plus a local Kubernetes
cluster (:mod:`pgiam.e2e.engine.kubelet`) that runs what the program deploys into it. The node
group is this machine. The outputs are pulumi-eks's: ``kubeconfig`` (with ``aws eks get-token``
exec auth, as pulumi-eks writes it), ``kubeconfigJson``, ``oidcProviderArn``,
``oidcProviderUrl`` (the issuer with its scheme) and ``oidcIssuer`` (without), security group
ids; outputs that are resource references (``eksCluster``, ``core``) are left out, as under the
mock runtime.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from pgiam.e2e.engine.aws_api import delete_quietly, exists, region_for, tag_list, truthy
from pgiam.e2e.engine.context import EngineContext
from pgiam.e2e.engine.eks_local import attach_local_cluster, detach_local_cluster, issuer_thumbprint
from pgiam.e2e.engine.resources import Created, CreateRequest, handles
from pgiam.e2e.engine.state import ResourceEntry
from pgiam.program.synth import ChildResource, eks_kubeconfig

EKS_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})
DEFAULT_VERSION = "1.31"
STS_AUDIENCE = "sts.amazonaws.com"


@handles("eks:index:Cluster")
class PulumiEksCluster:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        iam, eks = ctx.client("iam"), ctx.client("eks", region)
        tags = ctx.tags_for(request.inputs, request.provider)
        name = request.autoname("name", max_length=100)
        role_name = f"{request.name}-eksRole-{secrets.token_hex(4)[:7]}"[:64]
        data: dict[str, Any] = {"region": region, "clusterName": name, "roleName": role_name}
        try:
            role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=EKS_TRUST,
                                   **({"Tags": tag_list(tags)} if tags else {}))["Role"]
            subnets = [*(request.inputs.get("publicSubnetIds") or []),
                       *(request.inputs.get("privateSubnetIds") or []),
                       *(request.inputs.get("subnetIds") or [])]
            cluster = eks.create_cluster(
                name=name, version=str(request.inputs.get("version") or DEFAULT_VERSION),
                roleArn=role["Arn"],
                resourcesVpcConfig={
                    "subnetIds": list(dict.fromkeys(subnets)),
                    "endpointPublicAccess": truthy(request.inputs.get("endpointPublicAccess",
                                                                      True)),
                    "endpointPrivateAccess": truthy(request.inputs.get("endpointPrivateAccess",
                                                                       False))},
                **({"tags": tags} if tags else {}))["cluster"]
            data["clusterCreated"] = True
            provider_arn = ""
            if truthy(request.inputs.get("createOidcProvider", False)):
                provider_arn = iam.create_open_id_connect_provider(
                    Url=ctx.cloud.issuer, ClientIDList=[STS_AUDIENCE],
                    ThumbprintList=[ctx.cloud.thumbprint or
                                    issuer_thumbprint(ctx.cloud.ca_bundle)],
                    **({"Tags": tag_list(tags)} if tags else {}))["OpenIDConnectProviderArn"]
                data["oidcProviderArn"] = provider_arn
        except BaseException:
            self._delete(ctx, data)
            raise
        endpoint = cluster.get("endpoint") or f"https://{name}.eks.local"
        ca_data = (cluster.get("certificateAuthority") or {}).get("data") or \
            base64.b64encode(b"local").decode()
        config = eks_kubeconfig(name, endpoint, ca_data, region)
        attach_local_cluster(ctx, name, endpoint)
        vpc_config = cluster.get("resourcesVpcConfig") or {}
        issuer = ctx.cloud.issuer_without_scheme
        eks_cluster = ChildResource("aws:eks/cluster:Cluster", f"{request.name}-eksCluster", name,
                                    {"name": name, "arn": cluster.get("arn", ""), "endpoint": endpoint,
                                     "roleArn": role["Arn"], "certificateAuthority": {"data": ca_data},
                                     "identities": [{"oidcs": [{"issuer": ctx.cloud.issuer.rstrip("/")}]}]})
        core: dict[str, Any] = {"cluster": eks_cluster, "endpoint": endpoint, "kubeconfig": config,
                                "subnetIds": list(vpc_config.get("subnetIds") or []),
                                "vpcId": vpc_config.get("vpcId") or request.inputs.get("vpcId") or ""}
        if provider_arn:
            core["oidcProvider"] = ChildResource(
                "aws:iam/openIdConnectProvider:OpenIdConnectProvider", f"{request.name}-oidcProvider",
                provider_arn, {"arn": provider_arn, "url": ctx.cloud.issuer.rstrip("/"),
                               "clientIdLists": [STS_AUDIENCE]})
        return Created(name, {
            "eksCluster": eks_cluster,
            "core": core,
            "kubeconfig": config,
            "kubeconfigJson": json.dumps(config),
            "oidcProviderArn": provider_arn,
            "oidcProviderUrl": ctx.cloud.issuer.rstrip("/"),
            "oidcIssuer": issuer,
            "clusterSecurityGroupId": vpc_config.get("clusterSecurityGroupId", ""),
            "nodeSecurityGroupId": "",
            "defaultNodeGroupAsgName": "",
            "fargateProfileId": "",
            "fargateProfileStatus": "",
            "autoModeNodeRoleName": "",
        }, data)

    @staticmethod
    def _delete(ctx: EngineContext, data: dict[str, Any]) -> None:
        iam, eks = ctx.client("iam"), ctx.client("eks", data.get("region"))
        detach_local_cluster(ctx, data.get("clusterName", ""))
        if data.get("oidcProviderArn"):
            delete_quietly(lambda: iam.delete_open_id_connect_provider(
                OpenIDConnectProviderArn=data["oidcProviderArn"]))
        if data.get("clusterCreated"):
            delete_quietly(lambda: eks.delete_cluster(name=data["clusterName"]))
        if data.get("roleName"):
            delete_quietly(lambda: iam.delete_role(RoleName=data["roleName"]))

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        self._delete(ctx, entry.data)

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        iam, eks = ctx.client("iam"), ctx.client("eks", entry.data.get("region"))
        found = exists(lambda: eks.describe_cluster(name=entry.data["clusterName"]))
        found = found or exists(lambda: iam.get_role(RoleName=entry.data["roleName"]))
        if entry.data.get("oidcProviderArn"):
            found = found or exists(lambda: iam.get_open_id_connect_provider(
                OpenIDConnectProviderArn=entry.data["oidcProviderArn"]))
        return found
