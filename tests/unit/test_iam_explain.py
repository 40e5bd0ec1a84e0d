"""Why no Allow statement applied: the reasons the local cloud logs for a refusal."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgiam.iam import NamedPolicy, Principal, Request, evaluate_trust_policy, explain_no_allow, parse_policy

pytestmark = pytest.mark.unit

ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE"
PROVIDER_ARN = f"arn:aws:iam::111122223333:oidc-provider/{ISSUER}"
SUB = "system:serviceaccount:demo:app"
TRUST = parse_policy({
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Pod", "Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN},
                   "Action": "sts:AssumeRoleWithWebIdentity",
                   "Condition": {"StringEquals": {f"{ISSUER}:sub": SUB, f"{ISSUER}:aud": "sts.amazonaws.com"}}}],
}, kind="trust")


def web_identity(principal: str = PROVIDER_ARN, **context: str) -> Request:
    values = {f"{ISSUER}:sub": SUB, f"{ISSUER}:aud": "sts.amazonaws.com"}
    values.update({f"{ISSUER}:{key}": value for key, value in context.items()})
    return Request("sts:AssumeRoleWithWebIdentity", "arn:aws:iam::111122223333:role/app",
                   principal=Principal("Federated", principal), context=values)


def test_a_wrong_subject_names_the_key_what_the_request_had_and_what_the_statement_wants() -> None:
    why = explain_no_allow(TRUST, web_identity(sub="system:serviceaccount:demo:other"), check_principal=True)
    assert why == (f"Statement[0] (Pod): Condition StringEquals on {ISSUER}:sub: the request has "
                   f"'system:serviceaccount:demo:other', the statement wants '{SUB}'")


def test_a_missing_context_key_is_said_to_be_missing() -> None:
    request = Request("sts:AssumeRoleWithWebIdentity", "arn:aws:iam::111122223333:role/app",
                      principal=Principal("Federated", PROVIDER_ARN), context={f"{ISSUER}:sub": SUB})
    assert "on oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE:aud: the request has no such key" in \
        explain_no_allow(TRUST, request, check_principal=True)


def test_another_provider_is_a_principal_mismatch() -> None:
    other = "arn:aws:iam::111122223333:oidc-provider/example.com/other"
    assert explain_no_allow(TRUST, web_identity(principal=other), check_principal=True) == \
        f"Statement[0] (Pod): its principal does not name Federated {other}"


def test_identity_policies_name_the_action_or_resource_that_is_not_covered() -> None:
    policy = NamedPolicy("inline:connect", parse_policy({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "rds-db:connect",
                       "Resource": "arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABC/app"},
                      {"Effect": "Deny", "Action": "*", "Resource": "*"}]}))
    other_user = Request("rds-db:connect", "arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABC/admin")
    assert explain_no_allow(policy, other_user) == (
        "inline:connect Statement[0]: its Resource ['arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABC/app'] "
        "does not cover arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABC/admin")
    assert explain_no_allow(policy, Request("s3:GetObject", "*")) == \
        "inline:connect Statement[0]: its Action ['rds-db:connect'] does not cover s3:GetObject"


def test_not_action_and_not_resource_say_what_they_exclude() -> None:
    policy = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::private/*"}]})
    assert explain_no_allow(policy, Request("iam:PassRole", "arn:aws:s3:::private/x")) == (
        "Statement[0]: its NotAction ['iam:*'] excludes iam:PassRole; "
        "Statement[1]: its NotResource ['arn:aws:s3:::private/*'] excludes arn:aws:s3:::private/x")


def test_a_policy_without_allow_statements_says_so() -> None:
    deny_only = parse_policy({"Version": "2012-10-17",
                              "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
    assert explain_no_allow(deny_only, Request("s3:GetObject", "*")) == "has no Allow statement"


def test_long_value_lists_are_cut_and_counted() -> None:
    wanted = [f"system:serviceaccount:demo:app{i}" for i in range(8)]
    policy = parse_policy({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{ISSUER}:sub": wanted}}}]}, kind="trust")
    why = explain_no_allow(policy, web_identity(sub="system:serviceaccount:demo:x"), check_principal=True)
    assert why.endswith("'system:serviceaccount:demo:app4' and 3 more")


@settings(max_examples=40, deadline=None)
@given(namespace=st.sampled_from(["demo", "other"]), name=st.sampled_from(["app", "other", "ap*"]),
       audience=st.sampled_from(["sts.amazonaws.com", "other"]))
def test_a_statement_is_explained_as_applying_exactly_when_it_allows(namespace: str, name: str, audience: str) -> None:
    request = web_identity(sub=f"system:serviceaccount:{namespace}:{name}", aud=audience)
    allowed = evaluate_trust_policy(TRUST, request).allowed
    why = explain_no_allow(TRUST, request, check_principal=True)
    assert (why == "Statement[0] (Pod): applies") is allowed
