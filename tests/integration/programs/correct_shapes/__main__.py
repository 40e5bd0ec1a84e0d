"""A correct stack written the way another team would: a standalone ``aws.rds.Instance``
(PostgreSQL 16, its own parameter group forcing TLS), a plain ``aws.eks.Cluster`` with its
``OpenIdConnectProvider``, one IRSA role trusted by two exact service accounts through
``aws.iam.get_policy_document``, the connect grant as ``aws.iam.Policy`` + ``RolePolicyAttachment``
naming two database users, an RDS Proxy (IAM and TLS required) connected to by its ``prx-`` id,
an EKS Pod Identity role whose connect user is a policy variable, PostgreSQL roles holding
``rds_iam``, and Kubernetes objects with ``verify-full`` everywhere. Nothing here is a mistake:
every violation would be a false positive."""

import json
import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_postgresql as pg

part = aws.get_partition().partition
region = aws.get_region().region
acct = aws.get_caller_identity().account_id

eks = aws.eks.Cluster("eks", role_arn=f"arn:{part}:iam::{acct}:role/eks", vpc_config={"subnet_ids": ["subnet-1", "subnet-2"]})
issuer_url = eks.identities[0].oidcs[0].issuer
oidc = aws.iam.OpenIdConnectProvider("oidc", url=issuer_url, client_id_lists=["sts.amazonaws.com"])
issuer = issuer_url.apply(lambda u: u.replace("https://", ""))

trust = aws.iam.get_policy_document_output(statements=[aws.iam.GetPolicyDocumentStatementArgs(
    actions=["sts:AssumeRoleWithWebIdentity"],
    principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(type="Federated", identifiers=[oidc.arn])],
    conditions=[
        aws.iam.GetPolicyDocumentStatementConditionArgs(test="StringEquals", variable=issuer.apply(lambda i: f"{i}:sub"),
            values=["system:serviceaccount:orders:api", "system:serviceaccount:orders:migrator"]),
        aws.iam.GetPolicyDocumentStatementConditionArgs(test="StringEquals", variable=issuer.apply(lambda i: f"{i}:aud"),
            values=["sts.amazonaws.com"])])])
role = aws.iam.Role("orders-app", assume_role_policy=trust.json)

pgp = aws.rds.ParameterGroup("pg16", family="postgres16", parameters=[{"name": "rds.force_ssl", "value": "1"}])
db = aws.rds.Instance("orders-db", engine="postgres", engine_version="16.3", instance_class="db.t4g.small",
                      allocated_storage=20, username="orders_admin", manage_master_user_password=True,
                      iam_database_authentication_enabled=True, storage_encrypted=True,
                      parameter_group_name=pgp.name, publicly_accessible=False, skip_final_snapshot=True)
connect = aws.iam.Policy("orders-connect", policy=pulumi.Output.all(db.resource_id).apply(lambda a: json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["rds-db:connect"],
                   "Resource": [f"arn:{part}:rds-db:{region}:{acct}:dbuser:{a[0]}/orders_app",
                                f"arn:{part}:rds-db:{region}:{acct}:dbuser:{a[0]}/orders_migrator"]}]})))
aws.iam.RolePolicyAttachment("orders-connect", role=role.name, policy_arn=connect.arn)
aws.iam.RolePolicyAttachment("orders-xray", role=role.name, policy_arn=f"arn:{part}:iam::aws:policy/AWSXRayDaemonWriteAccess")

prov = pg.Provider("orders-pg", host=db.address, port=db.port, username=db.username, password="from-secret-manager-x1",
                   sslmode="verify-full", superuser=False)
o = pulumi.ResourceOptions(provider=prov)
for user in ("orders_app", "orders_migrator"):
    r = pg.Role(user, name=user, login=True, opts=o)
    pg.GrantRole(f"{user}-iam", role=r.name, grant_role="rds_iam", opts=o)
    pg.Grant(f"{user}-connect", role=r.name, database="postgres", object_type="database", privileges=["CONNECT"], opts=o)

ns = k8s.core.v1.Namespace("orders", metadata={"name": "orders"})
for sa in ("api", "migrator"):
    k8s.core.v1.ServiceAccount(f"sa-{sa}", metadata={"name": sa, "namespace": "orders",
                                                     "annotations": {"eks.amazonaws.com/role-arn": role.arn}})
env = [{"name": "PGHOST", "value": db.address}, {"name": "PGPORT", "value": "5432"},
       {"name": "PGSSLMODE", "value": "verify-full"}, {"name": "PGSSLROOTCERT", "value": "/certs/rds.pem"},
       {"name": "AWS_REGION", "value": region}]
k8s.apps.v1.Deployment("api", metadata={"name": "api", "namespace": "orders"}, spec={
    "selector": {"matchLabels": {"app": "api"}}, "template": {"metadata": {"labels": {"app": "api"}},
    "spec": {"serviceAccountName": "api", "containers": [{"name": "api", "image": "orders:1",
     "env": env + [{"name": "PGUSER", "value": "orders_app"}, {"name": "DATABASE_URL", "value": db.address.apply(lambda h: f"postgresql+psycopg://orders_app@{h}:5432/postgres?sslmode=verify-full")}]}]}}})
k8s.batch.v1.Job("migrate", metadata={"name": "migrate", "namespace": "orders"}, spec={"template": {"spec": {
    "serviceAccountName": "migrator", "restartPolicy": "Never", "containers": [{"name": "m", "image": "orders:1",
     "env": env + [{"name": "PGUSER", "value": "orders_migrator"}], "args": ["psql", "sslmode=verify-full"]}]}}})
k8s.core.v1.ConfigMap("settings", metadata={"name": "settings", "namespace": "orders"}, data={"PGSSLMODE": "verify-full", "JDBC": "jdbc:postgresql://db/app?ssl=true"})
k8s.helm.v3.Release("metrics", chart="prometheus", namespace="orders", values={"env": [{"name": "PGSSLMODE", "value": "verify-full"}], "aws": {"secretAccessKey": ""}, "sslmode": "verify-full"})

# RDS proxy in front, with IAM and TLS required, connect through its resource id
proxy_role = aws.iam.Role("proxy", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "rds.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
proxy = aws.rds.Proxy("orders-proxy", engine_family="POSTGRESQL", role_arn=proxy_role.arn, vpc_subnet_ids=["subnet-1"],
                      require_tls=True, auths=[{"auth_scheme": "SECRETS", "iam_auth": "REQUIRED", "secret_arn": f"arn:aws:secretsmanager:{region}:{acct}:secret:orders"}])
aws.iam.RolePolicy("orders-proxy-connect", role=role.id, policy=proxy.arn.apply(lambda a: json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds-db:connect",
    "Resource": f"arn:{part}:rds-db:{region}:{acct}:dbuser:{a.split(':')[-1]}/orders_app"}]})))

# EKS Pod Identity for a reporting workload
pi_role = aws.iam.Role("reporting", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]}))
aws.iam.RolePolicy("reporting-connect", role=pi_role.id, policy=db.resource_id.apply(lambda rid: json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds-db:connect",
    "Resource": f"arn:{part}:rds-db:{region}:{acct}:dbuser:{rid}/${{aws:PrincipalTag/kubernetes-service-account}}"}]})))
aws.eks.PodIdentityAssociation("reporting", cluster_name=eks.name, namespace="orders", service_account="reporter", role_arn=pi_role.arn)
k8s.apps.v1.Deployment("reporter", metadata={"name": "reporter", "namespace": "orders"}, spec={
    "selector": {"matchLabels": {"app": "r"}}, "template": {"metadata": {"labels": {"app": "r"}},
    "spec": {"serviceAccountName": "reporter", "containers": [{"name": "r", "image": "r:1", "env": env}]}}})
