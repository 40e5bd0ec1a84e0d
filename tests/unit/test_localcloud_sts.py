"""The strict STS model with IAM, the issuer's keys, the credential issuer and the clock injected:
every refusal AWS makes for OIDC web identity, and what a trust policy is evaluated with."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import pytest

from pgiam.localcloud.awsquery import AwsError
from pgiam.localcloud.oidc import ServiceAccountIssuer, new_signing_key, without_scheme
from pgiam.localcloud.serviceaccounts import TokenRequest
from pgiam.localcloud.sts import (
    NO_VERIFICATION_KEY,
    NOT_AUTHORIZED,
    IssuedCredentials,
    KeySourceError,
    OidcProvider,
    Role,
    StrictSts,
    WebIdentityRequest,
    request_from_params,
)

NOW = 1_800_000_000
ACCOUNT = "111122223333"
ISSUER = "https://localhost:8443/id/0123456789ABCDEF0123456789ABCDEF"
HOST_PATH = without_scheme(ISSUER)
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{HOST_PATH}"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/app"
SUB = "system:serviceaccount:demo:demo-app"


@pytest.fixture(scope="module")
def issuer() -> ServiceAccountIssuer:
    return ServiceAccountIssuer(ISSUER, new_signing_key())


@pytest.fixture(scope="module")
def other_key() -> Any:
    return new_signing_key()


def trust(conditions: dict | None = None, *, federated: str = PROVIDER_ARN) -> str:
    conditions = {"StringEquals": {f"{HOST_PATH}:sub": SUB, f"{HOST_PATH}:aud": "sts.amazonaws.com"}} \
        if conditions is None else conditions
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": federated}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": conditions}]})


@dataclass
class FakeIam:
    providers: dict[str, OidcProvider] = field(default_factory=lambda: {
        HOST_PATH: OidcProvider(PROVIDER_ARN, HOST_PATH, ("sts.amazonaws.com",))})
    roles: dict[str, Role] = field(default_factory=lambda: {
        ROLE_ARN: Role(ROLE_ARN, "AROAEXAMPLE", "app", trust(), 3600)})
    managed: dict[str, str] = field(default_factory=dict)

    def oidc_provider(self, url: str) -> OidcProvider | None:
        return self.providers.get(url)

    def role(self, arn: str) -> Role | None:
        return self.roles.get(arn)

    def managed_policy_document(self, arn: str) -> str | None:
        return self.managed.get(arn)


@dataclass
class FakeKeys:
    jwks: dict
    calls: list = field(default_factory=list)
    fail: bool = False

    def keys(self, issuer: str, *, refresh: bool = False) -> list:
        self.calls.append((issuer, refresh))
        if self.fail:
            raise KeySourceError("connection refused")
        return list(jwt.PyJWKSet.from_dict(self.jwks).keys)


class FakeIssuer:
    def __init__(self) -> None:
        self.issued: list[tuple] = []

    def issue(self, role: Role, session_name: str, duration: int, session_policies, *,
              federated_provider: str) -> IssuedCredentials:
        self.issued.append((role.arn, session_name, duration, tuple(session_policies), federated_provider))
        return IssuedCredentials("ASIAEXAMPLE", "secret", "token", datetime.fromtimestamp(NOW + duration, timezone.utc),
                                 f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.name}/{session_name}",
                                 f"{role.role_id}:{session_name}")


@dataclass
class World:
    sts: StrictSts
    iam: FakeIam
    keys: FakeKeys
    credentials: FakeIssuer
    issuer: ServiceAccountIssuer

    def token(self, namespace: str = "demo", service_account: str = "demo-app", *, audience: str = "sts.amazonaws.com",
              ttl: int = 3600, issued_at: int = NOW - 10) -> str:
        return self.issuer.mint(TokenRequest(namespace, service_account, audience=audience, ttl=ttl),
                                issued_at=issued_at, enforce_ttl=False)

    def assume(self, token: str, **overrides: Any):
        return self.sts.assume_role_with_web_identity(
            replace(WebIdentityRequest(ROLE_ARN, "pod-session", token), **overrides))

    def refusal(self, token: str, **overrides: Any) -> AwsError:
        issued = len(self.credentials.issued)
        with pytest.raises(AwsError) as caught:
            self.assume(token, **overrides)
        assert len(self.credentials.issued) == issued  # a refusal never creates credentials
        return caught.value


@pytest.fixture
def world(issuer: ServiceAccountIssuer) -> World:
    iam, keys, credentials = FakeIam(), FakeKeys(issuer.jwks()), FakeIssuer()
    return World(StrictSts(iam, keys, credentials, account_id=ACCOUNT, clock=lambda: NOW), iam, keys,
                 credentials, issuer)


def segments(token: str) -> list[str]:
    return token.split(".")


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def sign(claims: dict, key: Any, kid: str | None) -> str:
    """Sign any claims, even ones PyJWT's encoder refuses (a non-string ``iss``)."""
    return jwt.PyJWS().encode(json.dumps(claims).encode(), key, algorithm="RS256",
                              headers={"kid": kid} if kid else None)


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_the_trusted_service_account_gets_credentials(world: World) -> None:
    result = world.assume(world.token())
    assert (result.subject, result.audience, result.provider) == (SUB, "sts.amazonaws.com", ISSUER)
    assert result.credentials.assumed_role_arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/app/pod-session"
    assert world.credentials.issued == [(ROLE_ARN, "pod-session", 3600, (), PROVIDER_ARN)]
    assert result.packed_policy_size is None


def test_the_trust_policy_sees_the_keys_aws_sets(world: World) -> None:
    result = world.assume(world.token(), requested_region="eu-west-1", source_ip="127.0.0.5", user_agent="boto3")
    assert result.context == {
        f"{HOST_PATH}:sub": SUB, f"{HOST_PATH}:aud": "sts.amazonaws.com",
        "aws:FederatedProvider": PROVIDER_ARN, "sts:RoleSessionName": "pod-session",
        "aws:CurrentTime": datetime.fromtimestamp(NOW, timezone.utc), "aws:EpochTime": NOW,
        "aws:SecureTransport": False, "aws:RequestedRegion": "eu-west-1", "aws:SourceIp": "127.0.0.5",
        "aws:UserAgent": "boto3"}


@pytest.mark.parametrize(("namespace", "service_account"), [("demo", "other"), ("other", "demo-app")])
def test_another_service_account_is_not_authorized(world: World, namespace: str, service_account: str) -> None:
    error = world.refusal(world.token(namespace, service_account))
    assert (error.code, error.status, error.message) == ("AccessDenied", 403, NOT_AUTHORIZED)
    assert "ImplicitDeny" in error.detail
    assert (f"Condition StringEquals on {HOST_PATH}:sub: the request has "
            f"'system:serviceaccount:{namespace}:{service_account}', the statement wants '{SUB}'") in error.detail
    assert error.message == NOT_AUTHORIZED  # the caller is told nothing of it


def test_a_foreign_audience_is_incorrect(world: World) -> None:
    error = world.refusal(world.token(audience="https://kubernetes.default.svc"))
    assert (error.code, error.status, error.message) == ("InvalidIdentityToken", 400, "Incorrect token audience")


def test_any_of_several_audiences_may_be_the_client_id(world: World, issuer: ServiceAccountIssuer) -> None:
    claims = claims_of(world.token())
    claims["aud"] = ["https://kubernetes.default.svc", "sts.amazonaws.com"]
    token = jwt.encode(claims, issuer.signing_key, algorithm="RS256", headers={"kid": issuer.kid})
    assert world.assume(token).audience == "sts.amazonaws.com"


def test_expiry_is_allowed_five_minutes_of_skew_and_no_more(world: World) -> None:
    assert world.assume(world.token(ttl=600, issued_at=NOW - 600 - 299))
    error = world.refusal(world.token(ttl=600, issued_at=NOW - 600 - 301))
    assert (error.code, error.status) == ("ExpiredTokenException", 400)
    assert error.message == f"Token expired: current date/time {NOW} must be before the expiration date/time{NOW - 301}"


def test_a_token_issued_over_a_day_ago_is_too_old_though_exp_is_ahead(world: World) -> None:
    day, skew = 86400, 300
    assert world.assume(world.token(ttl=7 * day, issued_at=NOW - day - skew))  # control: at the limit
    error = world.refusal(world.token(ttl=7 * day, issued_at=NOW - day - skew - 1))
    assert (error.code, error.status) == ("ExpiredTokenException", 400)
    assert error.message == f"Token too old: {day + skew + 1}"


def test_a_token_not_yet_valid_is_refused(world: World) -> None:
    assert world.assume(world.token(issued_at=NOW + 299))
    assert world.refusal(world.token(issued_at=NOW + 301)).code == "InvalidIdentityToken"


def test_a_signature_by_another_key_is_refused_even_under_the_issuers_kid(world: World, other_key: Any,
                                                                          issuer: ServiceAccountIssuer) -> None:
    claims = claims_of(world.token())
    for kid in (issuer.kid, None):
        headers = {"kid": kid} if kid else {}
        forged = jwt.encode(claims, other_key, algorithm="RS256", headers=headers)
        error = world.refusal(forged)
        assert (error.code, error.status) == ("InvalidIdentityToken", 400)
        assert "signature" in error.message


def test_an_unknown_kid_refetches_the_keys_once_then_refuses(world: World, other_key: Any) -> None:
    forged = ServiceAccountIssuer(ISSUER, other_key).mint(TokenRequest("demo", "demo-app"), issued_at=NOW)
    error = world.refusal(forged)
    assert (error.code, error.message) == ("InvalidIdentityToken", NO_VERIFICATION_KEY)
    assert world.keys.calls == [(ISSUER, False), (ISSUER, True)]


def test_unreachable_keys_are_reported_as_aws_does(world: World) -> None:
    world.keys.fail = True
    error = world.refusal(world.token())
    assert (error.code, error.message) == ("InvalidIdentityToken", NO_VERIFICATION_KEY)
    assert "connection refused" in error.detail


def test_an_issuer_without_a_provider_is_refused(world: World) -> None:
    world.iam.providers.clear()
    error = world.refusal(world.token())
    assert (error.code, error.message) == ("InvalidIdentityToken", f"No OpenIDConnect provider found in your account for {ISSUER}")
    assert world.keys.calls == []  # nothing is fetched for an issuer IAM does not know


def test_a_tampered_payload_is_refused(world: World) -> None:
    header, _, signature = segments(world.token("demo", "other"))
    payload = b64({**claims_of(world.token("demo", "other")), "sub": SUB})
    assert world.refusal(f"{header}.{payload}.{signature}").code == "InvalidIdentityToken"


@pytest.mark.parametrize("header", [{"alg": "none"}, {"alg": "NONE"}, {"alg": "HS256"}, {"alg": "RS512"},
                                    {"alg": "ES256"}, {"alg": "PS256"}, {"typ": "JWT"}])
def test_algorithms_other_than_rs256_are_refused(world: World, header: dict) -> None:
    _, payload, signature = segments(world.token())
    error = world.refusal(f"{b64(header)}.{payload}.{signature}")
    assert (error.code, error.status) == ("InvalidIdentityToken", 400)


def test_hmac_keyed_with_the_public_key_is_refused(world: World, issuer: ServiceAccountIssuer) -> None:
    from cryptography.hazmat.primitives import serialization

    public_pem = issuer.signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header, payload, _ = segments(world.token())
    import hashlib
    import hmac

    forged_header = b64({"alg": "HS256", "kid": issuer.kid})
    mac = hmac.new(public_pem, f"{forged_header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{forged_header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert world.refusal(token).code == "InvalidIdentityToken"


@pytest.mark.parametrize("missing", ["sub", "aud", "exp", "iat"])
def test_a_token_missing_a_required_claim_is_refused(world: World, issuer: ServiceAccountIssuer, missing: str) -> None:
    claims = claims_of(world.token())
    del claims[missing]
    token = jwt.encode(claims, issuer.signing_key, algorithm="RS256", headers={"kid": issuer.kid})
    assert world.refusal(token).code == "InvalidIdentityToken"


@pytest.mark.parametrize("iss", [None, "http://localhost:8443/id/0123456789ABCDEF0123456789ABCDEF", 42])
def test_an_issuer_claim_that_is_not_https_is_refused(world: World, issuer: ServiceAccountIssuer, iss: Any) -> None:
    token = sign({**claims_of(world.token()), "iss": iss}, issuer.signing_key, issuer.kid)
    assert world.refusal(token).code == "InvalidIdentityToken"


@pytest.mark.parametrize("garbage", ["abcd", "a.b.c", "e30.e30.", "....", "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln"])
def test_garbage_is_not_a_jwt(world: World, garbage: str) -> None:
    assert world.refusal(garbage).code == "InvalidIdentityToken"


@pytest.mark.parametrize("role_arn", [f"arn:aws:iam::{ACCOUNT}:role/missing", "arn:aws:iam::999999999999:role/app",
                                      f"arn:aws:iam::{ACCOUNT}:user/app", "not-an-arn-at-all-really"])
def test_a_role_that_is_not_there_is_not_authorized(world: World, role_arn: str) -> None:
    error = world.refusal(world.token(), role_arn=role_arn)
    assert (error.code, error.status) == ("AccessDenied", 403)


def test_a_trust_for_another_provider_or_an_invalid_trust_is_not_authorized(world: World) -> None:
    world.iam.roles[ROLE_ARN] = replace(world.iam.roles[ROLE_ARN], trust_policy=trust(
        federated=f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"))
    assert world.refusal(world.token()).code == "AccessDenied"
    world.iam.roles[ROLE_ARN] = replace(world.iam.roles[ROLE_ARN], trust_policy='{"Statement": "nope"}')
    error = world.refusal(world.token())
    assert error.code == "AccessDenied" and "not valid" in error.detail


def test_string_like_trusts_use_iam_wildcards(world: World) -> None:
    world.iam.roles[ROLE_ARN] = replace(world.iam.roles[ROLE_ARN], trust_policy=trust(
        {"StringLike": {f"{HOST_PATH}:sub": "system:serviceaccount:demo:app-?"}}))
    assert world.assume(world.token("demo", "app-1"))
    assert world.refusal(world.token("demo", "app-10")).code == "AccessDenied"


def test_the_session_duration_is_bounded_by_the_role(world: World) -> None:
    assert world.assume(world.token(), duration_seconds=3600)
    error = world.refusal(world.token(), duration_seconds=3601)
    assert (error.code, error.message) == (
        "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")


def test_session_policies_are_parsed_and_handed_to_the_issuer(world: World) -> None:
    managed = "arn:aws:iam::111122223333:policy/read"
    world.iam.managed[managed] = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    inline = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "rds-db:connect", "Resource": "*"}]})
    result = world.assume(world.token(), policy=inline, policy_arns=(managed,))
    assert [p.name for p in result.session_policies] == ["session:inline", f"session:{managed}"]
    assert 1 <= result.packed_policy_size <= 100


@pytest.mark.parametrize(("overrides", "code"), [
    ({"policy": '{"Statement": []}'}, "MalformedPolicyDocument"),
    ({"policy_arns": ("arn:aws:iam::111122223333:policy/missing",)}, "InvalidParameterValue"),
])
def test_bad_session_policies_are_refused(world: World, overrides: dict, code: str) -> None:
    assert world.refusal(world.token(), **overrides).code == code


def params(**overrides: Any) -> dict:
    base = {"RoleArn": ROLE_ARN, "RoleSessionName": "pod-session", "WebIdentityToken": "x" * 100}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_parameters_become_a_request() -> None:
    request = request_from_params(params(DurationSeconds="900", **{"PolicyArns.member.2.arn": "b",
                                                                     "PolicyArns.member.1.arn": "a"}))
    assert (request.duration_seconds, request.policy_arns) == (900, ("a", "b"))
    assert "x" * 100 not in repr(request)  # the token never shows in a repr (logs, tracebacks)


@pytest.mark.parametrize(("overrides", "fragment"), [
    ({"RoleArn": None}, "Value null at 'roleArn' failed to satisfy constraint: Member must not be null"),
    ({"RoleArn": "arn:aws:iam::1:r"}, "length between 20 and 2048"),
    ({"RoleSessionName": None}, "at 'roleSessionName'"),
    ({"RoleSessionName": "a b"}, "regular expression pattern: [\\w+=,.@-]*"),
    ({"RoleSessionName": "s" * 65}, "length between 2 and 64"),
    ({"WebIdentityToken": None}, "at 'webIdentityToken'"),
    ({"WebIdentityToken": "abc"}, "length between 4 and 20000"),
    ({"DurationSeconds": "899"}, "greater than or equal to 900"),
    ({"DurationSeconds": "43201"}, "less than or equal to 43200"),
    ({"DurationSeconds": "soon"}, "Member must be a number"),
    ({"DurationSeconds": " 3600"}, "Member must be a number"),
    ({"DurationSeconds": "3_600"}, "Member must be a number"),
    ({"DurationSeconds": "\u0663\u0666\u0660\u0660"}, "Member must be a number"),  # Arabic-Indic digits
    ({"ProviderId": "www.amazon.com"}, "OpenID Connect ID tokens only"),
])
def test_parameters_out_of_the_models_bounds_are_validation_errors(overrides: dict, fragment: str) -> None:
    with pytest.raises(AwsError) as caught:
        request_from_params(params(**overrides))
    assert (caught.value.code, caught.value.status) == ("ValidationError", 400)
    assert fragment in caught.value.message


def test_every_problem_is_listed_and_the_token_is_never_echoed() -> None:
    with pytest.raises(AwsError) as caught:
        request_from_params(params(RoleArn=None, RoleSessionName="a b", WebIdentityToken="secret-token-" * 2000))
    assert caught.value.message.startswith("3 validation errors detected: ")
    assert "secret-token" not in caught.value.message


def test_a_parameter_given_twice_is_refused() -> None:
    with pytest.raises(AwsError) as caught:
        request_from_params(params(), duplicates=frozenset({"WebIdentityToken"}))
    assert caught.value.code == "InvalidParameterCombination"


def test_credentials_expire_with_the_session(world: World) -> None:
    result = world.assume(world.token())
    assert result.credentials.expiration == datetime.fromtimestamp(NOW, timezone.utc) + timedelta(seconds=3600)


@pytest.mark.parametrize(("claim", "value"), [("exp", str(NOW + 3600)), ("iat", True), ("nbf", [NOW]),
                                              ("aud", 7), ("aud", ["sts.amazonaws.com", 7]), ("sub", "")])
def test_claims_of_the_wrong_type_are_refused(world: World, issuer: ServiceAccountIssuer, claim: str, value: Any) -> None:
    token = sign({**claims_of(world.token()), claim: value}, issuer.signing_key, issuer.kid)
    assert world.refusal(token).code == "InvalidIdentityToken"


def test_a_token_with_critical_header_extensions_is_refused(world: World, issuer: ServiceAccountIssuer) -> None:
    """RFC 7515: extensions listed in ``crit`` must be understood or the token refused; PyJWT
    would ignore them, and no ID token needs one."""
    token = jwt.PyJWS().encode(json.dumps(claims_of(world.token())).encode(), issuer.signing_key,
                               algorithm="RS256", headers={"kid": issuer.kid, "crit": ["exp"], "exp": NOW})
    assert world.refusal(token).code == "InvalidIdentityToken"
