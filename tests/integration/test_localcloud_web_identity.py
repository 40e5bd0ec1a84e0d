"""The strict STS through boto3, as a user (or pulumi-eks + a pod) would drive it: an IAM OIDC
provider for the local issuer, a role whose trust names one service account, and tokens that must
or must not get in."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import pytest
from botocore.exceptions import ClientError

from pgiam.localcloud.client import LocalCloud
from pgiam.localcloud.oidc import ServiceAccountIssuer, new_issuer_id, new_signing_key
from pgiam.localcloud.serviceaccounts import TokenRequest
from pgiam.localcloud.tokens import issuer_for

NAMESPACE = "demo"
SERVICE_ACCOUNT = "demo-app"


def trust_policy(provider_arn: str, conditions: dict[str, Any], effect: str = "Allow") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": effect, "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity", "Condition": conditions}]})


@pytest.fixture
def make_role(localcloud: LocalCloud, localcloud_oidc_provider: str, unique_name: Callable[[str], str],
              ) -> Callable[..., str]:
    iam = localcloud.client("iam")

    def make(conditions: dict[str, Any] | None = None, *, document: str | None = None,
             max_session: int = 3600) -> str:
        key = localcloud.issuer_host_path
        conditions = conditions if conditions is not None else {"StringEquals": {
            f"{key}:sub": f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
            f"{key}:aud": "sts.amazonaws.com"}}
        role = iam.create_role(RoleName=unique_name("irsa"), MaxSessionDuration=max_session,
                               AssumeRolePolicyDocument=document or trust_policy(localcloud_oidc_provider,
                                                                                 conditions))
        return role["Role"]["Arn"]

    return make


@pytest.fixture
def sts(localcloud: LocalCloud) -> Any:
    """Unsigned, as boto3's web-identity provider calls it."""
    return localcloud.client("sts", unsigned=True)


@pytest.fixture
def issuer(localcloud: LocalCloud) -> ServiceAccountIssuer:
    return issuer_for(localcloud.state_dir)


def assume(sts: Any, role_arn: str, token: str, **extra: Any) -> dict:
    return sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="pod-session",
                                             WebIdentityToken=token, **extra)


def refused(sts: Any, role_arn: str, token: str, **extra: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        assume(sts, role_arn, token, **extra)
    error = caught.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Message"]


def test_the_trusted_service_account_assumes_the_role(localcloud: LocalCloud, make_role, sts) -> None:
    role_arn = make_role()
    token = localcloud.mint_token(NAMESPACE, SERVICE_ACCOUNT)
    before = datetime.now(timezone.utc)
    answer = assume(sts, role_arn, token)
    role_name = role_arn.rsplit("/", 1)[1]
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{localcloud.account_id}:assumed-role/{role_name}/pod-session"
    assert answer["AssumedRoleUser"]["AssumedRoleId"].endswith(":pod-session")
    assert answer["SubjectFromWebIdentityToken"] == f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"
    assert answer["Audience"] == "sts.amazonaws.com"
    assert answer["Provider"] == localcloud.issuer
    expiration = answer["Credentials"]["Expiration"]
    assert before + timedelta(seconds=3590) <= expiration <= before + timedelta(seconds=3610)
    credentials = answer["Credentials"]
    caller = localcloud.client("sts", access_key_id=credentials["AccessKeyId"],
                               secret_access_key=credentials["SecretAccessKey"],
                               session_token=credentials["SessionToken"]).get_caller_identity()
    assert caller["Arn"] == answer["AssumedRoleUser"]["Arn"]


def test_duration_within_max_session_is_granted(localcloud: LocalCloud, make_role, sts) -> None:
    role_arn = make_role(max_session=7200)
    answer = assume(sts, role_arn, localcloud.mint_token(NAMESPACE, SERVICE_ACCOUNT), DurationSeconds=7200)
    remaining = answer["Credentials"]["Expiration"] - datetime.now(timezone.utc)
    assert timedelta(seconds=7100) < remaining <= timedelta(seconds=7200)


@pytest.mark.parametrize(("namespace", "service_account"), [
    (NAMESPACE, "other-app"),            # another service account, same namespace
    ("other", SERVICE_ACCOUNT),          # same name, another namespace
    ("demo-app", "demo"),                # names swapped
])
def test_another_service_account_is_not_authorized(localcloud: LocalCloud, make_role, sts,
                                                   namespace: str, service_account: str) -> None:
    role_arn = make_role()
    code, status, message = refused(sts, role_arn, localcloud.mint_token(namespace, service_account))
    assert (code, status, message) == ("AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity")


def test_an_audience_that_is_no_client_id_of_the_provider_is_incorrect(localcloud: LocalCloud, make_role, sts) -> None:
    role_arn = make_role()
    token = localcloud.mint_token(NAMESPACE, SERVICE_ACCOUNT, audience="https://kubernetes.default.svc")
    assert refused(sts, role_arn, token) == ("InvalidIdentityToken", 400, "Incorrect token audience")


def test_a_client_id_the_trust_does_not_name_is_denied_by_the_trust(localcloud_factory) -> None:
    """The provider accepts two audiences (in a cloud of its own, so that no other test's token
    meets the second audience); the trust's ``:aud`` condition names one."""
    cloud = localcloud_factory()
    provider = cloud.client("iam").create_open_id_connect_provider(
        Url=cloud.issuer, ClientIDList=["sts.amazonaws.com", "vault"],
        ThumbprintList=[cloud.info["oidc"]["thumbprint"]])["OpenIDConnectProviderArn"]
    key = cloud.issuer_host_path
    role_arn = cloud.client("iam").create_role(RoleName="irsa", AssumeRolePolicyDocument=trust_policy(
        provider, {"StringEquals": {f"{key}:sub": f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
                                    f"{key}:aud": "sts.amazonaws.com"}}))["Role"]["Arn"]
    sts = cloud.client("sts", unsigned=True)
    assert assume(sts, role_arn, cloud.mint_token(NAMESPACE, SERVICE_ACCOUNT))["Audience"] == "sts.amazonaws.com"
    token = cloud.mint_token(NAMESPACE, SERVICE_ACCOUNT, audience="vault")
    assert refused(sts, role_arn, token)[:2] == ("AccessDenied", 403)


def test_an_expired_token_is_refused_as_expired(make_role, sts, issuer: ServiceAccountIssuer) -> None:
    role_arn = make_role()
    token = issuer.mint(TokenRequest(NAMESPACE, SERVICE_ACCOUNT, ttl=3600),
                        issued_at=int(time.time()) - 7200)
    code, status, message = refused(sts, role_arn, token)
    assert (code, status) == ("ExpiredTokenException", 400)
    assert message.startswith("Token expired: current date/time ")


def test_a_token_expired_within_the_clock_skew_is_accepted(make_role, sts, issuer: ServiceAccountIssuer) -> None:
    role_arn = make_role()
    token = issuer.mint(TokenRequest(NAMESPACE, SERVICE_ACCOUNT, ttl=600),
                        issued_at=int(time.time()) - 660)  # expired 60 s ago; IAM allows 5 minutes
    assert assume(sts, role_arn, token)["SubjectFromWebIdentityToken"].endswith(f":{SERVICE_ACCOUNT}")


def test_a_token_from_the_future_is_refused(make_role, sts, issuer: ServiceAccountIssuer) -> None:
    role_arn = make_role()
    token = issuer.mint(TokenRequest(NAMESPACE, SERVICE_ACCOUNT), issued_at=int(time.time()) + 3600)
    assert refused(sts, role_arn, token)[:2] == ("InvalidIdentityToken", 400)


def test_a_token_signed_by_another_key_is_refused(make_role, sts, issuer: ServiceAccountIssuer) -> None:
    role_arn = make_role()
    impostor = ServiceAccountIssuer(issuer.issuer, new_signing_key())
    assert refused(sts, role_arn, impostor.mint(TokenRequest(NAMESPACE, SERVICE_ACCOUNT)))[:2] == (
        "InvalidIdentityToken", 400)


def test_a_token_signed_by_another_key_under_the_issuers_kid_is_refused(make_role, sts,
                                                                        issuer: ServiceAccountIssuer) -> None:
    role_arn = make_role()
    genuine = jwt.decode(issuer.mint(TokenRequest(NAMESPACE, SERVICE_ACCOUNT)), options={"verify_signature": False})
    forged = jwt.encode(genuine, new_signing_key(), algorithm="RS256", headers={"kid": issuer.kid})
    code, status, message = refused(sts, role_arn, forged)
    assert (code, status) == ("InvalidIdentityToken", 400)
    assert "signature" in message


def test_a_token_from_an_issuer_without_an_iam_provider_is_refused(localcloud: LocalCloud, make_role, sts,
                                                                    issuer: ServiceAccountIssuer) -> None:
    role_arn = make_role()
    other_issuer = issuer.issuer.rsplit("/", 1)[0] + "/" + new_issuer_id()
    token = ServiceAccountIssuer(other_issuer, issuer.signing_key).mint(TokenRequest(NAMESPACE, SERVICE_ACCOUNT))
    assert refused(sts, role_arn, token) == (
        "InvalidIdentityToken", 400, f"No OpenIDConnect provider found in your account for {other_issuer}")


def _segments(token: str) -> list[str]:
    return token.split(".")


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_tampered_payload_is_refused(localcloud: LocalCloud, make_role, sts) -> None:
    role_arn = make_role()
    header, payload, signature = _segments(localcloud.mint_token(NAMESPACE, "other-app"))
    claims = jwt.decode(f"{header}.{payload}.{signature}", options={"verify_signature": False})
    claims["sub"] = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"
    assert refused(sts, role_arn, f"{header}.{_b64(claims)}.{signature}")[:2] == ("InvalidIdentityToken", 400)


def test_an_unsigned_alg_none_token_is_refused(localcloud: LocalCloud, make_role, sts) -> None:
    role_arn = make_role()
    _, payload, _ = _segments(localcloud.mint_token(NAMESPACE, SERVICE_ACCOUNT))
    for header in ({"alg": "none"}, {"alg": "None", "typ": "JWT"}):
        assert refused(sts, role_arn, f"{_b64(header)}.{payload}.")[:2] == ("InvalidIdentityToken", 400)


def test_an_hs256_token_keyed_with_the_public_key_is_refused(localcloud: LocalCloud, make_role, sts,
                                                              issuer: ServiceAccountIssuer) -> None:
    """The classic algorithm confusion: HMAC with the issuer's public key as the secret."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    role_arn = make_role()
    _, payload, _ = _segments(localcloud.mint_token(NAMESPACE, SERVICE_ACCOUNT))
    header = _b64({"alg": "HS256", "kid": issuer.kid})
    public_pem = issuer.signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert refused(sts, role_arn, forged)[:2] == ("InvalidIdentityToken", 400)


@pytest.mark.parametrize("garbage", ["abcd", "a.b.c", "x" * 5000, "eyJhbGciOiJSUzI1NiJ9.e30."])
def test_a_token_that_is_not_a_jwt_is_refused(make_role, sts, garbage: str) -> None:
    assert refused(sts, make_role(), garbage)[:2] == ("InvalidIdentityToken", 400)


def test_a_role_that_does_not_exist_is_not_authorized(localcloud: LocalCloud, sts) -> None:
    token = localcloud.mint_token(NAMESPACE, SERVICE_ACCOUNT)
    for arn in (f"arn:aws:iam::{localcloud.account_id}:role/no-such-role",
                "arn:aws:iam::111122223333:role/no-such-role"):
        assert refused(sts, arn, token)[:2] == ("AccessDenied", 403)


def test_string_like_wildcards_match_as_iam_does(localcloud: LocalCloud, make_role, sts) -> None:
    key = localcloud.issuer_host_path
    role_arn = make_role({"StringLike": {f"{key}:sub": f"system:serviceaccount:{NAMESPACE}:*"},
                          "StringEquals": {f"{key}:aud": "sts.amazonaws.com"}})
    for service_account in ("demo-app", "batch-1"):
        assert assume(sts, role_arn, localcloud.mint_token(NAMESPACE, service_account))
    assert refused(sts, role_arn, localcloud.mint_token("demo2", "demo-app"))[0] == "AccessDenied"
    # '?' is exactly one character
    one_char = make_role({"StringLike": {f"{key}:sub": f"system:serviceaccount:{NAMESPACE}:app-?"}})
    assert assume(sts, one_char, localcloud.mint_token(NAMESPACE, "app-1"))
    assert refused(sts, one_char, localcloud.mint_token(NAMESPACE, "app-12"))[0] == "AccessDenied"


def test_a_wildcard_inside_string_equals_is_a_literal(localcloud: LocalCloud, make_role, sts) -> None:
    key = localcloud.issuer_host_path
    role_arn = make_role({"StringEquals": {f"{key}:sub": f"system:serviceaccount:{NAMESPACE}:*"}})
    assert refused(sts, role_arn, localcloud.mint_token(NAMESPACE, SERVICE_ACCOUNT))[0] == "AccessDenied"


def test_a_condition_key_written_with_https_never_matches(localcloud: LocalCloud, make_role, sts) -> None:
    role_arn = make_role({"StringEquals": {
        f"{localcloud.issuer}:sub": f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"}})
    assert refused(sts, role_arn, localcloud.mint_token(NAMESPACE, SERVICE_ACCOUNT))[0] == "AccessDenied"


def test_a_trust_without_an_audience_condition_lets_any_service_account_of_the_issuer_in(
        localcloud: LocalCloud, make_role, sts) -> None:
    """The field notes' `:aud` where `:sub` was meant: the role is open to the whole cluster."""
    role_arn = make_role({"StringEquals": {f"{localcloud.issuer_host_path}:aud": "sts.amazonaws.com"}})
    assert assume(sts, role_arn, localcloud.mint_token("kube-system", "anything"))


def test_an_explicit_deny_in_the_trust_wins(localcloud: LocalCloud, make_role, sts,
                                            localcloud_oidc_provider: str) -> None:
    key = localcloud.issuer_host_path
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Federated": localcloud_oidc_provider},
         "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringLike": {f"{key}:sub": "system:serviceaccount:*"}}},
        {"Effect": "Deny", "Principal": {"Federated": localcloud_oidc_provider},
         "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringEquals": {f"{key}:sub": "system:serviceaccount:demo:blocked"}}}]})
    role_arn = make_role(document=document)
    assert assume(sts, role_arn, localcloud.mint_token(NAMESPACE, "fine"))
    assert refused(sts, role_arn, localcloud.mint_token(NAMESPACE, "blocked"))[0] == "AccessDenied"


def test_a_trust_naming_another_provider_is_not_authorized(localcloud: LocalCloud, make_role, sts) -> None:
    other = f"arn:aws:iam::{localcloud.account_id}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/{new_issuer_id()}"
    role_arn = make_role(document=trust_policy(other, {}))
    assert refused(sts, role_arn, localcloud.mint_token(NAMESPACE, SERVICE_ACCOUNT))[0] == "AccessDenied"


def test_the_session_name_is_a_condition_key(localcloud: LocalCloud, make_role, sts) -> None:
    role_arn = make_role({"StringEquals": {"sts:RoleSessionName": "pod-session"}})
    token = localcloud.mint_token(NAMESPACE, SERVICE_ACCOUNT)
    assert assume(sts, role_arn, token)
    with pytest.raises(ClientError) as caught:
        sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="other", WebIdentityToken=token)
    assert caught.value.response["Error"]["Code"] == "AccessDenied"


@pytest.fixture
def lax_sts(localcloud: LocalCloud) -> Any:
    """Without botocore's own parameter checks, so the server's are what is tested."""
    return localcloud.client("sts", unsigned=True, parameter_validation=False)


@pytest.mark.parametrize(("extra", "fragment"), [
    ({"DurationSeconds": 600}, "greater than or equal to 900"),
    ({"DurationSeconds": 50000}, "less than or equal to 43200"),
    ({"RoleSessionName": "has space"}, "regular expression pattern"),
    ({"RoleSessionName": "x"}, "length between 2 and 64"),
])
def test_parameters_out_of_bounds_are_validation_errors(localcloud: LocalCloud, make_role, lax_sts,
                                                        extra: dict, fragment: str) -> None:
    params = {"RoleArn": make_role(), "RoleSessionName": "pod-session",
              "WebIdentityToken": localcloud.mint_token(NAMESPACE, SERVICE_ACCOUNT), **extra}
    with pytest.raises(ClientError) as caught:
        lax_sts.assume_role_with_web_identity(**params)
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ValidationError", 400)
    assert fragment in error["Error"]["Message"]


def test_a_duration_beyond_the_roles_max_session_is_a_validation_error(localcloud: LocalCloud, make_role,
                                                                        sts) -> None:
    role_arn = make_role(max_session=3600)
    code, status, message = refused(sts, role_arn, localcloud.mint_token(NAMESPACE, SERVICE_ACCOUNT),
                                    DurationSeconds=7200)
    assert (code, status) == ("ValidationError", 400)
    assert "MaxSessionDuration" in message


def test_web_identity_over_a_query_string_get_is_handled_strictly(localcloud: LocalCloud, make_role) -> None:
    """Not only boto3's form POST: a GET with the parameters in the query string is intercepted
    too (it must never reach moto, which would accept anything)."""
    import urllib.error
    import urllib.parse
    import urllib.request

    role_arn = make_role()
    query = urllib.parse.urlencode({"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                                    "RoleArn": role_arn, "RoleSessionName": "s1",
                                    "WebIdentityToken": localcloud.mint_token(NAMESPACE, "intruder")})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{localcloud.endpoint_url}/?{query}", timeout=10)
    assert caught.value.code == 403
    assert b"<Code>AccessDenied</Code>" in caught.value.read()


def _post(cloud: LocalCloud, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(cloud.endpoint_url + "/", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


STS_SCOPE = ("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEEXAMPLE00/20260101/us-east-1/sts/aws4_request, "
             "SignedHeaders=host, Signature=" + "0" * 64)


@pytest.mark.parametrize("encoding", ["text/plain", "multipart", "gzip", "no content type"])
def test_no_encoding_of_the_call_slips_past_the_strict_sts(localcloud: LocalCloud, make_role, encoding: str) -> None:
    """moto reads a body as parameters whatever its content type (and gunzips it, and parses
    multipart forms); the gateway must read it the same way, or an intruder's call reaches moto,
    which would grant it."""
    import gzip
    import urllib.parse

    params = {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": make_role(),
              "RoleSessionName": "s1", "WebIdentityToken": localcloud.mint_token(NAMESPACE, "intruder")}
    form = urllib.parse.urlencode(params).encode()
    headers = {"Authorization": STS_SCOPE}
    if encoding == "text/plain":
        body, headers["Content-Type"] = form, "text/plain"
    elif encoding == "gzip":
        body = gzip.compress(form)
        headers.update({"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"})
    elif encoding == "multipart":
        boundary = "pgiamboundary"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in params.items()]
        body = ("".join(parts) + f"--{boundary}--\r\n").encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    else:
        body = form
    status, answer = _post(localcloud, body, headers)
    assert status == 403, answer
    assert b"<Code>AccessDenied</Code>" in answer and b"<AccessKeyId>" not in answer
