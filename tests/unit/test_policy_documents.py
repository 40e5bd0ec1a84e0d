"""Reading IAM documents where resources carry them, with unknown members, and the validity rule
(pgiam.iam's strict grammar) once they are known."""

from __future__ import annotations

import json
import os

import pytest

from iamdb_rules.catalog import BY_NAME
from iamdb_rules.documents import documents_of, read_document
from iamdb_rules.model import Resource, plain
from iamdb_rules.props import UNKNOWN


def res(type_: str, props: dict) -> Resource:
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::x", "x", props)


def test_documents_are_found_in_every_resource_that_carries_one():
    role = res("aws:iam/role:Role", {"assumeRolePolicy": "{}", "inlinePolicies": [
        {"name": "a", "policy": "{}"}, {"name": "empty"}, UNKNOWN]})
    assert [(ref.kind, ref.path) for ref in documents_of(role)] == [
        ("trust", ".assumeRolePolicy"), ("identity", ".inlinePolicies[0].policy"),
        ("identity", ".inlinePolicies[2]")]
    native = res("aws-native:iam:Role", {"assumeRolePolicyDocument": {}, "policies": [
        {"policyName": "p", "policyDocument": {"Statement": []}}]})
    assert [ref.path for ref in documents_of(native)] == [
        ".assumeRolePolicyDocument", ".policies[0].policyDocument"]
    for type_ in ("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy",
                  "aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy"):
        assert [ref.kind for ref in documents_of(res(type_, {"policy": "{}"}))] == ["identity"]
    assert documents_of(res("aws:s3/bucket:Bucket", {"policy": "{}"})) == []


@pytest.mark.parametrize("value, unknown, error", [
    (UNKNOWN, True, None),
    ({"Statement": UNKNOWN}, True, None),
    ("{not json", False, "not JSON"),
    ("[1, 2]", False, "must be a JSON object"),
    ({"Statement": "Allow"}, False, "Statement must be"),
])
def test_documents_unknown_or_malformed(value, unknown, error):
    document = read_document(value)
    assert document.unknown is unknown
    assert (error is None and document.error is None) or error in document.error


def test_statement_answers_in_three_values():
    document = read_document({"Statement": [
        {"Effect": "Allow", "Action": ["s3:Get*", UNKNOWN], "Resource": "*"},
        {"Effect": UNKNOWN, "Action": "rds-db:connect", "Resource": "*"},
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})
    first, second, third = document.statements
    assert first.grants("s3:GetObject") is True
    assert first.grants("rds-db:connect") is None
    assert second.grants("rds-db:connect") is None and second.grants("s3:GetObject") is False
    assert third.grants("rds-db:connect") is True and third.grants("iam:PassRole") is False


@pytest.fixture(scope="module")
def unknown_checking_proxy():
    """pulumi-policy's own ``proxy.unknown_checking_proxy``, what its server wraps props in, loaded
    from its file: importing the ``pulumi_policy`` package would import the Pulumi SDK."""
    import importlib.util

    spec = importlib.util.find_spec("pulumi_policy")
    path = os.path.join(os.path.dirname(spec.origin), "proxy.py")
    module_spec = importlib.util.spec_from_file_location("_pulumi_policy_proxy", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_props_wrapped_as_the_server_does_are_read_as_plain_values(unknown_checking_proxy):
    props = {"assumeRolePolicy": UNKNOWN, "inlinePolicies": [{"name": "p", "policy": UNKNOWN}],
             "tags": {"a": "b"}}
    proxied = unknown_checking_proxy.unknown_checking_proxy(props)
    with pytest.raises(unknown_checking_proxy.UnknownValueError):
        proxied["assumeRolePolicy"]
    assert plain(proxied) == props
    role = Resource("aws:iam/role:Role", "urn:x", "x", plain(proxied))
    violations, deferred = BY_NAME["irsa-trust-subject"].run(role)
    assert violations == [] and deferred


def run(subject):
    rule = BY_NAME["iam-policy-document-valid"]
    return rule.run(subject, rule.context(stack="dev"))


@pytest.mark.parametrize("document, where", [
    ({"Version": "2012-10-17", "Statement": [{"Effect": "allow", "Action": "s3:*",
                                               "Resource": "*"}]}, "Statement[0].Effect"),
    ({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                     "Condition": {"stringEquals": {"aws:SourceIp": "1.2.3.4"}}}]},
     "Condition.stringEquals"),
    ({"Statement": [{"Effect": "Allow", "Action": "s3:*"}]}, "needs Resource"),
    ({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "bucket"}]},
     "ARN format"),
], ids=["effect-case", "operator-case", "identity-without-resource", "resource-not-an-arn"])
def test_documents_iam_would_refuse_are_violations(document, where):
    violations, _ = run(res("aws:iam/policy:Policy", {"policy": json.dumps(document)}))
    assert len(violations) == 1 and where in violations[0].message


def test_trust_documents_are_read_as_trust_policies():
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole", "Resource": "*"}]}
    violations, _ = run(res("aws:iam/role:Role", {"assumeRolePolicy": json.dumps(trust)}))
    assert "not allowed in a role trust policy" in violations[0].message
    del trust["Statement"][0]["Resource"]
    assert run(res("aws:iam/role:Role", {"assumeRolePolicy": trust})) == ([], [])


def test_partly_unknown_documents_are_deferred_and_snake_case_objects_pass():
    violations, deferred = run(res("aws:iam/policy:Policy", {"policy": {
        "Statement": [{"Effect": "Allow", "Action": UNKNOWN, "Resource": "*"}]}}))
    assert violations == [] and deferred
    snake = {"version": "2012-10-17", "statement": [{"effect": "Allow", "not_action": "iam:*",
                                                     "resource": "*"}]}
    assert run(res("aws:iam/policy:Policy", {"policy": snake})) == ([], [])
