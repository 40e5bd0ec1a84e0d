"""PostgreSQL roles (pulumi-postgresql) that log in with IAM tokens.

A role holds ``rds_iam`` when a ``postgresql:index/role:Role`` lists it in ``roles`` or a
``postgresql:index/grantRole:GrantRole`` grants it (``grantRole: rds_iam``, ``role: <name>``).

* Such a role must not be a superuser, create roles, or be a member of ``rds_superuser``: an IAM
  identity that can mint tokens would own the database.
* ``rds_iam`` must never be granted to the master user: a member of ``rds_iam`` can no longer
  log in with its password (RDS then insists on a token), which locks the administrator out. The
  master user is the PostgreSQL provider's ``username`` (the explicit provider of the granting
  resource, or the default provider's ``postgresql:username``) and the ``masterUsername`` of the
  RDS cluster (``username`` of an instance) the provider connects to, found through the
  provider's ``host`` dependencies, or of every database in the stack when that link is not
  there.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .links import by_urn, refers_to
from .model import Deferred, Finding, Resource, RuleContext, Violation, message
from .props import is_unknown, strings, text, truth
from .rds import CLUSTER, CLUSTER_INSTANCE, INSTANCE

PG_ROLE = "postgresql:index/role:Role"
PG_GRANT_ROLE = "postgresql:index/grantRole:GrantRole"
PG_PROVIDER = "pulumi:providers:postgresql"
RDS_IAM = "rds_iam"
RDS_SUPERUSER = "rds_superuser"


@dataclass(frozen=True)
class Membership:
    """``member`` is granted ``group`` by ``source`` (a Role's ``roles`` or a GrantRole)."""

    source: Resource
    member: str | None          # None: not known yet
    group: str
    member_role: Resource | None = None


def _role_name(role: Resource) -> str | None:
    value = role.props.get("name")
    return None if value is None or is_unknown(value) else str(value)


def memberships(resources: Sequence[Resource]) -> tuple[list[Membership], list[Deferred]]:
    """Every role membership the stack grants, with what is not known yet."""
    found: list[Membership] = []
    deferred: list[Deferred] = []
    pg_roles = [resource for resource in resources if resource.type == PG_ROLE]
    for role in pg_roles:
        groups, unknown = strings(role.props.get("roles"))
        if unknown:
            deferred.append(Deferred(role.urn, ".roles is not known yet"))
        for group in groups:
            found.append(Membership(role, _role_name(role), group, role))
    for grant in resources:
        if grant.type != PG_GRANT_ROLE:
            continue
        group = grant.props.get("grantRole")
        if is_unknown(group):
            deferred.append(Deferred(grant.urn, ".grantRole is not known yet"))
            continue
        member_value = grant.props.get("role")
        target = next((role for role in pg_roles
                       if refers_to(grant, "role", member_value, role)), None)
        member = text(member_value) or (_role_name(target) if target else None)
        found.append(Membership(grant, member, str(group), target))
    return found, deferred


def _holders(resources: Sequence[Resource]) -> tuple[list[Membership], list[Deferred]]:
    found, deferred = memberships(resources)
    return [m for m in found if m.group == RDS_IAM], deferred


def _groups_of(role: Resource, all_memberships: Sequence[Membership]) -> dict[str, list[str]]:
    """Every group ``role`` belongs to, directly or through other groups (a member can
    ``SET ROLE`` to any group up the chain), each with the chain of grants (URNs) leading
    there."""
    name = _role_name(role)
    queue = [(m, [m.source.urn]) for m in all_memberships
             if m.member_role is role or (name and m.member == name)]
    reached: dict[str, list[str]] = {}
    while queue:
        membership, chain = queue.pop(0)
        if membership.group in reached:
            continue
        reached[membership.group] = chain
        queue.extend((m, [*chain, m.source.urn]) for m in all_memberships
                     if m.member == membership.group)
    return reached


def _admin_groups(role: Resource, all_memberships: Sequence[Membership],
                  resources: Sequence[Resource]) -> Iterator[str]:
    """What makes ``role`` an administrator through its groups: ``rds_superuser`` (directly or
    through a group), or a group of the stack that is SUPERUSER or CREATEROLE (role attributes
    are not inherited, but a member can ``SET ROLE`` to the group)."""
    group_roles = {name: r for r in resources if r.type == PG_ROLE
                   and (name := _role_name(r)) is not None}
    for group, chain in _groups_of(role, all_memberships).items():
        through = " -> ".join(chain)
        if group == RDS_SUPERUSER:
            yield f"member of {RDS_SUPERUSER} (through {through})"
            continue
        group_role = group_roles.get(group)
        if group_role is None or group_role is role:
            continue
        attributes = [what for prop, what in (("superuser", "SUPERUSER"),
                                              ("createRole", "CREATEROLE"))
                      if truth(group_role.props.get(prop), default=False)]
        if attributes:
            yield (f"member of {group!r}, which is {' and '.join(attributes)} and can be "
                   f"assumed with SET ROLE (through {through})")


def check_rds_iam_privileges(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[Finding]:
    holders, deferred = _holders(resources)
    yield from deferred
    all_memberships, _ = memberships(resources)
    checked: set[str] = set()
    for holder in holders:
        role = holder.member_role
        if role is None:
            if holder.member is None:
                yield Deferred(holder.source.urn, "the role granted rds_iam is not known yet")
            continue
        if role.urn in checked:
            continue
        checked.add(role.urn)
        problems: list[str] = []
        for prop, what in (("superuser", "SUPERUSER"), ("createRole", "CREATEROLE")):
            value = truth(role.props.get(prop), default=False)
            if value is None:
                yield Deferred(role.urn, f".{prop} is not known yet")
            elif value:
                problems.append(what)
        name = _role_name(role)
        problems.extend(_admin_groups(role, all_memberships, resources))
        if problems:
            yield Violation(role.urn, message(
                f"The PostgreSQL role {name or role.name!r} logs in with IAM tokens (rds_iam, "
                f"granted by {holder.source.urn}) and is {', '.join(problems)}: whoever can "
                "mint a token for it administers the database.",
                f"{role.urn} .superuser/.createRole/.roles",
                "give the IAM login role only LOGIN and the grants it needs (superuser=False, "
                "create_role=False, no rds_superuser); administer with the master user"))


def _provider_username(source: Resource, resources: Sequence[Resource]) -> tuple[object, str]:
    """The username of the provider that manages ``source``, and where it comes from."""
    if source.provider is not None:
        return source.provider.props.get("username"), f"{source.provider.urn} .username"
    return None, ""


def _databases_of_provider(source: Resource, resources: Sequence[Resource]) -> list[Resource]:
    """The RDS databases the provider of ``source`` connects to, through its host dependencies."""
    if source.provider is None:
        return []
    index = by_urn(resources)
    provider = index.get(source.provider.urn)
    if provider is None:
        return []
    seen: set[str] = set()
    databases: list[Resource] = []
    pending = list(provider.property_dependencies.get("host", ()))
    while pending:
        urn = pending.pop()
        if urn in seen or urn not in index:
            continue
        seen.add(urn)
        resource = index[urn]
        if resource.type in (CLUSTER, INSTANCE):
            databases.append(resource)
        elif resource.type == CLUSTER_INSTANCE:
            pending.extend(resource.property_dependencies.get("clusterIdentifier", ()))
    return databases


def check_rds_iam_not_master(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[Finding]:
    holders, deferred = _holders(resources)
    yield from deferred
    all_databases = [r for r in resources if r.type in (CLUSTER, INSTANCE)]
    for holder in holders:
        masters: list[tuple[object, str]] = []
        username, where = _provider_username(holder.source, resources)
        if username is not None:
            masters.append((username, where))
        databases = _databases_of_provider(holder.source, resources) or all_databases
        for database in databases:
            key = "masterUsername" if database.type == CLUSTER else "username"
            value = database.props.get(key)
            if value is not None:
                masters.append((value, f"{database.urn} .{key}"))
        if not masters:
            continue
        if holder.member is None:
            yield Deferred(holder.source.urn, "the role granted rds_iam is not known yet")
            continue
        for value, origin in masters:
            if is_unknown(value):
                yield Deferred(holder.source.urn, f"the master user ({origin}) is not known yet")
                continue
            if str(value) == holder.member:
                yield Violation(holder.source.urn, message(
                    f"rds_iam is granted to {holder.member!r}, the master user ({origin}): a "
                    "member of rds_iam can no longer log in with its password, so the "
                    "administrator is locked out.",
                    f"{holder.source.urn}",
                    "grant rds_iam to a separate login role (e.g. app_user) and keep the master "
                    "user for administration"))
                break


def rds_iam_holders(resources: Sequence[Resource]) -> tuple[set[str], bool, bool]:
    """(names holding rds_iam, whether some holder is unknown, whether the stack manages
    PostgreSQL roles at all)."""
    pg = any(r.type in (PG_ROLE, PG_GRANT_ROLE) for r in resources)
    holders, deferred = _holders(resources)
    names = {holder.member for holder in holders if holder.member}
    unknown = bool(deferred) or any(holder.member is None for holder in holders)
    return names, unknown, pg


def check_rds_iam_without_password(resources: Sequence[Resource],
                                   ctx: RuleContext) -> Iterator[Finding]:
    """A role that holds ``rds_iam`` logs in with tokens only (RDS refuses its password once it
    is a member), so a ``password`` set on it is a secret that opens nothing today and a
    password login path the day ``rds_iam`` is revoked: a passwordless design sets none."""
    holders, deferred = _holders(resources)
    yield from deferred
    checked: set[str] = set()
    for holder in holders:
        role = holder.member_role
        if role is None or role.urn in checked:
            continue
        checked.add(role.urn)
        password = role.props.get("password")
        if password is None or password == "":
            continue
        yield Violation(role.urn, message(
            f"The PostgreSQL role {_role_name(role) or role.name!r} holds rds_iam (granted by "
            f"{holder.source.urn}) and also sets a password: a stored secret in a passwordless "
            "design, and a password login the day rds_iam is revoked.",
            f"{role.urn} .password",
            "drop password= from the IAM login role; it logs in with IAM auth tokens only"))
