"""Fetching an OIDC issuer's signing keys as STS does: the discovery document at
``<issuer>/.well-known/openid-configuration``, then its ``jwks_uri``, over HTTPS verified against
the given trust (the local CA), cached for a while. The STS model sees this through its
``KeySource`` protocol.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jwt

from pgiam.localcloud.sts import KeySourceError

MAX_DOCUMENT_BYTES = 1 << 20
DEFAULT_TTL_SECONDS = 300.0
MIN_REFRESH_INTERVAL = 1.0  # a flood of tokens with unknown kids must not become a flood of fetches


@dataclass
class _Entry:
    keys: list[jwt.PyJWK]
    fetched: float


def fetch_json(url: str, ssl_context: ssl.SSLContext, timeout: float) -> dict:
    if not url.startswith("https://"):
        raise KeySourceError(f"{url} is not an https URL")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=ssl_context) as response:
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise KeySourceError(f"GET {url}: {getattr(exc, 'reason', exc)}") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise KeySourceError(f"GET {url}: the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise KeySourceError(f"GET {url}: not JSON") from None
    if not isinstance(data, dict):
        raise KeySourceError(f"GET {url}: not a JSON object")
    return data


class HttpsKeySource:
    def __init__(self, ssl_context: ssl.SSLContext, *, ttl: float = DEFAULT_TTL_SECONDS,
                 timeout: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ssl_context = ssl_context
        self.ttl = ttl
        self.timeout = timeout
        self.clock = clock
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def keys(self, issuer: str, *, refresh: bool = False) -> Sequence[jwt.PyJWK]:
        now = self.clock()
        with self._lock:
            entry = self._cache.get(issuer)
        if entry is not None:
            age = now - entry.fetched
            if age < self.ttl and not (refresh and age >= MIN_REFRESH_INTERVAL):
                return entry.keys
        keys = self._fetch(issuer)
        with self._lock:
            self._cache[issuer] = _Entry(keys, now)
        return keys

    def _fetch(self, issuer: str) -> list[jwt.PyJWK]:
        discovery = fetch_json(f"{issuer.rstrip('/')}/.well-known/openid-configuration",
                               self.ssl_context, self.timeout)
        if discovery.get("issuer") != issuer:
            raise KeySourceError(f"the discovery document of {issuer} names issuer {discovery.get('issuer')!r}")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise KeySourceError(f"the discovery document of {issuer} has no jwks_uri")
        jwks = fetch_json(jwks_uri, self.ssl_context, self.timeout)
        try:
            return list(jwt.PyJWKSet.from_dict(jwks).keys)
        except jwt.PyJWKSetError as exc:
            raise KeySourceError(f"{jwks_uri}: {exc}") from None
