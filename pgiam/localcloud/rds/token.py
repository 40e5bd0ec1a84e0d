"""The RDS IAM authentication token check. Pure: no I/O; who owns an access key and what its
principal may do come through an injected :class:`KeyDirectory`, the time through ``now``.

A token is what ``generate_db_auth_token`` returns: a SigV4 presigned URL without its scheme,
``host:port/?Action=connect&DBUser=...&X-Amz-Algorithm=...&X-Amz-Credential=...&X-Amz-Date=...
&X-Amz-Expires=...&X-Amz-SignedHeaders=host[&X-Amz-Security-Token=...]&X-Amz-Signature=...``,
signed for the service ``rds-db``. :func:`check_token` accepts it only if every rule of RDS holds
and otherwise names the first rule broken (:class:`Reason`), for the log: the client is only ever
told that authentication failed.

The signature is recomputed with botocore's own SigV4 signer (canonical request, string to sign,
signing key), so the check agrees with every SDK that signs as botocore does, including botocore
dropping a default port (443) from the signed ``host``. Parameters are percent-decoded once and
re-encoded by the signer, as SigV4 canonicalisation prescribes.
"""

from __future__ import annotations

import contextlib
import enum
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol
from urllib.parse import unquote

from botocore.auth import EMPTY_SHA256_HASH, SIGV4_TIMESTAMP, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pgiam.iam import Decision, Request

MAX_TOKEN_BYTES = 8192
MAX_EXPIRES_SECONDS = 900
# a token dated this far ahead of our clock is still taken (client clocks run a little fast);
# its end of validity is never extended
FUTURE_SKEW = timedelta(minutes=5)
SERVICE = "rds-db"
ALGORITHM = "AWS4-HMAC-SHA256"
ACTION = "rds-db:connect"

REQUIRED_PARAMETERS = ("Action", "DBUser", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                       "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature")
OPTIONAL_PARAMETERS = ("X-Amz-Security-Token",)
KNOWN_PARAMETERS = frozenset(REQUIRED_PARAMETERS + OPTIONAL_PARAMETERS)

_NETLOC = re.compile(r"^(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])"
                     r":(?P<port>[1-9][0-9]{0,4})$")  # no leading zeros: "05432" is no endpoint's port
# the characters RFC 3986 allows in a query, '%' escapes included (no space, '#', '"', brackets)
_RAW_QUERY_CHARS = re.compile(r"^[!$&'()*+,\-./0-9:;=?@A-Z_a-z~%]*$")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_AMZ_DATE = re.compile(r"^[0-9]{8}T[0-9]{6}Z$")
_ACCESS_KEY_ID = re.compile(r"^[A-Za-z0-9_]{16,128}$")
_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
_EXPIRES = re.compile(r"^[0-9]{1,6}$")
_LOGGED_VALUE_CHARS = 64


class Reason(enum.Enum):
    """Why a token was refused: ``code`` for the log's readers and tests, ``summary`` in words."""

    TOKEN_TOO_LONG = ("token-too-long", "the token is longer than any token RDS accepts")
    IAM_AUTH_DISABLED = ("iam-auth-disabled", "IAM database authentication is off for this database")
    MALFORMED = ("malformed", "the token is not host:port/?query")
    DUPLICATE_PARAMETER = ("duplicate-parameter", "a parameter appears twice")
    UNKNOWN_PARAMETER = ("unknown-parameter", "a parameter RDS tokens do not have")
    MISSING_PARAMETER = ("missing-parameter", "a required parameter is missing")
    WRONG_ACTION = ("wrong-action", "Action is not connect")
    USER_MISMATCH = ("user-mismatch", "DBUser is not the user logging in")
    BAD_ALGORITHM = ("bad-algorithm", "X-Amz-Algorithm is not AWS4-HMAC-SHA256")
    BAD_SIGNED_HEADERS = ("bad-signed-headers", "X-Amz-SignedHeaders is not host")
    BAD_DATE = ("bad-date", "X-Amz-Date is not a SigV4 timestamp")
    BAD_CREDENTIAL = ("bad-credential", "X-Amz-Credential is not key/date/region/service/aws4_request")
    WRONG_SERVICE = ("wrong-service", "the credential scope's service is not rds-db")
    WRONG_REGION = ("wrong-region", "the credential scope's region is not the database's")
    SCOPE_DATE_MISMATCH = ("scope-date-mismatch", "the credential scope's date is not X-Amz-Date's")
    BAD_EXPIRES = ("bad-expires", "X-Amz-Expires is not a whole number of seconds from 1 to 900")
    NOT_YET_VALID = ("not-yet-valid", "X-Amz-Date is in the future")
    EXPIRED = ("expired", "the token has expired")
    WRONG_ENDPOINT = ("wrong-endpoint", "the token is signed for another host or port")
    UNKNOWN_ACCESS_KEY = ("unknown-access-key", "the access key is not known")
    SESSION_TOKEN_MISMATCH = ("session-token-mismatch",
                              "X-Amz-Security-Token does not belong to the access key")
    SIGNATURE_MISMATCH = ("signature-mismatch", "the signature does not match")
    CREDENTIALS_EXPIRED = ("credentials-expired", "the temporary credentials have expired")
    POLICY_UNREADABLE = ("policy-unreadable", "the principal's policies cannot be evaluated")
    NOT_AUTHORIZED = ("not-authorized", "no policy allows rds-db:connect on this database user")

    def __init__(self, code: str, summary: str) -> None:
        self.code = code
        self.summary = summary


@dataclass(frozen=True)
class SigningKey:
    """An access key as the local IAM/STS knows it. ``principal_arn`` is the role for a role
    session, the user for a user key; ``context`` holds the global condition keys AWS derives
    from the caller (``aws:PrincipalArn``, ``aws:userid``, ...); ``handle`` is the directory's
    own record of the key, handed back to :meth:`KeyDirectory.authorize`."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(repr=False)
    expiration: datetime | None
    principal_arn: str
    account_id: str
    context: Mapping[str, Any] = field(default_factory=dict)
    handle: Any = field(default=None, repr=False, compare=False)


class KeyDirectory(Protocol):
    """Where the check learns about access keys and what their principals may do."""

    def resolve(self, access_key_id: str) -> SigningKey | None:
        """The key, or None if it is unknown or inactive."""

    def authorize(self, key: SigningKey, request: Request) -> Decision:
        """The principal's policies decided for ``request``. May raise ``LookupError`` (unknown
        principal) or ``ValueError`` (a policy IAM would not have stored)."""

    def explain(self, key: SigningKey, request: Request) -> str:
        """Why no policy allowed ``request``, for the log (see ``pgiam.iam.explain_no_allow``)."""


@dataclass(frozen=True)
class ConnectTarget:
    """The database a login is for: what the token must name and the ARN the policy must allow.

    ``resource_id`` is the cluster's ``DbClusterResourceId`` (Aurora) or the instance's
    ``DbiResourceId``; ``hosts`` the endpoint host names that reach it (lower case), ``port`` its
    port. ``name`` is only for the log."""

    region: str
    account_id: str
    partition: str
    resource_id: str
    hosts: frozenset[str]
    port: int
    iam_enabled: bool
    name: str = ""

    def dbuser_arn(self, user: str) -> str:
        return (f"arn:{self.partition}:rds-db:{self.region}:{self.account_id}:dbuser:"
                f"{self.resource_id}/{user}")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check. ``detail`` is for the log: it never holds the token, the
    signature or a secret."""

    accepted: bool
    reason: Reason | None
    detail: str
    access_key_id: str | None = None
    principal_arn: str | None = None
    endpoint: str | None = None  # accepted: the endpoint name and port the token was signed for

    @property
    def code(self) -> str:
        return "accepted" if self.reason is None else self.reason.code


class Refusal(Exception):
    """A rule the token breaks (raised inside the check, returned as a :class:`Verdict`)."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(reason.code)
        self.reason = reason
        self.detail = detail or reason.summary


@dataclass(frozen=True)
class CredentialScope:
    access_key_id: str
    date: str
    region: str
    service: str


@dataclass(frozen=True)
class ParsedToken:
    """A token taken apart. ``signed_params`` are the decoded parameters but the signature."""

    netloc: str
    host: str
    port: int
    signed_params: Mapping[str, str]
    signature: str

    @property
    def access_key_id(self) -> str | None:
        credential = self.signed_params.get("X-Amz-Credential", "")
        key = credential.split("/", 1)[0]
        return key if _ACCESS_KEY_ID.match(key) else None


def shown(value: str) -> str:
    """A value from the token as the log may show it: quoted, escaped, cut short."""
    if len(value) > _LOGGED_VALUE_CHARS:
        return repr(value[:_LOGGED_VALUE_CHARS]) + f"...({len(value)} chars)"
    return repr(value)


# -- parsing --------------------------------------------------------------------------------------

def token_text(token: str | bytes) -> str:
    """The token as text: ASCII only, at most ``MAX_TOKEN_BYTES``."""
    if len(token) > MAX_TOKEN_BYTES:
        raise Refusal(Reason.TOKEN_TOO_LONG, f"{len(token)} bytes > {MAX_TOKEN_BYTES}")
    try:
        text = token.decode("ascii") if isinstance(token, bytes) else token
        text.encode("ascii")
    except UnicodeError:
        raise Refusal(Reason.MALFORMED, "the token has non-ASCII characters") from None
    return text


def split_token(text: str) -> tuple[str, str]:
    """``host:port/?query`` -> ``(netloc, query)``; RDS tokens carry no scheme and path ``/``."""
    if "://" in text:
        raise Refusal(Reason.MALFORMED, "the token has a URL scheme (RDS tokens have none)")
    netloc, slash, rest = text.partition("/")
    if not slash or not rest.startswith("?"):
        raise Refusal(Reason.MALFORMED, "the token is not host:port/?query")
    return netloc, rest[1:]


def parse_netloc(netloc: str) -> tuple[str, int]:
    match = _NETLOC.match(netloc)
    if not match:  # not echoed: in a mangled token this part may hold the rest of the token
        raise Refusal(Reason.MALFORMED, f"the {len(netloc)} characters before '/' are not host:port")
    port = int(match["port"])
    if not 0 < port < 65536:
        raise Refusal(Reason.MALFORMED, f"port {port} is out of range")
    return match["host"], port


def decode_component(raw: str) -> str:
    """Percent-decode once, strictly: every ``%`` starts an escape, the bytes are UTF-8. A ``+``
    stays a plus (SigV4 query strings encode a space as ``%20``)."""
    if _BAD_ESCAPE.search(raw):
        raise Refusal(Reason.MALFORMED, "a percent sign does not start a %XX escape")
    try:
        return unquote(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise Refusal(Reason.MALFORMED, "an escaped value is not UTF-8") from None


def parse_query(query: str) -> dict[str, str]:
    """The parameters, decoded; duplicates and unknown names refused, required ones present."""
    if not query or not _RAW_QUERY_CHARS.match(query):
        raise Refusal(Reason.MALFORMED, "the query is empty or has characters a URL query cannot")
    params: dict[str, str] = {}
    for pair in query.split("&"):
        raw_name, equals, raw_value = pair.partition("=")
        if not equals or not raw_name:
            raise Refusal(Reason.MALFORMED, "a query part is not name=value")
        name, value = decode_component(raw_name), decode_component(raw_value)
        if name not in KNOWN_PARAMETERS:
            raise Refusal(Reason.UNKNOWN_PARAMETER, f"unknown parameter {shown(name)}")
        if name in params:
            raise Refusal(Reason.DUPLICATE_PARAMETER, f"{name} appears more than once")
        params[name] = value
    missing = [name for name in REQUIRED_PARAMETERS if name not in params]
    if missing:
        raise Refusal(Reason.MISSING_PARAMETER, f"missing {', '.join(missing)}")
    return params


def parse_token(token: str | bytes) -> ParsedToken:
    """Take a token apart, refusing anything that is not the shape of an RDS token."""
    netloc, query = split_token(token_text(token))
    host, port = parse_netloc(netloc)
    params = parse_query(query)
    signature = params.pop("X-Amz-Signature")
    return ParsedToken(netloc=netloc, host=host.lower(), port=port, signed_params=params,
                       signature=signature)


def parse_amz_date(value: str) -> datetime:
    if not _AMZ_DATE.match(value):
        raise Refusal(Reason.BAD_DATE, f"X-Amz-Date {shown(value)}")
    try:
        return datetime.strptime(value, SIGV4_TIMESTAMP).replace(tzinfo=timezone.utc)
    except ValueError:
        raise Refusal(Reason.BAD_DATE, f"X-Amz-Date {shown(value)} is not a date") from None


def parse_credential_scope(value: str) -> CredentialScope:
    parts = value.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not _ACCESS_KEY_ID.match(parts[0]) \
            or not re.match(r"^[0-9]{8}$", parts[1]) or not parts[2] or not parts[3]:
        raise Refusal(Reason.BAD_CREDENTIAL, f"X-Amz-Credential {shown(value)}")
    return CredentialScope(*parts[:4])


def parse_expires(value: str) -> int:
    seconds = int(value) if _EXPIRES.match(value) else 0
    if not 0 < seconds <= MAX_EXPIRES_SECONDS:
        raise Refusal(Reason.BAD_EXPIRES, f"X-Amz-Expires {shown(value)}")
    return seconds


# -- the rules ------------------------------------------------------------------------------------

def check_request_fields(params: Mapping[str, str], user: str) -> None:
    if params["Action"] != "connect":
        raise Refusal(Reason.WRONG_ACTION, f"Action {shown(params['Action'])}")
    if params["DBUser"] != user:
        raise Refusal(Reason.USER_MISMATCH, f"DBUser {shown(params['DBUser'])}, login user {shown(user)}")
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise Refusal(Reason.BAD_ALGORITHM, f"X-Amz-Algorithm {shown(params['X-Amz-Algorithm'])}")
    if params["X-Amz-SignedHeaders"] != "host":
        raise Refusal(Reason.BAD_SIGNED_HEADERS,
                      f"X-Amz-SignedHeaders {shown(params['X-Amz-SignedHeaders'])}")


def check_scope(scope: CredentialScope, signed_at: datetime, target: ConnectTarget) -> None:
    if scope.service != SERVICE:
        raise Refusal(Reason.WRONG_SERVICE, f"service {shown(scope.service)}")
    if scope.region != target.region:
        raise Refusal(Reason.WRONG_REGION, f"region {shown(scope.region)}, database in {target.region}")
    if scope.date != signed_at.strftime("%Y%m%d"):
        raise Refusal(Reason.SCOPE_DATE_MISMATCH, f"scope date {scope.date}, X-Amz-Date {signed_at:%Y%m%d}")


def check_validity_window(signed_at: datetime, expires: int, now: datetime) -> None:
    if signed_at > now + FUTURE_SKEW:
        raise Refusal(Reason.NOT_YET_VALID, f"signed at {signed_at:%Y-%m-%dT%H:%M:%SZ}, now {now:%H:%M:%SZ}")
    if now > signed_at + timedelta(seconds=expires):
        raise Refusal(Reason.EXPIRED, f"signed at {signed_at:%Y-%m-%dT%H:%M:%SZ} for {expires} s, "
                                      f"now {now:%Y-%m-%dT%H:%M:%SZ}")


def check_endpoint(parsed: ParsedToken, target: ConnectTarget) -> None:
    if parsed.host not in target.hosts or parsed.port != target.port:
        raise Refusal(Reason.WRONG_ENDPOINT, f"signed for {shown(parsed.netloc)}, database at "
                                             f"{'/'.join(sorted(target.hosts))}:{target.port}")


def check_session_token(presented: str | None, key: SigningKey) -> None:
    if key.session_token is None:
        if presented is not None:
            raise Refusal(Reason.SESSION_TOKEN_MISMATCH, "a security token with a long-term access key")
        return
    if presented is None:
        raise Refusal(Reason.SESSION_TOKEN_MISMATCH, "temporary credentials without their security token")
    if not hmac.compare_digest(presented.encode("utf-8"), key.session_token.encode("utf-8")):
        raise Refusal(Reason.SESSION_TOKEN_MISMATCH, "the security token is not the access key's")


class _TokenSigner(SigV4QueryAuth):
    """botocore's presigned-URL signer for a request known to have no body. botocore hashes the
    empty body of a presigned GET (the SHA-256 of nothing); asking the request for its body would
    first serialise every parameter into a URL, which is a fifth of the check's time."""

    def payload(self, request: AWSRequest) -> str:
        return EMPTY_SHA256_HASH


def expected_signature(parsed: ParsedToken, key: SigningKey, scope: CredentialScope,
                       expires: int) -> str:
    """The signature botocore's SigV4 query signer computes for these parameters and this key."""
    signer = _TokenSigner(Credentials(key.access_key_id, key.secret_access_key, key.session_token),
                            SERVICE, scope.region, expires=expires)
    request = AWSRequest(method="GET", url=f"https://{parsed.netloc}/",
                         params=dict(parsed.signed_params), headers={})
    request.context["timestamp"] = parsed.signed_params["X-Amz-Date"]
    canonical_request = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical_request), request)


def check_signature(parsed: ParsedToken, key: SigningKey, scope: CredentialScope, expires: int) -> None:
    presented = parsed.signature
    if not _SIGNATURE.match(presented):
        raise Refusal(Reason.SIGNATURE_MISMATCH, "X-Amz-Signature is not 64 lower-case hex digits")
    expected = expected_signature(parsed, key, scope, expires)
    if not hmac.compare_digest(presented.encode("ascii"), expected.encode("ascii")):
        raise Refusal(Reason.SIGNATURE_MISMATCH)


def check_credentials_current(key: SigningKey, now: datetime) -> None:
    if key.expiration is not None and now >= key.expiration:
        raise Refusal(Reason.CREDENTIALS_EXPIRED,
                      f"credentials expired at {key.expiration:%Y-%m-%dT%H:%M:%SZ}")


def connect_request(key: SigningKey, target: ConnectTarget, user: str, now: datetime) -> Request:
    """``rds-db:connect`` on the dbuser ARN, with the context keys AWS sets for it."""
    context: dict[str, Any] = dict(key.context)
    context.update({
        "aws:CurrentTime": now,
        "aws:EpochTime": int(now.timestamp()),
        "aws:SecureTransport": True,  # only TLS logins reach the check (pg_hba rejects the rest)
        "aws:RequestedRegion": target.region,
        "aws:PrincipalArn": key.principal_arn,
        "aws:PrincipalAccount": key.account_id,
    })
    return Request(action=ACTION, resource=target.dbuser_arn(user), context=context)


def check_policy(keys: KeyDirectory, key: SigningKey, target: ConnectTarget, user: str,
                 now: datetime) -> Decision:
    request = connect_request(key, target, user, now)
    try:
        decision = keys.authorize(key, request)
    except (LookupError, ValueError) as exc:
        raise Refusal(Reason.POLICY_UNREADABLE, f"{key.principal_arn}: {exc}") from None
    if not decision.allowed:
        why = ""
        if decision.effect == "ImplicitDeny":
            with contextlib.suppress(LookupError, ValueError):
                why = f" ({keys.explain(key, request)})"
        raise Refusal(Reason.NOT_AUTHORIZED, f"{decision} for {key.principal_arn} on {request.resource}{why}")
    return decision


def check_switches(token: str | bytes, target: ConnectTarget) -> None:
    """What is refused before the token is even read."""
    if len(token) > MAX_TOKEN_BYTES:
        raise Refusal(Reason.TOKEN_TOO_LONG, f"{len(token)} bytes > {MAX_TOKEN_BYTES}")
    if not target.iam_enabled:
        raise Refusal(Reason.IAM_AUTH_DISABLED, f"IAM database authentication is off for {target.name}")


def verify(parsed: ParsedToken, user: str, target: ConnectTarget, keys: KeyDirectory,
           now: datetime) -> tuple[SigningKey, Decision]:
    """Every rule on a parsed token in turn; the first one broken raises :class:`Refusal`."""
    params = parsed.signed_params
    check_request_fields(params, user)
    signed_at = parse_amz_date(params["X-Amz-Date"])
    scope = parse_credential_scope(params["X-Amz-Credential"])
    check_scope(scope, signed_at, target)
    expires = parse_expires(params["X-Amz-Expires"])
    check_validity_window(signed_at, expires, now)
    check_endpoint(parsed, target)
    key = keys.resolve(scope.access_key_id)
    if key is None:
        raise Refusal(Reason.UNKNOWN_ACCESS_KEY)
    check_session_token(params.get("X-Amz-Security-Token"), key)
    check_signature(parsed, key, scope, expires)
    check_credentials_current(key, now)
    return key, check_policy(keys, key, target, user, now)


def check_token(token: str | bytes, *, user: str, target: ConnectTarget, keys: KeyDirectory,
                now: datetime | None = None) -> Verdict:
    """Decide one IAM login: ``token`` is the password the client sent for ``user``."""
    now = now or datetime.now(timezone.utc)
    parsed: ParsedToken | None = None
    try:
        check_switches(token, target)
        parsed = parse_token(token)
        key, decision = verify(parsed, user, target, keys, now)
    except Refusal as refusal:
        return Verdict(False, refusal.reason, refusal.detail,
                       parsed.access_key_id if parsed is not None else None)
    return Verdict(True, None, str(decision), key.access_key_id, key.principal_arn,
                   f"{parsed.host}:{parsed.port}")
