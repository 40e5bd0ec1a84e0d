"""EKS Pod Identity wired right, unlike infra/: a plain aws.eks.Cluster, a raw JSON trust built
in an apply with every optional condition (aws:SourceAccount, aws:SourceArn, the session tags),
a second role trusted both ways (IRSA and Pod Identity), connect policies as a managed Policy
plus attachment, workloads in two namespaces."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

account = aws.get_caller_identity_output().account_id
cluster = aws.eks.Cluster("inventory", role_arn="arn:aws:iam::123456789012:role/eks",
                          vpc_config={"subnet_ids": ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]})
aws.eks.Addon("agent", cluster_name=cluster.name, addon_name="eks-pod-identity-agent")
issuer = "oidc.eks.us-east-1.amazonaws.com/id/FEEDFACEFEEDFACEFEEDFACEFEEDFACE"
oidc = aws.iam.OpenIdConnectProvider("oidc", url=f"https://{issuer}",
                                     client_id_lists=["sts.amazonaws.com"],
                                     thumbprint_lists=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])


def pods_statement(values, namespace, service_account):
    account_id, cluster_arn, cluster_name = values
    return {"Sid": "EksPodIdentity", "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id,
                                 "aws:RequestTag/eks-cluster-name": cluster_name,
                                 "aws:RequestTag/kubernetes-namespace": namespace,
                                 "aws:RequestTag/kubernetes-service-account": service_account},
                "ArnEquals": {"aws:SourceArn": cluster_arn}}}


def connect(role, name, user):
    policy = aws.iam.Policy(f"{name}-connect", policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "rds-db:connect",
            "Resource": f"arn:aws:rds-db:us-east-1:123456789012:dbuser:cluster-INVENTORY01/{user}"}]}))
    aws.iam.RolePolicyAttachment(f"{name}-connect", role=role.name, policy_arn=policy.arn)


def workload(name, namespace, service_account):
    k8s.core.v1.ServiceAccount(f"{name}-sa", metadata={"name": service_account,
                                                       "namespace": namespace})
    k8s.apps.v1.Deployment(name, metadata={"namespace": namespace}, spec={
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {
            "serviceAccountName": service_account,
            "containers": [{"name": name, "image": f"{name}:2", "env": [
                {"name": "PGHOST", "value": "inventory.cluster-xyz.us-east-1.rds.amazonaws.com"},
                {"name": "PGSSLMODE", "value": "verify-full"}]}]}}})


api_role = aws.iam.Role("api-role", assume_role_policy=pulumi.Output.all(
    account, cluster.arn, cluster.name).apply(lambda v: json.dumps({
        "Version": "2012-10-17", "Statement": [pods_statement(v, "inventory", "api")]})))
connect(api_role, "api-role", "inventory_api")
aws.eks.PodIdentityAssociation("api", cluster_name=cluster.name, namespace="inventory",
                               service_account="api", role_arn=api_role.arn)
workload("api", "inventory", "api")

# Moving from IRSA to Pod Identity: the role keeps its OIDC trust while both work.
both_role = aws.iam.Role("migrating-role", assume_role_policy=pulumi.Output.all(
    account, cluster.arn, cluster.name, oidc.arn).apply(lambda v: json.dumps({
        "Version": "2012-10-17", "Statement": [
            pods_statement(v[:3], "reports", "reporter"),
            {"Effect": "Allow", "Principal": {"Federated": v[3]},
             "Action": "sts:AssumeRoleWithWebIdentity",
             "Condition": {"StringEquals": {
                 f"{issuer}:sub": "system:serviceaccount:reports:reporter",
                 f"{issuer}:aud": "sts.amazonaws.com"}}}]})))
connect(both_role, "migrating-role", "reporter")
aws.eks.PodIdentityAssociation("reporter", cluster_name=cluster.name, namespace="reports",
                               service_account="reporter", role_arn=both_role.arn)
workload("reporter", "reports", "reporter")
