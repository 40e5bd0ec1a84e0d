"""One association, role or workload per EKS Pod Identity mistake, named for it; ``good-*``
make none. Trusts are built as programs build them: get_policy_document, json.dumps in an
apply over the cluster's ARN, a plain JSON string; roles are named by ARN in associations."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

CLUSTER = "orders"
cluster = aws.eks.Cluster("orders", name=CLUSTER, role_arn="arn:aws:iam::123456789012:role/eks",
                          vpc_config={"subnet_ids": ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]})
aws.eks.Addon("good-agent", cluster_name=cluster.name, addon_name="eks-pod-identity-agent")
issuer = "oidc.eks.us-east-1.amazonaws.com/id/0BADC0DE0BADC0DE0BADC0DE0BADC0DE"
oidc = aws.iam.OpenIdConnectProvider("oidc", url=f"https://{issuer}",
                                     client_id_lists=["sts.amazonaws.com"],
                                     thumbprint_lists=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])

PODS = {"type": "Service", "identifiers": ["pods.eks.amazonaws.com"]}


def pods_trust(actions=("sts:AssumeRole", "sts:TagSession"), principal=None, conditions=()):
    return aws.iam.get_policy_document_output(statements=[{
        "actions": list(actions), "principals": [principal or PODS],
        "conditions": list(conditions)}]).json


def connect_policy(role, name):
    aws.iam.RolePolicy(f"{name}-connect", role=role.id, policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "rds-db:connect",
            "Resource": "arn:aws:rds-db:us-east-1:123456789012:dbuser:cluster-ABCDEFGHIJKL/app"}]}))


def associate(name, role, namespace="orders", service_account="orders-api", cluster_name=None):
    return aws.eks.PodIdentityAssociation(name, cluster_name=cluster_name or cluster.name,
                                          namespace=namespace, service_account=service_account,
                                          role_arn=role.arn)


def app(name, service_account, namespace="orders"):
    k8s.apps.v1.Deployment(name, metadata={"namespace": namespace}, spec={
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {
            "serviceAccountName": service_account,
            "containers": [{"name": "api", "image": "orders:1", "env": [
                {"name": "DB_HOST", "value": "orders.cluster-abc.us-east-1.rds.amazonaws.com"},
                {"name": "DB_USER", "value": "app"},
                {"name": "PGSSLMODE", "value": "verify-full"}]}]}}})


# The correct wiring.
good_role = aws.iam.Role("good-role", assume_role_policy=pods_trust(conditions=[
    {"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["123456789012"]},
    {"test": "StringEquals", "variable": "aws:RequestTag/kubernetes-service-account",
     "values": ["orders-api"]}]))
connect_policy(good_role, "good-role")
associate("good-association", good_role)
app("good-app", "orders-api")

# The association names another service account than the one the Deployment runs as.
other_sa_role = aws.iam.Role("other-sa-role", assume_role_policy=pods_trust())
connect_policy(other_sa_role, "other-sa-role")
associate("names-another-sa", other_sa_role, service_account="orders-worker")
app("runs-as-unassociated-sa", "orders-reporter")

# The role trusts only the OIDC provider (an IRSA role reused): EKS refuses the association.
oidc_only = aws.iam.Role("oidc-only-role", assume_role_policy=oidc.arn.apply(lambda arn: json.dumps({
    "Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{issuer}:sub": "system:serviceaccount:orders:batch",
                                       f"{issuer}:aud": "sts.amazonaws.com"}}}]})))
associate("role-trusts-only-oidc", oidc_only, service_account="batch")

# A wildcard service principal; sts:* instead of the two actions; TagSession forgotten.
star = aws.iam.Role("service-principal-wildcard", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "*"},
                                            "Action": ["sts:AssumeRole", "sts:TagSession"]}]}))
associate("names-wildcard-role", star, service_account="wild")
aws.iam.Role("sts-star", assume_role_policy=pods_trust(actions=["sts:*"]))
aws.iam.Role("no-tag-session", assume_role_policy=pods_trust(actions=["sts:AssumeRole"]))

# The trust pins the session tags of another namespace: EKS Auth's AssumeRole is denied.
tags_role = aws.iam.Role("tags-other-namespace", assume_role_policy=pods_trust(conditions=[
    {"test": "StringEquals", "variable": "aws:RequestTag/kubernetes-namespace",
     "values": ["payments"]}]))
connect_policy(tags_role, "tags-other-namespace")
associate("trust-tags-mismatch", tags_role, service_account="ledger")
app("ledger", "ledger")

# Every rule for pod roles applies to Pod Identity roles: AdministratorAccess on one.
admin_role = aws.iam.Role("admin-pod-role", assume_role_policy=pods_trust())
aws.iam.RolePolicyAttachment("admin-pod-role-admin", role=admin_role.name,
                             policy_arn="arn:aws:iam::aws:policy/AdministratorAccess")
associate("admin-association", admin_role, service_account="admin-tool")

pulumi.export("clusterName", cluster.name)
