"""Kubernetes service-account tokens as EKS projects them into a pod: what the claims are and
which names and lifetimes Kubernetes accepts. Pure: no keys, no I/O (signing is in :mod:`.oidc`).

The claims follow a projected token of the TokenRequest API (``aud`` a list, ``sub``
``system:serviceaccount:<ns>:<sa>``, ``iat``/``nbf``/``exp``, ``jti``, and the ``kubernetes.io``
claim with the namespace, the service account and, for a pod's token, the pod). The uids are
derived from the issuer and the names, so a service account keeps its uid across tokens, as it
does in a cluster.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

# Kubernetes' own validation (k8s.io/apimachinery/pkg/util/validation)
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_MAX = 63
SUBDOMAIN_MAX = 253
# TokenRequest: "may not specify a duration less than 10 minutes" / "larger than 2^32 seconds"
MIN_TTL_SECONDS = 600
MAX_TTL_SECONDS = 2**32
DEFAULT_TTL_SECONDS = 86400  # EKS's pod identity webhook: eks.amazonaws.com/token-expiration default
DEFAULT_AUDIENCE = "sts.amazonaws.com"
AUDIENCE_MAX = 255  # IAM's limit on an OIDC provider's client id


class InvalidTokenRequest(ValueError):
    """A name, audience or lifetime Kubernetes would refuse. ``field`` names the argument."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def check_namespace(namespace: str) -> str:
    _check_name("namespace", namespace, DNS1123_LABEL, LABEL_MAX, "a DNS-1123 label")
    return namespace


def check_service_account(name: str) -> str:
    _check_name("service account", name, DNS1123_SUBDOMAIN, SUBDOMAIN_MAX, "a DNS-1123 subdomain")
    return name


def check_pod_name(name: str) -> str:
    _check_name("pod", name, DNS1123_SUBDOMAIN, SUBDOMAIN_MAX, "a DNS-1123 subdomain")
    return name


def _check_name(field: str, value: str, pattern: re.Pattern[str], limit: int, kind: str) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidTokenRequest(field, "must not be empty")
    if len(value) > limit:
        raise InvalidTokenRequest(field, f"{value[:20]!r}... is {len(value)} characters; at most {limit}")
    if not pattern.match(value):
        raise InvalidTokenRequest(
            field, f"{value!r} is not {kind} (lower-case letters, digits and '-'"
            f"{', ' + repr('.') if pattern is DNS1123_SUBDOMAIN else ''}; starting and ending "
            "with a letter or digit)")


def check_audience(audience: str) -> str:
    if not isinstance(audience, str) or not audience:
        raise InvalidTokenRequest("audience", "must not be empty")
    if len(audience) > AUDIENCE_MAX:
        raise InvalidTokenRequest("audience", f"is {len(audience)} characters; at most {AUDIENCE_MAX}")
    if any(c.isspace() or ord(c) < 0x20 for c in audience):
        raise InvalidTokenRequest("audience", f"{audience!r} contains white space or control characters")
    return audience


def check_ttl(ttl: int) -> int:
    if isinstance(ttl, bool) or not isinstance(ttl, int):
        raise InvalidTokenRequest("ttl", f"{ttl!r} is not a whole number of seconds")
    if ttl < MIN_TTL_SECONDS:
        raise InvalidTokenRequest("ttl", f"{ttl} s is less than Kubernetes' minimum of "
                                  f"{MIN_TTL_SECONDS} s (10 minutes)")
    if ttl > MAX_TTL_SECONDS:
        raise InvalidTokenRequest("ttl", f"{ttl} s is more than Kubernetes' maximum of 2^32 s")
    return ttl


def subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def object_uid(issuer: str, kind: str, namespace: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{issuer}#{kind}/{namespace}/{name}"))


@dataclass(frozen=True)
class TokenRequest:
    """What a kubelet asks for: a token for one service account (and pod), one audience."""

    namespace: str
    service_account: str
    audience: str = DEFAULT_AUDIENCE
    ttl: int = DEFAULT_TTL_SECONDS
    pod_name: str | None = None

    def validated(self, *, enforce_ttl: bool = True) -> TokenRequest:
        """Raise :class:`InvalidTokenRequest` for anything Kubernetes would refuse.
        ``enforce_ttl=False`` lets tests mint tokens already expired or short-lived."""
        check_namespace(self.namespace)
        check_service_account(self.service_account)
        check_audience(self.audience)
        if self.pod_name is not None:
            check_pod_name(self.pod_name)
        if enforce_ttl:
            check_ttl(self.ttl)
        elif isinstance(self.ttl, bool) or not isinstance(self.ttl, int):
            raise InvalidTokenRequest("ttl", f"{self.ttl!r} is not a whole number of seconds")
        return self


def projected_token_claims(issuer: str, request: TokenRequest, *, issued_at: int,
                           token_id: str) -> dict[str, Any]:
    """The claims of a projected service-account token issued at ``issued_at`` (epoch seconds)."""
    kubernetes: dict[str, Any] = {"namespace": request.namespace}
    if request.pod_name is not None:
        kubernetes["pod"] = {"name": request.pod_name,
                             "uid": object_uid(issuer, "pod", request.namespace, request.pod_name)}
    kubernetes["serviceaccount"] = {
        "name": request.service_account,
        "uid": object_uid(issuer, "serviceaccount", request.namespace, request.service_account),
    }
    return {
        "aud": [request.audience],
        "exp": issued_at + request.ttl,
        "iat": issued_at,
        "iss": issuer,
        "jti": token_id,
        "kubernetes.io": kubernetes,
        "nbf": issued_at,
        "sub": subject(request.namespace, request.service_account),
    }
