"""The strict STS's ``AssumeRole``: a caller that signed its request with credentials the local
cloud knows (an IAM user's active access key, or a role session the strict STS issued) asks for
a role's credentials. A model: IAM lookups, the caller's policy decisions, the credential issuer
and the clock are injected; authentication (the request's SigV4 signature) is the handler's.

moto's own ``AssumeRole`` hands credentials for any role to anyone, and the database side would
honour them: this is what AWS decides instead (AssumeRole API reference; IAM User Guide, "Policy
evaluation logic", "Role chaining"):

* the parameters within the API model (``ValidationError``); session tags, ``SourceIdentity``,
  MFA and provided contexts are not modelled and refused as such;
* the role is in this account and exists, and its trust policy, evaluated for the caller
  (``Principal: {"AWS": <user ARN | session ARN | role ARN | account>}``) with the context keys
  of the caller and of the request (``sts:RoleSessionName``, ``sts:ExternalId``, ...), allows
  ``sts:AssumeRole``; an explicit deny wins;
* in the same account, a trust policy that names the caller itself grants the call, within the
  caller's permissions boundary and session policies; one that names only the account (or
  everyone) delegates: the caller's identity policies must then allow ``sts:AssumeRole`` on the
  role; an explicit deny in any of the caller's policies refuses;
* ``DurationSeconds`` within the role's ``MaxSessionDuration``, and at most one hour when a
  role session assumes a role (role chaining).

Every refusal of authorization is ``AccessDenied`` (403) "User: <caller> is not authorized to
perform: sts:AssumeRole on resource: <role>"; the precise reason goes to the log.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from pgiam.iam import (
    Decision,
    NamedPolicy,
    PolicyDocumentError,
    Principal,
    Request,
    allows_principal_by_name,
    evaluate_trust_policy,
    parse_policy,
)
from pgiam.localcloud.awsquery import AwsError, duplicate_parameters
from pgiam.localcloud.sts import (
    DEFAULT_DURATION,
    CredentialIssuer,
    Directory,
    IssuedCredentials,
    Role,
    check_role_arn,
    check_session_name,
    constraint,
    packed_policy_size,
    parse_duration,
    parse_session_policies,
    session_policy_params,
    validation_error,
)

ACTION = "sts:AssumeRole"
CHAINED_MAX_DURATION = 3600
EXTERNAL_ID_PATTERN = re.compile(r"^[\w+=,.@:/-]*$", re.ASCII)
# what AssumeRole takes that the local cloud does not model: refused, never silently dropped
UNSUPPORTED_PREFIXES = {"Tags.": "session tags", "TransitiveTagKeys.": "transitive session tags",
                        "SourceIdentity": "SourceIdentity", "ProvidedContexts.": "provided contexts",
                        "SerialNumber": "MFA", "TokenCode": "MFA"}


@dataclass(frozen=True)
class Caller:
    """Who signed the request: ``arn`` is the user's ARN or the session's
    (``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``); ``context`` its global condition keys
    (``aws:PrincipalArn``, ``aws:userid``, ``aws:PrincipalTag/...``); ``handle`` what the
    :class:`CallerPolicies` needs to decide for it."""

    arn: str
    account_id: str
    is_role_session: bool
    context: Mapping[str, Any] = field(default_factory=dict)
    handle: Any = field(default=None, repr=False, compare=False)


class CallerPolicies(Protocol):
    def authorize(self, caller: Caller, request: Request, *, identity_allow_required: bool) -> Decision:
        """The caller's identity policies, permissions boundary and session policies decided;
        ``identity_allow_required=False`` when a resource policy names the caller itself.
        Raises ``LookupError`` or ``ValueError`` when they cannot be read."""


@dataclass(frozen=True)
class AssumeRoleRequest:
    role_arn: str
    role_session_name: str
    duration_seconds: int | None = None
    policy: str | None = None
    policy_arns: tuple[str, ...] = ()
    external_id: str | None = None
    requested_region: str | None = None
    source_ip: str | None = None
    secure_transport: bool = False
    user_agent: str | None = None


@dataclass(frozen=True)
class AssumeRoleResult:
    credentials: IssuedCredentials
    packed_policy_size: int | None
    session_policies: tuple[NamedPolicy, ...]
    context: Mapping[str, Any] = field(repr=False)


def assume_role_request_from_params(params: Mapping[str, str], *, duplicates: frozenset[str] = frozenset(),
                                    requested_region: str | None = None, source_ip: str | None = None,
                                    secure_transport: bool = False, user_agent: str | None = None,
                                    ) -> AssumeRoleRequest:
    """The Query-protocol parameters of ``AssumeRole``, checked as the API's model constrains
    them (``ValidationError`` listing each problem)."""
    if duplicates:
        raise duplicate_parameters(duplicates)
    for name in params:
        for prefix, what in UNSUPPORTED_PREFIXES.items():
            if name.startswith(prefix):
                raise AwsError("ValidationError", f"The local cloud does not model {what} ({name}); "
                               "call AssumeRole without it.")
    problems: list[str] = []
    role_arn = params.get("RoleArn")
    check_role_arn(role_arn, problems)
    session = params.get("RoleSessionName")
    check_session_name(session, problems)
    duration = parse_duration(params.get("DurationSeconds"), problems)
    policy, policy_arns = session_policy_params(params, problems)
    external_id = params.get("ExternalId")
    if external_id is not None:
        if not 2 <= len(external_id) <= 1224:
            problems.append(constraint("externalId", external_id, "Member must have length between 2 and 1224"))
        if not EXTERNAL_ID_PATTERN.match(external_id):
            problems.append(constraint("externalId", external_id,
                                       "Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*"))
    if problems:
        raise validation_error(problems)
    assert role_arn is not None and session is not None
    return AssumeRoleRequest(role_arn=role_arn, role_session_name=session, duration_seconds=duration,
                             policy=policy, policy_arns=policy_arns, external_id=external_id,
                             requested_region=requested_region, source_ip=source_ip,
                             secure_transport=secure_transport, user_agent=user_agent)


def not_authorized(caller: Caller, role_arn: str, detail: str) -> AwsError:
    return AwsError("AccessDenied", f"User: {caller.arn} is not authorized to perform: {ACTION} on "
                    f"resource: {role_arn}", 403, detail=detail)


class StrictAssumeRole:
    def __init__(self, directory: Directory, policies: CallerPolicies, credential_issuer: CredentialIssuer, *,
                 account_id: str, clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.policies = policies
        self.credential_issuer = credential_issuer
        self.account_id = account_id
        self.clock = clock

    def assume_role(self, request: AssumeRoleRequest, caller: Caller) -> AssumeRoleResult:
        now = self.clock()
        role = self._role(request.role_arn, caller)
        context = self._context(request, caller, now)
        sts_request = Request(action=ACTION, resource=role.arn, principal=Principal("AWS", caller.arn),
                              context=context)
        named = self._check_trust(role, caller, sts_request)
        self._check_caller_policies(role, caller, sts_request, named)
        duration = request.duration_seconds or DEFAULT_DURATION
        if caller.is_role_session and duration > CHAINED_MAX_DURATION:
            raise AwsError("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit "
                           "for roles assumed by role chaining.", detail=f"{duration} s, chained")
        if duration > role.max_session_duration:
            raise AwsError("ValidationError", "The requested DurationSeconds exceeds the "
                           "MaxSessionDuration set for this role.",
                           detail=f"{duration} s > {role.max_session_duration} s")
        session_policies = parse_session_policies(self.directory, request.policy, request.policy_arns)
        credentials = self.credential_issuer.issue(role, request.role_session_name, duration, session_policies,
                                                   chained=caller.is_role_session)
        return AssumeRoleResult(credentials=credentials,
                                packed_policy_size=packed_policy_size(request.policy, request.policy_arns),
                                session_policies=session_policies, context=context)

    def _role(self, role_arn: str, caller: Caller) -> Role:
        parts = role_arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "iam" or parts[4] != self.account_id or not parts[5].startswith("role/"):
            raise not_authorized(caller, role_arn, f"{role_arn} is not a role of account {self.account_id}")
        role = self.directory.role(role_arn)
        if role is None:
            raise not_authorized(caller, role_arn, f"role {role_arn} does not exist")
        return role

    @staticmethod
    def _context(request: AssumeRoleRequest, caller: Caller, now: float) -> dict[str, Any]:
        context: dict[str, Any] = dict(caller.context)
        context.update({
            "sts:RoleSessionName": request.role_session_name,
            "aws:CurrentTime": datetime.fromtimestamp(now, timezone.utc),
            "aws:EpochTime": int(now),
            "aws:SecureTransport": request.secure_transport,
        })
        optional = {"sts:ExternalId": request.external_id, "aws:RequestedRegion": request.requested_region,
                    "aws:SourceIp": request.source_ip, "aws:UserAgent": request.user_agent}
        context.update({key: value for key, value in optional.items() if value})
        return context

    @staticmethod
    def _check_trust(role: Role, caller: Caller, request: Request) -> bool:
        """The trust policy allows the caller; returns whether it names the caller itself."""
        try:
            trust = parse_policy(role.trust_policy, kind="trust")
        except PolicyDocumentError as exc:
            raise not_authorized(caller, role.arn, f"trust policy of {role.arn} is not valid: {exc}") from None
        decision = evaluate_trust_policy(trust, request)
        if not decision.allowed:
            raise not_authorized(caller, role.arn, f"trust policy of {role.arn}: {decision}")
        return allows_principal_by_name(trust, request)

    def _check_caller_policies(self, role: Role, caller: Caller, request: Request, named: bool) -> None:
        try:
            decision = self.policies.authorize(caller, request, identity_allow_required=not named)
        except (LookupError, ValueError) as exc:
            raise not_authorized(caller, role.arn, f"policies of {caller.arn} cannot be read: {exc}") from None
        if not decision.allowed:
            why = "trust names the caller" if named else "trust names only the account: identity policies decide"
            raise not_authorized(caller, role.arn, f"{why}; {decision} for {caller.arn}")
