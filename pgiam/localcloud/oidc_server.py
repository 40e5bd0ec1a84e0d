"""The issuer's HTTPS face: ``<issuer path>/.well-known/openid-configuration`` and
``<issuer path>/keys`` (GET/HEAD), 404 for anything else. Documents are rendered once."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from pgiam.localcloud.oidc import ServiceAccountIssuer


class OidcApp:
    def __init__(self, issuer: ServiceAccountIssuer) -> None:
        base = urlsplit(issuer.issuer).path.rstrip("/")
        self.documents = {
            f"{base}/.well-known/openid-configuration": json.dumps(issuer.discovery_document()).encode(),
            f"{base}/keys": json.dumps(issuer.jwks()).encode(),
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        document = self.documents.get(request.path)
        if document is None:
            response = Response(b'{"error": "not found"}', status=404, content_type="application/json")
        elif request.method not in ("GET", "HEAD"):
            response = Response(b'{"error": "method not allowed"}', status=405,
                                content_type="application/json", headers={"Allow": "GET, HEAD"})
        else:
            response = Response(document, content_type="application/json",
                                headers={"Cache-Control": "max-age=300"})
        return response(environ, start_response)
