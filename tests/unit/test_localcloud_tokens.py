"""Service-account tokens as EKS projects them: the names and lifetimes Kubernetes accepts, the
claims, and the issuer's discovery document and JWKS that verify them."""

from __future__ import annotations

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgiam.localcloud.oidc import (
    ServiceAccountIssuer,
    issuer_url,
    key_id,
    new_issuer_id,
    new_signing_key,
    without_scheme,
)
from pgiam.localcloud.serviceaccounts import (
    InvalidTokenRequest,
    TokenRequest,
    check_namespace,
    check_service_account,
    check_ttl,
    projected_token_claims,
)

ISSUER = "https://localhost:8443/id/0123456789ABCDEF0123456789ABCDEF"


@pytest.fixture(scope="module")
def issuer() -> ServiceAccountIssuer:
    return ServiceAccountIssuer(ISSUER, new_signing_key())


@pytest.mark.parametrize("name", ["demo", "a", "kube-system", "a1-b2", "9" * 63])
def test_namespaces_kubernetes_accepts(name: str) -> None:
    assert check_namespace(name) == name


@pytest.mark.parametrize("name", ["", "Demo", "demo_ns", "-demo", "demo-", "demo.ns", "a" * 64, "dé"])
def test_namespaces_kubernetes_refuses(name: str) -> None:
    with pytest.raises(InvalidTokenRequest) as caught:
        check_namespace(name)
    assert caught.value.field == "namespace"


@pytest.mark.parametrize("name", ["demo-app", "app.v2", "a", "x" * 253])
def test_service_account_names_are_subdomains(name: str) -> None:
    assert check_service_account(name) == name


@pytest.mark.parametrize("name", ["App", "app_1", "app..v2", ".app", "app.", "x" * 254, "a b"])
def test_service_account_names_kubernetes_refuses(name: str) -> None:
    with pytest.raises(InvalidTokenRequest):
        check_service_account(name)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="abcz09-._A ", min_size=0, max_size=70))
def test_the_label_check_agrees_with_kubernetes_rules(name: str) -> None:
    valid = (0 < len(name) <= 63 and all(c in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in name)
             and name[0] != "-" and name[-1] != "-")
    if valid:
        assert check_namespace(name) == name
    else:
        with pytest.raises(InvalidTokenRequest):
            check_namespace(name)


@pytest.mark.parametrize(("ttl", "ok"), [(600, True), (599, False), (2**32, True), (2**32 + 1, False),
                                         (86400, True), (0, False), (True, False), (600.0, False)])
def test_token_lifetimes_are_bounded_as_the_token_request_api_does(ttl: object, ok: bool) -> None:
    if ok:
        assert check_ttl(ttl) == ttl
    else:
        with pytest.raises(InvalidTokenRequest):
            check_ttl(ttl)


def test_claims_are_those_of_a_projected_token() -> None:
    claims = projected_token_claims(ISSUER, TokenRequest("demo", "demo-app", ttl=3600, pod_name="demo-app-7f9c"),
                                    issued_at=1_800_000_000, token_id="id-1")
    assert claims["aud"] == ["sts.amazonaws.com"]
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (1_800_000_000, 1_800_000_000, 1_800_003_600)
    assert claims["sub"] == "system:serviceaccount:demo:demo-app" and claims["iss"] == ISSUER
    assert claims["jti"] == "id-1"
    kubernetes = claims["kubernetes.io"]
    assert kubernetes["namespace"] == "demo"
    assert kubernetes["serviceaccount"]["name"] == "demo-app"
    assert kubernetes["pod"]["name"] == "demo-app-7f9c"
    assert kubernetes["serviceaccount"]["uid"] != kubernetes["pod"]["uid"]
    other = projected_token_claims(ISSUER, TokenRequest("other", "demo-app"), issued_at=1, token_id="id-2")
    assert other["kubernetes.io"]["serviceaccount"]["uid"] != kubernetes["serviceaccount"]["uid"]
    assert "pod" not in other["kubernetes.io"]


def test_a_minted_token_verifies_with_the_published_jwks(issuer: ServiceAccountIssuer) -> None:
    token = issuer.mint(TokenRequest("demo", "demo-app"))
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": issuer.kid}
    (key,) = jwt.PyJWKSet.from_dict(issuer.jwks()).keys
    assert key.key_id == issuer.kid == key_id(issuer.signing_key.public_key())
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="sts.amazonaws.com", issuer=ISSUER)
    assert claims["exp"] - claims["iat"] == 86400
    assert set(issuer.jwks()["keys"][0]) == {"use", "kty", "kid", "alg", "n", "e"}


def test_mint_refuses_what_kubernetes_refuses_unless_told_otherwise(issuer: ServiceAccountIssuer) -> None:
    with pytest.raises(InvalidTokenRequest):
        issuer.mint(TokenRequest("demo", "demo-app", ttl=60))
    short = issuer.mint(TokenRequest("demo", "demo-app", ttl=60), issued_at=100, enforce_ttl=False)
    assert jwt.decode(short, options={"verify_signature": False})["exp"] == 160
    with pytest.raises(InvalidTokenRequest):
        issuer.mint(TokenRequest("Demo", "demo-app"), enforce_ttl=False)


def test_the_discovery_document_is_an_eks_issuers(issuer: ServiceAccountIssuer) -> None:
    document = issuer.discovery_document()
    assert document["issuer"] == ISSUER and document["jwks_uri"] == f"{ISSUER}/keys"
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["response_types_supported"] == ["id_token"]


def test_issuer_urls_and_their_iam_form() -> None:
    issuer_id = new_issuer_id()
    assert len(issuer_id) == 32 and issuer_id == issuer_id.upper()
    url = issuer_url("localhost", 8443, issuer_id)
    assert url == f"https://localhost:8443/id/{issuer_id}"
    assert without_scheme(url) == f"localhost:8443/id/{issuer_id}"
    assert without_scheme("oidc.eks.us-east-1.amazonaws.com/id/X") == "oidc.eks.us-east-1.amazonaws.com/id/X"
    with pytest.raises(ValueError):
        issuer_url("localhost", 8443, "abc")
