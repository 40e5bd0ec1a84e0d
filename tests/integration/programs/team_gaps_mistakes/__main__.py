"""A team's own stack ("orders"), written its way: a helper building trusts with
aws.iam.get_policy_document, policies through Output.all(...).apply(json.dumps) and
Output.json_dumps, lists of attached policies, a Helm release. Each mistaken resource is named
for its mistake; ``ok-*`` resources make none. Mistakes whose documents depend on computed values
(the OIDC provider's ARN) are judged in ``--mode up``; those written with known values at
preview too."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_postgresql as postgresql

me = aws.get_caller_identity()
region = aws.get_region().region
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F0F"
KNOWN_PROVIDER = f"arn:aws:iam::{me.account_id}:oidc-provider/{ISSUER}"

oidc = aws.iam.OpenIdConnectProvider(
    "ok-oidc", url=f"https://{ISSUER}", client_id_lists=["sts.amazonaws.com", "argocd"],
    thumbprint_lists=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])
aws.iam.OpenIdConnectProvider(
    "oidc-kubernetes-audience",
    url="https://oidc.eks.us-east-1.amazonaws.com/id/1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A",
    client_id_lists=["https://kubernetes.default.svc"],
    thumbprint_lists=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])
aws.iam.OpenIdConnectProvider(
    "oidc-cluster-name-audience",
    url="https://oidc.eks.us-east-1.amazonaws.com/id/2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B2B",
    client_id_lists=["orders-cluster"],
    thumbprint_lists=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])


def pod_trust(namespace, service_account):
    """The trust the team's helper writes (provider ARN computed: known after up)."""
    return aws.iam.get_policy_document_output(statements=[{
        "effect": "Allow", "actions": ["sts:AssumeRoleWithWebIdentity"],
        "principals": [{"type": "Federated", "identifiers": [oidc.arn]}],
        "conditions": [
            {"test": "StringEquals", "variable": f"{ISSUER}:sub",
             "values": [f"system:serviceaccount:{namespace}:{service_account}"]},
            {"test": "StringEquals", "variable": f"{ISSUER}:aud", "values": ["sts.amazonaws.com"]},
        ]}]).json


def known_trust(subject, operator="StringEquals"):
    """A JSON-string trust with a provider ARN known at preview."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": KNOWN_PROVIDER},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}} | {
            operator: {f"{ISSUER}:sub": subject,
                       **({f"{ISSUER}:aud": "sts.amazonaws.com"} if operator == "StringEquals"
                          else {})}}}]})


db = aws.rds.Cluster("orders-db", engine="aurora-postgresql", engine_version="16.4",
                     iam_database_authentication_enabled=True, storage_encrypted=True,
                     master_username="orders_admin", master_password="Orders-Master-Pw-2024",
                     db_cluster_parameter_group_name="default.aurora-postgresql16")

connect = aws.iam.Policy("ok-connect", policy=pulumi.Output.all(
    db.cluster_resource_id, me.account_id).apply(lambda args: json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "rds-db:connect",
            "Resource": f"arn:aws:rds-db:{region}:{args[1]}:dbuser:{args[0]}/orders_app"}]})))

# --- lists of policies: each member judged on its own ------------------------------------
api = aws.iam.Role("ok-api", assume_role_policy=pod_trust("orders", "api"),
                   managed_policy_arns=[connect.arn])
aws.iam.Role("managed-list-with-admin", assume_role_policy=pod_trust("orders", "billing"),
             managed_policy_arns=[connect.arn, "arn:aws:iam::aws:policy/AdministratorAccess"])
reports = aws.iam.Role("ok-reports", assume_role_policy=known_trust("system:serviceaccount:orders:reports"))
aws.iam.RolePolicyAttachmentsExclusive(
    "exclusive-list-with-poweruser", role_name=reports.name,
    policy_arns=[connect.arn, "arn:aws:iam::aws:policy/PowerUserAccess"])
aws.iam.Role("inline-list-with-star", assume_role_policy=known_trust("system:serviceaccount:orders:export"),
             inline_policies=[
                 {"name": "connect", "policy": connect.policy},
                 {"name": "ops", "policy": pulumi.Output.json_dumps({
                     "Version": "2012-10-17",
                     "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})}])

# --- the default service account ---------------------------------------------------------
aws.iam.Role("trusts-default-sa", assume_role_policy=pod_trust("orders", "default"))
aws.iam.Role("trusts-every-default-sa",
             assume_role_policy=known_trust("system:serviceaccount:*:default", "StringLike"))

# --- secrets read broadly ----------------------------------------------------------------
worker = aws.iam.Role("reads-all-secrets", assume_role_policy=pod_trust("orders", "worker"),
                      inline_policies=[aws.iam.RoleInlinePolicyArgs(name="secrets", policy=json.dumps({
                          "Version": "2012-10-17", "Statement": [
                              {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue",
                                                             "kms:Decrypt"], "Resource": "*"}]}))])
params = aws.iam.Role("ok-params", assume_role_policy=known_trust("system:serviceaccount:orders:params"))
aws.iam.RolePolicy("reads-every-parameter", role=params.id, policy=aws.iam.get_policy_document(
    statements=[{"actions": ["ssm:GetParameter*"],
                 "resources": [f"arn:aws:ssm:{region}:{me.account_id}:parameter/*"]}]).json)
aws.iam.RolePolicy("ok-reads-own-parameter", role=params.id, policy=aws.iam.get_policy_document(
    statements=[{"actions": ["ssm:GetParameter"],
                 "resources": [f"arn:aws:ssm:{region}:{me.account_id}:parameter/orders/flags"]}]).json)

# --- IAM grammar -------------------------------------------------------------------------
aws.iam.Role("not-principal-trust", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "NotPrincipal": {"AWS": f"arn:aws:iam::{me.account_id}:root"}}]}))
aws.iam.Role("not-principal-deny-trust", assume_role_policy=aws.iam.get_policy_document(statements=[
    {"actions": ["sts:AssumeRole"], "principals": [{"type": "Service", "identifiers": ["ec2.amazonaws.com"]}]},
    {"effect": "Deny", "actions": ["sts:AssumeRole"],
     "not_principals": [{"type": "AWS", "identifiers": [f"arn:aws:iam::{me.account_id}:root"]}]}]).json)
aws.iam.Policy("tagkeys-string-equals", policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:CreateTags",
                                            "Resource": "*",
                                            "Condition": {"StringEquals": {"aws:TagKeys": ["team"]}}}]}))
aws.iam.Policy("calledvia-string-like", policy=aws.iam.get_policy_document(statements=[{
    "actions": ["kms:Decrypt"], "resources": ["*"],
    "conditions": [{"test": "StringLike", "variable": "aws:CalledVia",
                    "values": ["athena.amazonaws.com"]}]}]).json)
aws.iam.Policy("ok-tagkeys-for-all-values", policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:CreateTags",
                                            "Resource": "*",
                                            "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}}]}))

# --- every RDS shape ---------------------------------------------------------------------
primary = aws.rds.Instance("ok-primary", engine="postgres", engine_version="16.3",
                           instance_class="db.r6g.large", allocated_storage=50,
                           iam_database_authentication_enabled=True, storage_encrypted=True,
                           username="orders_admin", manage_master_user_password=True)
aws.rds.Instance("replica-no-iam", replicate_source_db=primary.identifier,
                 instance_class="db.r6g.large")
aws.rds.Instance("restored-public-no-iam", snapshot_identifier="orders-final-2024-06-01",
                 instance_class="db.t4g.medium", publicly_accessible=True, storage_encrypted=True)
aws.rds.Cluster("serverless-v2-no-iam", engine="aurora-postgresql", engine_mode="provisioned",
                engine_version="16.4", storage_encrypted=True, master_username="svc",
                manage_master_user_password=True,
                serverlessv2_scaling_configuration={"min_capacity": 0.5, "max_capacity": 4})
global_db = aws.rds.GlobalCluster("global-unencrypted", global_cluster_identifier="orders-global",
                                  engine="aurora-postgresql", engine_version="16.4")
aws.rds.Cluster("global-member-no-iam", engine="aurora-postgresql", engine_version="16.4",
                global_cluster_identifier=global_db.id, storage_encrypted=True,
                master_username="orders_admin", manage_master_user_password=True)

# --- PostgreSQL roles --------------------------------------------------------------------
postgresql.Role("ok-orders-app", name="orders_app", login=True, roles=["rds_iam"])
postgresql.Role("iam-role-with-password", name="orders_batch", login=True, roles=["rds_iam"],
                password="batch-password-1")
reporting = postgresql.Role("iam-grant-with-password", name="orders_reporting", login=True,
                            password=pulumi.Output.secret("reporting-password-1"))
postgresql.GrantRole("ok-reporting-rds-iam", role=reporting.name, grant_role="rds_iam")

# --- passwords reaching pods -------------------------------------------------------------
labels = {"app": "orders"}
k8s.apps.v1.Deployment("pgpassword-in-env", spec={
    "selector": {"match_labels": labels},
    "template": {"metadata": {"labels": labels}, "spec": {
        "service_account_name": "api",
        "containers": [{"name": "api", "image": "orders:1", "env": [
            {"name": "PGHOST", "value": db.endpoint},
            {"name": "PGSSLMODE", "value": "verify-full"},
            {"name": "PGPASSWORD", "value": "hunter2-but-long"}]}]}}})
k8s.core.v1.ConfigMap("database-url-with-password", data={
    "DATABASE_URL": db.endpoint.apply(
        lambda host: f"postgresql://orders_app:s3cret-pw@{host}:5432/orders?sslmode=verify-full")})
master = k8s.core.v1.Secret("master-password-secret", string_data={
    "password": db.master_password.apply(lambda pw: pw or "")})
k8s.batch.v1.Job("ok-migrate", spec={"template": {"spec": {
    "service_account_name": "api", "restart_policy": "Never",
    "containers": [{"name": "migrate", "image": "orders-migrate:1", "env": [
        {"name": "PGHOST", "value": db.endpoint}, {"name": "PGSSLMODE", "value": "verify-full"},
        {"name": "PGUSER", "value": "orders_app"}]}]}}})
k8s.apps.v1.StatefulSet("db-password-from-secret", spec={
    "service_name": "ledger", "selector": {"match_labels": {"app": "ledger"}},
    "template": {"metadata": {"labels": {"app": "ledger"}}, "spec": {
        "service_account_name": "api",
        "containers": [{"name": "ledger", "image": "ledger:2", "env": [
            {"name": "PGHOST", "value": db.endpoint}, {"name": "PGSSLMODE", "value": "verify-full"},
            {"name": "LEDGER_DB_PASSWORD", "value_from": {"secret_key_ref": {
                "name": master.metadata["name"], "key": "password"}}}]}]}}})
k8s.helm.v3.Release("helm-values-password", chart="metabase", repository_opts={
    "repo": "https://pmint93.github.io/helm-charts"}, values={
    "database": {"type": "postgres", "host": db.endpoint, "user": "metabase",
                 "password": "metabase-pw-1"}})
