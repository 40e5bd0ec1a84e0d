"""Who an access key belongs to and what its principal may do, read from moto's in-process IAM
and STS backends. This is what the strict STS writes through (providers, roles, new session
credentials) and what the database side's token check reads (keys, policies).

Only usable inside the daemon process (moto's backends are its memory). Every read takes a
snapshot of moto's collections, since other request threads may change them meanwhile.

Public API::

    directory = IdentityDirectory(account_id="123456789012", partition="aws")
    directory.resolve_access_key(access_key_id) -> Credential | None
    directory.identity_policies(principal_arn) -> list[NamedPolicy]     # inline + managed (+ groups')
    directory.permissions_boundary(principal_arn) -> NamedPolicy | None
    directory.authorize(credential, request) -> Decision                 # identity ∧ boundary ∧ session
    credential.principal_context() -> dict                               # aws:PrincipalArn, ...

A document IAM would have refused (moto is laxer) raises ``PolicyDocumentError``: callers treat
it as a refusal, never as "no policy".
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pgiam.iam import (
    Decision,
    NamedPolicy,
    Request,
    evaluate_identity_policies,
    parse_policy,
)
from pgiam.localcloud.sts import IssuedCredentials, OidcProvider, Role

DEFAULT_ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class SessionInfo:
    """What the strict STS knows of a session beyond moto: its session policies and provider."""

    session_policies: tuple[NamedPolicy, ...] = ()
    federated_provider: str | None = None
    issued_at: datetime | None = None


_sessions: dict[str, SessionInfo] = {}
_sessions_lock = threading.Lock()


def record_session(access_key_id: str, info: SessionInfo) -> None:
    with _sessions_lock:
        _sessions[access_key_id] = info


def session_info(access_key_id: str) -> SessionInfo:
    with _sessions_lock:
        return _sessions.get(access_key_id, SessionInfo())


@dataclass(frozen=True)
class Credential:
    """An access key as AWS would resolve it. ``principal_arn`` is the role for a session
    (``session_arn`` is then ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``) or the user."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(repr=False)
    expiration: datetime | None
    principal_arn: str
    account_id: str
    session_arn: str | None = None
    session_policies: tuple[NamedPolicy, ...] = ()
    federated_provider: str | None = None
    issued_at: datetime | None = None
    user_id: str | None = None  # aws:userid: "<role id>:<session>" for a session, the user's id

    @property
    def is_temporary(self) -> bool:
        return self.session_token is not None

    def principal_context(self) -> dict[str, Any]:
        """The global condition keys AWS sets for requests made with this credential."""
        context: dict[str, Any] = {
            "aws:PrincipalArn": self.principal_arn,
            "aws:PrincipalAccount": self.account_id,
            "aws:PrincipalType": "AssumedRole" if self.is_temporary else "User",
        }
        if self.user_id is not None:
            context["aws:userid"] = self.user_id
        if self.is_temporary:
            context["aws:MultiFactorAuthPresent"] = False
            if self.issued_at is not None:
                context["aws:TokenIssueTime"] = self.issued_at
            if self.federated_provider is not None:
                context["aws:FederatedProvider"] = self.federated_provider
        else:
            context["aws:username"] = self.principal_arn.rsplit("/", 1)[-1]
        return context


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _default_document(policy: Any) -> str:
    for version in list(policy.versions):
        if version.is_default:
            return version.document
    raise LookupError(f"managed policy {policy.arn} has no default version")


class IdentityDirectory:
    """Reads (and, for the STS, writes) moto's IAM and STS state for one account."""

    def __init__(self, account_id: str = DEFAULT_ACCOUNT_ID, partition: str = "aws",
                 region: str = "us-east-1") -> None:
        self.account_id = account_id
        self.partition = partition
        self.region = region

    @property
    def _iam(self) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[self.account_id][self.partition]

    @property
    def _sts(self) -> Any:
        from moto.sts.models import sts_backends

        return sts_backends[self.account_id][self.partition]

    # -- what the strict STS reads ---------------------------------------------------------------

    def oidc_provider(self, url: str) -> OidcProvider | None:
        for provider in list(self._iam.open_id_providers.values()):
            if provider.url == url:
                return OidcProvider(arn=provider.arn, url=provider.url,
                                    client_ids=tuple(provider.client_id_list or ()))
        return None

    def _moto_role(self, arn: str) -> Any:
        return next((r for r in list(self._iam.roles.values()) if r.arn == arn), None)

    def role(self, arn: str) -> Role | None:
        role = self._moto_role(arn)
        if role is None:
            return None
        return Role(arn=role.arn, role_id=role.id, name=role.name,
                    trust_policy=role.assume_role_policy_document,
                    max_session_duration=int(role.max_session_duration or 3600))

    def managed_policy_document(self, arn: str) -> str | None:
        policy = self._iam.managed_policies.get(arn)
        return None if policy is None else _default_document(policy)

    # -- what the token check reads --------------------------------------------------------------

    def resolve_access_key(self, access_key_id: str) -> Credential | None:
        """The credential an access key id names: STS session credentials (with their session
        token and expiry) or an active IAM user key; None if unknown or inactive."""
        for assumed in list(self._sts.assumed_roles):
            if assumed.access_key_id == access_key_id:
                info = session_info(access_key_id)
                return Credential(
                    access_key_id=access_key_id, secret_access_key=assumed.secret_access_key,
                    session_token=assumed.session_token, expiration=_aware(assumed.expiration),
                    principal_arn=assumed.role_arn, account_id=assumed.account_id,
                    session_arn=assumed.arn, session_policies=info.session_policies,
                    federated_provider=info.federated_provider, issued_at=info.issued_at,
                    user_id=assumed.user_id)
        for user in list(self._iam.users.values()):
            for key in list(user.access_keys):
                if key.access_key_id == access_key_id:
                    if key.status != "Active":
                        return None
                    return Credential(access_key_id=access_key_id,
                                      secret_access_key=key.secret_access_key, session_token=None,
                                      expiration=None, principal_arn=user.arn,
                                      account_id=self.account_id, user_id=user.id)
        return None

    def _principal(self, principal_arn: str) -> tuple[str, Any]:
        resource = principal_arn.split(":", 5)[-1]
        if resource.startswith("assumed-role/"):
            name = resource.split("/")[1]
            role = self._iam.roles.get(name) or next(
                (r for r in list(self._iam.roles.values()) if r.name == name), None)
            if role is not None:
                return "role", role
        if resource.startswith("role/"):
            role = self._moto_role(principal_arn)
            if role is not None:
                return "role", role
        if resource.startswith("user/"):
            user = next((u for u in list(self._iam.users.values()) if u.arn == principal_arn), None)
            if user is not None:
                return "user", user
        raise LookupError(f"no IAM role or user {principal_arn}")

    @staticmethod
    def _policies_of(holder: Any, prefix: str = "") -> list[NamedPolicy]:
        found = [NamedPolicy(f"{prefix}inline:{name}", parse_policy(document, kind="identity"))
                 for name, document in sorted(dict(holder.policies).items())]
        found += [NamedPolicy(arn, parse_policy(_default_document(policy), kind="identity"))
                  for arn, policy in sorted(dict(holder.managed_policies).items())]
        return found

    def identity_policies(self, principal_arn: str) -> list[NamedPolicy]:
        """Inline and attached managed policies of a role (or a role session's role) or a user,
        and of the user's groups. Raises ``LookupError`` for an unknown principal."""
        kind, holder = self._principal(principal_arn)
        policies = self._policies_of(holder)
        if kind == "user":
            for group in list(self._iam.groups.values()):
                if holder in list(group.users):
                    policies += self._policies_of(group, prefix=f"{group.arn} ")
        return policies

    def permissions_boundary(self, principal_arn: str) -> NamedPolicy | None:
        kind, holder = self._principal(principal_arn)
        arn = getattr(holder, "permissions_boundary_arn", None) if kind == "role" else None
        if not arn:
            return None
        document = self.managed_policy_document(arn)
        if document is None:
            raise LookupError(f"permissions boundary {arn} of {principal_arn} does not exist")
        return NamedPolicy(f"boundary:{arn}", parse_policy(document, kind="identity"))

    def authorize(self, credential: Credential, request: Request) -> Decision:
        """Identity policies within the permissions boundary, and the session policies if the
        session has any: an explicit deny anywhere denies; all must allow."""
        decision = evaluate_identity_policies(
            self.identity_policies(credential.principal_arn), request,
            permissions_boundary=self.permissions_boundary(credential.principal_arn))
        if decision.effect == "ExplicitDeny" or not credential.session_policies:
            return decision
        session = evaluate_identity_policies(credential.session_policies, request)
        if session.effect == "ExplicitDeny":
            return session
        if decision.allowed and not session.allowed:
            return Decision("ImplicitDeny", None, "session policies")
        return decision


class MotoCredentialIssuer:
    """Creates session credentials through moto's STS backend, so every moto API (and the token
    check) knows them, and records what moto does not keep."""

    def __init__(self, directory: IdentityDirectory) -> None:
        self.directory = directory

    def issue(self, role: Role, session_name: str, duration: int,
              session_policies: Sequence[NamedPolicy], *, federated_provider: str) -> IssuedCredentials:
        assumed = self.directory._sts.assume_role_with_web_identity(
            region_name=self.directory.region, role_session_name=session_name, role_arn=role.arn,
            policy=None, duration=duration, external_id=None)
        issued_at = datetime.now(timezone.utc)
        record_session(assumed.access_key_id, SessionInfo(tuple(session_policies), federated_provider,
                                                          issued_at.replace(microsecond=0)))
        return IssuedCredentials(
            access_key_id=assumed.access_key_id, secret_access_key=assumed.secret_access_key,
            session_token=assumed.session_token, expiration=_aware(assumed.expiration),
            assumed_role_arn=assumed.arn, assumed_role_id=f"{role.role_id}:{session_name}")

