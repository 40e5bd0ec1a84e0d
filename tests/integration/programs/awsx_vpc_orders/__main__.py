"""Orders platform: network from awsx, EKS from pulumi-eks, Aurora PostgreSQL with IAM auth, a
deploy key from pulumi-tls and a migration hook from pulumi-command. The pod role is built from
the cluster's own OIDC provider outputs. MISTAKES=1 (config) miswires the trust and the grant as
teams do: a wildcard service account and every database user."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx
import pulumi_command as command
import pulumi_eks as eks
import pulumi_tls as tls

config = pulumi.Config()
mistakes = config.get_bool("mistakes") or False
namespace, service_account, db_user = "orders", "orders-api", "orders_api"

vpc = awsx.ec2.Vpc("orders-net", number_of_availability_zones=2,
                   nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(strategy=awsx.ec2.NatGatewayStrategy.SINGLE))
cluster = eks.Cluster("orders-eks", vpc_id=vpc.vpc_id, private_subnet_ids=vpc.private_subnet_ids,
                      public_subnet_ids=vpc.public_subnet_ids, create_oidc_provider=True,
                      instance_type="t3.medium", desired_capacity=2, min_size=1, max_size=3)

subnets = aws.rds.SubnetGroup("orders-db-subnets", subnet_ids=vpc.private_subnet_ids)
db_sg = aws.ec2.SecurityGroup(
    "orders-db-sg", vpc_id=vpc.vpc_id,
    ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=5432, to_port=5432,
                                              security_groups=[cluster.node_security_group_id])])
database = aws.rds.Cluster(
    "orders-db", engine="aurora-postgresql", engine_version="16.4", master_username="ordersadmin",
    manage_master_user_password=True, iam_database_authentication_enabled=True,
    storage_encrypted=True, db_subnet_group_name=subnets.name, vpc_security_group_ids=[db_sg.id],
    skip_final_snapshot=True)
aws.rds.ClusterInstance("orders-db-1", cluster_identifier=database.id, instance_class="db.r6g.large",
                        engine=database.engine, engine_version=database.engine_version)

deploy_key = tls.PrivateKey("orders-deploy-key", algorithm="ED25519")
command.local.Command("orders-migrations", create="echo migrations applied",
                      triggers=[database.endpoint])

provider = cluster.core.oidc_provider
subject = f"system:serviceaccount:{namespace}:" + ("*" if mistakes else service_account)
operator = "StringLike" if mistakes else "StringEquals"


def trust(args: list) -> str:
    arn, url = args
    issuer = url.replace("https://", "")
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": arn}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {operator: {f"{issuer}:sub": subject, f"{issuer}:aud": "sts.amazonaws.com"}}}]})


role = aws.iam.Role("orders-api", assume_role_policy=pulumi.Output.all(provider.arn, provider.url).apply(trust))
region = aws.get_region()
account = aws.get_caller_identity()


def connect(resource_id: str) -> str:
    user = "*" if mistakes else db_user
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rds-db:connect",
        "Resource": f"arn:aws:rds-db:{region.name}:{account.account_id}:dbuser:{resource_id}/{user}"}]})


aws.iam.RolePolicy("orders-api-connect", role=role.id, policy=database.cluster_resource_id.apply(connect))

pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("deploy_public_key", deploy_key.public_key_openssh)
pulumi.export("db_endpoint", database.endpoint)
