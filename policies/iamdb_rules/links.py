"""How one resource refers to another in a stack: by a value (a name, an id, an ARN) or, while
that value is not known yet, by the property's dependency on the other resource's URN (the engine
records which resources each input came from)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .model import Resource
from .props import is_unknown, text


def identifiers(resource: Resource, keys: Iterable[str] = ("name", "id", "arn")) -> set[str]:
    """The known values other resources may use to name ``resource``."""
    found: set[str] = set()
    for key in keys:
        value = text(resource.props.get(key))
        if value:
            found.add(value)
    return found


def refers_to(source: Resource, prop: str, value: object, target: Resource) -> bool | None:
    """Whether ``value`` (in ``source.prop``) names ``target``: True/False, None when the value
    is not known and no dependency decides it."""
    if target.urn in source.property_dependencies.get(prop, ()):
        return True
    if value is None:
        return False
    if is_unknown(value):
        return None if not source.property_dependencies.get(prop) else False
    named = str(value)
    if named in identifiers(target):
        return True
    arn = text(target.props.get("arn"))
    # a role named by ARN where a name is expected (or the reverse)
    if arn and named.rsplit("/", 1)[-1] == text(target.props.get("name")) and \
            named.startswith("arn:") and named.split(":")[:5] == arn.split(":")[:5]:
        return True
    return False


def by_urn(resources: Sequence[Resource]) -> dict[str, Resource]:
    return {resource.urn: resource for resource in resources}
