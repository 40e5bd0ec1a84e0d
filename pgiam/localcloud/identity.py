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

Only session credentials the local cloud's own STS issued (and recorded with :func:`record_session`)
resolve: moto's own ``AssumeRole``/``AssumeRoleWithSAML`` would issue credentials for any role to
anyone, and even should one of its answers slip through, its keys are unknown here. A session is
bound to the role *id* it was issued for: once its role is deleted (or deleted and re-created
under the same name, which gives a new id, as in IAM) its policies cannot be read and every
decision for it is a ``LookupError``, as AWS refuses such sessions.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from pgiam.iam import (
    Decision,
    NamedPolicy,
    Policy,
    Request,
    evaluate_identity_policies,
    explain_no_allow,
    parse_policy,
)
from pgiam.localcloud.sts import IssuedCredentials, OidcProvider, Role

DEFAULT_ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class SessionInfo:
    """What the strict STS knows of a session beyond moto: the id of the role it was issued for,
    its session policies and provider, and whether it came from role chaining."""

    role_id: str
    session_policies: tuple[NamedPolicy, ...] = ()
    federated_provider: str | None = None
    issued_at: datetime | None = None
    chained: bool = False
    session_tags: tuple[tuple[str, str], ...] = ()  # EKS Pod Identity's tags (eks_auth.py)


_sessions: dict[str, SessionInfo] = {}
_sessions_lock = threading.Lock()


def record_session(access_key_id: str, info: SessionInfo) -> None:
    with _sessions_lock:
        _sessions[access_key_id] = info


_user_boundaries: dict[str, str] = {}
# role id -> {principal ARN named in its trust policy -> that principal's unique id then}
_trust_bindings: dict[str, dict[str, str]] = {}


def record_trust_bindings(role_id: str, bindings: dict[str, str]) -> None:
    """IAM stores a trust policy's IAM user and role principals as their unique ids (and shows the
    bare id once the principal is deleted): a user or role deleted and re-created under the same
    name is not trusted. The IAM handlers record here which id each ARN meant when the trust
    policy was set; :meth:`IdentityDirectory.role` hands the strict STS the trust as IAM sees it."""
    with _sessions_lock:
        _trust_bindings[role_id] = dict(bindings)


def trust_bindings(role_id: str) -> dict[str, str]:
    with _sessions_lock:
        return dict(_trust_bindings.get(role_id, {}))


def record_user_boundary(user_id: str, policy_arn: str | None) -> None:
    """A user's permissions boundary (by the user's unique id; None removes it). moto accepts
    ``PermissionsBoundary`` on ``CreateUser`` and drops it, and has no
    ``PutUserPermissionsBoundary``: the IAM handlers keep it here."""
    with _sessions_lock:
        if policy_arn is None:
            _user_boundaries.pop(user_id, None)
        else:
            _user_boundaries[user_id] = policy_arn


def user_boundary(user_id: str) -> str | None:
    with _sessions_lock:
        return _user_boundaries.get(user_id)


def session_info(access_key_id: str) -> SessionInfo | None:
    """The record of a session the local cloud's STS issued; None for any other key."""
    with _sessions_lock:
        return _sessions.get(access_key_id)


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
    role_id: str | None = None  # a session's: the id of the role it was issued for
    principal_tags: tuple[tuple[str, str], ...] = ()  # the role's or the user's tags
    chained: bool = False  # a session obtained with another session's credentials

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
        for key, value in self.principal_tags:
            context[f"aws:PrincipalTag/{key}"] = value
        if self.is_temporary:
            context["aws:MultiFactorAuthPresent"] = False
            if self.issued_at is not None:
                context["aws:TokenIssueTime"] = self.issued_at
            if self.federated_provider is not None:
                context["aws:FederatedProvider"] = self.federated_provider
        else:
            context["aws:username"] = self.principal_arn.rsplit("/", 1)[-1]
        return context


def parse_document(text: str) -> Any:
    """A policy document as IAM takes it: JSON, or JSON percent-encoded (as ``GetRole`` returns)."""
    try:
        return json.loads(text)
    except ValueError:
        return json.loads(unquote(text))


def aws_principal_entries(document: Any) -> list[str]:
    """Every ``AWS`` entry of every ``Principal``/``NotPrincipal`` of a trust policy."""
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    entries: list[str] = []
    for statement in [statements] if isinstance(statements, dict) else statements:
        for element in ("Principal", "NotPrincipal"):
            value = statement.get(element) if isinstance(statement, dict) else None
            aws = value.get("AWS") if isinstance(value, dict) else None
            entries += [aws] if isinstance(aws, str) else [e for e in aws or () if isinstance(e, str)]
    return entries


def replace_aws_principals(document: Any, replacements: dict[str, str]) -> Any:
    """The document with ``AWS`` principal entries replaced (ARN -> unique id)."""
    statements = document["Statement"]
    for statement in [statements] if isinstance(statements, dict) else statements:
        for element in ("Principal", "NotPrincipal"):
            value = statement.get(element)
            if isinstance(value, dict) and "AWS" in value:
                aws = value["AWS"]
                value["AWS"] = replacements.get(aws, aws) if isinstance(aws, str) else \
                    [replacements.get(e, e) for e in aws]
    return document


def _tags(tags: Any) -> tuple[tuple[str, str], ...]:
    """moto's tags (a list of ``{"Key", "Value"}``) as pairs."""
    return tuple((str(tag["Key"]), str(tag.get("Value", ""))) for tag in list(tags or ()))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _parsed_identity_policy(document: Any) -> Policy:
    """A stored identity policy document, parsed once when it is JSON text (as moto keeps it):
    every IAM login's token check and every signed call re-reads its principal's policies, and
    parsing was a tenth of the checker's time per login. The parsed policy is immutable."""
    if isinstance(document, str):
        return _parse_identity_text(document)
    return parse_policy(document, kind="identity")


@functools.lru_cache(maxsize=4096)
def _parse_identity_text(document: str) -> Policy:
    return parse_policy(document, kind="identity")


def _default_document(policy: Any) -> str:
    for version in list(policy.versions):
        if version.is_default:
            return version.document
    raise LookupError(f"managed policy {policy.arn} has no default version")


ADMIN_USER_NAME = "localcloud-admin"
ADMIN_POLICY_NAME = "AdministratorAccess"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


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

    # -- the account's administrator -------------------------------------------------------------

    def create_administrator(self, name: str = ADMIN_USER_NAME) -> tuple[str, str]:
        """Create the IAM user ``name`` with an inline policy allowing every action on every
        resource and one access key: ``(access_key_id, secret_access_key)``. The secret comes from
        :mod:`secrets` (moto's generator can be seeded through its moto-api)."""
        import secrets

        iam = self._iam
        iam.create_user(self.region, name, path="/")
        iam.put_user_policy(name, ADMIN_POLICY_NAME, json.dumps(ADMIN_POLICY))
        key = iam.create_access_key(name)
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        key.secret_access_key = "".join(secrets.choice(alphabet) for _ in range(40))
        return key.access_key_id, key.secret_access_key

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
        """The role, with its trust policy as IAM evaluates it: an IAM user or role it names that
        has since been deleted (or re-created, with a new id) stands as the old unique id, which
        matches no caller."""
        role = self._moto_role(arn)
        if role is None:
            return None
        trust = role.assume_role_policy_document
        stale = {named: old_id for named, old_id in trust_bindings(role.id).items()
                 if self.principal_id(named) != old_id}
        if stale:
            trust = json.dumps(replace_aws_principals(parse_document(trust), stale))
        return Role(arn=role.arn, role_id=role.id, name=role.name, trust_policy=trust,
                    max_session_duration=int(role.max_session_duration or 3600))

    def principal_id(self, arn: str) -> str | None:
        """The unique id of the IAM user or role of this account that ``arn`` names (by name:
        names are unique whatever the path), None if there is none or ``arn`` names neither."""
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "iam" or parts[4] != self.account_id:
            return None
        kind, _, rest = parts[5].partition("/")
        if kind not in ("user", "role") or not rest:
            return None
        name = rest.rsplit("/", 1)[-1]
        collection = self._iam.roles if kind == "role" else self._iam.users
        return next((item.id for item in list(collection.values()) if item.name == name), None)

    def managed_policy_document(self, arn: str) -> str | None:
        policy = self._iam.managed_policies.get(arn)
        return None if policy is None else _default_document(policy)

    def oidc_client_ids(self, provider_arn: str) -> list[str] | None:
        """The client id list of the IAM OIDC provider ``provider_arn`` (None if there is none)."""
        provider = self._iam.open_id_providers.get(provider_arn)
        return None if provider is None else list(provider.client_id_list or ())

    def set_oidc_client_ids(self, provider_arn: str, client_ids: Sequence[str]) -> None:
        """Replace a provider's client id list in moto's record (moto has no API for it)."""
        self._iam.open_id_providers[provider_arn].client_id_list = list(client_ids)

    def named_arn(self, kind: str, name: str) -> str | None:
        """The ARN (with its path) of the IAM ``role``, ``user`` or ``group`` called ``name``."""
        collection = {"role": self._iam.roles, "user": self._iam.users, "group": self._iam.groups}[kind]
        return next((item.arn for item in list(collection.values()) if item.name.lower() == name.lower()), None)

    def user_id(self, name: str) -> str | None:
        """The unique id of the IAM user ``name`` (names compare case-insensitively, as IAM's)."""
        return next((u.id for u in list(self._iam.users.values()) if u.name.lower() == name.lower()), None)

    # -- what the token check reads --------------------------------------------------------------

    def resolve_access_key(self, access_key_id: str) -> Credential | None:
        """The credential an access key id names: STS session credentials (with their session
        token and expiry) or an active IAM user key; None if unknown or inactive."""
        info = session_info(access_key_id)
        for assumed in list(self._sts.assumed_roles) if info is not None else ():
            if assumed.access_key_id == access_key_id:
                role = self._moto_role(assumed.role_arn)
                tags = _tags(role.tags) if role is not None and role.id == info.role_id else ()
                if info.session_tags:  # a session tag wins over the role's tag of the same key
                    session_keys = {key for key, _ in info.session_tags}
                    tags = tuple((k, v) for k, v in tags if k not in session_keys) + info.session_tags
                return Credential(
                    access_key_id=access_key_id, secret_access_key=assumed.secret_access_key,
                    session_token=assumed.session_token, expiration=_aware(assumed.expiration),
                    principal_arn=assumed.role_arn, account_id=assumed.account_id,
                    session_arn=assumed.arn, session_policies=info.session_policies,
                    federated_provider=info.federated_provider, issued_at=info.issued_at,
                    user_id=f"{info.role_id}:{assumed.session_name}", role_id=info.role_id,
                    principal_tags=tags, chained=info.chained)
        for user in list(self._iam.users.values()):
            for key in list(user.access_keys):
                if key.access_key_id == access_key_id:
                    if key.status != "Active":
                        return None
                    tags = _tags(self._iam.tagger.list_tags_for_resource(user.arn)["Tags"])
                    return Credential(access_key_id=access_key_id,
                                      secret_access_key=key.secret_access_key, session_token=None,
                                      expiration=None, principal_arn=user.arn,
                                      account_id=self.account_id, user_id=user.id, principal_tags=tags)
        return None

    def _principal(self, principal_arn: str) -> tuple[str, Any]:
        resource = principal_arn.split(":", 5)[-1]
        if resource.startswith("assumed-role/"):
            name = resource.split("/")[1]
            role = next((r for r in list(self._iam.roles.values()) if r.name == name), None)
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
        found = [NamedPolicy(f"{prefix}inline:{name}", _parsed_identity_policy(document))
                 for name, document in sorted(dict(holder.policies).items())]
        found += [NamedPolicy(arn, _parsed_identity_policy(_default_document(policy)))
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
        """A role's boundary (moto keeps it) or a user's (moto drops it: the IAM handlers of
        :mod:`pgiam.localcloud.iam_handlers` record it here)."""
        kind, holder = self._principal(principal_arn)
        if kind == "role":
            arn = getattr(holder, "permissions_boundary_arn", None)
        else:
            arn = user_boundary(holder.id)
        if not arn:
            return None
        document = self.managed_policy_document(arn)
        if document is None:
            raise LookupError(f"permissions boundary {arn} of {principal_arn} does not exist")
        return NamedPolicy(f"boundary:{arn}", parse_policy(document, kind="identity"))

    def check_current(self, credential: Credential) -> None:
        """``LookupError`` unless a session's role is still the one it was issued for."""
        if credential.role_id is None:
            return
        role = self._moto_role(credential.principal_arn)
        if role is None or role.id != credential.role_id:
            raise LookupError(f"the role {credential.principal_arn} this session was issued for "
                              f"({credential.role_id}) no longer exists")

    def authorize(self, credential: Credential, request: Request, *,
                  identity_allow_required: bool = True) -> Decision:
        """Identity policies within the permissions boundary, and the session policies if the
        session has any: an explicit deny anywhere denies; all must allow.

        ``identity_allow_required=False`` is for a request a resource-based policy grants to this
        very principal (a role trust policy naming the user or the session, for ``AssumeRole``):
        then the identity policies need not allow, but their explicit deny, the permissions
        boundary and the session policies still apply (IAM User Guide, "Policy evaluation logic",
        and "Update a role trust policy": a user named in the trust needs its boundary to allow).
        Raises ``LookupError`` for a principal (or a session's role) that no longer exists."""
        self.check_current(credential)
        boundary = self.permissions_boundary(credential.principal_arn)
        identity = evaluate_identity_policies(self.identity_policies(credential.principal_arn), request)
        limits = [("boundary", [boundary] if boundary is not None else []),
                  ("session policies", list(credential.session_policies))]
        if identity.effect == "ExplicitDeny":
            return identity
        decisions = [(name, evaluate_identity_policies(policies, request))
                     for name, policies in limits if policies]
        for _, decision in decisions:
            if decision.effect == "ExplicitDeny":
                return decision
        if identity_allow_required and not identity.allowed:
            return identity
        for name, decision in decisions:
            if not decision.allowed:
                return Decision("ImplicitDeny", None,
                                boundary.name if name == "boundary" and boundary is not None else name)
        if identity.allowed:
            return identity
        return Decision("Allow", None, "the resource policy naming this principal")

    def explain(self, credential: Credential, request: Request) -> str:
        """For a request :meth:`authorize` did not allow: why each identity policy's ``Allow``
        statements did not apply, or which limit (boundary, session policies) did not allow.
        Raises as :meth:`authorize` does."""
        policies = self.identity_policies(credential.principal_arn)
        if not evaluate_identity_policies(policies, request).allowed:
            if not policies:
                return f"{credential.principal_arn} has no identity policy"
            return "; ".join(explain_no_allow(policy, request) for policy in policies)
        boundary = self.permissions_boundary(credential.principal_arn)
        limits = [("the permissions boundary", [boundary] if boundary is not None else []),
                  ("the session policies", list(credential.session_policies))]
        for what, limit in limits:
            if limit and not evaluate_identity_policies(limit, request).allowed:
                return f"outside {what}: " + "; ".join(explain_no_allow(policy, request) for policy in limit)
        return "allowed"


class MotoCredentialIssuer:
    """Creates session credentials through moto's STS backend, so every moto API (and the token
    check) knows them, and records what moto does not keep."""

    def __init__(self, directory: IdentityDirectory) -> None:
        self.directory = directory

    def issue(self, role: Role, session_name: str, duration: int,
              session_policies: Sequence[NamedPolicy], *, federated_provider: str | None = None,
              chained: bool = False) -> IssuedCredentials:
        assumed = self.directory._sts.assume_role(
            region_name=self.directory.region, role_session_name=session_name, role_arn=role.arn,
            policy=None, duration=duration, external_id=None)
        issued_at = datetime.now(timezone.utc)
        record_session(assumed.access_key_id, SessionInfo(
            role.role_id, tuple(session_policies), federated_provider, issued_at.replace(microsecond=0),
            chained))
        return IssuedCredentials(
            access_key_id=assumed.access_key_id, secret_access_key=assumed.secret_access_key,
            session_token=assumed.session_token, expiration=_aware(assumed.expiration),
            assumed_role_arn=assumed.arn, assumed_role_id=f"{role.role_id}:{session_name}")

    def issue_tagged(self, role: Role, session_name: str, duration: int,
                     tags: Mapping[str, str]) -> IssuedCredentials:
        """Session credentials carrying session tags (EKS Pod Identity's), which the pod's
        requests then carry as ``aws:PrincipalTag/<key>``."""
        credentials = self.issue(role, session_name, duration, ())
        info = session_info(credentials.access_key_id)
        if info is not None:
            record_session(credentials.access_key_id, replace(info, session_tags=tuple(tags.items())))
        return credentials
