"""One role per trust mistake, named for it; ``good-*`` roles make none. The documents are built
the ways programs build them: json.dumps in Output.apply, aws.iam.get_policy_document, an object
document (PolicyDocumentArgs-style dict) with Outputs inside, a plain JSON string."""

import json

import pulumi_aws as aws

ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/5C0FFEE5C0FFEE5C0FFEE5C0FFEE5C0F"
provider = aws.iam.OpenIdConnectProvider(
    "cluster-oidc", url=f"https://{ISSUER}", client_id_lists=["sts.amazonaws.com"],
    thumbprint_lists=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])


def trust(condition, action="sts:AssumeRoleWithWebIdentity", federated=None):
    """A trust document, built in an apply over the provider's ARN (as programs do)."""
    return (federated or provider.arn).apply(lambda arn: json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Federated": arn}, "Action": action,
                       "Condition": condition}]}))


SUB = f"{ISSUER}:sub"
AUD = f"{ISSUER}:aud"
GOOD_CONDITION = {"StringEquals": {SUB: "system:serviceaccount:demo:demo-app",
                                   AUD: "sts.amazonaws.com"}}

aws.iam.Role("good-role", assume_role_policy=trust(GOOD_CONDITION))
aws.iam.Role("wildcard-sub", assume_role_policy=trust(
    {"StringLike": {SUB: "system:serviceaccount:demo:*"},
     "StringEquals": {AUD: "sts.amazonaws.com"}}))
aws.iam.Role("star-in-string-equals", assume_role_policy=trust(
    {"StringEquals": {SUB: "system:serviceaccount:*:demo-app", AUD: "sts.amazonaws.com"}}))
aws.iam.Role("aud-only", assume_role_policy=trust({"StringEquals": {AUD: "sts.amazonaws.com"}}))
aws.iam.Role("sub-on-aud", assume_role_policy=trust(
    {"StringEquals": {AUD: "system:serviceaccount:demo:demo-app"}}))
aws.iam.Role("https-keys", assume_role_policy=trust(
    {"StringEquals": {f"https://{SUB}": "system:serviceaccount:demo:demo-app",
                      f"https://{AUD}": "sts.amazonaws.com"}}))
aws.iam.Role("for-all-values", assume_role_policy=trust(
    {"ForAllValues:StringEquals": {SUB: "system:serviceaccount:demo:demo-app"},
     "StringEquals": {AUD: "sts.amazonaws.com"}}, action="sts:*"))
aws.iam.Role("other-issuer-keys", assume_role_policy=trust(
    {"StringEquals": {"oidc.eks.us-east-1.amazonaws.com/id/0THER0THER0THER0THER0THER0THER00:sub":
                      "system:serviceaccount:demo:demo-app",
                      AUD: "sts.amazonaws.com"}}))
aws.iam.Role("wrong-audience", assume_role_policy=trust(
    {"StringEquals": {SUB: "system:serviceaccount:demo:demo-app", AUD: "sts.amazonaws.com.cn"}}))

# Federated "*", as a plain JSON string, and through a NotAction that leaves web identity in.
aws.iam.Role("federated-star", assume_role_policy=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Federated": "*"},
                   "NotAction": "sts:AssumeRole", "Condition": GOOD_CONDITION}]}))

# get_policy_document, with the provider ARN as the condition key's issuer.
arn_keyed = aws.iam.get_policy_document_output(statements=[{
    "effect": "Allow",
    "actions": ["sts:AssumeRoleWith*"],
    "principals": [{"type": "Federated", "identifiers": [provider.arn]}],
    "conditions": [{"test": "StringEquals", "variable": provider.arn.apply(lambda a: f"{a}:sub"),
                    "values": ["system:serviceaccount:demo:demo-app"]}],
}])
aws.iam.Role("provider-arn-as-key", assume_role_policy=arn_keyed.json)

# A typed object document (PolicyDocumentArgs) with the provider ARN as an Output inside.
aws.iam.Role("object-document-wildcard", assume_role_policy=aws.iam.PolicyDocumentArgs(
    version="2012-10-17",
    statement=[aws.iam.PolicyStatementArgs(
        effect="Allow", action="sts:AssumeRoleWithWebIdentity",
        principal=aws.iam.FederatedPrincipalArgs(federated=provider.arn),
        condition={"StringLike": {SUB: "system:serviceaccount:*"}})]))

# GitHub Actions' OIDC: its subjects are not service accounts, and that is fine.
github = aws.iam.OpenIdConnectProvider(
    "github-oidc", url="https://token.actions.githubusercontent.com",
    client_id_lists=["sts.amazonaws.com"],
    thumbprint_lists=["6938fd4d98bab03faadb97b34396831e3780aea1"])
aws.iam.Role("good-github-ci", assume_role_policy=github.arn.apply(lambda arn: json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Federated": arn},
                   "Action": "sts:AssumeRoleWithWebIdentity",
                   "Condition": {"StringEquals": {
                       "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                       "StringLike": {"token.actions.githubusercontent.com:sub":
                                      "repo:example/app:ref:refs/heads/main"}}}]})))

# An ordinary service role is not a web-identity trust.
aws.iam.Role("good-lambda-role", assume_role_policy=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}]}))
