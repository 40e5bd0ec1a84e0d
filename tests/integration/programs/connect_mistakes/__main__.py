"""rds-db:connect grants in every shape a program can write them, each named for its mistake
(``good-*``: none), plus an IRSA role with broad permissions and a connect policy whose user does
not hold rds_iam. Partition, region and account come from data sources, as programs do."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_postgresql as postgresql

partition = aws.get_partition().partition
region = aws.get_region().region
account = aws.get_caller_identity().account_id
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/AB12CD34EF56AB12CD34EF56AB12CD34"
PROVIDER_ARN = f"arn:{partition}:iam::{account}:oidc-provider/{ISSUER}"

cluster = aws.rds.Cluster("db", engine="aurora-postgresql", engine_version="16.4",
                          iam_database_authentication_enabled=True, storage_encrypted=True,
                          master_username="pgadmin", master_password="not-checked-here-1")


def connect_document(resource):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "rds-db:connect", "Resource": resource}]})


def dbuser(resource_id, user):
    return f"arn:{partition}:rds-db:{region}:{account}:dbuser:{resource_id}/{user}"


irsa_role = aws.iam.Role("app-irsa", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:demo:app",
                                       f"{ISSUER}:aud": "sts.amazonaws.com"}}}]}))

# The right grant, from the cluster's resource id (Output.apply + json.dumps).
aws.iam.RolePolicy("good-connect", role=irsa_role.id, policy=cluster.cluster_resource_id.apply(
    lambda rid: connect_document(dbuser(rid, "app_user"))))

# rds-db:* on every resource.
aws.iam.RolePolicy("wildcard-connect", role=irsa_role.id, policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["rds-db:*"],
                                            "Resource": "*"}]}))

# The cluster identifier where the resource id belongs, through a managed Policy + attachment.
by_identifier = aws.iam.Policy("identifier-connect", policy=cluster.cluster_identifier.apply(
    lambda ident: connect_document(dbuser(ident, "app_user"))))
aws.iam.RolePolicyAttachment("identifier-connect", role=irsa_role.name,
                             policy_arn=by_identifier.arn)

# The database's own rds ARN, as an inline policy of another role, written with
# aws.iam.get_policy_document and a conn* wildcard.
db_arn_document = aws.iam.get_policy_document_output(statements=[{
    "actions": ["rds-db:conn*"], "resources": [cluster.arn]}])
aws.iam.Role("rds-arn-connect", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "ec2.amazonaws.com"}}]}),
             inline_policies=[{"name": "connect", "policy": db_arn_document.json}])

# NotResource with Allow on a user, wildcard user on a group.
user = aws.iam.User("ops")
aws.iam.UserPolicy("not-resource-connect", user=user.name, policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "s3:*",
                                            "NotResource": "arn:aws:s3:::nothing"}]}))
group = aws.iam.Group("readers")
aws.iam.GroupPolicy("wildcard-user-connect", group=group.name,
                    policy=cluster.cluster_resource_id.apply(
                        lambda rid: connect_document(dbuser(rid, "*"))))

# Broad permissions on the IRSA role: an AWS managed policy by ARN.
aws.iam.RolePolicyAttachment("admin-on-irsa", role=irsa_role.name,
                             policy_arn=f"arn:{partition}:iam::aws:policy/AdministratorAccess")

# A connect policy for a database user that does not hold rds_iam in this stack.
aws.iam.RolePolicy("reporting-connect", role=irsa_role.id,
                   policy=cluster.cluster_resource_id.apply(
                       lambda rid: connect_document(dbuser(rid, "reporting"))))

pg = postgresql.Provider("pg", host=cluster.endpoint, username="pgadmin",
                         password="not-checked-here-1", superuser=False)
app_user = postgresql.Role("app-user", name="app_user", login=True,
                           opts=pulumi.ResourceOptions(provider=pg))
postgresql.GrantRole("app-user-rds-iam", role=app_user.name, grant_role="rds_iam",
                     opts=pulumi.ResourceOptions(provider=pg))
