"""IAM wildcard matching: ``*`` and ``?`` only, every other character literal."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgiam.iam import action_matches, wildcard_match

# Regex and glob metacharacters on purpose: none of them may act as anything but themselves.
ALPHABET = "ab.+[]()^$\\|{}:/-"
PATTERN_ALPHABET = ALPHABET + "*?"


def reference_match(pattern: str, value: str) -> bool:
    """An independent matcher: dynamic programming over (pattern, value) prefixes."""
    rows, cols = len(pattern), len(value)
    table = [[False] * (cols + 1) for _ in range(rows + 1)]
    table[0][0] = True
    for i in range(1, rows + 1):
        char = pattern[i - 1]
        table[i][0] = table[i - 1][0] and char == "*"
        for j in range(1, cols + 1):
            if char == "*":
                table[i][j] = table[i - 1][j] or table[i][j - 1]
            elif char == "?":
                table[i][j] = table[i - 1][j - 1]
            else:
                table[i][j] = table[i - 1][j - 1] and char == value[j - 1]
    return table[rows][cols]


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "", True),
        ("*", "anything:at/all", True),
        ("?", "", False),
        ("?", "x", True),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("a*c", "ac", True),
        ("a*c", "a:b/c", True),
        ("a.c", "abc", False),  # "." is literal, not "any character"
        ("a+", "aa", False),  # "+" is literal
        ("[ab]", "a", False),  # no character classes (fnmatch would say True)
        ("[ab]", "[ab]", True),
        ("a$", "a$", True),
        ("x\\y", "x\\y", True),
        ("ABC", "abc", False),  # case-sensitive by default
    ],
)
def test_wildcard_match_table(pattern: str, value: str, expected: bool) -> None:
    assert wildcard_match(pattern, value) is expected


def test_case_insensitive_option_folds_case() -> None:
    assert wildcard_match("ABC*", "abcdef", case_sensitive=False)
    assert not wildcard_match("ABC*", "abdef", case_sensitive=False)


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("s3:GetObject", "s3:getobject", True),  # IAM: actions are case-insensitive
        ("S3:GET*", "s3:GetObject", True),
        ("rds-db:conn*", "rds-db:connect", True),
        ("rds-db:*", "rds:DescribeDBClusters", False),
        ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", False),
        ("sts:AssumeRole*", "sts:AssumeRoleWithWebIdentity", True),
        ("iam:*AccessKey*", "iam:CreateAccessKey", True),
        ("*", "anything:Goes", True),
        ("s3:?etObject", "s3:GetObject", True),
    ],
)
def test_action_matches(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


@settings(max_examples=100, deadline=None)
@given(st.text(PATTERN_ALPHABET, max_size=8), st.text(ALPHABET, max_size=10))
def test_wildcard_match_agrees_with_reference(pattern: str, value: str) -> None:
    assert wildcard_match(pattern, value) is reference_match(pattern, value)


@settings(max_examples=60, deadline=None)
@given(st.text(ALPHABET, max_size=8), st.text(ALPHABET, max_size=8))
def test_literal_pattern_matches_only_itself(pattern: str, value: str) -> None:
    assert wildcard_match(pattern, pattern)
    assert wildcard_match(pattern, value) is (pattern == value)


@settings(max_examples=60, deadline=None)
@given(st.text(PATTERN_ALPHABET, max_size=8), st.text(ALPHABET, max_size=10))
def test_star_prefix_suffix_widen(pattern: str, value: str) -> None:
    if wildcard_match(pattern, value):
        assert wildcard_match("*" + pattern, value)
        assert wildcard_match(pattern + "*", value)


@settings(max_examples=60, deadline=None)
@given(st.text("abAB:*?", max_size=8), st.text("abAB:", max_size=10))
def test_action_match_ignores_case(pattern: str, action: str) -> None:
    assert action_matches(pattern, action) is reference_match(pattern.lower(), action.lower())
