"""The policy grammar: what parse_policy accepts, and what it refuses with the place named."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from pgiam.errors import PgiamError
from pgiam.iam import (
    Condition,
    Policy,
    PolicyDocumentError,
    PrincipalSpec,
    Statement,
    parse_policy,
)

ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def test_statement_may_be_one_object_and_elements_one_string() -> None:
    policy = parse_policy({"Version": "2012-10-17", "Id": "p1", "Statement": ALLOW_ALL})
    assert policy == Policy("2012-10-17", "p1", (Statement("Allow", actions=("*",), resources=("*",)),))


def test_json_text_and_bytes_are_read_like_objects() -> None:
    document = {"Version": "2012-10-17", "Statement": [ALLOW_ALL]}
    assert parse_policy(json.dumps(document)) == parse_policy(document)
    assert parse_policy(json.dumps(document).encode()) == parse_policy(document)


def test_every_element_is_read() -> None:
    policy = parse_policy(
        {
            "Version": "2008-10-17",
            "Statement": [
                {
                    "Sid": "one",
                    "Effect": "Deny",
                    "NotAction": ["s3:Get*", "s3:List*"],
                    "NotResource": "arn:aws:s3:::b/*",
                    "NotPrincipal": {"AWS": ["111122223333", "arn:aws:iam::111122223333:user/bob"]},
                    "Condition": {
                        "ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["a*", "b"]},
                        "NumericLessThan": {"s3:max-keys": 10},
                        "Bool": {"aws:SecureTransport": False},
                    },
                },
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": "*"},
            ],
        }
    )
    first, second = policy.statements
    assert policy.version == "2008-10-17" and not policy.variables_enabled
    assert first.sid == "one" and first.effect == "Deny" and first.index == 0
    assert first.not_actions == ("s3:Get*", "s3:List*") and first.actions is None
    assert first.not_resources == ("arn:aws:s3:::b/*",) and first.resources is None
    assert first.not_principal == PrincipalSpec(
        {"AWS": ("111122223333", "arn:aws:iam::111122223333:user/bob")}
    )
    assert first.conditions == (
        Condition("ForAnyValue:StringLikeIfExists", "aws:TagKeys", ("a*", "b")),
        Condition("NumericLessThan", "s3:max-keys", ("10",)),
        Condition("Bool", "aws:SecureTransport", ("false",)),
    )
    spec = first.conditions[0].spec
    assert (spec.qualifier, spec.base, spec.if_exists) == ("ForAnyValue", "StringLike", True)
    assert second.principal == "*" and second.index == 1


def test_absent_version_reads_as_old_language() -> None:
    policy = parse_policy({"Statement": ALLOW_ALL})
    assert policy.version is None and not policy.variables_enabled


def test_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(PolicyDocumentError("Statement[1].Effect", "missing")))
    assert (error.where, error.what, str(error)) == (
        "Statement[1].Effect",
        "missing",
        "Statement[1].Effect: missing",
    )


def test_error_is_a_value_error_and_a_pgiam_error() -> None:
    with pytest.raises(PolicyDocumentError) as caught:
        parse_policy({"Statement": {"Effect": "allow", "Action": "*", "Resource": "*"}})
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, PgiamError)
    assert caught.value.where == "Statement[0].Effect"
    assert str(caught.value).startswith("Statement[0].Effect: ")


def _statements(*extra: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [ALLOW_ALL, ALLOW_ALL | {"Sid": "two"}, *extra]}


MALFORMED: list[tuple[Any, str, str]] = [
    ("{not json", "(document)", "not JSON"),
    ("[]", "(document)", "JSON object"),
    ({"Version": "2012-10-17"}, "Statement", "missing"),
    ({"Statement": []}, "Statement", "non-empty"),
    ({"Statement": "x"}, "Statement", "statement object"),
    ({"Version": "2012-10-18", "Statement": ALLOW_ALL}, "Version", "2012-10-17"),
    ({"Statement": ALLOW_ALL, "Extra": 1}, "Extra", "unknown top-level"),
    ({"Id": 5, "Statement": ALLOW_ALL}, "Id", "string"),
    (_statements({"Action": "*", "Resource": "*"}), "Statement[2].Effect", "missing"),
    (
        _statements({"Effect": "allow", "Action": "*", "Resource": "*"}),
        "Statement[2].Effect",
        "case-sensitive",
    ),
    (_statements({"Effect": "Allow", "Resource": "*"}), "Statement[2]", "needs Action or NotAction"),
    (
        _statements({"Effect": "Allow", "Action": "*", "NotAction": "s3:x", "Resource": "*"}),
        "Statement[2]",
        "both Action and NotAction",
    ),
    (
        _statements({"Effect": "Allow", "Action": "*", "Resource": "*", "NotResource": "*"}),
        "Statement[2]",
        "both Resource and NotResource",
    ),
    (
        _statements({"Effect": "Allow", "Action": "*", "Principal": "*", "NotPrincipal": "*"}),
        "Statement[2]",
        "both Principal and NotPrincipal",
    ),
    (
        _statements({"Effect": "Allow", "Action": "*", "Resource": "*", "Actions": "x"}),
        "Statement[2].Actions",
        "unknown statement element",
    ),
    (_statements({"Effect": "Allow", "Action": [], "Resource": "*"}), "Statement[2].Action", "empty list"),
    (
        _statements({"Effect": "Allow", "Action": ["s3:x", 3], "Resource": "*"}),
        "Statement[2].Action[1]",
        "string",
    ),
    (
        _statements({"Effect": "Allow", "Action": "GetItem", "Resource": "*"}),
        "Statement[2].Action",
        "not an action",
    ),
    (
        _statements({"Effect": "Allow", "Action": ["s3:x", "s3"], "Resource": "*"}),
        "Statement[2].Action[1]",
        "not an action",
    ),
    (
        _statements({"Effect": "Allow", "Action": "*", "Resource": {"a": 1}}),
        "Statement[2].Resource",
        "string or a list",
    ),
    (
        _statements({"Effect": "Allow", "Action": "*", "Resource": ["*", "my-bucket"]}),
        "Statement[2].Resource[1]",
        "ARN format",
    ),
    (
        _statements({"Effect": "Allow", "Action": "*", "NotResource": "bucket/*"}),
        "Statement[2].NotResource",
        "ARN format",
    ),
    (
        _statements({"Effect": "Allow", "Action": "*", "Resource": "*", "Sid": "two"}),
        "Statement[2].Sid",
        "unique",
    ),
    (
        _statements({"Effect": "Allow", "Action": "*", "Resource": "*", "Sid": 3}),
        "Statement[2].Sid",
        "string",
    ),
    (
        _statements({"Effect": "Allow", "Action": "*", "Principal": {"IAM": "x"}}),
        "Statement[2].Principal.IAM",
        "unknown principal type",
    ),
    (_statements({"Effect": "Allow", "Action": "*", "Principal": {}}), "Statement[2].Principal", "object"),
    (
        _statements({"Effect": "Allow", "Action": "*", "Principal": "everyone"}),
        "Statement[2].Principal",
        "object",
    ),
    (
        _statements(
            {"Effect": "Allow", "Action": "*", "Principal": {"AWS": "arn:aws:iam::111122223333:role/*"}}
        ),
        "Statement[2].Principal.AWS[0]",
        "wildcard",
    ),
    (
        _statements({"Effect": "Allow", "Action": "*", "Principal": {"AWS": "12345"}}),
        "Statement[2].Principal.AWS[0]",
        "12-digit",
    ),
    (
        _statements({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": []}),
        "Statement[2].Condition",
        "object of operators",
    ),
    (
        _statements(
            {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEqualz": {"a:b": "c"}}}
        ),
        "Statement[2].Condition.StringEqualz",
        "unknown condition operator",
    ),
    # Operators are case-sensitive: IAM answers "MalformedPolicyDocument: Invalid Condition type :
    # stringEquals" (ministryofjustice/modernisation-platform-environments#8893).
    (
        _statements(
            {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"stringEquals": {"a:b": "c"}}}
        ),
        "Statement[2].Condition.stringEquals",
        "unknown condition operator",
    ),
    (
        _statements(
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"ForSomeValues:StringEquals": {"a:b": "c"}},
            }
        ),
        "Statement[2].Condition.ForSomeValues:StringEquals",
        "set qualifier",
    ),
    (
        _statements(
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"NullIfExists": {"a:b": "true"}},
            }
        ),
        "Statement[2].Condition.NullIfExists",
        "IfExists",
    ),
    (
        _statements({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {}}}),
        "Statement[2].Condition.StringEquals",
        "non-empty",
    ),
    (
        _statements(
            {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"nokey": "x"}}}
        ),
        "Statement[2].Condition.StringEquals.nokey",
        "prefixed",
    ),
    (
        _statements(
            {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"a:b": []}}}
        ),
        "Statement[2].Condition.StringEquals.a:b",
        "empty list",
    ),
    (
        _statements(
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"a:b": ["x", None]}},
            }
        ),
        "Statement[2].Condition.StringEquals.a:b[1]",
        "null",
    ),
    (
        _statements(
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"a:b": {"x": 1}}},
            }
        ),
        "Statement[2].Condition.StringEquals.a:b",
        "an object",
    ),
    (
        _statements(
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"NumericLessThan": {"s3:max-keys": "ten"}},
            }
        ),
        "Statement[2].Condition.NumericLessThan.s3:max-keys",
        "not a number",
    ),
    (
        _statements(
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"DateGreaterThan": {"aws:CurrentTime": "yesterday"}},
            }
        ),
        "Statement[2].Condition.DateGreaterThan.aws:CurrentTime",
        "ISO 8601",
    ),
    (
        _statements(
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "10.0.0.300"]}},
            }
        ),
        "Statement[2].Condition.IpAddress.aws:SourceIp[1]",
        "IP address",
    ),
    (
        _statements(
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "yes"}},
            }
        ),
        "Statement[2].Condition.Bool.aws:SecureTransport",
        "true or false",
    ),
    (
        _statements(
            {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"BinaryEquals": {"a:b": "%%%"}}}
        ),
        "Statement[2].Condition.BinaryEquals.a:b",
        "base64",
    ),
]


@pytest.mark.parametrize(("document", "where", "what"), MALFORMED, ids=[m[1] + ":" + m[2] for m in MALFORMED])
def test_malformed_documents_are_refused_naming_the_place(document: Any, where: str, what: str) -> None:
    with pytest.raises(PolicyDocumentError) as caught:
        parse_policy(document)
    assert caught.value.where == where
    assert what in caught.value.what


@pytest.mark.parametrize(
    ("statement", "where", "what"),
    [
        ({"Effect": "Allow", "Action": "*"}, "Statement[0]", "needs Resource or NotResource"),
        (
            {"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"},
            "Statement[0].Principal",
            "identity-based",
        ),
    ],
)
def test_identity_kind_rules(statement: dict[str, Any], where: str, what: str) -> None:
    with pytest.raises(PolicyDocumentError) as caught:
        parse_policy({"Statement": statement}, kind="identity")
    assert (caught.value.where, what in caught.value.what) == (where, True)


@pytest.mark.parametrize(
    ("statement", "where", "what"),
    [
        ({"Effect": "Allow", "Action": "sts:AssumeRole"}, "Statement[0]", "needs Principal or NotPrincipal"),
        (
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": "*", "Resource": "*"},
            "Statement[0].Resource",
            "trust policy",
        ),
    ],
)
def test_trust_kind_rules(statement: dict[str, Any], where: str, what: str) -> None:
    with pytest.raises(PolicyDocumentError) as caught:
        parse_policy({"Statement": statement}, kind="trust")
    assert (caught.value.where, what in caught.value.what) == (where, True)
