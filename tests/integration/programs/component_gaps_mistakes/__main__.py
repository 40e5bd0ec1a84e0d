"""A platform team's "ServiceRole" component (a trust and one RolePolicyAttachment per ARN of a
list, in a loop), a database password from stack config, a connection string built with
Output.format into a Secret loaded with envFrom, and a Helm v4 chart's values. Resources named
``bad-*`` (and the component's children ``bad-*-att-<n>``) carry the mistakes; ``ok-*`` none."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

config = pulumi.Config()
ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/ABCDEF0123456789ABCDEF0123456789"
PROVIDER_ARN = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"


class ServiceRole(pulumi.ComponentResource):
    """The team's IRSA role: a trust for one service account, the listed policies attached."""

    def __init__(self, name, subject, policy_arns, opts=None):
        super().__init__("acme:iam:ServiceRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(f"{name}-role", assume_role_policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN},
                           "Action": "sts:AssumeRoleWithWebIdentity",
                           "Condition": {"StringEquals": {
                               f"{ISSUER}:sub": f"system:serviceaccount:{subject}",
                               f"{ISSUER}:aud": "sts.amazonaws.com"}}}]}), opts=child)
        for index, arn in enumerate(policy_arns):
            aws.iam.RolePolicyAttachment(f"{name}-att-{index}", role=self.role.name,
                                         policy_arn=arn, opts=child)
        self.register_outputs({"role_arn": self.role.arn})


db = aws.rds.Instance("ok-db", engine="postgres", engine_version="16.3",
                      instance_class="db.t4g.micro", allocated_storage=20,
                      username="admin_user",
                      password=config.get_secret("dbPassword") or "LocalPassw0rd!",
                      iam_database_authentication_enabled=True, storage_encrypted=True,
                      skip_final_snapshot=True)
connect = aws.iam.Policy("ok-connect", policy=db.resource_id.apply(lambda rid: json.dumps({
    "Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rds-db:connect",
        "Resource": f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{rid}/web"}]})))
params = aws.iam.Policy("every-parameter", policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["ssm:GetParametersByPath"],
        "Resource": "arn:aws:ssm:us-west-2:123456789012:parameter/*"}]}))

ServiceRole("ok-api", "web:api", [connect.arn])
ServiceRole("bad-web", "web:default", [
    connect.arn, params.arn, "arn:aws:iam::aws:policy/AmazonRDSFullAccess",
    "arn:aws:iam::aws:policy/SecretsManagerReadWrite"])

env = k8s.core.v1.Secret("bad-app-env", string_data={
    "DATABASE_URL": pulumi.Output.format(
        "postgresql://admin_user:{0}@{1}/app?sslmode=verify-full", db.password, db.address)})
k8s.core.v1.Pod("ok-web", metadata={"namespace": "web"}, spec={
    "service_account_name": "api", "containers": [{
        "name": "web", "image": "web:1", "env_from": [{"secret_ref": {"name": env.metadata.name}}]}]})
k8s.helm.v4.Chart("bad-grafana", chart="grafana", values={
    "grafana.ini": {"database": {"type": "postgres", "host": db.address, "password": db.password}}})
