"""irsa-role-unreadable-policy: a policy a pod role gets but the pack cannot read (a foreign
customer managed ARN, an AWS managed ARN with no known document) is named, alone or as one
element of a list next to the stack's own policy; policies of the stack and known AWS managed
ones are not; roles pods do not assume are not judged."""

from __future__ import annotations

import json

import pytest

from iamdb_rules.catalog import BY_NAME
from iamdb_rules.model import Resource
from iamdb_rules.props import UNKNOWN

ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
POD_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
    "Principal": {"Federated": f"arn:aws:iam::111122223333:oidc-provider/{ISSUER}"},
    "Condition": {"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:shop:api"}}}]})
EC2_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}]})
OWN = "arn:aws:iam::111122223333:policy/shop-connect"
FOREIGN = "arn:aws:iam::999999999999:policy/shared-db-access"
POLICY_URN = "urn:pulumi:dev::p::aws:iam/policy:Policy::connect"
ROLE_URN = "urn:pulumi:dev::p::aws:iam/role:Role::api"


def stack(*arns, trust=POD_TRUST) -> list[Resource]:
    own = Resource("aws:iam/policy:Policy", POLICY_URN, "connect", {
        "arn": OWN, "name": "shop-connect", "policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds-db:connect",
            "Resource": "arn:aws:rds-db:eu-west-1:111122223333:dbuser:cluster-ABC/app"}]})})
    role = Resource("aws:iam/role:Role", ROLE_URN, "api", {
        "name": "api", "assumeRolePolicy": trust, "managedPolicyArns": list(arns)},
        property_dependencies={"managedPolicyArns": (POLICY_URN,)})
    return [own, role]


def run(resources):
    rule = BY_NAME["irsa-role-unreadable-policy"]
    return rule.run(resources, rule.context(stack="dev"))


@pytest.mark.parametrize("arns", [(OWN, FOREIGN), (FOREIGN,),
                                  (OWN, "arn:aws:iam::aws:policy/NoSuchManagedPolicyName")],
                         ids=["mixed-list", "alone", "unknown-aws-managed"])
def test_a_policy_the_pack_cannot_read_is_named(arns):
    violations, deferred = run(stack(*arns))
    assert [v.urn for v in violations] == [ROLE_URN] and deferred == []
    assert arns[-1] in violations[0].message


@pytest.mark.parametrize("arns", [(OWN,), (OWN, "arn:aws:iam::aws:policy/AmazonRDSReadOnlyAccess"),
                                  ()])
def test_policies_of_the_stack_and_known_aws_managed_ones_are_readable(arns):
    assert run(stack(*arns)) == ([], [])


def test_roles_pods_do_not_assume_are_not_judged():
    assert run(stack(OWN, FOREIGN, trust=EC2_TRUST)) == ([], [])


def test_an_unknown_trust_defers():
    violations, deferred = run(stack(FOREIGN, trust=UNKNOWN))
    assert violations == [] and [d.urn for d in deferred] == [ROLE_URN]


def test_a_foreign_policy_in_an_exclusive_attachment_list_is_named_on_the_attachment():
    resources = stack()
    exclusive = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive"
    resources.append(Resource(exclusive, f"urn:pulumi:dev::p::{exclusive}::all", "all", {
        "roleName": "api", "policyArns": [OWN, FOREIGN]},
        property_dependencies={"roleName": (ROLE_URN,), "policyArns": (POLICY_URN,)}))
    violations, _ = run(resources)
    assert [v.urn for v in violations] == [f"urn:pulumi:dev::p::{exclusive}::all"]
    assert ".policyArns[1]" in violations[0].message


def test_a_literal_arn_next_to_a_stack_policy_whose_arn_is_unknown_waits():
    """At preview the stack's own policy has no ARN yet and the list depends on it: the literal
    ARN might be that policy's, so it is deferred, not reported."""
    own, role = stack(UNKNOWN, FOREIGN)
    own = Resource(own.type, own.urn, own.name, {**own.props, "arn": UNKNOWN, "name": UNKNOWN})
    violations, deferred = run([own, role])
    assert violations == [] and [d.urn for d in deferred] == [ROLE_URN]
    assert FOREIGN in deferred[0].reason


@pytest.mark.parametrize("type_, props", [
    ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"role": "api", "policyArn": FOREIGN}),
    ("aws:iam/policyAttachment:PolicyAttachment", {"roles": ["api"], "policyArn": FOREIGN}),
], ids=["role-policy-attachment", "policy-attachment"])
def test_a_foreign_policy_attached_by_an_attachment_is_named_on_it(type_, props):
    attachment = Resource(type_, f"urn:pulumi:dev::p::{type_}::shared", "shared", props,
                          property_dependencies={"role": (ROLE_URN,), "roles": (ROLE_URN,)})
    violations, _ = run([*stack(OWN), attachment])
    assert [v.urn for v in violations] == [attachment.urn]
