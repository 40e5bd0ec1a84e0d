"""Reading resource properties that may be unknown (preview), strings (provider inputs), or
absent (the provider's default).

The engine marks an unknown value with one sentinel string per type (pulumi-policy's
``proxy.UNKNOWN_*``; the engine itself always sends the string one). Provider resources receive
their inputs as strings (``"false"``, ``"5432"``), so booleans are read from either form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# pulumi_policy.proxy.UNKNOWN_*_VALUE (copied: importing pulumi_policy imports the Pulumi SDK).
UNKNOWN_SENTINELS = frozenset({
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",   # boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",   # number
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9",   # string (what the engine sends for every type)
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",   # array
    "030794c1-ac77-496b-92df-f27374a8bd58",   # asset
    "e48ece36-62e2-4504-bad9-02848725956a",   # archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",   # object
})
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_MISSING = object()


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def contains_unknown(value: Any) -> bool:
    """Whether ``value`` is, or holds anywhere inside it, an unknown."""
    if is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(item) for item in value)
    return False


def get(value: Any, *path: str | int, default: Any = None) -> Any:
    """The value at ``path`` inside nested dicts and lists; ``default`` when a step is absent.
    An unknown met on the way is returned as is (the caller decides what that means)."""
    current = value
    for step in path:
        if is_unknown(current):
            return current
        if isinstance(step, int):
            if not isinstance(current, (list, tuple)) or not -len(current) <= step < len(current):
                return default
            current = current[step]
        else:
            if not isinstance(current, Mapping) or step not in current:
                return default
            current = current[step]
        if current is None:
            return default
    return current


def truth(value: Any, default: bool | None = False) -> bool | None:
    """A boolean input: ``True``/``False``, ``None`` when unknown; absent -> ``default``.
    Accepts the string forms provider inputs arrive in."""
    if value is None:
        return default
    if is_unknown(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off", ""):
            return False
    return default


def text(value: Any) -> str | None:
    """A known scalar as text (``None`` for absent or unknown)."""
    if value is None or is_unknown(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def items(value: Any) -> list[Any]:
    """A list input as a list (a single value as a one-item list; absent or unknown: empty)."""
    if value is None or is_unknown(value):
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def strings(value: Any) -> tuple[list[str], bool]:
    """The known strings of a string-or-list input, and whether any member is unknown."""
    if is_unknown(value):
        return [], True
    known: list[str] = []
    unknown = False
    for item in items(value):
        if is_unknown(item):
            unknown = True
        elif isinstance(item, str):
            known.append(item)
    return known, unknown


def type_kind(type_token: str) -> str:
    """``kubernetes:apps/v1:DeploymentPatch`` -> ``Deployment``; ``aws:rds/cluster:Cluster`` ->
    ``Cluster``."""
    kind = type_token.rsplit(":", 1)[-1]
    if type_token.startswith("kubernetes:") and kind.endswith("Patch") and kind != "Patch":
        kind = kind[: -len("Patch")]
    return kind


def first(values: Iterable[Any], default: Any = None) -> Any:
    return next(iter(values), default)


def describe_path(path: Sequence[str | int]) -> str:
    """``("spec", "template", 0)`` -> ``.spec.template[0]``."""
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)
