"""Trust and resource-based policies: Principal, NotPrincipal and the IRSA trust policy."""

from __future__ import annotations

from typing import Any

import pytest

from pgiam.iam import (
    PolicyDocumentError,
    Principal,
    Request,
    evaluate_resource_policy,
    evaluate_trust_policy,
    parse_policy,
)

ACCOUNT = "111122223333"
ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/my-role"
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"

# EKS User Guide, "Assign IAM roles to Kubernetes service accounts" (IRSA): the trust policy the
# guide has you create, scoped to one service account and the STS audience.
IRSA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER_ARN},
            "Action": WEB_IDENTITY,
            "Condition": {
                "StringEquals": {
                    f"{ISSUER}:sub": "system:serviceaccount:default:my-service-account",
                    f"{ISSUER}:aud": "sts.amazonaws.com",
                }
            },
        }
    ],
}
GOOD_CLAIMS = {
    f"{ISSUER}:sub": "system:serviceaccount:default:my-service-account",
    f"{ISSUER}:aud": "sts.amazonaws.com",
}


def web_identity(claims: dict[str, Any], provider: str = PROVIDER_ARN, action: str = WEB_IDENTITY) -> Request:
    return Request(action, ROLE_ARN, Principal("Federated", provider), claims)


@pytest.mark.parametrize(
    ("claims", "provider", "action", "effect"),
    [
        (GOOD_CLAIMS, PROVIDER_ARN, WEB_IDENTITY, "Allow"),
        (
            GOOD_CLAIMS | {f"{ISSUER}:sub": "system:serviceaccount:default:other"},
            PROVIDER_ARN,
            WEB_IDENTITY,
            "ImplicitDeny",
        ),
        (
            GOOD_CLAIMS | {f"{ISSUER}:sub": "system:serviceaccount:kube-system:my-service-account"},
            PROVIDER_ARN,
            WEB_IDENTITY,
            "ImplicitDeny",
        ),
        (GOOD_CLAIMS | {f"{ISSUER}:aud": "other-audience"}, PROVIDER_ARN, WEB_IDENTITY, "ImplicitDeny"),
        (
            {f"{ISSUER}:sub": GOOD_CLAIMS[f"{ISSUER}:sub"]},
            PROVIDER_ARN,
            WEB_IDENTITY,
            "ImplicitDeny",
        ),  # no aud
        (
            GOOD_CLAIMS,
            PROVIDER_ARN.replace("EXAMPLED", "OTHERCLU"),
            WEB_IDENTITY,
            "ImplicitDeny",
        ),  # other cluster
        (GOOD_CLAIMS, PROVIDER_ARN, "sts:AssumeRole", "ImplicitDeny"),
        # Context keys are case-insensitive; the claim values are not.
        ({k.upper(): v for k, v in GOOD_CLAIMS.items()}, PROVIDER_ARN, WEB_IDENTITY, "Allow"),
        (
            GOOD_CLAIMS | {f"{ISSUER}:sub": "system:serviceaccount:default:My-Service-Account"},
            PROVIDER_ARN,
            WEB_IDENTITY,
            "ImplicitDeny",
        ),
    ],
)
def test_irsa_trust_policy(claims: dict[str, Any], provider: str, action: str, effect: str) -> None:
    decision = evaluate_trust_policy(
        parse_policy(IRSA_TRUST, kind="trust"), web_identity(claims, provider, action)
    )
    assert decision.effect == effect
    if effect == "Allow":
        assert decision.statement is not None and decision.statement.index == 0


def test_irsa_condition_key_written_with_https_never_matches() -> None:
    # Field notes: the key must be the issuer without "https://"; with it nobody can assume.
    trust = {
        **IRSA_TRUST,
        "Statement": [
            {
                **IRSA_TRUST["Statement"][0],
                "Condition": {"StringEquals": {f"https://{ISSUER}:sub": GOOD_CLAIMS[f"{ISSUER}:sub"]}},
            }
        ],
    }
    assert evaluate_trust_policy(parse_policy(trust), web_identity(GOOD_CLAIMS)).effect == "ImplicitDeny"


def test_irsa_string_like_wildcard_widens_to_the_namespace() -> None:
    trust = {
        **IRSA_TRUST,
        "Statement": [
            {
                **IRSA_TRUST["Statement"][0],
                "Condition": {"StringLike": {f"{ISSUER}:sub": "system:serviceaccount:default:*"}},
            }
        ],
    }
    policy = parse_policy(trust)
    assert evaluate_trust_policy(
        policy, web_identity({f"{ISSUER}:sub": "system:serviceaccount:default:any"})
    ).allowed
    assert not evaluate_trust_policy(
        policy, web_identity({f"{ISSUER}:sub": "system:serviceaccount:prod:any"})
    ).allowed


def _trust(principal: Any, *, element: str = "Principal", effect: str = "Allow") -> Any:
    return parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": {"Effect": effect, element: principal, "Action": "sts:AssumeRole"},
        }
    )


def assume(principal: Principal | None) -> Request:
    return Request("sts:AssumeRole", ROLE_ARN, principal)


USER_BOB = Principal("AWS", f"arn:aws:iam::{ACCOUNT}:user/Bob")
SESSION = Principal(
    "AWS", f"arn:aws:sts::{ACCOUNT}:assumed-role/cross-account-read-only-role/cross-account-audit-app"
)
OTHER_SESSION = Principal(
    "AWS", f"arn:aws:sts::{ACCOUNT}:assumed-role/cross-account-read-only-role/other-app"
)
OTHER_ACCOUNT_USER = Principal("AWS", "arn:aws:iam::444455556666:user/Bob")

# IAM User Guide, "AWS JSON policy elements: Principal".
PRINCIPAL_TABLE: list[tuple[Any, Principal | None, bool]] = [
    ("*", None, True),  # everyone, anonymous included
    ("*", USER_BOB, True),
    ({"AWS": "*"}, USER_BOB, True),
    ({"AWS": "*"}, None, False),
    ({"AWS": "*"}, Principal("Federated", PROVIDER_ARN), False),
    ({"AWS": ACCOUNT}, USER_BOB, True),  # the account: every principal in it
    ({"AWS": ACCOUNT}, SESSION, True),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, USER_BOB, True),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, OTHER_ACCOUNT_USER, False),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, Principal("AWS", ACCOUNT), True),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:user/Bob"}, USER_BOB, True),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:user/Bob"}, OTHER_ACCOUNT_USER, False),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"}, USER_BOB, False),
    (
        {"AWS": f"arn:aws:iam::{ACCOUNT}:role/cross-account-read-only-role"},
        SESSION,
        True,
    ),  # the role's sessions
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/some/path/cross-account-read-only-role"}, SESSION, True),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/another-role"}, SESSION, False),
    ({"AWS": SESSION.identifier}, SESSION, True),  # a role session principal: that session only
    ({"AWS": SESSION.identifier}, OTHER_SESSION, False),
    ({"AWS": [f"arn:aws:iam::{ACCOUNT}:user/Alice", f"arn:aws:iam::{ACCOUNT}:user/Bob"]}, USER_BOB, True),
    ({"Service": "ec2.amazonaws.com"}, Principal("Service", "ec2.amazonaws.com"), True),
    (
        {"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]},
        Principal("Service", "ecs-tasks.amazonaws.com"),
        False,
    ),
    (
        {"Federated": "cognito-identity.amazonaws.com"},
        Principal("Federated", "cognito-identity.amazonaws.com"),
        True,
    ),
    ({"Federated": "cognito-identity.amazonaws.com"}, Principal("Federated", "accounts.google.com"), False),
    ({"Federated": PROVIDER_ARN}, Principal("AWS", PROVIDER_ARN), False),  # kinds do not mix
    (
        {"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
        Principal("CanonicalUser", "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"),
        True,
    ),
]


@pytest.mark.parametrize(("principal", "caller", "expected"), PRINCIPAL_TABLE)
def test_principal_element(principal: Any, caller: Principal | None, expected: bool) -> None:
    assert evaluate_trust_policy(_trust(principal), assume(caller)).allowed is expected


# IAM User Guide, "AWS JSON policy elements: NotPrincipal", NotPrincipal with Deny: the examples
# list the principal and its account (and role) so that the exemption holds.
def _bucket_policy(not_principal: list[str]) -> Any:
    return parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::BUCKETNAME/*",
                },
                {
                    "Effect": "Deny",
                    "NotPrincipal": {"AWS": not_principal},
                    "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::BUCKETNAME", "arn:aws:s3:::BUCKETNAME/*"],
                },
            ],
        },
        kind="resource",
    )


def _get(principal: Principal | None) -> Request:
    return Request("s3:GetObject", "arn:aws:s3:::BUCKETNAME/report.csv", principal)


@pytest.mark.parametrize(
    ("not_principal", "caller", "effect"),
    [
        ([f"arn:aws:iam::{ACCOUNT}:user/Bob", f"arn:aws:iam::{ACCOUNT}:root"], USER_BOB, "Allow"),
        (
            [f"arn:aws:iam::{ACCOUNT}:user/Bob", f"arn:aws:iam::{ACCOUNT}:root"],
            OTHER_ACCOUNT_USER,
            "ExplicitDeny",
        ),
        ([f"arn:aws:iam::{ACCOUNT}:user/Bob", f"arn:aws:iam::{ACCOUNT}:root"], None, "ExplicitDeny"),
        # Without the account ARN "the policy might deny access to the entire account": denied.
        ([f"arn:aws:iam::{ACCOUNT}:user/Bob"], USER_BOB, "ExplicitDeny"),
        (
            [
                SESSION.identifier,
                f"arn:aws:iam::{ACCOUNT}:role/cross-account-read-only-role",
                f"arn:aws:iam::{ACCOUNT}:root",
            ],
            SESSION,
            "Allow",
        ),
        # Missing the role ARN: the role is denied, so is its session.
        ([SESSION.identifier, f"arn:aws:iam::{ACCOUNT}:root"], SESSION, "ExplicitDeny"),
        # Sessions are named one by one: another session of the role is denied.
        (
            [
                SESSION.identifier,
                f"arn:aws:iam::{ACCOUNT}:role/cross-account-read-only-role",
                f"arn:aws:iam::{ACCOUNT}:root",
            ],
            OTHER_SESSION,
            "ExplicitDeny",
        ),
    ],
)
def test_not_principal_with_deny(not_principal: list[str], caller: Principal | None, effect: str) -> None:
    assert evaluate_resource_policy(_bucket_policy(not_principal), _get(caller)).effect == effect


@pytest.mark.parametrize("kind", [None, "trust", "resource"])
def test_not_principal_with_allow_is_refused_as_iam_refuses_it(kind: Any) -> None:
    document = {"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "sts:AssumeRole"}}
    with pytest.raises(PolicyDocumentError, match=r"Statement\[0\]\.NotPrincipal"):
        parse_policy(document, kind=kind)


def test_not_principal_is_refused_in_a_trust_policy_even_with_deny() -> None:
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "sts:AssumeRole"}]}
    with pytest.raises(PolicyDocumentError, match="not allowed in a role trust policy"):
        parse_policy(document, kind="trust")
    assert parse_policy(document, kind="resource").statements[1].not_principal is not None


def test_statement_without_principal_never_applies_in_a_resource_policy() -> None:
    policy = parse_policy({"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole"}})
    assert evaluate_trust_policy(policy, assume(USER_BOB)).effect == "ImplicitDeny"


@pytest.mark.parametrize(("principal", "caller", "named"), [
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"}, f"arn:aws:iam::{ACCOUNT}:user/alice", True),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/pod"}, f"arn:aws:sts::{ACCOUNT}:assumed-role/pod/s", True),
    ({"AWS": f"arn:aws:sts::{ACCOUNT}:assumed-role/pod/s"}, f"arn:aws:sts::{ACCOUNT}:assumed-role/pod/s", True),
    ({"AWS": ACCOUNT}, f"arn:aws:iam::{ACCOUNT}:user/alice", False),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, f"arn:aws:sts::{ACCOUNT}:assumed-role/pod/s", False),
    ({"AWS": "*"}, f"arn:aws:iam::{ACCOUNT}:user/alice", False),
    ("*", f"arn:aws:iam::{ACCOUNT}:user/alice", False),
    ({"AWS": [ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/alice"]}, f"arn:aws:iam::{ACCOUNT}:user/alice", True),
])
def test_a_trust_names_the_caller_itself_only_by_its_own_arn_or_its_role(principal: Any, caller: str,
                                                                         named: bool) -> None:
    """Same-account AssumeRole: naming the caller grants; naming the account (or everyone) only
    delegates to the caller's identity policies."""
    from pgiam.iam import allows_principal_by_name

    trust = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]}, kind="trust")
    request = Request("sts:AssumeRole", ROLE_ARN, Principal("AWS", caller))
    assert evaluate_trust_policy(trust, request).allowed
    assert allows_principal_by_name(trust, request) is named
