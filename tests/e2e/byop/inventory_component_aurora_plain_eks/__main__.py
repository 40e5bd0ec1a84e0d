"""inventory: a stock-reading service on EKS, Aurora PostgreSQL with IAM auth.

Shaped unlike the other team programs: the database lives in the team's own
ComponentResource (so every child is parented and named by it), the Aurora cluster has an
explicit identifier and a reader next to its writer, the EKS cluster is plain with its own
OIDC provider and a YAML kubeconfig, the connect permission is a standalone aws.iam.RolePolicy,
the pod reads its database settings from a ConfigMap (envFrom), the readiness probe is a TCP
check on an integer port, the namespace comes from a config key with a default, and the image
comes from another registry. No output is exported.
"""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as kubernetes
import pulumi_postgresql as postgresql

conf = pulumi.Config()
root_password = conf.require_secret("rootPassword")
team = conf.get("team") or "stock"

reader_sa, reader_login, schema_db = "stock-reader", "stock_reader", "stock"
here = aws.get_region().region
me = aws.get_caller_identity().account_id


class AuroraDatabase(pulumi.ComponentResource):
    """The team's reusable database block: subnet group, firewall, cluster, two instances."""

    def __init__(self, name: str, vpc_id, subnet_ids, allowed_cidr: str, database: str,
                 owner: str, password, opts=None):
        super().__init__("inventory:data:AuroraDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        firewall = aws.ec2.SecurityGroup(f"{name}-fw", vpc_id=vpc_id, ingress=[{
            "protocol": "tcp", "from_port": 5432, "to_port": 5432,
            "cidr_blocks": [allowed_cidr]}], opts=child)
        subnets = aws.rds.SubnetGroup(f"{name}-subnets", subnet_ids=subnet_ids, opts=child)
        self.cluster = aws.rds.Cluster(
            f"{name}-cluster", cluster_identifier=f"{name}-main", engine="aurora-postgresql",
            engine_version="15.8", database_name=database, master_username=owner,
            master_password=password, iam_database_authentication_enabled=True,
            storage_encrypted=True, db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[firewall.id], skip_final_snapshot=True, opts=child)
        self.instances = [
            aws.rds.ClusterInstance(f"{name}-{role}", identifier=f"{name}-{role}",
                                    cluster_identifier=self.cluster.id,
                                    engine="aurora-postgresql", instance_class="db.t4g.medium",
                                    publicly_accessible=True, opts=child)
            for role in ("one", "two")]
        self.register_outputs({"endpoint": self.cluster.endpoint})


# -- network -----------------------------------------------------------------------------
net = aws.ec2.Vpc("inv-vpc", cidr_block="172.20.0.0/16", enable_dns_support=True,
                  enable_dns_hostnames=True)
edge = aws.ec2.InternetGateway("inv-edge", vpc_id=net.id)
table = aws.ec2.RouteTable("inv-routes", vpc_id=net.id)
aws.ec2.Route("inv-default-route", route_table_id=table.id, destination_cidr_block="0.0.0.0/0",
              gateway_id=edge.id)
zones = aws.get_availability_zones(state="available").names
subnet_ids = []
for n, zone in enumerate(zones[:3]):
    subnet = aws.ec2.Subnet(f"inv-subnet-{zone}", vpc_id=net.id, availability_zone=zone,
                            cidr_block=f"172.20.{16 * n}.0/20", map_public_ip_on_launch=True)
    aws.ec2.RouteTableAssociation(f"inv-subnet-{zone}", subnet_id=subnet.id,
                                  route_table_id=table.id)
    subnet_ids.append(subnet.id)

# -- Kubernetes: plain EKS ------------------------------------------------------------------
def service_trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": service}}]})


control_plane_role = aws.iam.Role("inv-control-plane", assume_role_policy=service_trust(
    "eks.amazonaws.com"), managed_policy_arns=["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"])
workers_role = aws.iam.Role("inv-workers", assume_role_policy=service_trust("ec2.amazonaws.com"))
for managed in ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy",
                "AmazonEC2ContainerRegistryReadOnly"):
    aws.iam.RolePolicyAttachment(f"inv-node-{managed}", role=workers_role.name,
                                 policy_arn=f"arn:aws:iam::aws:policy/{managed}")
eks_cluster = aws.eks.Cluster("inventory", role_arn=control_plane_role.arn,
                              vpc_config={"subnet_ids": subnet_ids,
                                          "endpoint_public_access": True})
aws.eks.NodeGroup("inventory-workers", cluster_name=eks_cluster.name,
                  node_role_arn=workers_role.arn, subnet_ids=subnet_ids,
                  scaling_config={"desired_size": 1, "min_size": 1, "max_size": 2})
issuer_url = eks_cluster.identities[0].oidcs[0].issuer
identity_provider = aws.iam.OpenIdConnectProvider(
    "inventory-irsa-provider", url=issuer_url, client_id_lists=["sts.amazonaws.com"],
    thumbprint_lists=["06b25927c42a721631c1efd9431e648fa62e1e39"])


def kubeconfig_yaml(args) -> str:
    name, server, ca = args
    return f"""apiVersion: v1
kind: Config
clusters:
- name: {name}
  cluster:
    server: {server}
    certificate-authority-data: {ca}
contexts:
- name: {name}
  context:
    cluster: {name}
    user: {name}-user
current-context: {name}
users:
- name: {name}-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, {name}, --region, {here}]
"""


cluster_access = kubernetes.Provider("inventory-cluster", kubeconfig=pulumi.Output.all(
    eks_cluster.name, eks_cluster.endpoint, eks_cluster.certificate_authority.data
).apply(kubeconfig_yaml))

# -- database ---------------------------------------------------------------------------------
db = AuroraDatabase("inventory-db", vpc_id=net.id, subnet_ids=subnet_ids,
                    allowed_cidr="172.20.0.0/16", database=schema_db, owner="inv_root",
                    password=root_password)

# -- IRSA: role, trust, standalone inline policy ------------------------------------------------
def web_identity_trust(args) -> str:
    provider_arn, issuer = args
    host = issuer.split("://", 1)[-1]
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "StockReaderPods", "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": provider_arn},
        "Condition": {"StringEquals": {
            f"{host}:aud": "sts.amazonaws.com",
            f"{host}:sub": f"system:serviceaccount:{team}:{reader_sa}"}}}]})


reader_role = aws.iam.Role("stock-reader-pods", assume_role_policy=pulumi.Output.all(
    identity_provider.arn, issuer_url).apply(web_identity_trust))
aws.iam.RolePolicy("stock-reader-db-login", role=reader_role.id,
                   policy=db.cluster.cluster_resource_id.apply(lambda cluster_id: json.dumps({
                       "Version": "2012-10-17", "Statement": [{
                           "Sid": "IamDbLogin", "Effect": "Allow",
                           "Action": ["rds-db:connect"],
                           "Resource": [f"arn:aws:rds-db:{here}:{me}:dbuser:{cluster_id}/"
                                        f"{reader_login}"]}]})))

# -- the database login --------------------------------------------------------------------------
sql = postgresql.Provider("inventory-sql", host=db.cluster.endpoint, port=db.cluster.port,
                          database=schema_db, username="inv_root", password=root_password,
                          sslmode="verify-full", superuser=False,
                          opts=pulumi.ResourceOptions(depends_on=db.instances))
login = postgresql.Role("stock-reader-login", name=reader_login, login=True, roles=["rds_iam"],
                        opts=pulumi.ResourceOptions(provider=sql))
postgresql.Grant("stock-reader-connect", role=login.name, database=schema_db,
                 object_type="database", privileges=["CONNECT", "TEMPORARY"],
                 opts=pulumi.ResourceOptions(provider=sql))
postgresql.Grant("stock-reader-schema", role=login.name, database=schema_db, schema="public",
                 object_type="schema", privileges=["USAGE", "CREATE"],
                 opts=pulumi.ResourceOptions(provider=sql))

# -- the workload: settings in a ConfigMap --------------------------------------------------------
on_cluster = pulumi.ResourceOptions(provider=cluster_access)
team_ns = kubernetes.core.v1.Namespace("team-namespace", metadata={"name": team},
                                       opts=on_cluster)
kubernetes.core.v1.ServiceAccount("stock-reader", metadata={
    "name": reader_sa, "namespace": team_ns.metadata.name,
    "annotations": {"eks.amazonaws.com/role-arn": reader_role.arn}}, opts=on_cluster)
settings = kubernetes.core.v1.ConfigMap("stock-reader-db", metadata={
    "name": "stock-reader-db", "namespace": team_ns.metadata.name}, data={
    "DB_HOST": db.cluster.endpoint, "DB_PORT": db.cluster.port.apply(str),
    "DB_NAME": schema_db, "DB_USER": reader_login}, opts=on_cluster)
selector = {"team": team, "service": "stock-reader"}
kubernetes.apps.v1.Deployment("stock-reader", metadata={
    "name": "stock-reader", "namespace": team_ns.metadata.name, "labels": selector}, spec={
    "replicas": 1, "selector": {"matchLabels": selector},
    "template": {"metadata": {"labels": selector}, "spec": {
        "serviceAccountName": reader_sa,
        "containers": [{
            "name": "reader",
            "image": "registry.example.com/inventory/pgiam-demo-app:2.3.1",
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "envFrom": [{"configMapRef": {"name": settings.metadata.name}}],
            "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 2},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
        }]}}}, opts=on_cluster)
kubernetes.core.v1.Service("stock-reader", metadata={
    "name": "stock-reader", "namespace": team_ns.metadata.name}, spec={
    "selector": selector, "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]},
    opts=on_cluster)
