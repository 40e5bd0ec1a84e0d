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


def _aws_managed(named: str) -> bool:
    parts = named.split(":", 5)
    return len(parts) == 6 and parts[2] == "iam" and parts[4] == "aws"


def refers_to_member(source: Resource, prop: str, value: object, target: Resource) -> bool | None:
    """Whether one member ``value`` of the list ``source.prop`` (``managedPolicyArns``,
    ``policyArns``) names ``target``.

    The engine records dependencies per property, not per member: a list that holds one of the
    stack's policies plus ``arn:aws:iam::aws:policy/AdministratorAccess`` depends on that policy
    for every member. So a known member is judged by its own value (an AWS managed ARN never
    names a resource of the stack; a member other than the target's known ARN/name/id is another
    policy), and the dependency decides only for a member that is not known yet."""
    if value is None:
        return False
    if is_unknown(value):
        dependencies = source.property_dependencies.get(prop, ())
        if target.urn in dependencies:
            return True
        return None if not dependencies else False
    named = str(value)
    if _aws_managed(named):
        return False
    if named in identifiers(target):
        return True
    if text(target.props.get("arn")) or text(target.props.get("name")):
        return refers_to(source, "", value, target)
    return target.urn in source.property_dependencies.get(prop, ())


def by_urn(resources: Sequence[Resource]) -> dict[str, Resource]:
    return {resource.urn: resource for resource in resources}
