"""Checking the SigV4 signature of an API request signed in its ``Authorization`` header, as AWS
does before it looks at anything else. Pure: the request, the secret and the clock are given.

The canonical request, the string to sign and the signing key are botocore's own
(``SigV4Auth``): the code every Python client signs with. What is written here is only what a
server does and a client does not: reading the ``Authorization`` header, taking the signed
headers exactly as ``SignedHeaders`` lists them (botocore, as a client, picks its own), checking
the date window and comparing in constant time.

Every signed call to the local cloud is checked with this (``caller_authz`` through
``sts_handler.Authenticator``): only keys the cloud issued, with their secret, are accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

from botocore.auth import SIGV4_TIMESTAMP, UNSIGNED_PAYLOAD, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from pgiam.localcloud.awsquery import AwsError

ALGORITHM = "AWS4-HMAC-SHA256"
# AWS: "Signature expired" past 15 minutes, "Signature not yet current" more than 15 minutes ahead
MAX_SKEW = timedelta(minutes=15)
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 +Credential=(?P<key>[A-Za-z0-9_]{16,128})/(?P<date>[0-9]{8})/(?P<region>[a-z0-9-]{1,32})/"
    r"(?P<service>[a-z0-9-]{1,64})/aws4_request *, *SignedHeaders=(?P<headers>[a-z0-9-]+(?:;[a-z0-9-]+)*) *, *"
    r"Signature=(?P<signature>[0-9a-f]{64})$")
_AMZ_DATE = re.compile(r"^[0-9]{8}T[0-9]{6}Z$")
SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
                      "Check your AWS Secret Access Key and signing method. Consult the service "
                      "documentation for details.")


@dataclass(frozen=True)
class Authorization:
    """The ``Authorization`` header taken apart."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str = field(repr=False)


@dataclass(frozen=True)
class ReceivedRequest:
    """An HTTP request as the server received it: ``headers`` as (name, value) pairs in order
    (a repeated header appears twice), ``raw_path`` percent-encoded as sent, ``query`` the raw
    query string, ``body`` the bytes after any transfer decoding."""

    method: str
    raw_path: str
    query: str
    headers: Sequence[tuple[str, str]]
    body: bytes = field(repr=False)

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


def incomplete(message: str) -> AwsError:
    return AwsError("IncompleteSignature", message, 400)


def mismatch(detail: str, message: str = SIGNATURE_MISMATCH) -> AwsError:
    return AwsError("SignatureDoesNotMatch", message, 403, detail=detail)


def parse_authorization(value: str | None) -> Authorization:
    """``AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b,
    Signature=hex``, strictly (``IncompleteSignature`` otherwise)."""
    if not value:
        raise AwsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)
    match = _AUTHORIZATION.match(value.strip())
    if match is None:
        raise incomplete("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                         "parameters of AWS4-HMAC-SHA256, with lower-case hex signature.")
    headers = tuple(match["headers"].split(";"))
    if list(headers) != sorted(set(headers)):
        raise incomplete("SignedHeaders must be sorted, lower case and without repetition.")
    return Authorization(match["key"], match["date"], match["region"], match["service"], headers,
                         match["signature"])


def signed_at(request: ReceivedRequest, authorization: Authorization) -> datetime:
    """The signing time: the ``X-Amz-Date`` header, which must be signed and match the scope."""
    if "x-amz-date" not in authorization.signed_headers:
        raise incomplete("The x-amz-date header must be signed.")
    values = request.header_values("x-amz-date")
    if len(values) != 1 or not _AMZ_DATE.match(values[0].strip()):
        raise incomplete("X-Amz-Date must be one YYYYMMDD'T'HHMMSS'Z' timestamp.")
    try:
        moment = datetime.strptime(values[0].strip(), SIGV4_TIMESTAMP).replace(tzinfo=timezone.utc)
    except ValueError:
        raise incomplete("X-Amz-Date is not a date.") from None
    if moment.strftime("%Y%m%d") != authorization.date:
        raise mismatch(f"credential scope date {authorization.date} is not X-Amz-Date's",
                       f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                       f"from HTTP: '{authorization.date}' != '{moment:%Y%m%d}', from '{values[0].strip()}'.")
    return moment


def check_window(moment: datetime, now: datetime) -> None:
    if now - moment > MAX_SKEW:
        raise mismatch("signed more than 15 minutes ago",
                       f"Signature expired: {moment:%Y%m%dT%H%M%SZ} is now earlier than "
                       f"{now - MAX_SKEW:%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} - 15 min.)")
    if moment - now > MAX_SKEW:
        raise mismatch("signed more than 15 minutes ahead",
                       f"Signature not yet current: {moment:%Y%m%dT%H%M%SZ} is still later than "
                       f"{now + MAX_SKEW:%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} + 15 min.)")


class _ServerSigV4(SigV4Auth):
    """botocore's SigV4 with the signed headers exactly as the client listed them and the hash of
    the body as received."""

    def __init__(self, credentials: Credentials, service: str, region: str, signed: HTTPHeaders,
                 payload_digest: str) -> None:
        super().__init__(credentials, service, region)
        self._signed = signed
        self._payload_digest = payload_digest

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        return self._signed

    def payload(self, request: AWSRequest) -> str:
        return self._payload_digest


def signed_header_map(request: ReceivedRequest, authorization: Authorization) -> HTTPHeaders:
    if "host" not in authorization.signed_headers:
        raise incomplete("The host header must be signed.")
    signed = HTTPHeaders()
    for name in authorization.signed_headers:
        values = request.header_values(name)
        if not values:
            raise mismatch(f"signed header {name!r} is not in the request")
        for value in values:
            signed[name] = value
    return signed


def payload_hash(request: ReceivedRequest, signed: HTTPHeaders) -> str:
    """The body's SHA-256; a signed ``X-Amz-Content-SHA256`` must be that very hash (an unsigned
    payload is not accepted over plain HTTP, as AWS requires payload signing there)."""
    actual = hashlib.sha256(request.body).hexdigest()
    claimed = signed.get("x-amz-content-sha256")
    if claimed is not None and claimed.strip() != actual:
        detail = "unsigned payload" if claimed.strip() == UNSIGNED_PAYLOAD else "content hash differs"
        raise mismatch(detail, "The provided 'x-amz-content-sha256' header does not match what was computed.")
    return actual


def expected_signature(request: ReceivedRequest, authorization: Authorization, secret: str,
                       session_token: str | None, timestamp: str) -> str:
    signed = signed_header_map(request, authorization)
    digest = payload_hash(request, signed)
    signer = _ServerSigV4(Credentials(authorization.access_key_id, secret, session_token),
                          authorization.service, authorization.region, signed, digest)
    path = "/" + unquote(request.raw_path).lstrip("/")
    aws_request = AWSRequest(method=request.method.upper(), url=f"http://{signed['host']}{path}"
                             + (f"?{request.query}" if request.query else ""))
    aws_request.context["timestamp"] = timestamp
    canonical = signer.canonical_request(aws_request)
    return signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)


def verify(request: ReceivedRequest, authorization: Authorization, *, secret: str,
           session_token: str | None, now: datetime) -> None:
    """Raise :class:`AwsError` unless the request's signature is the one ``secret`` makes."""
    moment = signed_at(request, authorization)
    check_window(moment, now)
    expected = expected_signature(request, authorization, secret, session_token,
                                  moment.strftime(SIGV4_TIMESTAMP))
    if not hmac.compare_digest(expected.encode("ascii"), authorization.signature.encode("ascii")):
        raise mismatch("the signature does not match")


def received_request(environ: Mapping[str, Any], headers: Sequence[tuple[str, str]], body: bytes,
                     ) -> ReceivedRequest:
    """A :class:`ReceivedRequest` from a WSGI environ (werkzeug's server keeps the raw path in
    ``RAW_URI``) and the request's headers and body."""
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO") or "/")
    raw_path = raw.split("?", 1)[0]
    return ReceivedRequest(method=str(environ.get("REQUEST_METHOD", "GET")), raw_path=raw_path,
                           query=str(environ.get("QUERY_STRING", "")), headers=list(headers), body=body)
