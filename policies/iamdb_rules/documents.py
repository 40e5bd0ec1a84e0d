"""IAM policy documents wherever a resource carries one, read so that unknown parts stay unknown.

Where documents live (every shape a Pulumi program can write one in):

* trust policies: ``aws:iam/role:Role.assumeRolePolicy``, ``aws-native:iam:Role
  .assumeRolePolicyDocument``;
* identity policies: ``aws:iam/policy:Policy.policy``, ``aws:iam/rolePolicy:RolePolicy.policy``
  (and ``UserPolicy``/``GroupPolicy``), ``aws:iam/role:Role.inlinePolicies[].policy``, and
  aws-native's ``ManagedPolicy``/``Policy``/``RolePolicy``/``UserPolicy``/``GroupPolicy
  .policyDocument`` and ``Role``/``User``/``Group.policies[].policyDocument``; IAM Identity
  Center permission sets' inline policies (``aws:ssoadmin/permissionSetInlinePolicy
  .inlinePolicy``, ``aws-native:sso:PermissionSet.inlinePolicy``).

A document is JSON text (``json.dumps``, ``aws.iam.get_policy_document(...).json``, an
``Output.apply``) or an object (pulumi-aws' ``PolicyDocumentArgs``, aws-native's ``Any``), so it
may be wholly unknown or hold unknown members. :func:`read_document` reads it leniently: element
names in any case (``Statement``/``statement``/``not_action``), a string or a list for every
element, and each member either known text or unknown. The statement methods answer in three
values (``True``/``False``/``None`` for "cannot tell yet"), with pulumi's own matching semantics
from :mod:`pgiam.iam` (``action_matches``); the strict grammar check is
:func:`document_error` (``pgiam.iam.parse_policy``) on documents that are fully known.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pgiam.iam import PolicyDocumentError, action_matches, parse_policy

from .model import Resource
from .props import contains_unknown, is_unknown

_CANONICAL = {name.lower(): name for name in (
    "Version", "Id", "Statement", "Sid", "Effect", "Principal", "NotPrincipal", "Action",
    "NotAction", "Resource", "NotResource", "Condition")}
_PRINCIPAL_KINDS = {kind.lower(): kind for kind in ("AWS", "Federated", "Service",
                                                     "CanonicalUser")}


def _canonical(key: Any) -> str:
    return _CANONICAL.get(str(key).replace("_", "").lower(), str(key))


@dataclass(frozen=True)
class Values:
    """An element's members: the known texts and whether some member is unknown."""

    known: tuple[str, ...] = ()
    unknown: bool = False

    @classmethod
    def read(cls, raw: Any) -> Values:
        if is_unknown(raw):
            return cls((), True)
        members = raw if isinstance(raw, list) else [raw]
        known: list[str] = []
        unknown = False
        for member in members:
            if is_unknown(member) or contains_unknown(member):
                unknown = True
            elif isinstance(member, bool):
                known.append("true" if member else "false")
            elif isinstance(member, (int, float)):
                known.append(json.dumps(member))
            elif isinstance(member, str):
                known.append(member)
        return cls(tuple(known), unknown)

    def __iter__(self) -> Iterator[str]:
        return iter(self.known)


@dataclass(frozen=True)
class Cond:
    operator: str
    key: str
    values: Values

    @property
    def base(self) -> str:
        """The operator without set qualifier and ``IfExists``: ``StringEquals``."""
        base = self.operator.split(":", 1)[-1]
        return base[: -len("IfExists")] if base.endswith("IfExists") else base

    @property
    def qualifier(self) -> str | None:
        return self.operator.split(":", 1)[0] if ":" in self.operator else None

    @property
    def if_exists(self) -> bool:
        return self.operator.endswith("IfExists")

    @property
    def negated(self) -> bool:
        return "Not" in self.base and self.base != "Null"


@dataclass(frozen=True)
class Principals:
    """``Principal``/``NotPrincipal``: ``everyone`` for ``"*"``, else kind -> values."""

    everyone: bool = False
    kinds: Mapping[str, Values] = field(default_factory=dict)
    unknown: bool = False

    @classmethod
    def read(cls, raw: Any) -> Principals | None:
        if raw is None:
            return None
        if is_unknown(raw):
            return cls(unknown=True)
        if raw == "*":
            return cls(everyone=True)
        if not isinstance(raw, Mapping):
            return cls(kinds={"?": Values.read(raw)})
        kinds: dict[str, Values] = {}
        unknown = False
        for kind, values in raw.items():
            read = Values.read(values)
            kinds[_PRINCIPAL_KINDS.get(str(kind).lower(), str(kind))] = read
            unknown = unknown or read.unknown
        return cls(kinds=kinds, unknown=unknown)

    def of(self, kind: str) -> Values:
        return self.kinds.get(kind, Values())


@dataclass(frozen=True)
class DocStatement:
    index: int
    sid: str | None
    effect: str | None                  # None: unknown
    actions: Values | None
    not_actions: Values | None
    resources: Values | None
    not_resources: Values | None
    principal: Principals | None
    not_principal: Principals | None
    conditions: tuple[Cond, ...]
    conditions_unknown: bool

    @property
    def label(self) -> str:
        return f"Statement[{self.index}]" + (f" ({self.sid})" if self.sid else "")

    @property
    def allows(self) -> bool | None:
        """Whether the statement is an ``Allow`` (``None``: its effect is unknown)."""
        return None if self.effect is None else self.effect == "Allow"

    def covers(self, action: str) -> bool | None:
        """Whether ``Action``/``NotAction`` covers ``action`` (IAM wildcards, any case)."""
        if self.actions is not None:
            if any(action_matches(pattern, action) for pattern in self.actions):
                return True
            return None if self.actions.unknown else False
        if self.not_actions is not None:
            if any(action_matches(pattern, action) for pattern in self.not_actions):
                return False
            return None if self.not_actions.unknown else True
        return False

    def grants(self, action: str) -> bool | None:
        """``Allow`` and covering ``action``: True, False, or None when it depends on unknowns."""
        allows = self.allows
        if allows is False:
            return False
        covers = self.covers(action)
        if covers is False:
            return False
        if allows is None or covers is None:
            return None
        return True

    def conditions_on(self, key: str) -> list[Cond]:
        """The conditions on ``key`` (condition keys are case-insensitive)."""
        wanted = key.lower()
        return [cond for cond in self.conditions if cond.key.lower() == wanted]

    def action_text(self) -> str:
        if self.actions is not None:
            return "Action " + ", ".join(self.actions.known or ("(unknown)",))
        if self.not_actions is not None:
            return "NotAction " + ", ".join(self.not_actions.known or ("(unknown)",))
        return "no Action"


@dataclass(frozen=True)
class Document:
    """A document read leniently. ``unknown``: not known at all (or its statement list is not);
    ``error``: not JSON or not an object."""

    statements: tuple[DocStatement, ...] = ()
    unknown: bool = False
    error: str | None = None
    raw: Any = None

    @property
    def fully_known(self) -> bool:
        return not self.unknown and self.error is None and not contains_unknown(self.raw)


def _statement(index: int, raw: Mapping[str, Any]) -> DocStatement:
    fields = {_canonical(key): value for key, value in raw.items()}

    def values(name: str) -> Values | None:
        return Values.read(fields[name]) if name in fields else None

    effect = fields.get("Effect")
    conditions: list[Cond] = []
    conditions_unknown = False
    block = fields.get("Condition")
    if is_unknown(block):
        conditions_unknown = True
    elif isinstance(block, Mapping):
        for operator, keys in block.items():
            if is_unknown(keys):
                conditions_unknown = True
                continue
            if not isinstance(keys, Mapping):
                continue
            for key, raw_values in keys.items():
                conditions.append(Cond(str(operator), str(key), Values.read(raw_values)))
    sid = fields.get("Sid")
    return DocStatement(
        index=index,
        sid=sid if isinstance(sid, str) and not is_unknown(sid) else None,
        effect=None if is_unknown(effect) else (str(effect) if effect is not None else None),
        actions=values("Action"), not_actions=values("NotAction"),
        resources=values("Resource"), not_resources=values("NotResource"),
        principal=Principals.read(fields.get("Principal")),
        not_principal=Principals.read(fields.get("NotPrincipal")),
        conditions=tuple(conditions), conditions_unknown=conditions_unknown)


def read_document(value: Any) -> Document | None:
    """The document in ``value`` (JSON text or an object); ``None`` when there is none."""
    if value is None or value == "":
        return None
    if is_unknown(value):
        return Document(unknown=True, raw=value)
    raw = value
    if isinstance(value, (str, bytes)):
        try:
            raw = json.loads(value)
        except ValueError as error:
            return Document(error=f"not JSON: {error}", raw=value)
    if not isinstance(raw, Mapping):
        return Document(error="a policy document must be a JSON object", raw=value)
    fields = {_canonical(key): item for key, item in raw.items()}
    statements = fields.get("Statement")
    if is_unknown(statements):
        return Document(unknown=True, raw=raw)
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        return Document(error="Statement must be an object or a list of them", raw=raw)
    read: list[DocStatement] = []
    unknown = False
    for index, statement in enumerate(statements):
        if is_unknown(statement):
            unknown = True
        elif isinstance(statement, Mapping):
            read.append(_statement(index, statement))
    return Document(tuple(read), unknown=unknown, raw=raw)


def _normalized(raw: Any) -> Any:
    """Element names in IAM's spelling (an object document may use pulumi's snake_case)."""
    if isinstance(raw, Mapping):
        normalized = {_canonical(key): value for key, value in raw.items()}
        statements = normalized.get("Statement")
        if isinstance(statements, Mapping):
            statements = [statements]
        if isinstance(statements, list):
            normalized["Statement"] = [
                {_canonical(key): value for key, value in item.items()}
                if isinstance(item, Mapping) else item for item in statements]
        return normalized
    return raw


def document_error(document: Document, kind: str) -> PolicyDocumentError | None:
    """The first grammar error IAM would report for a fully known document (``kind`` identity,
    trust or resource), by pgiam.iam's strict reader; ``None`` when it reads cleanly."""
    if document.error is not None:
        return PolicyDocumentError("(document)", document.error)
    try:
        parse_policy(_normalized(document.raw), kind=kind)  # type: ignore[arg-type]
    except PolicyDocumentError as error:
        return error
    return None


# ------------------------------------------------------------------------------------------
# Where documents are
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DocumentRef:
    """One document of a resource: its kind (``trust``/``identity``/``resource``), where it is, its value."""

    kind: str
    path: str
    value: Any

    def read(self) -> Document | None:
        return read_document(self.value)


IDENTITY_POLICY_TYPES = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
    "aws-native:iam:ManagedPolicy": "policyDocument",
    "aws-native:iam:Policy": "policyDocument",
    "aws-native:iam:RolePolicy": "policyDocument",
    "aws-native:iam:UserPolicy": "policyDocument",
    "aws-native:iam:GroupPolicy": "policyDocument",
    # IAM Identity Center permission sets: the inline policy every assigned user gets
    "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy": "inlinePolicy",
    "aws-native:sso:PermissionSet": "inlinePolicy",
}
TRUST_POLICY_TYPES = {
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws-native:iam:Role": "assumeRolePolicyDocument",
}
# type -> (list property, document property inside each item)
INLINE_POLICY_LISTS = {
    "aws:iam/role:Role": ("inlinePolicies", "policy"),
    "aws-native:iam:Role": ("policies", "policyDocument"),
    "aws-native:iam:User": ("policies", "policyDocument"),
    "aws-native:iam:Group": ("policies", "policyDocument"),
}
ROLE_TYPES = frozenset(TRUST_POLICY_TYPES)
# Resource-based policies (Principal required; IAM's grammar, NotPrincipal with Allow refused):
# checked for validity and ambiguous conditions, never read as a role's grants.
RESOURCE_POLICY_TYPES = {
    "aws:kms/key:Key": "policy",
    "aws:kms/keyPolicy:KeyPolicy": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:secretsmanager/secret:Secret": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
}


def documents_of(resource: Resource, kind: str | None = None) -> list[DocumentRef]:
    """Every policy document ``resource`` carries (optionally only trust or identity ones)."""
    found: list[DocumentRef] = []
    props = resource.props
    trust_key = TRUST_POLICY_TYPES.get(resource.type)
    if trust_key and props.get(trust_key) is not None:
        found.append(DocumentRef("trust", f".{trust_key}", props[trust_key]))
    identity_key = IDENTITY_POLICY_TYPES.get(resource.type)
    if identity_key and props.get(identity_key) is not None:
        found.append(DocumentRef("identity", f".{identity_key}", props[identity_key]))
    resource_key = RESOURCE_POLICY_TYPES.get(resource.type)
    if resource_key and props.get(resource_key) not in (None, ""):
        found.append(DocumentRef("resource", f".{resource_key}", props[resource_key]))
    inline = INLINE_POLICY_LISTS.get(resource.type)
    if inline:
        list_key, doc_key = inline
        entries = props.get(list_key)
        if is_unknown(entries):
            found.append(DocumentRef("identity", f".{list_key}", entries))
        elif isinstance(entries, list):
            for index, entry in enumerate(entries):
                if is_unknown(entry):
                    found.append(DocumentRef("identity", f".{list_key}[{index}]", entry))
                elif isinstance(entry, Mapping) and entry.get(doc_key) is not None:
                    found.append(DocumentRef("identity", f".{list_key}[{index}].{doc_key}",
                                             entry[doc_key]))
    return [ref for ref in found if kind is None or ref.kind == kind]


def statement_where(urn: str, ref: DocumentRef, statement: DocStatement | None = None) -> str:
    return f"{urn} {ref.path}" + (f" {statement.label}" if statement is not None else "")


ISSUER_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def split_condition_key(key: str) -> tuple[str, str]:
    """``oidc.eks.r.amazonaws.com/id/X:sub`` -> (issuer, claim); the issuer may hold a port."""
    issuer, _, claim = key.rpartition(":")
    return issuer, claim


def is_oidc_key(key: str) -> bool:
    """Whether a condition key is an OIDC provider key (``<issuer>:<claim>``) rather than a
    service key such as ``aws:SourceIp`` or ``sts:RoleSessionName``."""
    issuer, claim = split_condition_key(key)
    return bool(issuer) and bool(claim) and ("." in issuer or "/" in issuer
                                              or bool(ISSUER_SCHEME.match(issuer)))
