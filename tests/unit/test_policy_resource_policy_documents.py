"""Resource-based policies (KMS key policies, bucket, secret, queue, topic, repository policies)
are read with IAM's grammar: NotPrincipal with Allow, which AWS refuses, is reported by
iam-policy-document-valid; a single-valued operator on a multivalued key by the advisory
iam-condition-multivalued-key-operator; correct resource policies pass."""

from __future__ import annotations

import json

import pytest

from iamdb_rules.catalog import BY_NAME
from iamdb_rules.model import Resource
from iamdb_rules.props import UNKNOWN

TYPES = {"aws:kms/key:Key": "policy", "aws:kms/keyPolicy:KeyPolicy": "policy",
         "aws:s3/bucketPolicy:BucketPolicy": "policy",
         "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
         "aws:sqs/queuePolicy:QueuePolicy": "policy"}
ADMIN = "arn:aws:iam::111122223333:root"


def resource(type_: str, statement: dict) -> Resource:
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::r", "r", {TYPES[type_]: document})


def run(rule: str, subject: Resource):
    policy = BY_NAME[rule]
    return policy.run(subject, policy.context(stack="dev"))


@pytest.mark.parametrize("type_", sorted(TYPES))
def test_not_principal_with_allow_in_a_resource_policy_is_invalid(type_):
    violations, _ = run("iam-policy-document-valid", resource(type_, {
        "Effect": "Allow", "NotPrincipal": {"AWS": ADMIN}, "Action": "*", "Resource": "*"}))
    assert len(violations) == 1 and "NotPrincipal" in violations[0].message


@pytest.mark.parametrize("type_", sorted(TYPES))
def test_a_correct_resource_policy_passes(type_):
    assert run("iam-policy-document-valid", resource(type_, {
        "Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "*",
        "Resource": "*"})) == ([], [])


def test_not_principal_with_deny_is_accepted_in_a_resource_policy():
    assert run("iam-policy-document-valid", resource("aws:kms/key:Key", {
        "Effect": "Deny", "NotPrincipal": {"AWS": ADMIN}, "Action": "kms:Decrypt",
        "Resource": "*"})) == ([], [])


def test_an_unknown_key_policy_is_deferred():
    subject = Resource("aws:kms/key:Key", "urn:pulumi:dev::p::aws:kms/key:Key::k", "k",
                       {"policy": UNKNOWN})
    violations, deferred = run("iam-policy-document-valid", subject)
    assert violations == [] and len(deferred) == 1


def test_a_bucket_policy_with_string_equals_on_principal_org_paths_is_ambiguous():
    violations, _ = run("iam-condition-multivalued-key-operator", resource(
        "aws:s3/bucketPolicy:BucketPolicy", {
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::reports/*",
            "Condition": {"StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3/r-ab12/ou-ab12-1/*"}}}))
    assert len(violations) == 1
