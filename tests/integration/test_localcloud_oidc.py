"""The issuer as a relying party sees it: discovery and JWKS over HTTPS trusted through
``ca_bundle`` only, and ``sa-token`` output that verifies against them with EKS's claims."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import jwt
import pytest

from pgiam.localcloud.client import LocalCloud


def fetch(url: str, cloud: LocalCloud) -> dict:
    context = ssl.create_default_context(cafile=str(cloud.ca_bundle))
    with urllib.request.urlopen(url, timeout=10, context=context) as response:
        assert response.headers["Content-Type"] == "application/json"
        return json.loads(response.read())


def sa_token(cloud: LocalCloud, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "pgiam", "localcloud", "sa-token", "--state-dir",
                             str(cloud.state_dir), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    return result.stdout.strip()


def test_discovery_document_names_the_issuer_and_its_keys(localcloud: LocalCloud) -> None:
    discovery = fetch(localcloud.info["oidc"]["discovery_url"], localcloud)
    assert discovery["issuer"] == localcloud.issuer
    assert discovery["jwks_uri"] == f"{localcloud.issuer}/keys" == localcloud.info["oidc"]["jwks_uri"]
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]
    keys = fetch(discovery["jwks_uri"], localcloud)["keys"]
    assert [(k["kty"], k["alg"], k["use"], k["kid"]) for k in keys] == [
        ("RSA", "RS256", "sig", localcloud.info["oidc"]["kid"])]
    assert "d" not in keys[0] and "p" not in keys[0]  # public parts only


def test_issuer_url_looks_like_an_eks_issuer(localcloud: LocalCloud) -> None:
    prefix, issuer_id = localcloud.issuer.rsplit("/id/", 1)
    assert prefix.startswith("https://localhost:") and len(issuer_id) == 32
    assert issuer_id == issuer_id.upper() and int(issuer_id, 16) >= 0


def test_the_issuer_is_not_trusted_without_the_local_ca(localcloud: LocalCloud) -> None:
    with pytest.raises(urllib.error.URLError) as caught:
        urllib.request.urlopen(localcloud.info["oidc"]["discovery_url"], timeout=10,
                               context=ssl.create_default_context())
    assert isinstance(caught.value.reason, ssl.SSLCertVerificationError)


def test_unknown_paths_are_not_found(localcloud: LocalCloud) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        fetch(localcloud.issuer.rsplit("/", 1)[0] + "/0123/keys", localcloud)
    assert caught.value.code == 404


def test_sa_token_verifies_against_the_jwks_and_carries_eks_claims(localcloud: LocalCloud) -> None:
    token = sa_token(localcloud, "--namespace", "demo", "--service-account", "demo-app", "--pod", "demo-app-1",
                     "--ttl", "3600")
    client = jwt.PyJWKClient(localcloud.info["oidc"]["jwks_uri"],
                             ssl_context=ssl.create_default_context(cafile=str(localcloud.ca_bundle)))
    key = client.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="sts.amazonaws.com",
                        issuer=localcloud.issuer)
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": localcloud.info["oidc"]["kid"]}
    assert claims["sub"] == "system:serviceaccount:demo:demo-app"
    assert claims["aud"] == ["sts.amazonaws.com"]
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    kubernetes = claims["kubernetes.io"]
    assert kubernetes["namespace"] == "demo"
    assert kubernetes["serviceaccount"]["name"] == "demo-app"
    assert kubernetes["pod"]["name"] == "demo-app-1"
    again = jwt.decode(sa_token(localcloud, "--namespace", "demo", "--service-account", "demo-app"),
                       options={"verify_signature": False})
    assert again["kubernetes.io"]["serviceaccount"]["uid"] == kubernetes["serviceaccount"]["uid"]
    assert again["jti"] != claims["jti"] and again["exp"] - again["iat"] == 86400
