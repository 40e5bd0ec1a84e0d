"""The OIDC issuer of the local cluster, like an EKS cluster's: one RSA signing key, the discovery
document and JWKS it serves, and the service-account tokens it signs (RS256, with ``kid``).
Pure: the key comes in, documents and tokens go out (serving is :mod:`.oidc_server`).

EKS's issuer is ``https://oidc.eks.<region>.amazonaws.com/id/<32 hex>`` with its JWKS at
``<issuer>/keys``; the local one is ``https://localhost:<port>/id/<32 hex>`` and keeps the layout.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from pgiam.localcloud.serviceaccounts import TokenRequest, projected_token_claims

SIGNING_ALGORITHM = "RS256"
RSA_KEY_BITS = 2048
ISSUER_ID_PATTERN = re.compile(r"^[0-9A-F]{32}$")


def new_issuer_id() -> str:
    """The ``<32 HEX>`` path segment of an EKS issuer."""
    return secrets.token_hex(16).upper()


def new_signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)


def issuer_url(host: str, port: int, issuer_id: str) -> str:
    if not ISSUER_ID_PATTERN.match(issuer_id):
        raise ValueError(f"issuer id {issuer_id!r} is not 32 upper-case hex digits")
    return f"https://{host}:{port}/id/{issuer_id}"


def without_scheme(url: str) -> str:
    """``https://host:port/path`` -> ``host:port/path``: IAM's form of an OIDC provider URL and the
    prefix of its condition keys (``<host/path>:sub``)."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}" if parts.scheme else url


def key_id(public_key: rsa.RSAPublicKey) -> str:
    """Kubernetes' ``kid``: base64url of the SHA-256 of the DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")


def private_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the OIDC signing key must be an RSA key")
    return key


@dataclass(frozen=True)
class ServiceAccountIssuer:
    issuer: str
    signing_key: rsa.RSAPrivateKey

    @property
    def kid(self) -> str:
        return key_id(self.signing_key.public_key())

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/keys"

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.signing_key.public_key(), as_dict=True)
        return {"keys": [{"use": "sig", "kty": "RSA", "kid": self.kid, "alg": SIGNING_ALGORITHM,
                          "n": jwk["n"], "e": jwk["e"]}]}

    def discovery_document(self) -> dict[str, Any]:
        """What EKS serves at ``<issuer>/.well-known/openid-configuration``."""
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "authorization_endpoint": "urn:kubernetes:programmatic_authorization",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "claims_supported": ["sub", "iss"],
            "id_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
        }

    def mint(self, request: TokenRequest, *, issued_at: int | None = None,
             enforce_ttl: bool = True) -> str:
        """A signed projected service-account token. ``issued_at`` (epoch seconds) defaults to now;
        tests pass an earlier one (with ``enforce_ttl=False``) to get an expired token."""
        request.validated(enforce_ttl=enforce_ttl)
        now = int(time.time()) if issued_at is None else int(issued_at)
        claims = projected_token_claims(self.issuer, request, issued_at=now, token_id=str(uuid.uuid4()))
        return jwt.encode(claims, self.signing_key, algorithm=SIGNING_ALGORITHM,
                          headers={"kid": self.kid, "typ": None})
