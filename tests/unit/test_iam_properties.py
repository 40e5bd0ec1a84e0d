"""Properties of the decision procedure, over generated statements and requests."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pgiam.iam import Request, evaluate_identity_policies, parse_policy

SETTINGS = settings(max_examples=40, deadline=None)

actions = st.sampled_from(
    ["s3:GetObject", "s3:PutObject", "rds-db:connect", "sts:AssumeRole", "ec2:RunInstances"]
)
action_patterns = st.sampled_from(
    ["*", "s3:*", "s3:Get*", "rds-db:conn*", "sts:Assume?ole", "ec2:*", "S3:getobject"]
)
resources = st.sampled_from(
    ["arn:aws:s3:::b/k", "arn:aws:s3:::c/k", "arn:aws:rds-db:us-east-1:1:dbuser:cluster-A/u", "*"]
)
resource_patterns = st.sampled_from(
    ["*", "arn:aws:s3:::b/*", "arn:aws:s3:::*", "arn:aws:rds-db:*:*:dbuser:*/u", "arn:aws:s3:::c/k"]
)
tag_values = st.sampled_from(["a", "b", "A", ""])
contexts = st.dictionaries(
    st.sampled_from(["aws:PrincipalTag/team", "aws:ResourceTag/env"]), tag_values, max_size=2
)
conditions = st.one_of(
    st.just({}),
    st.builds(
        lambda op, key, values: {op: {key: values}},
        st.sampled_from(
            [
                "StringEquals",
                "StringNotEquals",
                "StringLike",
                "StringEqualsIfExists",
                "ForAnyValue:StringEquals",
                "ForAllValues:StringEquals",
                "StringEqualsIgnoreCase",
            ]
        ),
        st.sampled_from(["aws:PrincipalTag/team", "aws:ResourceTag/env"]),
        st.lists(tag_values, min_size=1, max_size=3),
    ),
)


@st.composite
def statements(draw: Any, effect: str | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": effect or draw(st.sampled_from(["Allow", "Deny"])),
        draw(st.sampled_from(["Action", "NotAction"])): draw(
            st.lists(action_patterns, min_size=1, max_size=2)
        ),
        draw(st.sampled_from(["Resource", "NotResource"])): draw(
            st.lists(resource_patterns, min_size=1, max_size=2)
        ),
    }
    condition = draw(conditions)
    if condition:
        statement["Condition"] = condition
    return statement


def decide(statement_list: list[dict[str, Any]], request: Request) -> str:
    policy = parse_policy({"Version": "2012-10-17", "Statement": statement_list})
    return evaluate_identity_policies([policy], request).effect


requests = st.builds(Request, actions, resources, context=contexts)


@SETTINGS
@given(statements(), requests)
def test_same_statement_as_allow_and_deny_is_explicit_deny_when_it_applies(
    statement: dict[str, Any], request: Request
) -> None:
    alone = decide([statement | {"Effect": "Allow"}], request)
    both = decide([statement | {"Effect": "Allow"}, statement | {"Effect": "Deny"}], request)
    assert both == ("ExplicitDeny" if alone == "Allow" else "ImplicitDeny")


@SETTINGS
@given(st.lists(statements(), min_size=1, max_size=3), statements(effect="Allow"), requests)
def test_adding_an_allow_never_lifts_an_explicit_deny(
    existing: list[dict[str, Any]], extra: dict[str, Any], request: Request
) -> None:
    before = decide(existing, request)
    after = decide([*existing, extra], request)
    if before == "ExplicitDeny":
        assert after == "ExplicitDeny"
    if before == "Allow":
        assert after == "Allow"


@SETTINGS
@given(st.lists(statements(), min_size=1, max_size=3), requests)
def test_statement_order_does_not_change_the_effect(existing: list[dict[str, Any]], request: Request) -> None:
    assert decide(existing, request) == decide(list(reversed(existing)), request)


@SETTINGS
@given(st.lists(statements(), min_size=1, max_size=3), requests)
def test_decision_names_a_statement_of_its_own_effect(
    existing: list[dict[str, Any]], request: Request
) -> None:
    policy = parse_policy({"Version": "2012-10-17", "Statement": existing})
    decision = evaluate_identity_policies([policy], request)
    if decision.effect == "ImplicitDeny":
        assert decision.statement is None
    else:
        assert decision.statement is not None
        assert decision.statement.effect == ("Allow" if decision.allowed else "Deny")


def _holds(operator: str, values: list[str], context: dict[str, Any]) -> bool:
    statement = {
        "Effect": "Allow",
        "Action": "*",
        "Resource": "*",
        "Condition": {operator: {"a:key": values}},
    }
    return decide([statement], Request("s3:GetObject", "*", context=context)) == "Allow"


@SETTINGS
@given(
    st.sampled_from(
        [
            ("StringEquals", "StringNotEquals"),
            ("StringLike", "StringNotLike"),
            ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"),
            ("NumericEquals", "NumericNotEquals"),
            ("ArnLike", "ArnNotLike"),
        ]
    ),
    st.lists(
        st.sampled_from(["1", "2", "a*", "A", "arn:aws:s3:::b", "arn:aws:s3:::*"]), min_size=1, max_size=3
    ),
    st.sampled_from(["1", "2", "a", "abc", "A", "arn:aws:s3:::b", "arn:aws:s3:::c"]),
)
def test_operator_and_its_negation_are_complements_when_the_key_is_present(
    pair: tuple[str, str], values: list[str], value: str
) -> None:
    positive, negative = pair
    if positive.startswith("Numeric"):
        values = [v for v in values if v.isdigit()] or ["1"]
    assert _holds(positive, values, {"a:key": value}) is not _holds(negative, values, {"a:key": value})


@SETTINGS
@given(
    st.sampled_from(
        ["StringEquals", "StringLike", "NumericEquals", "Bool", "ArnLike", "IpAddress", "DateEquals"]
    )
)
def test_missing_key_fails_positive_and_passes_if_exists(operator: str) -> None:
    value = {
        "NumericEquals": "1",
        "Bool": "true",
        "ArnLike": "arn:aws:s3:::b",
        "IpAddress": "10.0.0.0/8",
        "DateEquals": "2020-01-01",
    }.get(operator, "x")
    assert not _holds(operator, [value], {})
    assert _holds(operator + "IfExists", [value], {})


@SETTINGS
@given(
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3),
)
def test_for_all_values_is_subset_and_for_any_value_is_intersection(
    request_values: list[str], policy_values: list[str]
) -> None:
    context = {"a:key": request_values}
    assert _holds("ForAllValues:StringEquals", policy_values, context) is set(request_values).issubset(
        policy_values
    )
    assert _holds("ForAnyValue:StringEquals", policy_values, context) is bool(
        set(request_values) & set(policy_values)
    )
