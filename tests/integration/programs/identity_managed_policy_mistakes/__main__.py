"""A data platform team's stack: an Aurora PostgreSQL cluster with IAM authentication, the team's
own connect policy naming one database user, and the IAM users, groups and automation roles of
the people and jobs around it, each given AWS managed policies by ARN the way the team writes
them (plain strings, f-strings with the partition from ``aws.get_partition()``,
``pulumi.Output.concat``, exclusive lists mixing the team's own policy with AWS's). Resources
named ``good-*`` make no mistake; the others each get, somewhere, a policy whose Allow covers
``rds-db:connect`` on every database user (AdministratorAccess, PowerUserAccess); one of them is
a pod role, which the mandatory broad-permissions rule reports instead."""

import pulumi
import pulumi_aws as aws

partition = aws.get_partition().partition
account = aws.get_caller_identity().account_id
region = aws.get_region().region


def managed(name: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{name}"


ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"

tls = aws.rds.ClusterParameterGroup("good-tls", family="aurora-postgresql16",
                                    parameters=[{"name": "rds.force_ssl", "value": "1"}])
warehouse = aws.rds.Cluster("good-warehouse", engine="aurora-postgresql", engine_version="16.4",
                            iam_database_authentication_enabled=True, storage_encrypted=True,
                            master_username="warehouse_admin", manage_master_user_password=True,
                            db_cluster_parameter_group_name=tls.name, skip_final_snapshot=True)

connect = aws.iam.Policy("good-reporting-connect", policy=pulumi.Output.json_dumps({
    "Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rds-db:connect",
        "Resource": pulumi.Output.concat(f"arn:{partition}:rds-db:{region}:{account}:dbuser:",
                                         warehouse.cluster_resource_id, "/reporting")}]}))

# An analyst: the team's connect policy and AdministratorAccess in one exclusive list.
analyst = aws.iam.User("analyst", name="maria.analyst")
aws.iam.UserPolicyAttachmentsExclusive("analyst-policies", user_name=analyst.name,
                                       policy_arns=[connect.arn, ADMIN])

# The DBA group: PowerUserAccess (its NotAction leaves rds-db in), f-string with the partition.
dbas = aws.iam.Group("dbas", name="warehouse-dbas")
aws.iam.GroupPolicyAttachment("dbas-power-user", group=dbas.name,
                              policy_arn=managed("PowerUserAccess"))

# The on-call group: an exclusive list built with Output.concat, read-only first.
oncall = aws.iam.Group("oncall", name="warehouse-oncall")
aws.iam.GroupPolicyAttachmentsExclusive("oncall-policies", group_name=oncall.name, policy_arns=[
    managed("ReadOnlyAccess"),
    pulumi.Output.concat("arn:", partition, ":iam::aws:policy/AdministratorAccess")])

# The CI build bot: a single attachment.
build_bot = aws.iam.User("build-bot", name="warehouse-build-bot")
aws.iam.UserPolicyAttachment("build-bot-admin", user=build_bot.name, policy_arn=ADMIN)

# A deploy role assumed by EC2 runners (no pod): its own managed_policy_arns.
runner_trust = pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})
aws.iam.Role("deployer", assume_role_policy=runner_trust,
             managed_policy_arns=[connect.arn, managed("AdministratorAccess")])

# A bastion host's role, PowerUserAccess through RolePolicyAttachment.
bastion = aws.iam.Role("bastion", assume_role_policy=runner_trust)
aws.iam.RolePolicyAttachment("bastion-power-user", role=bastion.name,
                             policy_arn=f"arn:{partition}:iam::aws:policy/PowerUserAccess")

# Break-glass: one PolicyAttachment to a user, a group and a role.
breakglass = aws.iam.User("breakglass", name="warehouse-breakglass")
aws.iam.PolicyAttachment("break-glass-admin", users=[breakglass.name], groups=[oncall.name],
                         roles=[bastion.name], policy_arn=ADMIN)

# The ingestion pods' IRSA role with AdministratorAccess: a pod role, reported by
# irsa-role-broad-permissions (mandatory), not by the users/groups rule.
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/DA7ADA7ADA7ADA7ADA7ADA7ADA7ADA7A"
good_oidc = aws.iam.OpenIdConnectProvider("good-oidc", url=f"https://{ISSUER}",
                                          client_id_lists=["sts.amazonaws.com"])
aws.iam.Role("ingest-pods", managed_policy_arns=[ADMIN],
             assume_role_policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [{
                 "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                 "Principal": {"Federated": good_oidc.arn},
                 "Condition": {"StringEquals": {
                     f"{ISSUER}:sub": "system:serviceaccount:warehouse:ingest",
                     f"{ISSUER}:aud": "sts.amazonaws.com"}}}]}))

# Controls: the reporting job's user with only the team's scoped connect policy; an auditor with
# ReadOnlyAccess (no rds-db:connect); a group with the scoped policy and ReadOnlyAccess in a list.
good_reporter = aws.iam.User("good-reporter", name="warehouse-reporter")
aws.iam.UserPolicyAttachment("good-reporter-connect", user=good_reporter.name,
                             policy_arn=connect.arn)
good_auditor = aws.iam.User("good-auditor", name="warehouse-auditor")
aws.iam.UserPolicyAttachment("good-auditor-read-only", user=good_auditor.name,
                             policy_arn=managed("ReadOnlyAccess"))
good_readers = aws.iam.Group("good-readers", name="warehouse-readers")
aws.iam.GroupPolicyAttachmentsExclusive("good-readers-policies", group_name=good_readers.name,
                                        policy_arns=[connect.arn, managed("ReadOnlyAccess")])
