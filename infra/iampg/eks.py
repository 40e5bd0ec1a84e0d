"""EKS: a pulumi-eks cluster with an IAM OIDC provider, and a Kubernetes provider for it.

pulumi-eks's ``Cluster`` is a remote (multi-language) component: everything it creates lives in
its own plugin and only its outputs come back. This wrapper hands those outputs on as plain
values, so every other component takes the OIDC provider ARN and issuer as ``Input[str]`` and is
tested without the EKS plugin.

pulumi-eks outputs (its own definitions): ``oidcProviderArn`` the IAM OIDC provider's ARN,
``oidcProviderUrl`` the issuer URL *with* ``https://``, ``oidcIssuer`` the same *without* the
scheme. IRSA condition keys take the scheme-less one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from .policy_documents import validate_cluster_name

POD_IDENTITY_AGENT_ADDON = "eks-pod-identity-agent"


@dataclass
class EksClusterArgs:
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    instance_type: str = "t3.medium"
    desired_capacity: int = 2
    min_size: int = 1
    max_size: int = 3
    # The cluster's physical name; None: pulumi-eks names it. EKS Pod Identity needs the name
    # (and the ARN made from it) as plain values: pulumi-eks's ``eksCluster`` is a resource
    # reference, which a program under mocks or a remote plugin may not resolve.
    cluster_name: str | None = None


class EksCluster(pulumi.ComponentResource):
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    # Set when EksClusterArgs.cluster_name is (EKS Pod Identity needs them).
    cluster_name: pulumi.Output[str] | None = None
    cluster_arn: pulumi.Output[str] | None = None
    kubeconfig: pulumi.Output[str]
    k8s_provider: k8s.Provider

    def __init__(self, name: str, args: EksClusterArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("iampg:index:EksCluster", name, None, opts)
        self._name = name
        cluster = eks.Cluster(
            f"{name}-cluster",
            name=args.cluster_name,
            vpc_id=args.vpc_id,
            public_subnet_ids=args.public_subnet_ids,
            private_subnet_ids=args.private_subnet_ids,
            node_associate_public_ip_address=False,
            instance_type=args.instance_type,
            desired_capacity=args.desired_capacity,
            min_size=args.min_size,
            max_size=args.max_size,
            create_oidc_provider=True,
            authentication_mode=eks.AuthenticationMode.API,
            endpoint_private_access=True,
            endpoint_public_access=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.oidc_provider_arn = cluster.oidc_provider_arn
        self.oidc_issuer = cluster.oidc_issuer
        if args.cluster_name is not None:
            validate_cluster_name(args.cluster_name, "cluster_name")
            invoke = pulumi.InvokeOutputOptions(parent=self)
            # Derived from the cluster's own output, so what names the cluster (the add-on, the
            # association) is made after it, never before.
            self.cluster_name = cluster.kubeconfig_json.apply(lambda _: args.cluster_name)
            self.cluster_arn = pulumi.Output.concat(
                "arn:", aws.get_partition_output(opts=invoke).partition, ":eks:",
                aws.get_region_output(opts=invoke).region, ":",
                aws.get_caller_identity_output(opts=invoke).account_id, ":cluster/",
                self.cluster_name)
        # The kubeconfig authenticates with `aws eks get-token`: it holds no credential, but it is
        # the map to the cluster, so it stays a secret wherever it goes.
        self.kubeconfig = pulumi.Output.secret(cluster.kubeconfig_json)
        self.k8s_provider = k8s.Provider(f"{name}-k8s", kubeconfig=self.kubeconfig,
                                         opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({
            "oidcProviderArn": self.oidc_provider_arn,
            "oidcIssuer": self.oidc_issuer,
            "kubeconfig": self.kubeconfig,
        })

    def enable_pod_identity(self) -> aws.eks.Addon:
        """The EKS Pod Identity Agent add-on: the DaemonSet that serves each pod the credentials
        of its service account's association on the node's link-local address."""
        if self.cluster_name is None:
            raise ValueError("enable_pod_identity: the cluster needs EksClusterArgs.cluster_name")
        return aws.eks.Addon(f"{self._name}-pod-identity-agent", cluster_name=self.cluster_name,
                             addon_name=POD_IDENTITY_AGENT_ADDON,
                             opts=pulumi.ResourceOptions(parent=self))
