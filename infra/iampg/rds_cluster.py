"""RdsCluster: Aurora PostgreSQL with IAM database authentication, TLS forced, storage encrypted.

``create_iam_role`` builds the IRSA role whose holder may ``rds-db:connect`` to this cluster as
the configured database user, and nothing else. Partition, region and account come from the
provider's data sources (so aws-cn and aws-us-gov work), the resource id from the cluster itself
(``clusterResourceId``, never its identifier).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

import pulumi
import pulumi_aws as aws

from .policy_documents import (
    connect_policy_json,
    pod_identity_trust_policy_json,
    trust_policy_json,
    validate_db_user,
    validate_namespace,
    validate_service_account_name,
)

POSTGRES_PORT = 5432
ENGINE = "aurora-postgresql"


@dataclass
class RdsClusterArgs:
    vpc_id: pulumi.Input[str]
    vpc_cidr_block: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    db_name: str
    master_username: str
    master_password: pulumi.Input[str]
    iam_db_user: str
    engine_version: str
    instance_class: str
    publicly_accessible: bool = False
    # Extra CIDR blocks allowed to reach 5432 (a dev stack's deployer); prod stacks pass none.
    allowed_cidrs: Sequence[str] = field(default_factory=tuple)
    # A throw-away stack is destroyed without a final snapshot and without deletion protection.
    disposable: bool = False


def final_snapshot_identifier(name: str) -> str:
    """Unique per project and stack, in the alphabet RDS accepts (letters, digits, single '-')."""
    raw = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}-final"
    return re.sub(r"[^A-Za-z0-9]+", "-", raw).strip("-")[:255]


class RdsCluster(pulumi.ComponentResource):
    cluster_identifier: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    cluster_resource_id: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    ready_endpoint: pulumi.Output[str]
    port: pulumi.Output[int]

    def __init__(self, name: str, args: RdsClusterArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        validate_db_user(args.iam_db_user, "iam_db_user")
        if args.iam_db_user == args.master_username:
            raise ValueError("iam_db_user: must not be the master user: the IAM user gets "
                             "rds_iam, which locks the master user out of password login")
        super().__init__("iampg:index:RdsCluster", name, None, opts)
        self._name = name
        self._iam_db_user = args.iam_db_user
        child = pulumi.ResourceOptions(parent=self)

        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets", subnet_ids=args.subnet_ids,
            description=f"Subnets of the {name} Aurora cluster", opts=child)
        security_group = aws.ec2.SecurityGroup(
            f"{name}-db", vpc_id=args.vpc_id,
            description=f"PostgreSQL ({POSTGRES_PORT}) from inside the VPC only",
            ingress=[aws.ec2.SecurityGroupIngressArgs(
                description="PostgreSQL from the VPC", protocol="tcp",
                from_port=POSTGRES_PORT, to_port=POSTGRES_PORT,
                cidr_blocks=pulumi.Output.from_input(args.vpc_cidr_block).apply(
                    lambda vpc_cidr: [vpc_cidr, *args.allowed_cidrs]),
            )],
            egress=[],
            opts=child)
        parameters = aws.rds.ClusterParameterGroup(
            f"{name}-params", family=f"{ENGINE}{args.engine_version.split('.')[0]}",
            description="TLS required for every connection",
            parameters=[aws.rds.ClusterParameterGroupParameterArgs(name="rds.force_ssl", value="1")],
            opts=child)
        cluster = aws.rds.Cluster(
            f"{name}-cluster",
            engine=ENGINE,
            engine_mode="provisioned",
            engine_version=args.engine_version,
            database_name=args.db_name,
            master_username=args.master_username,
            master_password=args.master_password,
            port=POSTGRES_PORT,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            db_cluster_parameter_group_name=parameters.name,
            iam_database_authentication_enabled=True,
            storage_encrypted=True,
            copy_tags_to_snapshot=True,
            backup_retention_period=1 if args.disposable else 7,
            deletion_protection=not args.disposable,
            skip_final_snapshot=args.disposable,
            final_snapshot_identifier=None if args.disposable else final_snapshot_identifier(name),
            opts=child)
        writer = aws.rds.ClusterInstance(
            f"{name}-writer",
            cluster_identifier=cluster.id,
            engine=ENGINE,
            engine_version=args.engine_version,
            instance_class=args.instance_class,
            db_subnet_group_name=subnet_group.name,
            publicly_accessible=args.publicly_accessible,
            auto_minor_version_upgrade=True,
            opts=child)

        self.cluster_identifier = cluster.cluster_identifier
        self.cluster_arn = cluster.arn
        self.cluster_resource_id = cluster.cluster_resource_id
        self.endpoint = cluster.endpoint
        self.port = cluster.port
        # The endpoint once the writer instance exists: SQL against the cluster waits for it.
        self.ready_endpoint = pulumi.Output.all(cluster.endpoint, writer.id).apply(lambda v: v[0])
        self.register_outputs({
            "clusterIdentifier": self.cluster_identifier,
            "clusterArn": self.cluster_arn,
            "clusterResourceId": self.cluster_resource_id,
            "endpoint": self.endpoint,
            "port": self.port,
        })

    def create_iam_role(self, oidc_provider_arn: pulumi.Input[str],
                        oidc_provider_url: pulumi.Input[str], namespace: str,
                        service_account_name: str) -> aws.iam.Role:
        """The IRSA role of ``namespace``/``service_account_name``, allowed to connect as the IAM
        database user. ``oidc_provider_url`` is the issuer without its scheme (pulumi-eks's
        ``oidcIssuer``)."""
        validate_namespace(namespace)
        validate_service_account_name(service_account_name)
        trust = pulumi.Output.all(oidc_provider_arn, oidc_provider_url).apply(
            lambda v: trust_policy_json(v[0], v[1], namespace, service_account_name))
        return self._connect_role(
            f"{self._name}-irsa", trust,
            f"IRSA role of {namespace}/{service_account_name}: rds-db:connect as "
            f"{self._iam_db_user}")

    def create_pod_identity_role(self, cluster_arn: pulumi.Input[str], namespace: str,
                                 service_account_name: str) -> aws.iam.Role:
        """The EKS Pod Identity role of ``namespace``/``service_account_name`` on the cluster
        ``cluster_arn``, allowed to connect as the IAM database user (the association binding
        it to the service account is the caller's)."""
        validate_namespace(namespace)
        validate_service_account_name(service_account_name)
        trust = pulumi.Output.from_input(cluster_arn).apply(
            lambda arn: pod_identity_trust_policy_json(arn, namespace, service_account_name))
        return self._connect_role(
            f"{self._name}-pod-identity", trust,
            f"EKS Pod Identity role of {namespace}/{service_account_name}: rds-db:connect as "
            f"{self._iam_db_user}")

    def _connect_role(self, name: str, trust: pulumi.Input[str],
                      description: str) -> aws.iam.Role:
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        region = aws.get_region_output(opts=invoke).region
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        user = self._iam_db_user

        role = aws.iam.Role(name, description=description, assume_role_policy=trust,
                            opts=pulumi.ResourceOptions(parent=self))
        aws.iam.RolePolicy(
            f"{self._name}-rds-connect",
            role=role.id,
            policy=pulumi.Output.all(partition, region, account_id,
                                     self.cluster_resource_id).apply(
                lambda v: connect_policy_json(v[0], v[1], v[2], v[3], user)),
            opts=pulumi.ResourceOptions(parent=role))
        return role
