"""Principals: the ``Principal``/``NotPrincipal`` element and who makes a request.

Rules (IAM User Guide, "AWS JSON policy elements: Principal" and "...: NotPrincipal"):

* ``"Principal": "*"`` is everyone, anonymous callers included.
* ``{"AWS": "*"}`` is every AWS principal (here: every request principal of kind ``AWS``).
* ``{"AWS": "123456789012"}`` and ``{"AWS": "arn:aws:iam::123456789012:root"}`` are the account:
  every principal in it.
* A role ARN stands for the role and its sessions (``arn:aws:sts::ACCOUNT:assumed-role/NAME/S``);
  role names are unique in an account whatever the path, so the match is on the name.
* An assumed-role session ARN, a user ARN, a Federated provider (an OIDC/SAML provider ARN or a
  name such as ``cognito-identity.amazonaws.com``), a Service name and a CanonicalUser id match
  exactly. IAM has no partial wildcards in principals.

A request principal is seen as several *identities*: its account, its role (for a session) and
itself. ``Principal`` matches when any of them is named; ``NotPrincipal`` excludes the request
only when every one of them is named, which is why AWS's NotPrincipal examples list the session,
the role and the account together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from pgiam.iam.arn import ArnError, parse_arn

PrincipalKind = Literal["AWS", "Federated", "Service", "CanonicalUser"]
PRINCIPAL_KINDS: tuple[str, ...] = ("AWS", "Federated", "Service", "CanonicalUser")
ACCOUNT_ID = re.compile(r"\d{12}")


@dataclass(frozen=True)
class Principal:
    """Who makes a request: ``Principal("AWS", "arn:aws:sts::1:assumed-role/r/s")``,
    ``Principal("Federated", "arn:aws:iam::1:oidc-provider/oidc.eks...")``, ..."""

    kind: str
    identifier: str

    def __post_init__(self) -> None:
        if self.kind not in PRINCIPAL_KINDS:
            raise ValueError(f"principal kind must be one of {PRINCIPAL_KINDS}, not {self.kind!r}")


class PrincipalSpec(Mapping[str, tuple[str, ...]]):
    """The ``Principal``/``NotPrincipal`` element as read: kind -> identifiers. Immutable and
    hashable. The element ``"*"`` is kept as the string ``"*"`` instead (see Statement)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, tuple[str, ...]]) -> None:
        self._items = {kind: tuple(values) for kind, values in items.items()}

    def __getitem__(self, kind: str) -> tuple[str, ...]:
        return self._items[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._items.items())))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._items) == {k: tuple(v) for k, v in other.items()}
        return NotImplemented

    def __repr__(self) -> str:
        return f"PrincipalSpec({self._items!r})"


Identity = tuple[str, ...]


def _aws_entry_identity(entry: str) -> Identity:
    """What one ``AWS`` principal entry names, in the same form as request identities."""
    if ACCOUNT_ID.fullmatch(entry):
        return ("account", entry)
    try:
        arn = parse_arn(entry)
    except ArnError:
        return ("aws-id", entry)  # unique ids (AIDA..., AROA...) IAM leaves after a deletion
    if arn.service == "iam" and arn.resource == "root":
        return ("account", arn.account)
    if arn.service == "iam" and arn.resource.startswith("role/"):
        return ("role", arn.partition, arn.account, arn.resource.rsplit("/", 1)[1])
    return ("arn", entry)


def entry_identities(spec: PrincipalSpec) -> frozenset[Identity]:
    """Every identity a ``Principal``/``NotPrincipal`` element names (``*`` excluded)."""
    named: set[Identity] = set()
    for kind, values in spec.items():
        for value in values:
            if value == "*":
                continue
            named.add(_aws_entry_identity(value) if kind == "AWS" else (kind, value))
    return frozenset(named)


def request_identities(principal: Principal) -> tuple[Identity, ...]:
    """The identities a request principal carries: account, role (sessions), itself."""
    if principal.kind != "AWS":
        return ((principal.kind, principal.identifier),)
    identifier = principal.identifier
    if ACCOUNT_ID.fullmatch(identifier):
        return (("account", identifier),)
    try:
        arn = parse_arn(identifier)
    except ArnError:
        return (("aws-id", identifier),)
    if arn.service == "iam" and arn.resource == "root":
        return (("account", arn.account),)
    identities: list[Identity] = [("account", arn.account)] if arn.account else []
    if arn.service == "sts" and arn.resource.startswith("assumed-role/"):
        role_name = arn.resource.split("/")[1]
        identities.append(("role", arn.partition, arn.account, role_name))
        identities.append(("arn", identifier))
    elif arn.service == "iam" and arn.resource.startswith("role/"):
        identities.append(("role", arn.partition, arn.account, arn.resource.rsplit("/", 1)[1]))
    else:
        identities.append(("arn", identifier))
    return tuple(identities)


def _wildcard_covers(spec: PrincipalSpec, principal: Principal | None) -> bool:
    return principal is not None and "*" in spec.get(principal.kind, ())


def principal_matches(spec: PrincipalSpec | str, principal: Principal | None) -> bool:
    """Whether the ``Principal`` element names the request principal (``None``: anonymous)."""
    if spec == "*":
        return True
    assert isinstance(spec, PrincipalSpec)
    if principal is None:
        return False
    if _wildcard_covers(spec, principal):
        return True
    named = entry_identities(spec)
    return any(identity in named for identity in request_identities(principal))


def not_principal_applies(spec: PrincipalSpec | str, principal: Principal | None) -> bool:
    """Whether a statement with this ``NotPrincipal`` applies to the request principal: yes
    unless every identity of the principal is named."""
    if spec == "*":
        return False
    assert isinstance(spec, PrincipalSpec)
    if principal is None:
        return True
    if _wildcard_covers(spec, principal):
        return False
    named = entry_identities(spec)
    return not all(identity in named for identity in request_identities(principal))


def names_specifically(spec: PrincipalSpec | str | None, principal: Principal | None) -> bool:
    """Whether a ``Principal`` element names the caller itself (a user or session ARN, or the
    role of a session), not merely its account or everyone. In one account, a role trust policy
    that names the caller so grants ``sts:AssumeRole`` without the caller's identity policies;
    one that names only the account delegates the decision to them (IAM User Guide, "Policy
    evaluation logic", and the ``AssumeRole`` API reference)."""
    if not isinstance(spec, PrincipalSpec) or principal is None:
        return False
    named = entry_identities(spec)
    return any(identity in named and identity[0] != "account" for identity in request_identities(principal))
