"""Trust policies written as another team writes them: plain ``aws.eks.Cluster`` with its own
``OpenIdConnectProvider`` (issuer from the cluster's ``identities``), trust documents from
``aws.iam.get_policy_document`` over Outputs, literal JSON with f-strings, and an EKS Pod Identity
role. Each resource is named for its mistake; ``good-*`` ones make none."""

import json

import pulumi_aws as aws

account = aws.get_caller_identity().account_id
cluster = aws.eks.Cluster("platform", role_arn=f"arn:aws:iam::{account}:role/eks-cluster",
                          vpc_config={"subnet_ids": ["subnet-0a", "subnet-0b"]})
issuer_url = cluster.identities[0].oidcs[0].issuer
provider = aws.iam.OpenIdConnectProvider("platform-oidc", url=issuer_url,
                                         client_id_lists=["sts.amazonaws.com"])
issuer = issuer_url.apply(lambda url: url.removeprefix("https://"))

# Known at preview: a literal issuer, as teams paste it from the console.
ISSUER = "oidc.eks.eu-central-1.amazonaws.com/id/0DDBA110DDBA110DDBA110DDBA110DDB"
PROVIDER_ARN = f"arn:aws:iam::{account}:oidc-provider/{ISSUER}"


def literal_trust(principal, condition):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition}]})


EXACT = {"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:billing:invoicer",
                          f"{ISSUER}:aud": "sts.amazonaws.com"}}
aws.iam.Role("good-literal", assume_role_policy=literal_trust({"Federated": PROVIDER_ARN}, EXACT))
aws.iam.Role("aws-star-principal", assume_role_policy=literal_trust({"AWS": "*"}, EXACT))
aws.iam.Role("https-in-provider-arn", assume_role_policy=literal_trust(
    {"Federated": f"arn:aws:iam::{account}:oidc-provider/https://{ISSUER}"}, EXACT))
aws.iam.Role("assume-role-action", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Federated": PROVIDER_ARN},
                                            "Condition": EXACT}]}))
aws.iam.Role("ignore-case-subject", assume_role_policy=literal_trust(
    {"Federated": PROVIDER_ARN},
    {"StringEqualsIgnoreCase": {f"{ISSUER}:sub": "system:serviceaccount:billing:invoicer"},
     "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}}))


def policy_document(test, subjects):
    """A trust rendered by aws.iam.get_policy_document over the provider's Outputs."""
    return aws.iam.get_policy_document_output(statements=[aws.iam.GetPolicyDocumentStatementArgs(
        actions=["sts:AssumeRoleWithWebIdentity"],
        principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(
            type="Federated", identifiers=[provider.arn])],
        conditions=[
            aws.iam.GetPolicyDocumentStatementConditionArgs(
                test=test, variable=issuer.apply(lambda i: f"{i}:sub"), values=subjects),
            aws.iam.GetPolicyDocumentStatementConditionArgs(
                test="StringEquals", variable=issuer.apply(lambda i: f"{i}:aud"),
                values=["sts.amazonaws.com"])])]).json


# Two exact service accounts in one StringEquals list: legitimate.
aws.iam.Role("good-two-service-accounts", assume_role_policy=policy_document(
    "StringEquals", ["system:serviceaccount:billing:api", "system:serviceaccount:billing:jobs"]))
aws.iam.Role("any-value-like-subject", assume_role_policy=policy_document(
    "ForAnyValue:StringLike", ["system:serviceaccount:billing:*"]))

# EKS Pod Identity: trusted by the pods service; AdministratorAccess is as broad as on IRSA.
pod_role = aws.iam.Role("reports-pod-identity", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"]}]}))
aws.iam.RolePolicyAttachment("pod-identity-admin", role=pod_role.name,
                             policy_arn="arn:aws:iam::aws:policy/AdministratorAccess")
aws.eks.PodIdentityAssociation("reports", cluster_name=cluster.name, namespace="reports",
                               service_account="reporter", role_arn=pod_role.arn)
