"""orders: an API on EKS that reaches its PostgreSQL with IAM auth tokens.

Written the way a platform team writes its own stack: one file, its own names, plain
aws.eks.Cluster with a node group and its own OIDC provider, a standalone aws.rds.Instance,
the connect permission as a managed policy, a pulumi-postgresql role, a Deployment and a
LoadBalancer Service. Nothing in it is named for pgiam.
"""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_postgresql as pg

cfg = pulumi.Config()
admin_password = cfg.require_secret("dbAdminPassword")
region = aws.get_region().region
account = aws.get_caller_identity().account_id

NAMESPACE = "orders"
SERVICE_ACCOUNT = "orders-api"
DB_USER = "orders_api"
DB_NAME = "orders"
DB_ADMIN = "orders_owner"

# -- network -----------------------------------------------------------------------------
vpc = aws.ec2.Vpc("orders-vpc", cidr_block="10.42.0.0/16", enable_dns_hostnames=True,
                  enable_dns_support=True)
gateway = aws.ec2.InternetGateway("orders-igw", vpc_id=vpc.id)
routes = aws.ec2.RouteTable("orders-public", vpc_id=vpc.id, routes=[
    aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)])
subnets = []
for index, zone in enumerate(aws.get_availability_zones(state="available").names[:2]):
    subnet = aws.ec2.Subnet(f"orders-public-{index}", vpc_id=vpc.id, availability_zone=zone,
                            cidr_block=f"10.42.{index}.0/24", map_public_ip_on_launch=True)
    aws.ec2.RouteTableAssociation(f"orders-public-{index}", subnet_id=subnet.id,
                                  route_table_id=routes.id)
    subnets.append(subnet)
subnet_ids = [subnet.id for subnet in subnets]

# -- EKS, the plain way ------------------------------------------------------------------
cluster_role = aws.iam.Role("orders-eks-role", assume_role_policy=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"},
                   "Action": "sts:AssumeRole"}]}))
cluster = aws.eks.Cluster("orders-eks", role_arn=cluster_role.arn, version="1.31",
                          vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=subnet_ids))
node_role = aws.iam.Role("orders-node-role", assume_role_policy=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                   "Action": "sts:AssumeRole"}]}))
aws.eks.NodeGroup("orders-nodes", cluster_name=cluster.name, node_role_arn=node_role.arn,
                  subnet_ids=subnet_ids, instance_types=["t3.medium"],
                  scaling_config=aws.eks.NodeGroupScalingConfigArgs(desired_size=2, min_size=1,
                                                                    max_size=3))
issuer = cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
oidc = aws.iam.OpenIdConnectProvider("orders-oidc", url=issuer,
                                     client_id_lists=["sts.amazonaws.com"],
                                     thumbprint_lists=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])

kubeconfig = pulumi.Output.all(cluster.name, cluster.endpoint,
                               cluster.certificate_authority.data).apply(
    lambda args: json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "orders",
        "clusters": [{"name": "orders", "cluster": {"server": args[1],
                                                    "certificate-authority-data": args[2]}}],
        "contexts": [{"name": "orders", "context": {"cluster": "orders", "user": "orders"}}],
        "users": [{"name": "orders", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", args[0]]}}}]}))
k8s_provider = k8s.Provider("orders-k8s", kubeconfig=kubeconfig)

# -- the database --------------------------------------------------------------------------
db_firewall = aws.ec2.SecurityGroup("orders-db-sg", vpc_id=vpc.id, ingress=[
    aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=5432, to_port=5432,
                                     cidr_blocks=["10.42.0.0/16"])])
db_subnets = aws.rds.SubnetGroup("orders-db-subnets", subnet_ids=subnet_ids)
db_params = aws.rds.ParameterGroup("orders-db-params", family="postgres16", parameters=[
    aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1")])
db = aws.rds.Instance("orders-db", engine="postgres", engine_version="16.4",
                      instance_class="db.t4g.micro", allocated_storage=20, db_name=DB_NAME,
                      username=DB_ADMIN, password=admin_password,
                      iam_database_authentication_enabled=True, storage_encrypted=True,
                      publicly_accessible=True, skip_final_snapshot=True,
                      db_subnet_group_name=db_subnets.name, parameter_group_name=db_params.name,
                      vpc_security_group_ids=[db_firewall.id])

# -- IRSA ------------------------------------------------------------------------------------
def trust(args):
    provider_arn, provider_url = args
    host = provider_url.replace("https://", "")
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            f"{host}:sub": f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
            f"{host}:aud": "sts.amazonaws.com"}}}]})


api_role = aws.iam.Role("orders-api-irsa",
                        assume_role_policy=pulumi.Output.all(oidc.arn, oidc.url).apply(trust))
connect = aws.iam.Policy("orders-api-connect", policy=db.resource_id.apply(
    lambda rid: json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rds-db:connect",
        "Resource": f"arn:aws:rds-db:{region}:{account}:dbuser:{rid}/{DB_USER}"}]})))
aws.iam.RolePolicyAttachment("orders-api-connect", role=api_role.name, policy_arn=connect.arn)

# -- the database user ------------------------------------------------------------------------
pg_provider = pg.Provider("orders-pg", host=db.address, port=db.port, username=DB_ADMIN,
                          password=admin_password, database=DB_NAME, sslmode="verify-full",
                          superuser=False)
app_login = pg.Role("orders-api-login", name=DB_USER, login=True, roles=["rds_iam"],
                    opts=pulumi.ResourceOptions(provider=pg_provider))
pg.Grant("orders-api-connect-db", role=app_login.name, database=DB_NAME, object_type="database",
         privileges=["CONNECT", "TEMPORARY"], opts=pulumi.ResourceOptions(provider=pg_provider))
pg.Grant("orders-api-schema", role=app_login.name, database=DB_NAME, schema="public",
         object_type="schema", privileges=["USAGE", "CREATE"],
         opts=pulumi.ResourceOptions(provider=pg_provider))

# -- the workload -------------------------------------------------------------------------------
k8s_opts = pulumi.ResourceOptions(provider=k8s_provider)
ns = k8s.core.v1.Namespace("orders-ns", metadata={"name": NAMESPACE}, opts=k8s_opts)
sa = k8s.core.v1.ServiceAccount("orders-api-sa", metadata={
    "name": SERVICE_ACCOUNT, "namespace": ns.metadata["name"],
    "annotations": {"eks.amazonaws.com/role-arn": api_role.arn}}, opts=k8s_opts)
labels = {"app.kubernetes.io/name": "orders-api"}
k8s.apps.v1.Deployment("orders-api", metadata={"namespace": ns.metadata["name"]}, spec={
    "replicas": 1,
    "selector": {"matchLabels": labels},
    "template": {"metadata": {"labels": labels}, "spec": {
        "serviceAccountName": sa.metadata["name"],
        "containers": [{
            "name": "api", "image": "pgiam-demo-app:0.1.0",
            "ports": [{"containerPort": 8080}],
            "env": [{"name": "DB_HOST", "value": db.address},
                    {"name": "DB_PORT", "value": db.port.apply(str)},
                    {"name": "DB_NAME", "value": DB_NAME},
                    {"name": "DB_USER", "value": DB_USER},
                    {"name": "AWS_REGION", "value": region},
                    {"name": "PGSSLMODE", "value": "verify-full"}],
            "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}},
        }]}}}, opts=k8s_opts)
svc = k8s.core.v1.Service("orders-api-svc", metadata={"namespace": ns.metadata["name"]}, spec={
    "type": "LoadBalancer", "selector": labels,
    "ports": [{"port": 80, "targetPort": 8080}]}, opts=k8s_opts)

pulumi.export("ordersDb", db.address)
pulumi.export("apiRole", api_role.arn)
