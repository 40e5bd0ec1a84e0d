"""payments: a ledger service on EKS, Aurora PostgreSQL behind IAM auth.

The team's own layout and names: settings read with require_secret (no Pulumi.yaml entry),
pulumi-eks with its OIDC provider, an Aurora cluster and a writer instance, the IRSA role's
trust and its inline connect policy rendered by aws.iam.get_policy_document, a named container
port, a ClusterIP Service, and no exported output at all.
"""

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s
import pulumi_postgresql as postgresql

settings = pulumi.Config("payments")
master_secret = settings.require_secret("auroraMasterSecret")

ledger_ns, ledger_sa, ledger_user = "ledger", "ledger-writer", "ledger_svc"
partition = aws.get_partition().partition
region = aws.get_region().region
account_id = aws.get_caller_identity().account_id

network = aws.ec2.Vpc("payments-net", cidr_block="10.77.0.0/16", enable_dns_hostnames=True)
igw = aws.ec2.InternetGateway("payments-igw", vpc_id=network.id)
public_rt = aws.ec2.RouteTable("payments-rt", vpc_id=network.id, routes=[
    {"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}])
azs = aws.get_availability_zones().names
public = []
for i in range(2):
    sn = aws.ec2.Subnet(f"payments-sn-{i}", vpc_id=network.id, cidr_block=f"10.77.{10 + i}.0/24",
                        availability_zone=azs[i], map_public_ip_on_launch=True)
    aws.ec2.RouteTableAssociation(f"payments-sn-{i}", subnet_id=sn.id,
                                  route_table_id=public_rt.id)
    public.append(sn.id)

k8s_cluster = eks.Cluster("payments-k8s", vpc_id=network.id, public_subnet_ids=public,
                          create_oidc_provider=True, instance_type="t3.medium",
                          desired_capacity=2, min_size=1, max_size=2)
kube = k8s.Provider("payments-kube", kubeconfig=k8s_cluster.kubeconfig_json)

db_sg = aws.ec2.SecurityGroup("payments-aurora-sg", vpc_id=network.id)
aws.ec2.SecurityGroupRule("payments-aurora-in", type="ingress", security_group_id=db_sg.id,
                          protocol="tcp", from_port=5432, to_port=5432,
                          cidr_blocks=["10.77.0.0/16"])
aurora_subnets = aws.rds.SubnetGroup("payments-aurora-subnets", subnet_ids=public)
aurora_params = aws.rds.ClusterParameterGroup("payments-aurora-params",
                                              family="aurora-postgresql16", parameters=[
                                                  {"name": "rds.force_ssl", "value": "1"}])
aurora = aws.rds.Cluster("payments-aurora", engine="aurora-postgresql", engine_version="16.4",
                         database_name="ledger", master_username="ledger_admin",
                         master_password=master_secret,
                         iam_database_authentication_enabled=True, storage_encrypted=True,
                         db_subnet_group_name=aurora_subnets.name,
                         db_cluster_parameter_group_name=aurora_params.name,
                         vpc_security_group_ids=[db_sg.id], skip_final_snapshot=True)
writer = aws.rds.ClusterInstance("payments-aurora-writer", cluster_identifier=aurora.id,
                                 engine="aurora-postgresql", instance_class="db.r6g.large",
                                 publicly_accessible=True)

trust_doc = aws.iam.get_policy_document_output(statements=[{
    "effect": "Allow",
    "actions": ["sts:AssumeRoleWithWebIdentity"],
    "principals": [{"type": "Federated", "identifiers": [k8s_cluster.oidc_provider_arn]}],
    "conditions": [
        {"test": "StringEquals", "variable": k8s_cluster.oidc_issuer.apply(lambda i: f"{i}:sub"),
         "values": [f"system:serviceaccount:{ledger_ns}:{ledger_sa}"]},
        {"test": "StringEquals", "variable": k8s_cluster.oidc_issuer.apply(lambda i: f"{i}:aud"),
         "values": ["sts.amazonaws.com"]},
    ],
}])
connect_doc = aws.iam.get_policy_document_output(statements=[{
    "actions": ["rds-db:connect"],
    "resources": [aurora.cluster_resource_id.apply(
        lambda rid: f"arn:{partition}:rds-db:{region}:{account_id}:dbuser:{rid}/{ledger_user}")],
}])
ledger_role = aws.iam.Role("ledger-writer-role", assume_role_policy=trust_doc.json,
                           inline_policies=[{"name": "ledger-db-connect",
                                             "policy": connect_doc.json}])

admin = postgresql.Provider("payments-pg-admin", host=aurora.endpoint, port=aurora.port,
                            database="ledger", username="ledger_admin", password=master_secret,
                            sslmode="verify-full", superuser=False,
                            opts=pulumi.ResourceOptions(depends_on=[writer]))
svc_role = postgresql.Role("ledger-svc-role", name=ledger_user, login=True,
                           opts=pulumi.ResourceOptions(provider=admin))
postgresql.GrantRole("ledger-svc-rds-iam", role=svc_role.name, grant_role="rds_iam",
                     opts=pulumi.ResourceOptions(provider=admin))
postgresql.Grant("ledger-svc-db", role=svc_role.name, database="ledger",
                 object_type="database", privileges=["CONNECT", "TEMPORARY"],
                 opts=pulumi.ResourceOptions(provider=admin))
postgresql.Grant("ledger-svc-public", role=svc_role.name, database="ledger", schema="public",
                 object_type="schema", privileges=["USAGE", "CREATE"],
                 opts=pulumi.ResourceOptions(provider=admin))

in_cluster = pulumi.ResourceOptions(provider=kube)
namespace = k8s.core.v1.Namespace("ledger", metadata={"name": ledger_ns}, opts=in_cluster)
account = k8s.core.v1.ServiceAccount("ledger-writer", metadata={
    "name": ledger_sa, "namespace": namespace.metadata.name,
    "annotations": {"eks.amazonaws.com/role-arn": ledger_role.arn}}, opts=in_cluster)
pod_labels = {"app": "ledger", "component": "writer"}
k8s.apps.v1.Deployment("ledger-writer", metadata={"name": "ledger-writer",
                                                  "namespace": namespace.metadata.name},
                       spec={"replicas": 1, "selector": {"matchLabels": pod_labels},
                             "template": {"metadata": {"labels": pod_labels}, "spec": {
                                 "serviceAccountName": account.metadata.name,
                                 "containers": [{
                                     "name": "ledger",
                                     "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/"
                                              "platform/pgiam-demo-app:0.1.0",
                                     "ports": [{"name": "web", "containerPort": 8080}],
                                     "env": [{"name": "DB_HOST", "value": aurora.endpoint},
                                             {"name": "DB_PORT",
                                              "value": aurora.port.apply(str)},
                                             {"name": "DB_NAME", "value": "ledger"},
                                             {"name": "DB_USER", "value": ledger_user},
                                             {"name": "AWS_REGION", "value": region}],
                                     "livenessProbe": {"httpGet": {"path": "/healthz",
                                                                   "port": "web"}},
                                     "readinessProbe": {"httpGet": {"path": "/readyz",
                                                                    "port": 8080}}}]}}},
                       opts=in_cluster)
k8s.core.v1.Service("ledger", metadata={"name": "ledger", "namespace": namespace.metadata.name},
                    spec={"selector": pod_labels,
                          "ports": [{"name": "http", "port": 8080, "targetPort": "web"}]},
                    opts=in_cluster)
