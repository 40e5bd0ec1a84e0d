"""A Multi-AZ DB cluster and an RDS Proxy, IAM Identity Center, and an IRSA chain whose connect
policy sits on the wrong role. Each resource is named for its mistake; ``good-*`` ones make
none."""

import json

import pulumi_aws as aws
import pulumi_kubernetes as k8s

account = aws.get_caller_identity().account_id
region = aws.get_region().region
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/FEEDFACEFEEDFACEFEEDFACEFEEDFACE"

# Multi-AZ DB cluster (not Aurora) without a DB subnet group: public by default.
multi_az = aws.rds.Cluster(
    "public-multi-az", engine="postgres", engine_version="16.4",
    db_cluster_instance_class="db.m6gd.large", storage_type="io1", allocated_storage=100,
    iops=1000, master_username="dbadmin", manage_master_user_password=True,
    iam_database_authentication_enabled=True, storage_encrypted=True, skip_final_snapshot=True)

proxy_role = aws.iam.Role("good-proxy-role", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "rds.amazonaws.com"}}]}))
SECRET = f"arn:aws:secretsmanager:{region}:{account}:secret:billing-db"
aws.rds.Proxy("password-proxy", engine_family="POSTGRESQL", role_arn=proxy_role.arn,
              vpc_subnet_ids=["subnet-0a", "subnet-0b"],
              auths=[aws.rds.ProxyAuthArgs(auth_scheme="SECRETS", secret_arn=SECRET)])
good_proxy = aws.rds.Proxy("good-proxy", engine_family="POSTGRESQL", role_arn=proxy_role.arn,
                           vpc_subnet_ids=["subnet-0a", "subnet-0b"], require_tls=True,
                           auths=[aws.rds.ProxyAuthArgs(auth_scheme="SECRETS",
                                                        iam_auth="REQUIRED", secret_arn=SECRET)])

# Identity Center: every user of the permission set may log in as any database user.
aws.ssoadmin.PermissionSetInlinePolicy(
    "permission-set-any-user", instance_arn="arn:aws:sso:::instance/ssoins-0123456789abcdef",
    permission_set_arn="arn:aws:sso:::permissionSet/ssoins-0123456789abcdef/ps-0123456789abcdef",
    inline_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rds-db:connect",
        "Resource": f"arn:aws:rds-db:{region}:{account}:dbuser:*/*"}]}))


def irsa_trust(service_account):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{ISSUER}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{ISSUER}:sub": f"system:serviceaccount:billing:"
                                                         f"{service_account}",
                                       f"{ISSUER}:aud": "sts.amazonaws.com"}}}]})


api_role = aws.iam.Role("good-api-role", assume_role_policy=irsa_trust("api"))
batch_role = aws.iam.Role("good-batch-role", assume_role_policy=irsa_trust("batch"))
# The connect grant (through the proxy, by its prx- id) is attached to the batch role only.
connect = aws.iam.Policy("good-proxy-connect", policy=good_proxy.arn.apply(
    lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rds-db:connect",
        "Resource": f"arn:aws:rds-db:{region}:{account}:dbuser:{arn.split(':')[-1]}/billing"}]})))
aws.iam.RolePolicyAttachment("good-batch-connect", role=batch_role.name, policy_arn=connect.arn)

for name, role in (("api", api_role), ("batch", batch_role)):
    k8s.core.v1.ServiceAccount(f"good-sa-{name}", metadata={
        "name": name, "namespace": "billing",
        "annotations": {"eks.amazonaws.com/role-arn": role.arn}})
env = [{"name": "PGHOST", "value": good_proxy.endpoint}, {"name": "PGUSER", "value": "billing"},
       {"name": "PGSSLMODE", "value": "verify-full"}]
k8s.apps.v1.Deployment("api-without-connect", metadata={"name": "api", "namespace": "billing"},
                       spec={"selector": {"matchLabels": {"app": "api"}}, "template": {
                           "metadata": {"labels": {"app": "api"}},
                           "spec": {"serviceAccountName": "api",
                                    "containers": [{"name": "api", "image": "billing:1",
                                                    "env": env}]}}})
k8s.batch.v1.CronJob("good-batch", metadata={"name": "batch", "namespace": "billing"}, spec={
    "schedule": "0 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
        "serviceAccountName": "batch", "restartPolicy": "Never",
        "containers": [{"name": "batch", "image": "billing:1", "env": env}]}}}}})
