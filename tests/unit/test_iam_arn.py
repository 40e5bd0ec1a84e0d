"""ARN parsing, the Resource element's wildcards and the ArnLike operator."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgiam.iam import (
    Arn,
    ArnError,
    arn_matches,
    parse_arn,
    resource_matches,
    wildcard_match,
)


def test_parse_arn_keeps_colons_of_the_resource_part() -> None:
    arn = parse_arn("arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABCDEFGHIJKL/app_user")
    assert arn == Arn("aws", "rds-db", "us-east-1", "111122223333", "dbuser:cluster-ABCDEFGHIJKL/app_user")
    assert arn.resource_type == "dbuser"
    assert arn.resource_id == "cluster-ABCDEFGHIJKL/app_user"
    assert str(arn) == "arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABCDEFGHIJKL/app_user"


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("arn:aws:s3:::bucket/key", ("aws", "s3", "", "", "bucket/key")),
        (
            "arn:aws:iam::aws:policy/AdministratorAccess",
            ("aws", "iam", "", "aws", "policy/AdministratorAccess"),
        ),
        ("arn:aws-cn:iam::111122223333:role/a/b/r", ("aws-cn", "iam", "", "111122223333", "role/a/b/r")),
        (
            "arn:aws:sts::111122223333:assumed-role/r/s",
            ("aws", "sts", "", "111122223333", "assumed-role/r/s"),
        ),
    ],
)
def test_parse_arn_forms(text: str, fields: tuple[str, ...]) -> None:
    assert parse_arn(text) == Arn(*fields)


@pytest.mark.parametrize(
    "text",
    ["", "arn", "arn:aws:s3", "arn:aws:s3:::", "xrn:aws:s3:::b", "111122223333", "arn::s3:::bucket"],
)
def test_parse_arn_refuses_non_arns(text: str) -> None:
    with pytest.raises(ArnError):
        parse_arn(text)


# IAM User Guide, "Condition operators", ARN condition operators: the documented example where
# StringLike matches and ArnLike does not, because ArnLike compares the six components apart.
DOC_PATTERN = "arn:aws:someservice:*:111122223333:finance/*"
DOC_VALUE = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"


def test_doc_example_arnlike_compares_components_apart() -> None:
    assert wildcard_match(DOC_PATTERN, DOC_VALUE)  # StringLike: succeeds
    assert not arn_matches(DOC_PATTERN, DOC_VALUE)  # ArnLike: fails


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        ("arn:aws:sns:us-east-1:123456789012:topic", "arn:aws:sns:us-east-1:123456789012:topic", True),
        ("arn:aws:sns:*:123456789012:*", "arn:aws:sns:us-east-1:123456789012:topic", True),
        ("arn:aws:sns:us-east-?:123456789012:*", "arn:aws:sns:us-east-2:123456789012:t", True),
        ("arn:aws:sns:*:123456789012:*", "arn:aws:sns:us-east-1:999999999999:topic", False),
        ("arn:aws:SNS:*:*:*", "arn:aws:sns:us-east-1:1:t", False),  # case-sensitive
        ("arn:aws:rds-db:*:*:dbuser:*/app", "arn:aws:rds-db:eu-west-1:1:dbuser:cluster-X/app", True),
        ("arn:*", "arn:aws:s3:::bucket", False),  # not six components
        ("arn:aws:s3:::b", "not-an-arn", False),
        ("arn:aws:s3:::b.*", "arn:aws:s3:::bXc", False),  # "." literal
    ],
)
def test_arn_matches_table(pattern: str, arn: str, expected: bool) -> None:
    assert arn_matches(pattern, arn) is expected


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        # IAM User Guide, "IAM JSON policy elements: Resource" examples.
        (
            "arn:aws:iam::111122223333:user/accounting/*",
            "arn:aws:iam::111122223333:user/accounting/bob",
            True,
        ),
        ("arn:aws:iam::111122223333:user/accounting/*", "arn:aws:iam::111122223333:user/sales/bob", False),
        ("arn:aws:s3:::my_corporate_bucket/*", "arn:aws:s3:::my_corporate_bucket/a/b.txt", True),
        ("arn:aws:s3:::my_corporate_bucket/*", "arn:aws:s3:::my_corporate_bucket", False),
        ("*", "anything at all", True),
        # A * inside a segment spans "/" (awsdocs/iam-user-guide#175, checked in the simulator).
        ("arn:aws:s3:::my-bucket/foo/*/bar", "arn:aws:s3:::my-bucket/foo/1/2/bar", True),
        # "If the * wildcard is the last character of a resource ARN segment, it can expand to
        # match beyond the colon boundaries."
        (
            "arn:aws:logs:us-east-1:1:log-group:app*",
            "arn:aws:logs:us-east-1:1:log-group:app:log-stream:s",
            True,
        ),
        ("arn:aws:s3:*", "arn:aws:s3:::bucket/key", True),
        ("arn:aws:rds-db:*:*:dbuser:*/*", "arn:aws:rds-db:us-east-1:1:dbuser:cluster-A/u", True),
        # ... while a * that is not last in its segment, and ?, stay inside it.
        ("arn:aws:rds-db:us-east-1:1:dbuser:cl*/u", "arn:aws:rds-db:us-east-1:1:dbuser:cl:x/u", False),
        ("arn:aws:s3:::a?b", "arn:aws:s3:::a:b", False),
        (
            "arn:aws:rds-db:us-east-1:1:dbuser:cluster-A/u",
            "arn:aws:rds-db:us-east-1:1:dbuser:cluster-A/U",
            False,
        ),
        (
            "arn:aws:rds-db:us-east-1:1:dbuser:cluster-A/u",
            "arn:aws:rds-db:us-east-1:1:dbuser:cluster-A/u2",
            False,
        ),
    ],
)
def test_resource_matches_table(pattern: str, resource: str, expected: bool) -> None:
    assert resource_matches(pattern, resource) is expected


SEGMENT = st.text("abc/-", max_size=4)


@settings(max_examples=40, deadline=None)
@given(st.lists(SEGMENT, min_size=6, max_size=6), st.lists(st.booleans(), min_size=6, max_size=6))
def test_star_segments_match_like_per_component_wildcards(segments: list[str], starred: list[bool]) -> None:
    arn = "arn:" + ":".join(segments[1:])
    fields = ["arn", *segments[1:]]
    pattern = ":".join("*" if star else field for star, field in zip(starred, fields, strict=False))
    assert arn_matches(pattern, arn)
    assert resource_matches(pattern, arn)


@settings(max_examples=40, deadline=None)
@given(st.text("ab:/*?", max_size=10), st.text("ab:/", max_size=12))
def test_resource_match_implies_plain_glob_match(pattern: str, resource: str) -> None:
    # The Resource element never matches more than a plain glob would.
    if resource_matches(pattern, resource):
        assert wildcard_match(pattern, resource)
