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
import pulumi_eks as eks
import pulumi_kubernetes as k8s


@dataclass
class EksClusterArgs:
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    instance_type: str = "t3.medium"
    desired_capacity: int = 2
    min_size: int = 1
    max_size: int = 3


class EksCluster(pulumi.ComponentResource):
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    k8s_provider: k8s.Provider

    def __init__(self, name: str, args: EksClusterArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("iampg:index:EksCluster", name, None, opts)
        cluster = eks.Cluster(
            f"{name}-cluster",
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
