"""An application stack that takes its cluster's OIDC provider from the platform team's stack
through a stack reference, as teams split their stacks, and trusts every service account of its
namespace (the mistake). Offline the reference's outputs are unknown unless passed with
--stack-output."""

import json

import pulumi
import pulumi_aws as aws

platform = pulumi.StackReference("acme/platform/prod")
provider_arn = platform.require_output("oidcProviderArn")
issuer = platform.require_output("oidcIssuer")


def trust(args: list) -> str:
    arn, url = args
    host = url.removeprefix("https://")
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": arn}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringLike": {f"{host}:sub": "system:serviceaccount:shop:*"},
                      "StringEquals": {f"{host}:aud": "sts.amazonaws.com"}}}]})


role = aws.iam.Role("shop-api", assume_role_policy=pulumi.Output.all(provider_arn, issuer).apply(trust))
pulumi.export("vpcId", platform.get_output("vpcId"))
