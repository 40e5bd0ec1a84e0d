"""The whole stack: network, EKS, Aurora with IAM auth, the pods' role (IRSA or EKS Pod Identity), the database grants, the app.

``build_stack`` wires the components with plain values and returns the stack outputs, so the unit
layer runs it under Pulumi's mock runtime and ``__main__.py`` only exports what it returns.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_aws as aws

from .config import StackSettings
from .db_setup import DbSetup, DbSetupArgs
from .demo_app import DemoApp, DemoAppArgs
from .eks import EksCluster, EksClusterArgs
from .network import Network, NetworkArgs
from .rds_cluster import RdsCluster, RdsClusterArgs


def deployer_tls(settings: StackSettings) -> tuple[str, str | None]:
    """How the deployer's PostgreSQL provider checks the cluster: ``verify-full`` against the CA
    bundle file when the stack names one, else ``require`` (encrypted, server not verified)."""
    if settings.db_ca_bundle_file:
        return "verify-full", settings.db_ca_bundle_file
    pulumi.log.warn("iam-postgres:dbCaBundleFile is not set: the deployer connects to the cluster "
                    "with sslmode=require, which does not verify the server. Set it to the RDS "
                    "CA bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem) "
                    "for verify-full.")
    return "require", None


def pod_identity_cluster_name() -> str:
    """The EKS cluster's name under Pod Identity: project and stack, as EKS allows them."""
    raw = f"{pulumi.get_project()}-{pulumi.get_stack()}"
    return re.sub(r"[^A-Za-z0-9_-]", "-", raw)[:100]


def build_stack(settings: StackSettings) -> dict[str, Any]:
    network = Network("network", NetworkArgs(cidr_block=settings.vpc_cidr))
    cluster = EksCluster("eks", EksClusterArgs(
        vpc_id=network.vpc_id,
        public_subnet_ids=network.public_subnet_ids,
        private_subnet_ids=network.private_subnet_ids,
        cluster_name=pod_identity_cluster_name() if settings.uses_pod_identity else None))
    database = RdsCluster("db", RdsClusterArgs(
        vpc_id=network.vpc_id,
        vpc_cidr_block=network.vpc_cidr_block,
        subnet_ids=network.public_subnet_ids if settings.is_dev else network.private_subnet_ids,
        db_name=settings.db_name,
        master_username=settings.master_username,
        master_password=settings.master_password,
        iam_db_user=settings.iam_db_user,
        engine_version=settings.engine_version,
        instance_class=settings.instance_class,
        publicly_accessible=settings.is_dev,
        allowed_cidrs=settings.db_allowed_cidrs,
        disposable=settings.is_dev))
    app_dependencies: list[pulumi.Resource] = []
    if settings.uses_pod_identity:
        role = database.create_pod_identity_role(cluster.cluster_arn, settings.namespace,
                                                 settings.service_account)
        agent = cluster.enable_pod_identity()
        association = aws.eks.PodIdentityAssociation(
            "pod-identity",
            cluster_name=cluster.cluster_name,
            namespace=settings.namespace,
            service_account=settings.service_account,
            role_arn=role.arn,
            opts=pulumi.ResourceOptions(depends_on=[agent]))
        app_dependencies = [agent, association]
    else:
        role = database.create_iam_role(cluster.oidc_provider_arn, cluster.oidc_issuer,
                                        settings.namespace, settings.service_account)
    sslmode, sslrootcert = deployer_tls(settings)
    DbSetup("db-setup", DbSetupArgs(
        host=database.ready_endpoint,
        port=database.port,
        database=settings.db_name,
        master_username=settings.master_username,
        master_password=settings.master_password,
        iam_db_user=settings.iam_db_user,
        sslmode=sslmode,
        sslrootcert=sslrootcert,
        expected_version=settings.engine_version))
    app = DemoApp("demo-app", DemoAppArgs(
        namespace=settings.namespace,
        service_account_name=settings.service_account,
        role_arn=role.arn,
        image=settings.app_image,
        db_host=database.endpoint,
        db_port=database.port,
        db_name=settings.db_name,
        db_user=settings.iam_db_user,
        region=aws.get_region_output().region,
        ca_bundle=settings.db_ca_bundle,
        irsa=not settings.uses_pod_identity),
        opts=pulumi.ResourceOptions(providers=[cluster.k8s_provider],
                                    depends_on=app_dependencies))
    return {
        "appUrl": app.app_url,
        "clusterEndpoint": database.endpoint,
        "clusterPort": database.port,
        "clusterResourceId": database.cluster_resource_id,
        "iamRoleArn": role.arn,
        "identityMode": settings.identity_mode,
        "iamDbUser": settings.iam_db_user,
        "dbName": settings.db_name,
        "namespace": app.namespace,
        "serviceAccount": app.service_account_name,
        "kubeconfig": cluster.kubeconfig,
    }
