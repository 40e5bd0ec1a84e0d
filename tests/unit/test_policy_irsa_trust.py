"""IRSA trust rules on role trust policies in every shape: JSON text (json.dumps,
get_policy_document), objects (PolicyDocumentArgs, aws-native) with unknown members, wholly
unknown; Action written exactly, with wildcards or as NotAction."""

from __future__ import annotations

import json

import pytest

from iamdb_rules.catalog import BY_NAME
from iamdb_rules.model import Resource
from iamdb_rules.props import UNKNOWN

ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789ABCDEF0123456789"
PROVIDER = f"arn:aws:iam::111122223333:oidc-provider/{ISSUER}"
SUB, AUD = f"{ISSUER}:sub", f"{ISSUER}:aud"
SUBJECT = "system:serviceaccount:demo:demo-app"
GOOD = {"StringEquals": {SUB: SUBJECT, AUD: "sts.amazonaws.com"}}


def statement(condition=None, action="sts:AssumeRoleWithWebIdentity", principal=None,
              **extra) -> dict:
    item = {"Effect": "Allow", "Principal": principal or {"Federated": PROVIDER}, **extra}
    if action is not None:
        item["Action"] = action
    if condition is not None:
        item["Condition"] = condition
    return item


def role(*statements, as_text=True, type_="aws:iam/role:Role", name="app") -> Resource:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    key = "assumeRolePolicy" if type_ == "aws:iam/role:Role" else "assumeRolePolicyDocument"
    value = json.dumps(document) if as_text else document
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::{name}", name, {key: value})


def run(rule: str, subject, config=None):
    policy = BY_NAME[rule]
    return policy.run(subject, policy.context(config, stack="dev"))


TRUST_RULES = ("irsa-trust-federated-provider", "irsa-trust-condition-keys",
               "irsa-trust-subject", "irsa-trust-audience", "irsa-trust-audience-present")


@pytest.mark.parametrize("subject", [
    role(statement(GOOD)),
    role(statement(GOOD), as_text=False),
    role(statement(GOOD), type_="aws-native:iam:Role"),
    role(statement({"StringEquals": {SUB: [SUBJECT, "system:serviceaccount:jobs:etl"],
                                     AUD: "sts.amazonaws.com"}})),
    role(statement(GOOD, action=["sts:AssumeRoleWithWebIdentity", "sts:TagSession"])),
], ids=["json-text", "object", "aws-native", "two-exact-service-accounts", "with-tag-session"])
def test_exact_trust_passes_every_rule(subject):
    for rule in TRUST_RULES:
        assert run(rule, subject) == ([], []), rule


@pytest.mark.parametrize("condition, fragment", [
    ({"StringLike": {SUB: "system:serviceaccount:demo:*"}}, "matches other service accounts"),
    ({"StringLike": {SUB: SUBJECT}}, "StringLike is used where StringEquals"),
    ({"StringEquals": {SUB: "system:serviceaccount:*:demo-app"}}, "never matches"),
    ({"StringEquals": {SUB: "system:serviceaccount:demo"}}, "not system:serviceaccount"),
    ({"StringEquals": {SUB: "system:serviceaccount:Demo:app"}}, "valid Kubernetes names"),
    ({"ForAllValues:StringEquals": {SUB: SUBJECT}}, "ForAllValues is true when the key"),
    ({"ForAnyValue:StringEquals": {SUB: SUBJECT}}, "single-valued"),
    ({"StringEqualsIfExists": {SUB: SUBJECT}}, "passes when the claim is absent"),
    ({"StringEqualsIgnoreCase": {SUB: SUBJECT}}, "not an exact match"),
    ({"StringEquals": {AUD: "sts.amazonaws.com"}}, "every service account of the cluster"),
    ({"StringNotEquals": {SUB: "system:serviceaccount:kube-system:admin"}}, "No exact :sub"),
    (None, "No exact :sub"),
    ({"StringEquals": {AUD: SUBJECT}}, "named on :aud, where :sub was meant"),
], ids=["stringlike-wildcard", "stringlike-literal", "star-in-stringequals", "no-name",
        "invalid-namespace", "forallvalues", "foranyvalue", "ifexists", "ignorecase",
        "aud-only", "negated-only", "no-condition", "sub-value-on-aud"])
def test_subject_that_is_not_one_exact_service_account_is_a_violation(condition, fragment):
    violations, deferred = run("irsa-trust-subject", role(statement(condition)))
    assert len(violations) == 1 and not deferred
    assert fragment in violations[0].message
    assert violations[0].urn.endswith("::app") and "Statement[0]" in violations[0].message


@pytest.mark.parametrize("action", [
    "sts:*", "*", "sts:AssumeRoleWith*", "STS:assumerolewithwebidentity", ["sts:Assume*"],
])
def test_wildcard_actions_that_include_web_identity_are_checked(action):
    violations, _ = run("irsa-trust-subject", role(statement({"StringEquals": {AUD: "x"}},
                                                             action=action)))
    assert len(violations) == 1


def test_not_action_leaving_web_identity_in_is_checked():
    trust = role(statement({"StringLike": {SUB: "system:*"}}, action=None,
                           NotAction="sts:AssumeRole"))
    assert len(run("irsa-trust-subject", trust)[0]) == 1
    excluded = role(statement(None, action=None, NotAction="sts:AssumeRoleWith*"))
    assert run("irsa-trust-subject", excluded) == ([], [])


@pytest.mark.parametrize("subject", [
    role(statement(None, principal={"Service": "lambda.amazonaws.com"}, action="sts:AssumeRole")),
    role(statement(None, principal={"AWS": "arn:aws:iam::111122223333:root"}, action="sts:*")),
    role(statement(None, action="sts:AssumeRoleWithWebIdentity", Effect="Deny")),
], ids=["service-role", "aws-principal", "deny"])
def test_statements_that_are_not_web_identity_trust_are_ignored(subject):
    for rule in TRUST_RULES:
        assert run(rule, subject) == ([], []), rule


def test_ci_issuers_are_not_held_to_service_account_subjects():
    github = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
    trust = role(statement({"StringLike": {
        "token.actions.githubusercontent.com:sub": "repo:acme/app:*"},
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}},
        principal={"Federated": github}))
    for rule in TRUST_RULES:
        assert run(rule, trust) == ([], []), rule
    custom = role(statement({"StringLike": {"ci.example.com:sub": "pipeline:*"}},
                            principal={"Federated": "arn:aws:iam::111122223333:oidc-provider/"
                                                    "ci.example.com"}))
    assert len(run("irsa-trust-subject", custom)[0]) == 1
    assert run("irsa-trust-subject", custom, {"nonKubernetesIssuers": ["ci.example.com"]}) \
        == ([], [])


@pytest.mark.parametrize("principal, extra, fragment", [
    ({"Federated": "*"}, {}, "any web identity"),
    ("*", {}, "any web identity"),
    ({"AWS": "*"}, {}, "any web identity"),
    ({"AWS": ["arn:aws:iam::111122223333:root", "*"]}, {}, "any web identity"),
    ({"Federated": ISSUER}, {}, "not an IAM OIDC provider ARN"),
    ({"Federated": [PROVIDER, "*"]}, {}, "any web identity"),
    ({"Federated": f"arn:aws:iam::111122223333:oidc-provider/https://{ISSUER}"}, {},
     "keeps the URL scheme"),
    ({"Federated": f"arn:aws:iam::*:oidc-provider/{ISSUER}"}, {}, "holds a wildcard"),
    ({"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/*"},
     {}, "holds a wildcard"),
], ids=["federated-star", "principal-star", "aws-star", "aws-star-among-others",
        "issuer-instead-of-arn", "star-among-others", "https-in-provider-arn", "wildcard-account",
        "wildcard-issuer"])
def test_federated_provider_must_be_a_specific_provider(principal, extra, fragment):
    violations, _ = run("irsa-trust-federated-provider", role(statement(GOOD, principal=principal)))
    assert len(violations) == 1 and fragment in violations[0].message


@pytest.mark.parametrize("principal, action", [
    ({"AWS": "*"}, "sts:AssumeRole"),
    ("*", ["sts:AssumeRole", "sts:TagSession"]),
    ({"AWS": ["arn:aws:iam::111122223333:root", "*"]}, ["sts:AssumeRole"]),
    ("*", "sts:AssumeRoleWithSAML"),
], ids=["aws-star-assume-role", "principal-star", "star-among-accounts", "saml"])
def test_a_second_statement_opening_the_pod_role_to_everyone_is_a_violation(principal, action):
    trust = role(statement(GOOD), statement(principal=principal, action=action))
    violations, _ = run("irsa-trust-federated-provider", trust)
    assert len(violations) == 1 and "any principal of any AWS account" in violations[0].message
    assert "Statement[1]" in violations[0].message


@pytest.mark.parametrize("subject", [
    role(statement(GOOD), statement({"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
                                    principal={"AWS": "*"}, action="sts:AssumeRole")),
    role(statement(GOOD), statement(principal={"AWS": "arn:aws:iam::111122223333:root"},
                                    action="sts:AssumeRole")),
    role(statement(principal={"AWS": "*"}, action="sts:AssumeRole")),
    role(statement(GOOD), statement(principal={"AWS": "*"}, action=UNKNOWN)),
], ids=["conditioned", "one-account", "not-a-pod-role", "unknown-action"])
def test_assume_role_statements_that_do_not_open_a_pod_role_pass(subject):
    violations, _ = run("irsa-trust-federated-provider", subject)
    assert violations == []


def test_https_in_the_provider_arn_is_reported_once_not_as_mismatched_keys():
    trust = role(statement(GOOD, principal={
        "Federated": f"arn:aws:iam::111122223333:oidc-provider/https://{ISSUER}"}))
    for rule in TRUST_RULES[1:]:
        assert run(rule, trust) == ([], []), rule


def test_not_principal_with_allow_is_a_violation():
    trust = role({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
                  "Action": "sts:AssumeRoleWithWebIdentity"})
    violations, _ = run("irsa-trust-federated-provider", trust)
    assert "NotPrincipal" in violations[0].message


def test_named_identity_providers_are_specific():
    trust = role(statement({"StringEquals": {"cognito-identity.amazonaws.com:aud": "us-east-1:x"}},
                           principal={"Federated": "cognito-identity.amazonaws.com"}))
    for rule in TRUST_RULES:
        assert run(rule, trust) == ([], []), rule


@pytest.mark.parametrize("condition, fragment", [
    ({"StringEquals": {f"https://{SUB}": SUBJECT}}, "URL scheme"),
    ({"StringEquals": {f"{PROVIDER}:sub": SUBJECT}}, "names the provider's ARN"),
    ({"StringEquals": {"oidc.eks.us-east-1.amazonaws.com/id/OTHER:sub": SUBJECT}},
     "keyed by the issuer"),
], ids=["https-scheme", "provider-arn", "other-issuer"])
def test_condition_keys_must_be_the_trusted_issuer(condition, fragment):
    violations, _ = run("irsa-trust-condition-keys", role(statement(condition)))
    assert len(violations) == 1 and fragment in violations[0].message


def test_condition_keys_are_case_insensitive_and_service_keys_are_ignored():
    trust = role(statement({"StringEquals": {SUB.upper().replace("/ID/", "/id/"): SUBJECT,
                                             "aws:SourceIp": "10.0.0.1"}}))
    assert run("irsa-trust-condition-keys", trust) == ([], [])


@pytest.mark.parametrize("condition, config, expected", [
    ({"StringEquals": {SUB: SUBJECT, AUD: "sts.amazonaws.com"}}, None, 0),
    ({"StringEquals": {SUB: SUBJECT, AUD: "sts.amazonaws.com.cn"}}, None, 1),
    ({"StringEquals": {SUB: SUBJECT, AUD: "sts.amazonaws.com.cn"}},
     {"allowedAudiences": ["sts.amazonaws.com.cn"]}, 0),
    ({"StringEquals": {SUB: SUBJECT}, "StringLike": {AUD: "*"}}, None, 1),
    ({"StringEquals": {SUB: SUBJECT}, "ForAllValues:StringEquals": {AUD: "sts.amazonaws.com"}},
     None, 1),
    ({"StringEquals": {SUB: SUBJECT}}, None, 0),
], ids=["sts", "china-suffix", "configured-audience", "wildcard", "qualifier",
        "missing-is-the-advisory-rule"])
def test_audience_when_present_is_an_allowed_one(condition, config, expected):
    violations, _ = run("irsa-trust-audience", role(statement(condition)), config)
    assert len(violations) == expected


def test_missing_audience_is_reported_by_the_advisory_rule():
    assert BY_NAME["irsa-trust-audience-present"].enforcement == "advisory"
    violations, _ = run("irsa-trust-audience-present",
                        role(statement({"StringEquals": {SUB: SUBJECT}})))
    assert len(violations) == 1 and ":aud" in violations[0].message


def test_unknown_document_defers_every_trust_rule():
    unknown = Resource("aws:iam/role:Role", "urn:pulumi:dev::p::aws:iam/role:Role::app", "app",
                       {"assumeRolePolicy": UNKNOWN})
    for rule in TRUST_RULES:
        violations, deferred = run(rule, unknown)
        assert violations == [] and len(deferred) == 1 and "assumeRolePolicy" in deferred[0].reason


def test_unknown_provider_in_an_object_document_still_checks_the_known_subject():
    trust = role(statement({"StringLike": {SUB: "system:serviceaccount:*"}},
                           principal={"Federated": UNKNOWN}), as_text=False)
    violations, _ = run("irsa-trust-subject", trust)
    assert len(violations) == 1
    violations, deferred = run("irsa-trust-federated-provider", trust)
    assert violations == [] and deferred
    violations, deferred = run("irsa-trust-condition-keys", trust)
    assert violations == [] and deferred


def test_unknown_subject_value_is_deferred():
    trust = role(statement({"StringEquals": {SUB: UNKNOWN, AUD: "sts.amazonaws.com"}}),
                 as_text=False)
    violations, deferred = run("irsa-trust-subject", trust)
    assert violations == [] and deferred


def test_unknown_effect_is_deferred_not_ignored():
    trust = role(statement({"StringLike": {SUB: "*"}}, Effect=UNKNOWN), as_text=False)
    violations, deferred = run("irsa-trust-subject", trust)
    assert violations == [] and "Effect or Action" in deferred[0].reason


def test_an_exact_subject_anded_with_a_looser_one_is_exact():
    trust = role(statement({"StringEquals": {SUB: SUBJECT, AUD: "sts.amazonaws.com"},
                            "StringLike": {SUB: "system:serviceaccount:demo:*"}}))
    assert run("irsa-trust-subject", trust) == ([], [])
    unknown_exact = role(statement({"StringEquals": {SUB: UNKNOWN},
                                    "StringLike": {SUB: "system:serviceaccount:*"}}),
                         as_text=False)
    violations, deferred = run("irsa-trust-subject", unknown_exact)
    assert violations == [] and deferred


@pytest.mark.parametrize("action, expected", [
    ("sts:AssumeRole", 1),
    (["sts:AssumeRole", "sts:TagSession"], 1),
    (["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"], 0),
    ("sts:TagSession", 0),
], ids=["assume-role", "assume-role-and-tag", "both", "tag-session-only"])
def test_an_oidc_provider_trusted_for_assume_role_is_a_violation(action, expected):
    violations, _ = run("irsa-trust-federated-provider", role(statement(GOOD, action=action)))
    assert len(violations) == expected
    if expected:
        assert "sts:AssumeRoleWithWebIdentity" in violations[0].message
