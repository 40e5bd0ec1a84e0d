"""Condition operators, ...IfExists, Null and the set qualifiers, against AWS's documentation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pgiam.iam import Request, evaluate_identity_policies, parse_policy

ACTION = "svc:Do"
RESOURCE = "arn:aws:svc:us-east-1:111122223333:thing/x"


def allowed(condition: dict[str, Any], context: dict[str, Any], *, version: str = "2012-10-17") -> bool:
    """Whether an Allow statement with only this Condition allows a request with this context."""
    policy = parse_policy(
        {
            "Version": version,
            "Statement": {"Effect": "Allow", "Action": ACTION, "Resource": "*", "Condition": condition},
        }
    )
    return evaluate_identity_policies([policy], Request(ACTION, RESOURCE, context=context)).allowed


# IAM User Guide, "IAM JSON policy elements: Condition operators" (String, Numeric, Date, Bool,
# Binary, IP address, ARN sections and their examples).
OPERATOR_TABLE: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    (
        {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
        {"aws:PrincipalTag/job-category": "iamuser-admin"},
        True,
    ),
    (
        {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
        {"aws:PrincipalTag/job-category": "IAMUSER-ADMIN"},
        False,
    ),
    ({"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}, {}, False),  # key absent
    ({"StringEquals": {"a:k": "x*"}}, {"a:k": "xyz"}, False),  # "*" is literal in StringEquals
    ({"StringEquals": {"a:k": "x*"}}, {"a:k": "x*"}, True),
    ({"StringNotEquals": {"a:k": ["x", "y"]}}, {"a:k": "z"}, True),  # NOR over the values
    ({"StringNotEquals": {"a:k": ["x", "y"]}}, {"a:k": "y"}, False),
    ({"StringNotEquals": {"a:k": "x"}}, {}, True),  # negated, key absent: true
    ({"StringEqualsIgnoreCase": {"a:k": "Hello"}}, {"a:k": "hELLO"}, True),
    ({"StringNotEqualsIgnoreCase": {"a:k": "Hello"}}, {"a:k": "hELLO"}, False),
    (
        {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}},
        {"s3:prefix": "home/bob/", "aws:username": "bob"},
        True,
    ),
    (
        {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}},
        {"s3:prefix": "home/eve/", "aws:username": "bob"},
        False,
    ),
    ({"StringLike": {"s3:prefix": ["", "home/"]}}, {"s3:prefix": ""}, True),
    ({"StringLike": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}, {"ec2:InstanceType": "t2.micro"}, True),
    ({"StringLike": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}, {"ec2:InstanceType": "t3.micro"}, False),
    ({"StringLike": {"a:k": "a?c"}}, {"a:k": "ABC"}, False),  # case-sensitive
    ({"StringNotLike": {"a:k": ["a*", "b*"]}}, {"a:k": "cat"}, True),
    ({"StringNotLike": {"a:k": ["a*", "b*"]}}, {"a:k": "bat"}, False),
    ({"StringNotLike": {"a:k": "a*"}}, {}, True),  # "StringNotLike ... key not present: true"
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, True),
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": 11}, False),
    ({"NumericLessThan": {"a:n": "10"}}, {"a:n": 9.5}, True),
    ({"NumericEquals": {"a:n": "10"}}, {"a:n": "10.0"}, True),
    ({"NumericNotEquals": {"a:n": ["1", "2"]}}, {"a:n": 3}, True),
    ({"NumericNotEquals": {"a:n": ["1", "2"]}}, {"a:n": 2}, False),
    ({"NumericGreaterThan": {"a:n": 5}}, {"a:n": 5}, False),
    ({"NumericGreaterThanEquals": {"a:n": 5}}, {"a:n": 5}, True),
    ({"NumericEquals": {"a:n": "10"}}, {"a:n": "ten"}, False),
    (
        {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},
        {"aws:TokenIssueTime": "2020-06-01T00:00:00Z"},
        True,
    ),
    (
        {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},
        {"aws:TokenIssueTime": "2019-12-31T23:59:59Z"},
        False,
    ),
    ({"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}, {}, False),  # IAM user: key absent
    (
        {"DateLessThan": {"aws:CurrentTime": "2020-01-01"}},
        {"aws:CurrentTime": datetime(2019, 5, 1, tzinfo=UTC)},
        True,
    ),
    ({"DateLessThan": {"aws:EpochTime": "1577836800"}}, {"aws:EpochTime": 1577836799}, True),  # epoch seconds
    (
        {"DateEquals": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        {"aws:CurrentTime": "2020-01-01T01:00:00+01:00"},
        True,
    ),
    ({"DateNotEquals": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, {"aws:CurrentTime": 1577836800}, False),
    (
        {"DateLessThanEquals": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        {"aws:CurrentTime": 1577836800},
        True,
    ),
    (
        {"DateGreaterThanEquals": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        {"aws:CurrentTime": 1577836799},
        False,
    ),
    ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": False}, True),
    ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, False),
    ({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "TRUE"}, True),
    ({"BinaryEquals": {"a:bin": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}, {"a:bin": b"BinaryValueInBase64"}, True),
    ({"BinaryEquals": {"a:bin": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}, {"a:bin": b"other"}, False),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.77"}, True),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "198.51.100.1"}, False),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {}, False),  # through a VPC endpoint: absent
    (
        {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}},
        {"aws:SourceIp": "2001:db8:1234:5678::9"},
        True,
    ),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.5"}}, {"aws:SourceIp": "203.0.113.5"}, True),  # no prefix: /32
    ({"IpAddress": {"aws:SourceIp": "203.0.113.5"}}, {"aws:SourceIp": "203.0.113.6"}, False),
    (
        {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "10.0.0.0/8"]}},
        {"aws:SourceIp": "10.1.2.3"},
        False,
    ),
    (
        {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "10.0.0.0/8"]}},
        {"aws:SourceIp": "192.0.2.1"},
        True,
    ),
    (
        {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:TOPIC"}},
        {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:TOPIC"},
        True,
    ),
    (
        {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
        {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:TOPIC"},
        True,
    ),
    (
        {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:TOPIC"}},
        {},
        False,
    ),  # direct call: absent
    (
        {"ArnLike": {"aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"}},
        {
            "aws:SourceArn": "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
        },
        False,
    ),
    (
        {"StringLike": {"aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"}},
        {
            "aws:SourceArn": "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
        },
        True,
    ),
    (
        {"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
        {"aws:SourceArn": "arn:aws:sns:us-east-1:999999999999:t"},
        True,
    ),
    (
        {"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
        {},
        True,
    ),  # "ArnNotLike ... not present: true"
    (
        {"ArnNotEquals": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
        {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:t"},
        False,
    ),
]


@pytest.mark.parametrize(("condition", "context", "expected"), OPERATOR_TABLE)
def test_condition_operators(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    assert allowed(condition, context) is expected


# IAM User Guide, "Condition operators", "...IfExists condition operators" and the Deny note.
IF_EXISTS_TABLE: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}, {}, True),
    (
        {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}},
        {"ec2:InstanceType": "t2.small"},
        True,
    ),
    (
        {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}},
        {"ec2:InstanceType": "p4d.24xlarge"},
        False,
    ),
    ({"StringNotEqualsIfExists": {"a:k": "x"}}, {}, True),
    ({"StringNotEqualsIfExists": {"a:k": "x"}}, {"a:k": "x"}, False),
    ({"NumericLessThanIfExists": {"a:n": "3"}}, {}, True),
    ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, {}, True),
    ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, {"aws:MultiFactorAuthPresent": False}, False),
    ({"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}}, {}, True),
    ({"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:sns:*:1:*"}}, {}, True),
    ({"DateGreaterThanIfExists": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}, {}, True),
]


@pytest.mark.parametrize(("condition", "context", "expected"), IF_EXISTS_TABLE)
def test_if_exists(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    assert allowed(condition, context) is expected


def test_deny_with_negated_if_exists_still_denies_when_key_is_missing() -> None:
    # "If you are using an "Effect": "Deny" element with a negated condition operator like
    # StringNotEqualsIfExists, the request is still denied even if the tag is missing."
    policy = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringNotEqualsIfExists": {"aws:ResourceTag/team": "a"}},
                },
            ],
        }
    )
    assert evaluate_identity_policies([policy], Request(ACTION, RESOURCE)).effect == "ExplicitDeny"


# IAM User Guide, "Condition operators", "Condition operator to check existence of condition keys".
NULL_TABLE: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"Null": {"aws:TokenIssueTime": "true"}}, {}, True),  # long-term credentials: key absent
    ({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}, False),
    ({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}, True),
    ({"Null": {"aws:TokenIssueTime": "false"}}, {}, False),
    ({"Null": {"aws:TokenIssueTime": False}}, {"aws:TokenIssueTime": None}, False),  # null value
    ({"Null": {"aws:TagKeys": "false"}}, {"aws:TagKeys": []}, False),  # empty multivalued key
]


@pytest.mark.parametrize(("condition", "context", "expected"), NULL_TABLE)
def test_null(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    assert allowed(condition, context) is expected


# IAM User Guide, "Creating a condition that tests multiple key values (set operations)" and
# "Single-valued vs. multivalued context keys": the DynamoDB requestedAttributes examples.
SET_TABLE: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    (
        {"ForAllValues:StringLike": {"dynamodb:requestedAttributes": ["PostDateTime", "Message", "Tags"]}},
        {"dynamodb:requestedAttributes": ["PostDateTime", "Message"]},
        True,
    ),
    (
        {"ForAllValues:StringLike": {"dynamodb:requestedAttributes": ["PostDateTime", "Message", "Tags"]}},
        {"dynamodb:requestedAttributes": ["PostDateTime", "UserName"]},
        False,
    ),
    (
        {"ForAllValues:StringLike": {"dynamodb:requestedAttributes": ["PostDateTime", "Message", "Tags"]}},
        {"dynamodb:requestedAttributes": ["ID"]},
        False,
    ),
    # "It also returns true if there are no context keys in the request" / empty data set.
    ({"ForAllValues:StringLike": {"dynamodb:requestedAttributes": ["PostDateTime"]}}, {}, True),
    (
        {"ForAllValues:StringLike": {"dynamodb:requestedAttributes": ["PostDateTime"]}},
        {"dynamodb:requestedAttributes": []},
        True,
    ),
    (
        {"ForAllValues:StringLike": {"dynamodb:requestedAttributes": ["PostDateTime"]}},
        {"dynamodb:requestedAttributes": ""},
        True,
    ),
    (
        {"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID", "PostDateTime"]}},
        {"dynamodb:requestedAttributes": ["UserName", "Message", "PostDateTime"]},
        True,
    ),
    (
        {"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID", "PostDateTime"]}},
        {"dynamodb:requestedAttributes": ["UserName"]},
        False,
    ),
    ({"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID"]}}, {}, False),
    (
        {"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID"]}},
        {"dynamodb:requestedAttributes": []},
        False,
    ),
    (
        {"ForAnyValue:StringLike": {"dynamodb:requestedAttributes": ["ID"]}},
        {"dynamodb:requestedAttributes": ""},
        False,
    ),
    # aws:TagKeys examples: every tag key must be in the allowed list / any is forbidden.
    (
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
        {"aws:TagKeys": ["environment"]},
        True,
    ),
    (
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
        {"aws:TagKeys": ["environment", "owner"]},
        False,
    ),
    (
        {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
        {"aws:TagKeys": ["owner", "cost-center"]},
        True,
    ),
    # Negated operators under a qualifier apply the NOR per request value.
    ({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}, {"aws:TagKeys": ["a", "b"]}, True),
    ({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}, {"aws:TagKeys": ["a", "secret"]}, False),
    ({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["secret"]}}, {"aws:TagKeys": ["secret", "a"]}, True),
    ({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["secret"]}}, {"aws:TagKeys": ["secret"]}, False),
    ({"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["secret"]}}, {}, False),
    ({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}, {}, True),
    ({"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["x"]}}, {}, True),
    # Several values under a plain operator are ambiguous: an Allow applies only when every
    # reading agrees (strict by default; see the resolution tests below). One value is not.
    ({"StringEquals": {"aws:TagKeys": "a"}}, {"aws:TagKeys": ["b", "a"]}, False),
    ({"StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["b", "a"]}, True),
    ({"StringEquals": {"aws:TagKeys": "a"}}, {"aws:TagKeys": ["a"]}, True),
    ({"StringEquals": {"aws:TagKeys": "a"}}, {"aws:TagKeys": ["b"]}, False),
]


@pytest.mark.parametrize(("condition", "context", "expected"), SET_TABLE)
def test_set_qualifiers(condition: dict[str, Any], context: dict[str, Any], expected: bool) -> None:
    assert allowed(condition, context) is expected


# IAM User Guide, "Condition with multiple context keys or values": operators AND, keys AND,
# values OR.
def test_multiple_operators_and_keys_are_anded_values_ored() -> None:
    condition = {
        "StringEquals": {"aws:PrincipalTag/dept": ["a", "b"], "aws:PrincipalTag/role": "dev"},
        "Bool": {"aws:SecureTransport": "true"},
    }
    base = {"aws:PrincipalTag/dept": "b", "aws:PrincipalTag/role": "dev", "aws:SecureTransport": True}
    assert allowed(condition, base)
    assert not allowed(condition, base | {"aws:PrincipalTag/dept": "c"})
    assert not allowed(condition, base | {"aws:PrincipalTag/role": "ops"})
    assert not allowed(condition, base | {"aws:SecureTransport": False})


def test_condition_keys_are_case_insensitive_values_are_not() -> None:
    assert allowed({"StringEquals": {"AWS:PrincipalTag/Dept": "a"}}, {"aws:principaltag/dept": "a"})
    assert not allowed({"StringEquals": {"aws:PrincipalTag/Dept": "a"}}, {"aws:PrincipalTag/Dept": "A"})


# IAM User Guide, "IAM policy elements: Variables and tags".
def test_policy_variable_in_condition_value_and_default() -> None:
    assert allowed(
        {"StringEquals": {"a:owner": "${aws:username}"}}, {"a:owner": "bob", "aws:username": "bob"}
    )
    assert not allowed(
        {"StringEquals": {"a:owner": "${aws:username}"}}, {"a:owner": "eve", "aws:username": "bob"}
    )
    assert allowed({"StringEquals": {"a:owner": "${aws:userid, 'anonymous'}"}}, {"a:owner": "anonymous"})
    assert allowed({"StringEquals": {"a:owner": "${aws:userid, 'it''s'}"}}, {"a:owner": "it's"})


def test_unresolved_variable_makes_the_statement_not_apply() -> None:
    assert not allowed({"StringEquals": {"a:owner": ["x", "${aws:username}"]}}, {"a:owner": "x"})
    assert not allowed({"StringEquals": {"a:owner": "${aws:username}"}}, {"a:owner": "${aws:username}"})
    assert not allowed({"StringNotEquals": {"a:owner": "${aws:username}"}}, {"a:owner": "x"})


def test_escapes_are_literal_characters() -> None:
    assert allowed({"StringLike": {"a:k": "a${*}b"}}, {"a:k": "a*b"})
    assert not allowed({"StringLike": {"a:k": "a${*}b"}}, {"a:k": "axxb"})
    assert allowed({"StringLike": {"a:k": "${?}${$}"}}, {"a:k": "?$"})


def test_substituted_value_is_never_a_wildcard() -> None:
    assert not allowed(
        {"StringLike": {"a:k": "home/${aws:username}"}}, {"a:k": "home/bob", "aws:username": "*"}
    )
    assert allowed({"StringLike": {"a:k": "home/${aws:username}"}}, {"a:k": "home/*", "aws:username": "*"})


def test_old_version_reads_variables_as_text() -> None:
    assert allowed(
        {"StringEquals": {"a:k": "${aws:username}"}}, {"a:k": "${aws:username}"}, version="2008-10-17"
    )
    assert not allowed(
        {"StringEquals": {"a:k": "${aws:username}"}},
        {"a:k": "bob", "aws:username": "bob"},
        version="2008-10-17",
    )


def test_multivalued_key_is_not_a_variable() -> None:
    assert not allowed({"StringEquals": {"a:k": "${aws:TagKeys}"}}, {"a:k": "x", "aws:TagKeys": ["x"]})


AMBIGUOUS = {"StringEquals": {"aws:TagKeys": "a"}}
SEVERAL = {"aws:TagKeys": ["b", "a"]}


def decide(effect: str, condition: dict[str, Any], context: dict[str, Any], **options: Any):
    statements = [{"Effect": effect, "Action": ACTION, "Resource": "*", "Condition": condition}]
    if effect == "Deny":
        statements.append({"Effect": "Allow", "Action": ACTION, "Resource": "*"})
    policy = parse_policy({"Version": "2012-10-17", "Statement": statements})
    return evaluate_identity_policies([policy], Request(ACTION, RESOURCE, context=context), **options)


def test_an_ambiguous_allow_grants_nothing_by_default_and_the_decision_names_the_key() -> None:
    decision = decide("Allow", AMBIGUOUS, SEVERAL)
    assert decision.effect == "ImplicitDeny"
    assert decision.ambiguous == ("aws:TagKeys",)
    assert "ambiguous" in str(decision) and "aws:TagKeys" in str(decision)


def test_the_permissive_resolution_answers_what_the_policy_could_grant_at_worst() -> None:
    decision = decide("Allow", AMBIGUOUS, SEVERAL, resolution="permissive")
    assert decision.allowed and decision.ambiguous == ("aws:TagKeys",)


def test_an_ambiguous_deny_denies_by_default_and_not_under_the_permissive_resolution() -> None:
    assert decide("Deny", AMBIGUOUS, SEVERAL).effect == "ExplicitDeny"
    assert decide("Deny", AMBIGUOUS, SEVERAL, resolution="permissive").allowed


def test_readings_that_agree_are_not_ambiguous() -> None:
    # control: the same statements with one request value, or a qualified operator
    assert decide("Allow", AMBIGUOUS, {"aws:TagKeys": ["a"]}).ambiguous == ()
    assert decide("Allow", AMBIGUOUS, {"aws:TagKeys": ["a"]}).allowed
    qualified = decide("Allow", {"ForAnyValue:StringEquals": {"aws:TagKeys": "a"}}, SEVERAL)
    assert qualified.allowed and qualified.ambiguous == ()
    both = decide("Allow", {"StringEquals": {"aws:TagKeys": ["a", "b"]}}, SEVERAL)
    assert both.allowed and both.ambiguous == ()


def test_a_refusal_for_ambiguity_is_explained() -> None:
    from pgiam.iam import explain_no_allow

    policy = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ACTION, "Resource": "*", "Condition": AMBIGUOUS}]})
    text = explain_no_allow(policy, Request(ACTION, RESOURCE, context=SEVERAL))
    assert "without ForAnyValue:/ForAllValues:" in text and "ambiguous" in text
