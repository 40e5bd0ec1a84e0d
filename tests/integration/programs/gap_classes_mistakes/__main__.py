"""A payments team's stack, written its way: a ``PodRole`` component, documents built with
``pulumi.Output.json_dumps`` and ``aws.iam.get_policy_document(...).json``, policies attached as
lists, Aurora Serverless v2 in a global cluster, a snapshot restore, Helm. Each mistaken resource
is named for its mistake; ``good-*`` resources make none."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_postgresql as postgresql

ACCOUNT = "123456789012"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/5EC0DE5EC0DE5EC0DE5EC0DE5EC0DE5E"

good_oidc = aws.iam.OpenIdConnectProvider(
    "good-oidc", url=f"https://{ISSUER}", client_id_lists=["sts.amazonaws.com", "payments-ci"],
    thumbprint_lists=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])
# Registered with the cluster's API audience instead of STS's.
aws.iam.OpenIdConnectProvider(
    "oidc-api-audience", url="https://oidc.eks.us-east-1.amazonaws.com/id/0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B",
    client_id_lists=["kubernetes.default.svc", "payments-ci"],
    thumbprint_lists=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])


class PodRole(pulumi.ComponentResource):
    """The team's component: one IAM role for one service account."""

    def __init__(self, name, namespace, service_account, opts=None, **role_args):
        super().__init__("payments:index:PodRole", name, None, opts)
        trust = pulumi.Output.json_dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": good_oidc.arn},
                "Condition": {"StringEquals": {
                    f"{ISSUER}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                    f"{ISSUER}:aud": "sts.amazonaws.com"}}}]})
        self.role = aws.iam.Role(name, assume_role_policy=trust,
                                 opts=pulumi.ResourceOptions(parent=self), **role_args)
        self.register_outputs({})


# Aurora Serverless v2, member of a global cluster: its engine read from the global cluster.
global_db = aws.rds.GlobalCluster("global-unencrypted", global_cluster_identifier="payments",
                                  engine="aurora-postgresql", engine_version="16.4",
                                  storage_encrypted=False)
aws.rds.Cluster("serverless-member-no-iam", global_cluster_identifier=global_db.id,
                engine=global_db.engine, engine_version=global_db.engine_version,
                serverlessv2_scaling_configuration={"min_capacity": 0.5, "max_capacity": 4},
                storage_encrypted=True, skip_final_snapshot=True)

# Restored from a snapshot: the engine comes from the snapshot.
aws.rds.Instance("snapshot-restore-public", snapshot_identifier="payments-pre-migration",
                 instance_class="db.r6g.large", publicly_accessible=True,
                 iam_database_authentication_enabled=True, storage_encrypted=True)

tls = aws.rds.ClusterParameterGroup("good-tls", family="aurora-postgresql16", parameters=[
    {"name": "rds.force_ssl", "value": "1"}])
db = aws.rds.Cluster("good-ledger", engine="aurora-postgresql", engine_version="16.4",
                     iam_database_authentication_enabled=True, storage_encrypted=True,
                     master_username="ledger_admin", manage_master_user_password=True,
                     db_cluster_parameter_group_name=tls.name, skip_final_snapshot=True)

connect = aws.iam.Policy("good-connect", policy=pulumi.Output.json_dumps({
    "Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rds-db:connect",
        "Resource": pulumi.Output.concat("arn:aws:rds-db:us-east-1:", ACCOUNT, ":dbuser:",
                                         db.cluster_resource_id, "/ledger_app")}]}))

good_api = PodRole("good-api", "payments", "api")
aws.iam.RolePolicyAttachment("good-api-connect", role=good_api.role.name, policy_arn=connect.arn)

# The connect policy and AWS's RDS admin policy, in one exclusive attachment list.
worker = PodRole("worker", "payments", "worker")
aws.iam.RolePolicyAttachmentsExclusive(
    "exclusive-rds-full-access", role_name=worker.role.name,
    policy_arns=[connect.arn, "arn:aws:iam::aws:policy/AmazonRDSFullAccess"])

# A shared policy from the platform account, next to the stack's own: its grants cannot be read.
settler = PodRole("settler", "payments", "settler", managed_policy_arns=[
    connect.arn, "arn:aws:iam::210987654321:policy/platform/shared-payments-access"])

# The default service account trusted, the document from get_policy_document(...).json.
default_trust = aws.iam.get_policy_document(statements=[
    aws.iam.GetPolicyDocumentStatementArgs(
        actions=["sts:AssumeRoleWithWebIdentity"],
        principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(
            type="Federated", identifiers=[f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"])],
        conditions=[
            aws.iam.GetPolicyDocumentStatementConditionArgs(
                test="StringEquals", variable=f"{ISSUER}:sub",
                values=["system:serviceaccount:payments:default"]),
            aws.iam.GetPolicyDocumentStatementConditionArgs(
                test="StringEquals", variable=f"{ISSUER}:aud", values=["sts.amazonaws.com"])])])
aws.iam.Role("namespace-default-account", assume_role_policy=default_trust.json)

# The pod role reads every master password secret RDS manages (they are named rds!...) and
# every SSM parameter.
reader = PodRole("reconciler", "payments", "reconciler")
aws.iam.RolePolicy("reads-master-secrets", role=reader.role.id, policy=pulumi.Output.json_dumps({
    "Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:rds!*"}]}))
aws.iam.RolePolicy("reads-every-parameter", role=reader.role.id, policy=json.dumps({
    "Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ssm:GetParametersByPath",
         "Resource": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/*"}]}))

# A policy with a single-valued operator on aws:CalledVia.
aws.iam.Policy("called-via-without-qualifier", policy=aws.iam.get_policy_document(statements=[
    {"actions": ["kms:Decrypt"], "resources": [f"arn:aws:kms:us-east-1:{ACCOUNT}:key/ledger"],
     "conditions": [{"test": "StringEquals", "variable": "aws:CalledVia",
                     "values": ["athena.amazonaws.com"]}]}]).json)

# NotPrincipal in a role trust (a Deny, as people write "everyone but").
aws.iam.Role("trust-with-not-principal", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
         "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "sts:AssumeRole"}]}))

# The ledger's key: "every principal but the account root may use it" written as an Allow with
# NotPrincipal, which AWS refuses in a key policy.
aws.kms.Key("key-policy-allow-not-principal", description="ledger", policy=json.dumps({
    "Version": "2012-10-17", "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Services", "Effect": "Allow",
         "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]}))
aws.kms.Key("good-ledger-key", description="ledger", policy=json.dumps({
    "Version": "2012-10-17", "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "kms:*", "Resource": "*"}]}))

# PostgreSQL: the IAM login role also keeps a password (rds_iam granted separately).
app = postgresql.Role("iam-login-keeps-password", name="ledger_app", login=True,
                      password="ledger-password-2024")
postgresql.GrantRole("good-ledger-app-rds-iam", role=app.name, grant_role="rds_iam")

# Passwords reaching pods: a Secret with a DATABASE_URL loaded by envFrom; Helm values.
k8s.core.v1.Secret("database-url-with-password",
                   metadata={"namespace": "payments", "name": "database-url-with-password"},
                   string_data={"DATABASE_URL": pulumi.Output.concat(
                       "postgresql://ledger_app:ledger-password-2024@", db.endpoint,
                       ":5432/ledger?sslmode=verify-full")})
# The Java reconciler reads a mounted application.properties with the password in it.
k8s.core.v1.ConfigMap("properties-with-password", metadata={"namespace": "payments"}, data={
    "application.properties": "spring.datasource.url=jdbc:postgresql://ledger:5432/ledger"
                              "?sslmode=verify-full\nspring.datasource.username=ledger_app\n"
                              "spring.datasource.password=ledger-password-2024\n"})
k8s.apps.v1.Deployment("good-ledger-api", metadata={"namespace": "payments"}, spec={
    "selector": {"matchLabels": {"app": "ledger"}},
    "template": {"metadata": {"labels": {"app": "ledger"}}, "spec": {
        "serviceAccountName": "api",
        "containers": [{"name": "api", "image": "ledger:2", "envFrom": [
            {"secretRef": {"name": "database-url-with-password"}}]}]}}})
k8s.helm.v3.Release("helm-values-password", chart="oci://registry.example.com/charts/ledger",
                    namespace="payments", values={
                        "serviceAccount": {"name": "api"},
                        "database": {"host": db.endpoint, "user": "ledger_app",
                                     "password": "ledger-password-2024",
                                     "sslmode": "verify-full"}})
