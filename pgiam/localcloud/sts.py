"""The strict STS: ``AssumeRoleWithWebIdentity`` as AWS decides it, for OIDC ID tokens. A model:
IAM lookups, the issuer's keys, the credential issuer and the clock are injected, so it runs on
in-memory fakes in the unit tests and on moto's backends in the daemon.

What is checked, in AWS's order: the parameters (``ValidationError``); the token is a JWT signed
with RS256 (``alg`` ``none``, HMAC and every other algorithm refused); an IAM OIDC provider's URL
equals ``iss`` without its scheme; the signature verifies with the key the issuer's JWKS names
by ``kid``; ``exp``, ``nbf`` and ``iat`` hold within 300 s (IAM's documented allowance for clock
skew past ``exp``; ``ExpiredTokenException`` for an expired token), and ``iat`` is at most 24 h
ago (``ExpiredTokenException`` "Token too old"); ``aud`` holds one of the
provider's client ids; the role exists in this account and its trust policy, evaluated with
:mod:`pgiam.iam` for the principal ``Federated: <provider ARN>``, allows
``sts:AssumeRoleWithWebIdentity``; ``DurationSeconds`` is within the role's
``MaxSessionDuration``. Messages are AWS's where AWS documents them; the precise reason of a
refusal goes in ``AwsError.detail`` for the log, never the token.

Context keys given to the trust policy (IAM User Guide, "Available keys for OIDC federation"
and the global keys): ``<provider url>:sub``, ``<provider url>:aud`` (the audience that matched a
client id), ``<provider url>:amr`` when the token has an ``amr`` claim, ``aws:FederatedProvider``
(the provider's ARN), ``sts:RoleSessionName``, ``aws:CurrentTime``, ``aws:EpochTime``,
``aws:RequestedRegion``, ``aws:SecureTransport``, ``aws:SourceIp`` and ``aws:UserAgent``.
``aws:TokenIssueTime`` is not set: AWS sets it only for requests signed with temporary
credentials, and this call is not signed.

Not modelled: IAM's thumbprint check (AWS no longer uses it for issuers with a trusted root CA;
here the local CA is the only root trusted), session tags from the token, ``SourceIdentity``,
``ProviderId`` (OAuth 2.0 access tokens of Amazon/Facebook; refused), Cognito and Google keys.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

import jwt

from pgiam.iam import (
    NamedPolicy,
    Principal,
    PolicyDocumentError,
    Request,
    evaluate_trust_policy,
    explain_no_allow,
    parse_policy,
)
from pgiam.localcloud.awsquery import AwsError, duplicate_parameters
from pgiam.localcloud.oidc import without_scheme

ACTION = "sts:AssumeRoleWithWebIdentity"
ALLOWED_ALGORITHMS = ("RS256",)
CLOCK_SKEW_SECONDS = 300
# AWS STS refuses a web-identity token issued too long ago even while its exp is ahead
# (ExpiredTokenException "Token too old: <seconds since iat>", seen for 153938 s and 441398 s);
# AWS publishes no limit. 24 h: the longest an EKS-projected token lives (the pod identity
# webhook's default expiration), so every token EKS hands a pod passes. See docs/localcloud.md.
MAX_TOKEN_AGE_SECONDS = 86400
DEFAULT_DURATION = 3600
MIN_DURATION = 900
MAX_DURATION = 43200
SESSION_NAME_PATTERN = re.compile(r"^[\w+=,.@-]*$", re.ASCII)
MAX_SESSION_POLICY_CHARS = 2048
MAX_POLICY_ARNS = 10

NOT_AUTHORIZED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
NOT_A_JWT = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
NO_VERIFICATION_KEY = ("Couldn't retrieve verification key from your identity provider,  please "
                       "reference AssumeRoleWithWebIdentity documentation for requirements")


class KeySourceError(Exception):
    """The issuer's keys could not be fetched (unreachable, bad TLS, not JSON, no ``keys``)."""


@dataclass(frozen=True)
class OidcProvider:
    arn: str
    url: str  # IAM's form: host[:port]/path, no scheme
    client_ids: tuple[str, ...]


@dataclass(frozen=True)
class Role:
    arn: str
    role_id: str
    name: str
    trust_policy: str
    max_session_duration: int


@dataclass(frozen=True)
class IssuedCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    assumed_role_arn: str
    assumed_role_id: str


class Directory(Protocol):
    """IAM as the STS needs it."""

    def oidc_provider(self, url: str) -> OidcProvider | None: ...
    def role(self, arn: str) -> Role | None: ...
    def managed_policy_document(self, arn: str) -> str | None: ...


class KeySource(Protocol):
    """The issuer's JWKS as ``jwt.PyJWK`` keys; ``refresh=True`` bypasses any cache."""

    def keys(self, issuer: str, *, refresh: bool = False) -> Sequence[jwt.PyJWK]: ...


class CredentialIssuer(Protocol):
    def issue(self, role: Role, session_name: str, duration: int,
              session_policies: Sequence[NamedPolicy], *, federated_provider: str | None = None,
              chained: bool = False) -> IssuedCredentials: ...


@dataclass(frozen=True)
class WebIdentityRequest:
    role_arn: str
    role_session_name: str
    web_identity_token: str = field(repr=False)
    duration_seconds: int | None = None
    policy: str | None = None
    policy_arns: tuple[str, ...] = ()
    requested_region: str | None = None
    source_ip: str | None = None
    secure_transport: bool = False
    user_agent: str | None = None


@dataclass(frozen=True)
class WebIdentityResult:
    credentials: IssuedCredentials
    subject: str
    audience: str
    provider: str  # the token's iss
    packed_policy_size: int | None
    session_policies: tuple[NamedPolicy, ...]
    context: Mapping[str, Any] = field(repr=False)


def validation_error(problems: list[str]) -> AwsError:
    plural = "s" if len(problems) > 1 else ""
    return AwsError("ValidationError", f"{len(problems)} validation error{plural} detected: "
                    + "; ".join(problems))


def constraint(name: str, value: str | None, constraint: str, *, show_value: bool = True) -> str:
    shown = "null" if value is None else (f"'{value}'" if show_value else "")
    return f"Value {shown + ' ' if shown else ''}at '{name}' failed to satisfy constraint: {constraint}"


_INTEGER = re.compile(r"^-?[0-9]{1,10}$")  # Query-protocol integers: ASCII digits (int() takes more)


def check_role_arn(role_arn: str | None, problems: list[str]) -> None:
    if role_arn is None:
        problems.append(constraint("roleArn", None, "Member must not be null"))
    elif not 20 <= len(role_arn) <= 2048:
        problems.append(constraint("roleArn", role_arn, "Member must have length between 20 and 2048"))


def check_session_name(session: str | None, problems: list[str]) -> None:
    if session is None:
        problems.append(constraint("roleSessionName", None, "Member must not be null"))
        return
    if not 2 <= len(session) <= 64:
        problems.append(constraint("roleSessionName", session, "Member must have length between 2 and 64"))
    if not SESSION_NAME_PATTERN.match(session):
        problems.append(constraint("roleSessionName", session,
                                   "Member must satisfy regular expression pattern: [\\w+=,.@-]*"))


def parse_duration(raw: str | None, problems: list[str]) -> int | None:
    """``DurationSeconds``: an integer 900..43200, written as the Query protocol writes one."""
    if raw is None:
        return None
    if not _INTEGER.match(raw):
        problems.append(constraint("durationSeconds", raw, "Member must be a number"))
        return None
    duration = int(raw)
    if duration < MIN_DURATION:
        problems.append(constraint("durationSeconds", raw,
                                   f"Member must have value greater than or equal to {MIN_DURATION}"))
    elif duration > MAX_DURATION:
        problems.append(constraint("durationSeconds", raw,
                                   f"Member must have value less than or equal to {MAX_DURATION}"))
    return duration


def session_policy_params(params: Mapping[str, str], problems: list[str]) -> tuple[str | None, tuple[str, ...]]:
    """``Policy`` and ``PolicyArns.member.N.arn`` (in member order), within their bounds."""
    policy = params.get("Policy")
    if policy is not None and not 1 <= len(policy) <= MAX_SESSION_POLICY_CHARS:
        problems.append(constraint("policy", None if not policy else "...",
                                   f"Member must have length between 1 and {MAX_SESSION_POLICY_CHARS}",
                                   show_value=False))
    policy_arns = tuple(value for key, value in sorted(params.items(), key=lambda kv: _member_index(kv[0]))
                        if re.fullmatch(r"PolicyArns\.member\.\d+\.arn", key))
    if len(policy_arns) > MAX_POLICY_ARNS:
        problems.append(constraint("policyArns", None, f"Member must have length less than or equal "
                                   f"to {MAX_POLICY_ARNS}", show_value=False))
    return policy, policy_arns


def request_from_params(params: Mapping[str, str], *, duplicates: frozenset[str] = frozenset(),
                        requested_region: str | None = None, source_ip: str | None = None,
                        secure_transport: bool = False, user_agent: str | None = None,
                        ) -> WebIdentityRequest:
    """The Query-protocol parameters of ``AssumeRoleWithWebIdentity``, checked as the API's
    model constrains them (``ValidationError`` listing each problem)."""
    problems: list[str] = []
    if duplicates:
        raise duplicate_parameters(duplicates)
    role_arn = params.get("RoleArn")
    check_role_arn(role_arn, problems)
    session = params.get("RoleSessionName")
    check_session_name(session, problems)
    token = params.get("WebIdentityToken")
    if token is None:
        problems.append(constraint("webIdentityToken", None, "Member must not be null"))
    elif not 4 <= len(token) <= 20000:
        problems.append(constraint("webIdentityToken", token, "Member must have length between 4 and "
                                   "20000", show_value=False))
    duration = parse_duration(params.get("DurationSeconds"), problems)
    policy, policy_arns = session_policy_params(params, problems)
    if params.get("ProviderId") is not None:
        problems.append(constraint("providerId", params["ProviderId"],
                                   "ProviderId is for OAuth 2.0 access tokens; the local cloud "
                                   "accepts OpenID Connect ID tokens only (omit ProviderId)"))
    if problems:
        raise validation_error(problems)
    assert role_arn is not None and session is not None and token is not None
    return WebIdentityRequest(role_arn=role_arn, role_session_name=session, web_identity_token=token,
                              duration_seconds=duration, policy=policy, policy_arns=policy_arns,
                              requested_region=requested_region, source_ip=source_ip,
                              secure_transport=secure_transport, user_agent=user_agent)


def _member_index(key: str) -> int:
    match = re.search(r"\.member\.(\d+)\.", key)
    return int(match.group(1)) if match else 0


def parse_session_policies(directory: Directory, policy: str | None,
                           policy_arns: Sequence[str]) -> tuple[NamedPolicy, ...]:
    """The inline session policy and the managed ones named by ARN, as identity policies."""
    policies = []
    if policy is not None:
        try:
            policies.append(NamedPolicy("session:inline", parse_policy(policy, kind="identity")))
        except PolicyDocumentError as exc:
            raise AwsError("MalformedPolicyDocument", f"The session policy is not valid: {exc}") from None
    for arn in policy_arns:
        document = directory.managed_policy_document(arn)
        if document is None:
            raise AwsError("InvalidParameterValue", f"The policy {arn} does not exist or is not attachable.")
        try:
            policies.append(NamedPolicy(f"session:{arn}", parse_policy(document, kind="identity")))
        except PolicyDocumentError as exc:
            raise AwsError("MalformedPolicyDocument", f"The policy {arn} is not valid: {exc}") from None
    return tuple(policies)


def packed_policy_size(policy: str | None, policy_arns: Sequence[str]) -> int | None:
    """AWS: the percentage of the packed-policy limit used; here of the 2,048 plaintext
    characters that the inline policy and the policy ARNs share."""
    if policy is None and not policy_arns:
        return None
    used = len(policy or "") + sum(len(arn) for arn in policy_arns)
    return max(1, -(-used * 100 // MAX_SESSION_POLICY_CHARS))


def invalid_token(detail: str, message: str | None = None) -> AwsError:
    return AwsError("InvalidIdentityToken", message or NOT_A_JWT, detail=detail)


def not_authorized(detail: str) -> AwsError:
    return AwsError("AccessDenied", NOT_AUTHORIZED, 403, detail=detail)


def token_audiences(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        return list(aud)
    raise invalid_token("the aud claim is neither a string nor a list of strings",
                        "Incorrect token audience")


def select_key(keys: Sequence[jwt.PyJWK], kid: str | None) -> jwt.PyJWK | None:
    """The key named by ``kid``; without a ``kid``, the issuer's only signing key, if it has one."""
    signing = [k for k in keys if getattr(k, "public_key_use", None) in (None, "sig")]
    if kid is None:
        return signing[0] if len(signing) == 1 else None
    return next((k for k in signing if k.key_id == kid), None)


class StrictSts:
    def __init__(self, directory: Directory, key_source: KeySource, credential_issuer: CredentialIssuer, *,
                 account_id: str, clock: Callable[[], float] = time.time,
                 clock_skew: int = CLOCK_SKEW_SECONDS) -> None:
        self.directory = directory
        self.key_source = key_source
        self.credential_issuer = credential_issuer
        self.account_id = account_id
        self.clock = clock
        self.clock_skew = clock_skew

    def assume_role_with_web_identity(self, request: WebIdentityRequest) -> WebIdentityResult:
        now = self.clock()
        token = request.web_identity_token
        header = self._header(token)
        unverified = self._unverified_claims(token)
        iss = unverified.get("iss")
        if not isinstance(iss, str) or not iss.startswith("https://"):
            raise invalid_token("the iss claim is missing or not an https URL")
        provider = self.directory.oidc_provider(without_scheme(iss))
        if provider is None:
            raise AwsError("InvalidIdentityToken", f"No OpenIDConnect provider found in your account for {iss}",
                           detail=f"no IAM OIDC provider for {without_scheme(iss)}")
        claims = self._verified_claims(token, header, iss, now)
        audience = self._matching_audience(claims, provider)
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise invalid_token("the sub claim is missing or empty")
        role = self._role(request.role_arn)
        context = self._context(request, provider, claims, audience, now)
        self._check_trust(role, provider, context)
        duration = request.duration_seconds or DEFAULT_DURATION
        if duration > role.max_session_duration:
            raise AwsError("ValidationError", "The requested DurationSeconds exceeds the "
                           "MaxSessionDuration set for this role.",
                           detail=f"{duration} s > {role.max_session_duration} s")
        session_policies = parse_session_policies(self.directory, request.policy, request.policy_arns)
        credentials = self.credential_issuer.issue(role, request.role_session_name, duration, session_policies,
                                                   federated_provider=provider.arn)
        packed = packed_policy_size(request.policy, request.policy_arns)
        return WebIdentityResult(credentials=credentials, subject=sub, audience=audience, provider=iss,
                                 packed_policy_size=packed, session_policies=session_policies,
                                 context=context)

    @staticmethod
    def _header(token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise invalid_token(f"not a JWT: {type(exc).__name__}") from None
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise invalid_token(f"signing algorithm {alg!r} refused (RS256 only)",
                                "The web identity token is not signed with a supported algorithm (RS256).")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise invalid_token("the kid header is not a string")
        if "crit" in header:
            # RFC 7515 4.1.11: a recipient that does not understand every listed extension must
            # refuse the token; no OIDC ID token uses one, and PyJWT would ignore them
            raise invalid_token("the token lists critical header extensions (crit)")
        return header

    @staticmethod
    def _unverified_claims(token: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise invalid_token(f"payload is not a JSON object: {type(exc).__name__}") from None
        return claims

    def _key(self, iss: str, kid: str | None) -> jwt.PyJWK:
        try:
            key = select_key(self.key_source.keys(iss), kid)
            if key is None:  # a rotated key: look again past any cache
                key = select_key(self.key_source.keys(iss, refresh=True), kid)
        except KeySourceError as exc:
            raise AwsError("InvalidIdentityToken", NO_VERIFICATION_KEY,
                           detail=f"JWKS of {iss} unavailable: {exc}") from None
        if key is None:
            raise AwsError("InvalidIdentityToken", NO_VERIFICATION_KEY,
                           detail=f"no key with kid {kid!r} in the JWKS of {iss}")
        return key

    def _verified_claims(self, token: str, header: Mapping[str, Any], iss: str, now: float) -> dict[str, Any]:
        key = self._key(iss, header.get("kid"))
        if key.key_type != "RSA" or getattr(key, "algorithm_name", "RS256") not in ALLOWED_ALGORITHMS:
            raise invalid_token(f"the JWKS key {key.key_id!r} is not an RS256 key")
        try:
            # PyJWT verifies the signature and the presence of claims; the times are checked
            # below against the model's clock
            claims = jwt.decode(
                token, key.key, algorithms=list(ALLOWED_ALGORITHMS),
                options={"require": ["iss", "sub", "aud", "exp", "iat"], "verify_aud": False,
                         "verify_iss": False, "verify_exp": False, "verify_nbf": False,
                         "verify_iat": False})
        except jwt.MissingRequiredClaimError as exc:
            raise invalid_token(f"missing claim {exc.claim!r}",
                                f"The web identity token is missing the required '{exc.claim}' claim.") from None
        except jwt.InvalidSignatureError:
            raise invalid_token("signature does not verify with the issuer's key",
                                "The web identity token's signature could not be verified.") from None
        except jwt.InvalidTokenError as exc:
            raise invalid_token(f"token refused: {type(exc).__name__}: {exc}") from None
        self._check_times(claims, now)
        return claims

    def _check_times(self, claims: Mapping[str, Any], now: float) -> None:
        for claim in ("exp", "nbf", "iat"):
            value = claims.get(claim)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise invalid_token(f"the {claim} claim is not a number")
        exp, nbf, iat = claims["exp"], claims.get("nbf"), claims["iat"]
        if now > exp + self.clock_skew:
            raise AwsError("ExpiredTokenException",
                           # AWS's own wording, missing space included
                           f"Token expired: current date/time {int(now)} must be before the "
                           f"expiration date/time{int(exp)}",
                           detail="exp is past, beyond the allowed clock skew")
        if (nbf is not None and now + self.clock_skew < nbf) or now + self.clock_skew < iat:
            raise invalid_token("nbf or iat is in the future", "The web identity token is not yet valid.")
        if now - iat > MAX_TOKEN_AGE_SECONDS + self.clock_skew:
            raise AwsError("ExpiredTokenException", f"Token too old: {int(now - iat)}",  # AWS's wording
                           detail=f"iat is more than {MAX_TOKEN_AGE_SECONDS} s ago, though exp is ahead")

    @staticmethod
    def _matching_audience(claims: Mapping[str, Any], provider: OidcProvider) -> str:
        for audience in token_audiences(claims):
            if audience in provider.client_ids:
                return audience
        raise invalid_token(f"no audience of the token is a client id of {provider.arn}",
                            "Incorrect token audience")

    def _role(self, role_arn: str) -> Role:
        parts = role_arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "iam" or parts[4] != self.account_id or not parts[5].startswith("role/"):
            raise not_authorized(f"{role_arn} is not a role of account {self.account_id}")
        role = self.directory.role(role_arn)
        if role is None:
            raise not_authorized(f"role {role_arn} does not exist")
        return role

    @staticmethod
    def _context(request: WebIdentityRequest, provider: OidcProvider, claims: Mapping[str, Any],
                 audience: str, now: float) -> dict[str, Any]:
        context: dict[str, Any] = {
            f"{provider.url}:sub": claims["sub"],
            f"{provider.url}:aud": audience,
            "aws:FederatedProvider": provider.arn,
            "sts:RoleSessionName": request.role_session_name,
            "aws:CurrentTime": datetime.fromtimestamp(now, timezone.utc),
            "aws:EpochTime": int(now),
            "aws:SecureTransport": request.secure_transport,
        }
        amr = claims.get("amr")
        if isinstance(amr, str) or (isinstance(amr, list) and all(isinstance(v, str) for v in amr)):
            context[f"{provider.url}:amr"] = [amr] if isinstance(amr, str) else list(amr)
        optional = {"aws:RequestedRegion": request.requested_region, "aws:SourceIp": request.source_ip,
                    "aws:UserAgent": request.user_agent}
        context.update({key: value for key, value in optional.items() if value})
        return context

    @staticmethod
    def _check_trust(role: Role, provider: OidcProvider, context: Mapping[str, Any]) -> None:
        try:
            trust = parse_policy(role.trust_policy, kind="trust")
        except PolicyDocumentError as exc:
            raise not_authorized(f"trust policy of {role.arn} is not valid: {exc}") from None
        request = Request(action=ACTION, resource=role.arn, principal=Principal("Federated", provider.arn),
                          context=context)
        decision = evaluate_trust_policy(trust, request)
        if not decision.allowed:
            why = "" if decision.effect == "ExplicitDeny" else \
                f" ({explain_no_allow(trust, request, check_principal=True)})"
            raise not_authorized(f"trust policy of {role.arn}: {decision}{why}")
