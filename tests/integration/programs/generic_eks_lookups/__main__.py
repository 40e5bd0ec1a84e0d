"""An existing cluster (eks.get_cluster), its OIDC provider (iam.get_open_id_connect_provider), a
KMS key and ACM certificate looked up, a managed policy copied into the stack's own policy, a
Kubernetes Deployment and Service whose load balancer hostname the code reads, and an Aurora
cluster that forgets IAM database authentication (the positive control: still reported)."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

cluster = aws.eks.get_cluster(name="platform")
issuer = cluster.identities[0].oidcs[0].issuer
oidc = aws.iam.get_open_id_connect_provider(url=issuer)
key = aws.kms.get_key(key_id="alias/platform")
cert = aws.acm.get_certificate(domain="api.example.com", statuses=["ISSUED"])
managed = aws.iam.get_policy(name="platform-base")
subnets = aws.ec2.get_subnets(filters=[{"name": "tag:tier", "values": ["private"]}])
sg = aws.ec2.get_security_group(name="platform-db")

copied = aws.iam.Policy("copied-base", policy=managed.policy)
statement = json.loads(managed.policy)
statement.setdefault("Statement", []).append(
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::assets/*"})
extended = aws.iam.Policy("extended-base", policy=json.dumps(statement))

provider = k8s.Provider("platform", kubeconfig=json.dumps({
    "apiVersion": "v1", "kind": "Config",
    "clusters": [{"name": "c", "cluster": {"server": cluster.endpoint,
                                           "certificate-authority-data": cluster.certificate_authorities[0].data}}],
    "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    "current-context": "c", "users": [{"name": "u", "user": {}}]}))
labels = {"app": "api"}
deployment = k8s.apps.v1.Deployment(
    "api", spec={"selector": {"match_labels": labels}, "replicas": 2,
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "api", "image": "nginx:1.27"}]}}},
    opts=pulumi.ResourceOptions(provider=provider))
service = k8s.core.v1.Service(
    "api", spec={"type": "LoadBalancer", "selector": labels, "ports": [{"port": 80}]},
    metadata={"annotations": {"service.beta.kubernetes.io/aws-load-balancer-ssl-cert": cert.arn}},
    opts=pulumi.ResourceOptions(provider=provider))

subnet_group = aws.rds.SubnetGroup("db", subnet_ids=subnets.ids)
db = aws.rds.Cluster("db", engine="aurora-postgresql", engine_version="16.4",
                     master_username="pgadmin", manage_master_user_password=True,
                     db_subnet_group_name=subnet_group.name, vpc_security_group_ids=[sg.id],
                     storage_encrypted=True, kms_key_id=key.arn, skip_final_snapshot=True)

pulumi.export("oidc", oidc.arn)
pulumi.export("hostname", service.status.apply(
    lambda status: status.load_balancer.ingress[0].hostname if status else None))
pulumi.export("endpoint", pulumi.Output.concat("postgresql://", db.endpoint, ":5432/app"))
