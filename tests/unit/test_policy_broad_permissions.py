"""An IRSA role gets no broad permission, however the permission is attached (inline, RolePolicy,
Policy + attachments, managedPolicyArns, AWS managed policies by ARN); other roles are not judged.
A stack rule: resources here are outputs, links by name or by property dependency."""

from __future__ import annotations

import json

import pytest

from iamdb_rules.catalog import BY_NAME
from iamdb_rules.model import Resource
from iamdb_rules.props import UNKNOWN

ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789ABCDEF0123456789"
IRSA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": f"arn:aws:iam::111122223333:oidc-provider/{ISSUER}"},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:demo:app"}}}]})
SERVICE_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
ROLE_ARN = "arn:aws:iam::111122223333:role/app-role"


def doc(action="*", resource="*", **extra) -> str:
    statement = {"Effect": "Allow", "Resource": resource, **extra}
    if action is not None:
        statement["Action"] = action
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def res(type_: str, name: str, props: dict, deps: dict | None = None) -> Resource:
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::{name}", name, props,
                    property_dependencies=deps or {})


def role(trust=IRSA_TRUST, **props) -> Resource:
    return res("aws:iam/role:Role", "app-role",
               {"name": "app-role", "arn": ROLE_ARN, "assumeRolePolicy": trust, **props})


def run(resources):
    rule = BY_NAME["irsa-role-broad-permissions"]
    return rule.run(resources, rule.context(stack="dev"))


@pytest.mark.parametrize("document, broad", [
    (doc("*", "*"), True),
    (doc("*", "arn:aws:s3:::bucket/*"), True),
    (doc("s3:*", "*"), True),
    (doc("iam:*", "arn:aws:iam::111122223333:*"), True),
    (doc(None, "*", NotAction="iam:*"), True),
    (doc("s3:*", "arn:aws:s3:::bucket/*"), False),
    (doc("ec2:DescribeInstances", "*"), False),
    (doc("rds-db:connect", "arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-A/u"), False),
    (doc("*", "*", Effect="Deny"), False),
    (doc("*:*", "arn:aws:s3:::bucket/*"), True),
    (doc("s*:*", "arn:aws:s3:::bucket/*"), True),
    (doc(["iam:PassRole"], "*"), True),
    (doc("iam:Put*Policy", "*"), True),
    (doc("iam:PassRole", "arn:aws:iam::111122223333:role/node"), False),
    (doc("iam:CreateServiceLinkedRole", "*",
         Condition={"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}),
     False),
    (doc("iam:GetRole", "*"), False),
    (doc("sts:AssumeRole", "*"), True),
    (doc("sts:Assume*", "arn:aws:iam::111122223333:role/*"), True),
    (doc("sts:AssumeRole", "arn:aws:iam::111122223333:role/reader"), False),
    (doc("sts:AssumeRole", "*", Condition={"StringEquals": {"aws:ResourceTag/team": "db"}}), False),
    (doc("sts:GetCallerIdentity", "*"), False),
], ids=["star-on-star", "any-action-on-a-resource", "service-on-star", "service-on-all-of-it",
        "not-action", "service-on-one-bucket", "describe-on-star", "exact-connect", "deny",
        "wildcard-service-prefix", "partial-service-wildcard", "pass-role-on-star",
        "put-policy-on-star", "pass-one-role", "conditioned-service-linked-role",
        "iam-read-on-star", "assume-any-role", "assume-every-role-of-the-account",
        "assume-one-role", "assume-tagged-roles", "caller-identity"])
def test_inline_documents_of_an_irsa_role(document, broad):
    violations, _ = run([role(inlinePolicies=[{"name": "p", "policy": document}])])
    assert bool(violations) == broad


def test_other_roles_may_be_broad():
    assert run([role(trust=SERVICE_TRUST, inlinePolicies=[{"name": "p", "policy": doc()}])]) \
        == ([], [])


@pytest.mark.parametrize("attachment", [
    res("aws:iam/rolePolicy:RolePolicy", "admin", {"role": "app-role", "policy": doc()}),
    res("aws:iam/rolePolicy:RolePolicy", "admin", {"role": UNKNOWN, "policy": doc()},
        deps={"role": ("urn:pulumi:dev::p::aws:iam/role:Role::app-role",)}),
    res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "admin",
        {"role": "app-role", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "admin",
        {"role": "app-role", "policyArn": "arn:aws-us-gov:iam::aws:policy/PowerUserAccess"}),
    res("aws:iam/policyAttachment:PolicyAttachment", "admin",
        {"roles": ["other", "app-role"],
         "policyArn": "arn:aws:iam::aws:policy/AmazonRDSFullAccess"}),
    res("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "admin",
        {"roleName": "app-role", "policyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}),
    res("aws-native:iam:ManagedPolicy", "admin", {"roles": ["app-role"], "policyDocument": doc()}),
], ids=["role-policy-by-name", "role-policy-by-dependency", "managed-admin", "managed-poweruser",
        "policy-attachment", "exclusive-attachments", "native-managed-policy"])
def test_broad_permission_attached_to_an_irsa_role_names_the_attachment(attachment):
    violations, _ = run([role(), attachment])
    assert len(violations) == 1
    assert violations[0].urn == attachment.urn
    assert "urn:pulumi:dev::p::aws:iam/role:Role::app-role" in violations[0].message


def test_managed_policy_arns_on_the_role_itself():
    violations, _ = run([role(managedPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"])])
    assert violations and "managedPolicyArns[0]" in violations[0].message


def test_customer_policy_of_the_stack_is_resolved_by_arn_or_dependency():
    policy = res("aws:iam/policy:Policy", "broad",
                 {"arn": "arn:aws:iam::111122223333:policy/broad", "policy": doc("s3:*", "*")})
    by_arn = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "attach",
                 {"role": "app-role", "policyArn": "arn:aws:iam::111122223333:policy/broad"})
    by_dependency = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "attach",
                        {"role": "app-role", "policyArn": UNKNOWN},
                        deps={"policyArn": (policy.urn,)})
    assert run([role(), policy, by_arn])[0]
    assert run([role(), policy, by_dependency])[0]


def test_narrow_attachments_and_other_roles_attachments_pass():
    narrow = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "ro",
                 {"role": "app-role",
                  "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"})
    elsewhere = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "admin",
                    {"role": "ci-role", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
    outside = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "ext",
                  {"role": "app-role", "policyArn": "arn:aws:iam::111122223333:policy/unknown"})
    assert run([role(), narrow, elsewhere, outside]) == ([], [])


def test_unknown_trust_defers_a_broad_finding_and_unknown_links_are_deferred():
    violations, deferred = run([role(trust=UNKNOWN,
                                     inlinePolicies=[{"name": "p", "policy": doc()}])])
    assert violations == [] and "trust policy is not known" in deferred[0].reason
    unlinked = res("aws:iam/rolePolicy:RolePolicy", "p", {"role": UNKNOWN, "policy": doc()})
    violations, deferred = run([role(), unlinked])
    assert violations == [] and deferred


POD_IDENTITY_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
    "Action": ["sts:AssumeRole", "sts:TagSession"]}]})


def test_eks_pod_identity_roles_are_pod_roles_too():
    admin = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "admin",
                {"role": "app-role", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
    violations, _ = run([role(trust=POD_IDENTITY_TRUST), admin])
    assert len(violations) == 1 and "EKS Pod" in violations[0].message
