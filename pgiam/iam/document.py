"""Policy documents: the IAM JSON grammar, read strictly into frozen dataclasses.

Grammar (IAM User Guide, "Grammar of the IAM JSON policy language" and the element pages):
``Version`` is ``2012-10-17``, ``2008-10-17`` or absent (then 2008-10-17: policy variables are
literal text); ``Id`` a string; ``Statement`` one object or a list of them. A statement has
``Effect`` (``Allow``/``Deny``, case-sensitive), exactly one of ``Action``/``NotAction``, at most
one of ``Resource``/``NotResource`` and of ``Principal``/``NotPrincipal``, an optional ``Sid``
(unique within the policy) and ``Condition``. Each element is a string or a list of strings.
Anything else is refused with a :class:`PolicyDocumentError` naming where and what.

``kind`` adds the rules of one policy type: ``"identity"`` (Resource required, no Principal),
``"trust"`` (Principal required, no Resource: "Has prohibited field Resource"), ``"resource"``
(Principal required).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pgiam.iam.conditions import Condition, parse_operator, validate_value
from pgiam.iam.errors import PolicyDocumentError
from pgiam.iam.principals import PRINCIPAL_KINDS, PrincipalSpec

VERSIONS = ("2012-10-17", "2008-10-17")
CURRENT_VERSION = "2012-10-17"
EFFECTS = ("Allow", "Deny")
POLICY_KEYS = ("Version", "Id", "Statement")
STATEMENT_KEYS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
PolicyKind = Literal["identity", "trust", "resource"]
_ACTION = re.compile(r"[A-Za-z0-9*?-]+:[^:\s]+")
_ACCOUNT_OR_WILDCARD = re.compile(r"\d{12}|\*")


@dataclass(frozen=True)
class Statement:
    """One statement. ``actions``/``not_actions`` etc.: the element's entries, ``None`` when the
    element is absent. ``principal``/``not_principal``: ``"*"`` or a :class:`PrincipalSpec`.
    ``index`` is the statement's position in its policy."""

    effect: str
    sid: str | None = None
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principal: PrincipalSpec | str | None = None
    not_principal: PrincipalSpec | str | None = None
    conditions: tuple[Condition, ...] = ()
    index: int = 0

    @property
    def label(self) -> str:
        """``Statement[i]`` or ``Statement[i] (Sid)``: how reports name it."""
        return f"Statement[{self.index}]" + (f" ({self.sid})" if self.sid else "")


@dataclass(frozen=True)
class Policy:
    """A parsed policy document."""

    version: str | None
    id: str | None
    statements: tuple[Statement, ...]

    @property
    def variables_enabled(self) -> bool:
        """Policy variables are substituted only in ``2012-10-17`` policies."""
        return self.version == CURRENT_VERSION


def parse_policy(document: str | bytes | Mapping[str, Any], *, kind: PolicyKind | None = None) -> Policy:
    """Read a policy document (JSON text or an already-parsed mapping), strictly."""
    if isinstance(document, (str, bytes, bytearray)):
        try:
            document = json.loads(document)
        except (ValueError, UnicodeDecodeError) as error:
            raise PolicyDocumentError("(document)", f"not JSON: {error}") from None
    if not isinstance(document, Mapping):
        raise PolicyDocumentError("(document)", f"a policy must be a JSON object, not {_json_type(document)}")
    for key in document:
        if key not in POLICY_KEYS:
            raise PolicyDocumentError(
                str(key), f"unknown top-level element (expected one of {', '.join(POLICY_KEYS)})"
            )
    version = document.get("Version")
    if version is not None and version not in VERSIONS:
        raise PolicyDocumentError(
            "Version", f"{version!r} is not a policy language version ({' or '.join(VERSIONS)})"
        )
    policy_id = document.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise PolicyDocumentError("Id", "must be a string")
    if "Statement" not in document:
        raise PolicyDocumentError("Statement", "missing: a policy needs at least one statement")
    raw_statements = document["Statement"]
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise PolicyDocumentError("Statement", "must be a statement object or a non-empty list of them")
    statements = tuple(
        _parse_statement(raw, f"Statement[{index}]", index, kind) for index, raw in enumerate(raw_statements)
    )
    _check_unique_sids(statements)
    return Policy(version, policy_id, statements)


def _parse_statement(raw: Any, where: str, index: int, kind: PolicyKind | None) -> Statement:
    if not isinstance(raw, Mapping):
        raise PolicyDocumentError(where, f"a statement must be an object, not {_json_type(raw)}")
    for key in raw:
        if key not in STATEMENT_KEYS:
            raise PolicyDocumentError(f"{where}.{key}", "unknown statement element")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyDocumentError(f"{where}.Sid", "must be a string")
    if "Effect" not in raw:
        raise PolicyDocumentError(f"{where}.Effect", "missing (Allow or Deny)")
    effect = raw["Effect"]
    if effect not in EFFECTS:
        raise PolicyDocumentError(f"{where}.Effect", f"{effect!r} is not Allow or Deny (case-sensitive)")
    _one_of(raw, where, "Action", "NotAction", required=True)
    _one_of(raw, where, "Resource", "NotResource", required=kind == "identity")
    _one_of(raw, where, "Principal", "NotPrincipal", required=kind in ("trust", "resource"))
    if kind == "identity":
        for name in ("Principal", "NotPrincipal"):
            if name in raw:
                raise PolicyDocumentError(f"{where}.{name}", "not allowed in an identity-based policy")
    if kind == "trust":
        for name in ("Resource", "NotResource", "NotPrincipal"):
            if name in raw:
                raise PolicyDocumentError(f"{where}.{name}", "not allowed in a role trust policy")
    if "NotPrincipal" in raw and effect == "Allow":
        # IAM refuses it: an Allow with NotPrincipal grants every principal but the listed ones.
        raise PolicyDocumentError(f"{where}.NotPrincipal", 'not allowed with "Effect": "Allow" '
                                  '(only with Deny)')
    return Statement(
        effect=effect,
        sid=sid,
        actions=_actions(raw, where, "Action"),
        not_actions=_actions(raw, where, "NotAction"),
        resources=_resources(raw, where, "Resource"),
        not_resources=_resources(raw, where, "NotResource"),
        principal=_principal(raw, where, "Principal"),
        not_principal=_principal(raw, where, "NotPrincipal"),
        conditions=_conditions(raw.get("Condition"), f"{where}.Condition"),
        index=index,
    )


def _one_of(raw: Mapping[str, Any], where: str, name: str, negated: str, *, required: bool) -> None:
    if name in raw and negated in raw:
        raise PolicyDocumentError(where, f"has both {name} and {negated}; use one")
    if required and name not in raw and negated not in raw:
        raise PolicyDocumentError(where, f"needs {name} or {negated}")


def _string_list(value: Any, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise PolicyDocumentError(where, f"must be a string or a list of strings, not {_json_type(value)}")
    if not items:
        raise PolicyDocumentError(where, "is an empty list")
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise PolicyDocumentError(f"{where}[{position}]", f"must be a string, not {_json_type(item)}")
        if not item:
            raise PolicyDocumentError(f"{where}[{position}]", "is an empty string")
    return tuple(items)


def _strings(raw: Mapping[str, Any], where: str, name: str) -> tuple[str, ...] | None:
    if name not in raw:
        return None
    return _string_list(raw[name], f"{where}.{name}")


def _actions(raw: Mapping[str, Any], where: str, name: str) -> tuple[str, ...] | None:
    actions = _strings(raw, where, name)
    for position, action in enumerate(actions or ()):
        if action != "*" and not _ACTION.fullmatch(action):
            place = f"{where}.{name}" if isinstance(raw[name], str) else f"{where}.{name}[{position}]"
            raise PolicyDocumentError(place, f"{action!r} is not an action (service:ActionName, or *)")
    return actions


def _resources(raw: Mapping[str, Any], where: str, name: str) -> tuple[str, ...] | None:
    resources = _strings(raw, where, name)
    for position, resource in enumerate(resources or ()):
        if resource != "*" and not resource.startswith("arn:"):
            place = f"{where}.{name}" if isinstance(raw[name], str) else f"{where}.{name}[{position}]"
            raise PolicyDocumentError(place, f'{resource!r} must be in ARN format or "*"')
    return resources


def _principal(raw: Mapping[str, Any], where: str, name: str) -> PrincipalSpec | str | None:
    if name not in raw:
        return None
    value = raw[name]
    place = f"{where}.{name}"
    if value == "*":
        return "*"
    if not isinstance(value, Mapping) or not value:
        raise PolicyDocumentError(place, 'must be "*" or an object such as {"AWS": ...}')
    items: dict[str, tuple[str, ...]] = {}
    for kind, entries in value.items():
        if kind not in PRINCIPAL_KINDS:
            raise PolicyDocumentError(
                f"{place}.{kind}", f"unknown principal type (one of {', '.join(PRINCIPAL_KINDS)})"
            )
        values = _string_list(entries, f"{place}.{kind}")
        for position, entry in enumerate(values):
            if entry != "*" and ("*" in entry or "?" in entry):
                raise PolicyDocumentError(
                    f"{place}.{kind}[{position}]",
                    f'{entry!r}: principals take no partial wildcards (only "*" alone)',
                )
            if kind == "AWS" and entry.isdigit() and not _ACCOUNT_OR_WILDCARD.fullmatch(entry):
                raise PolicyDocumentError(
                    f"{place}.{kind}[{position}]", f"{entry!r} is not a 12-digit account id"
                )
        items[kind] = values
    return PrincipalSpec(items)


def _condition_value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return value
    raise PolicyDocumentError(
        where, f"a condition value must be a string, number or boolean, not {_json_type(value)}"
    )


def _conditions(raw: Any, where: str) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise PolicyDocumentError(where, f"must be an object of operators, not {_json_type(raw)}")
    conditions: list[Condition] = []
    for operator, block in raw.items():
        place = f"{where}.{operator}"
        spec = parse_operator(operator, place)
        if not isinstance(block, Mapping) or not block:
            raise PolicyDocumentError(place, "must be a non-empty object of condition keys")
        for key, values in block.items():
            key_place = f"{place}.{key}"
            if not isinstance(key, str) or ":" not in key or key.startswith(":"):
                raise PolicyDocumentError(
                    key_place, "a condition key must be prefixed by its service (aws:..., s3:...)"
                )
            raw_values = values if isinstance(values, list) else [values]
            if not raw_values:
                raise PolicyDocumentError(key_place, "is an empty list")
            texts = tuple(
                _condition_value(value, f"{key_place}[{position}]" if isinstance(values, list) else key_place)
                for position, value in enumerate(raw_values)
            )
            for position, text in enumerate(texts):
                validate_value(
                    spec, text, f"{key_place}[{position}]" if isinstance(values, list) else key_place
                )
            conditions.append(Condition(operator, key, texts))
    return tuple(conditions)


def _check_unique_sids(statements: tuple[Statement, ...]) -> None:
    seen: dict[str, int] = {}
    for statement in statements:
        if not statement.sid:
            continue
        if statement.sid in seen:
            raise PolicyDocumentError(
                f"Statement[{statement.index}].Sid",
                f"{statement.sid!r} repeats Statement[{seen[statement.sid]}].Sid; Sids must be unique",
            )
        seen[statement.sid] = statement.index


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
