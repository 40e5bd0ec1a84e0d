"""A platform team's stack: a pulumi-eks cluster whose issuer URL (``oidcProviderUrl``, or the URL of the
provider resource ``core.oidcProvider``, with
``https://``) keys the trust conditions, stripped or not; a pod role whose trust adds a second
statement for every AWS principal; workloads configured through ``envFrom`` ConfigMaps; and
PostgreSQL login roles that reach administrator rights through group roles. Each resource is
named for its mistake; ``good-*`` ones make none."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s
import pulumi_postgresql as postgresql

cluster = eks.Cluster("platform", create_oidc_provider=True)
SUBJECT = "system:serviceaccount:billing:invoicer"


def web_identity_trust(issuer_url: pulumi.Output, provider_arn: pulumi.Output | None = None) -> pulumi.Output:
    return pulumi.Output.all(issuer_url, provider_arn or cluster.oidc_provider_arn).apply(
        lambda args: json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": args[1]},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{args[0]}:sub": SUBJECT,
                                           f"{args[0]}:aud": "sts.amazonaws.com"}}}]}))


aws.iam.Role("good-stripped-issuer", assume_role_policy=web_identity_trust(
    cluster.oidc_provider_url.apply(lambda url: url.replace("https://", ""))))
aws.iam.Role("issuer-url-not-stripped",
             assume_role_policy=web_identity_trust(cluster.oidc_provider_url))

# pulumi-eks's own IRSA example: the provider resource from cluster.core (a resource reference).
core_provider = cluster.core.oidc_provider
aws.iam.Role("good-core-provider", assume_role_policy=web_identity_trust(
    core_provider.url.apply(lambda url: url.replace("https://", "")), core_provider.arn))
aws.iam.Role("core-provider-url-not-stripped",
             assume_role_policy=web_identity_trust(core_provider.url, core_provider.arn))

# Known at preview: the issuer pasted from the console.
ISSUER = "oidc.eks.eu-central-1.amazonaws.com/id/0DDBA110DDBA110DDBA110DDBA110DDB"
PROVIDER = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"
POD_STATEMENT = {"Effect": "Allow", "Principal": {"Federated": PROVIDER},
                 "Action": "sts:AssumeRoleWithWebIdentity",
                 "Condition": {"StringEquals": {f"{ISSUER}:sub": SUBJECT,
                                                f"{ISSUER}:aud": "sts.amazonaws.com"}}}
aws.iam.Role("good-pod-role", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [POD_STATEMENT]}))
aws.iam.Role("open-second-statement", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [
        POD_STATEMENT,
        {"Sid": "BreakGlass", "Effect": "Allow", "Principal": {"AWS": "*"},
         "Action": "sts:AssumeRole"}]}))

# Database settings loaded with envFrom from an auto-named ConfigMap.
ENDPOINT = "billing.cluster-abc.eu-central-1.rds.amazonaws.com"
settings = k8s.core.v1.ConfigMap("billing-db", metadata={"namespace": "billing"},
                                 data={"PGHOST": ENDPOINT, "PGSSLMODE": "verify-full",
                                       "PGUSER": "invoicer"})


def deployment(name: str, service_account: str | None) -> None:
    spec = {"containers": [{"name": "api", "image": "registry.example/billing:1",
                            "env_from": [{"config_map_ref": {"name": settings.metadata.name}}]}]}
    if service_account:
        spec["service_account_name"] = service_account
    k8s.apps.v1.Deployment(name, metadata={"namespace": "billing"}, spec={
        "selector": {"match_labels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": spec}})


deployment("good-envfrom-trusted-account", "invoicer")
deployment("envfrom-default-account", None)

# PostgreSQL login roles and the groups they join.
provider = postgresql.Provider("billing-pg", host="billing.example", username="pgadmin",
                               password="not-used-offline")
opts = pulumi.ResourceOptions(provider=provider)
postgresql.Role("admins", name="admins", roles=["rds_superuser"], opts=opts)
postgresql.Role("owners", name="owners", superuser=True, opts=opts)
postgresql.Role("good-readers", name="readers", opts=opts)
postgresql.Role("good-app-user", name="app_user", login=True, roles=["rds_iam", "readers"],
                opts=opts)
postgresql.Role("iam-user-in-admin-group", name="support", login=True,
                roles=["rds_iam", "admins"], opts=opts)
postgresql.Role("iam-user-granted-superuser-group", name="etl", login=True, roles=["rds_iam"],
                opts=opts)
postgresql.GrantRole("etl-joins-owners", role="etl", grant_role="owners", opts=opts)
