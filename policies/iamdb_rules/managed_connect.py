"""No IAM user, group or non-pod role of a stack with an IAM-auth database gets an AWS managed
policy that grants ``rds-db:connect`` on every database user.

``AdministratorAccess``, ``PowerUserAccess`` (its ``NotAction`` leaves ``rds-db`` in) and any other
AWS managed policy whose ``Allow`` covers ``rds-db:connect`` on every ``dbuser`` let the identity
they are attached to mint an IAM auth token for every IAM database user of every database of the
account: the ``rds-db:connect`` on ``*`` mistake (see :mod:`.rds_db_connect`), written as an
attachment by ARN. Pod roles already get a mandatory finding from :mod:`.broad_permissions`; this
advisory rule covers every other identity, however the policy is attached:

* ``aws.iam.UserPolicyAttachment`` / ``GroupPolicyAttachment`` / ``RolePolicyAttachment``
  (``policyArn``), ``aws.iam.PolicyAttachment`` (``users``, ``groups``, ``roles``);
* ``aws.iam.UserPolicyAttachmentsExclusive`` / ``GroupPolicyAttachmentsExclusive`` /
  ``RolePolicyAttachmentsExclusive`` (``policyArns``);
* ``aws.iam.Role`` and aws-native ``iam:Role``/``iam:User``/``iam:Group`` (``managedPolicyArns``).

Each element of a list is judged on its own: a list holding the stack's own scoped connect policy
and ``AdministratorAccess`` is reported for the ``AdministratorAccess`` element, by index. The
document of an ``arn:<partition>:iam::aws:policy/...`` ARN comes from
:func:`.managed_policies.managed_policy_document`; whether it grants every database user is
decided by :mod:`pgiam.iam`'s evaluator on two unrelated ``dbuser`` ARNs of the ARN's partition
(other region, account, resource id and user; no request context, so a conditioned grant is not
reported). An element not known yet that is not the stack's own policy, a role whose trust is not
known yet, or a database whose IAM authentication is not known yet defer the check.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pgiam.iam import (
    ArnError,
    NamedPolicy,
    PolicyDocumentError,
    Request,
    evaluate_identity_policies,
    parse_arn,
    parse_policy,
)

from .broad_permissions import POLICY_TYPES, pod_role
from .irsa_trust import roles
from .links import refers_to, refers_to_member
from .managed_policies import is_aws_managed, managed_policy_document
from .model import Deferred, Finding, Resource, RuleContext, Violation, message
from .props import get, is_unknown, items, text, truth
from .rds import CLUSTER, INSTANCE, PROXY
from .rds_db_connect import RDS_CONNECT

USER, GROUP, ROLE = "user", "group", "role"
IDENTITY_TYPES = {
    USER: ("aws:iam/user:User", "aws-native:iam:User"),
    GROUP: ("aws:iam/group:Group", "aws-native:iam:Group"),
}
# identity types whose own managedPolicyArns attach policies
OWN_LISTS = {"aws:iam/role:Role": ROLE, "aws-native:iam:Role": ROLE,
             "aws-native:iam:User": USER, "aws-native:iam:Group": GROUP}


@dataclass(frozen=True)
class Attachment:
    """An attachment type: the kind of identity it attaches to, the property naming it (or them),
    the property naming the policy ARN (or the list of them)."""

    type: str
    kind: str
    identity: str
    policy: str


ATTACHMENTS = (
    Attachment("aws:iam/userPolicyAttachment:UserPolicyAttachment", USER, "user", "policyArn"),
    Attachment("aws:iam/groupPolicyAttachment:GroupPolicyAttachment", GROUP, "group",
               "policyArn"),
    Attachment("aws:iam/rolePolicyAttachment:RolePolicyAttachment", ROLE, "role", "policyArn"),
    Attachment("aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive", USER,
               "userName", "policyArns"),
    Attachment("aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive", GROUP,
               "groupName", "policyArns"),
    Attachment("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", ROLE,
               "roleName", "policyArns"),
    Attachment("aws:iam/policyAttachment:PolicyAttachment", USER, "users", "policyArn"),
    Attachment("aws:iam/policyAttachment:PolicyAttachment", GROUP, "groups", "policyArn"),
    Attachment("aws:iam/policyAttachment:PolicyAttachment", ROLE, "roles", "policyArn"),
)
LIST_PROPS = frozenset({"policyArns", "managedPolicyArns", "users", "groups", "roles"})
# Two unrelated database users: a policy allowing both allows connect on every dbuser.
PROBES = ("arn:{partition}:rds-db:us-east-1:111122223333:dbuser:cluster-PGIAMPROBEA/probe_a",
          "arn:{partition}:rds-db:eu-west-3:444455556666:dbuser:db-PGIAMPROBEB/probe_b")
FIX = ("give the identity only the stack's own connect policy naming the dbuser ARNs it needs "
       "(or a Deny on rds-db:connect next to the broad policy); if it must keep the policy, "
       "exempt the resource with a reason (tag pgiam:exempt \"rds-db-connect-managed-policy: "
       "<why>\")")


def iam_auth_databases(resources: Sequence[Resource]) -> tuple[list[Resource], list[str]]:
    """The stack's databases with IAM authentication on (clusters and instances with
    ``iamDatabaseAuthenticationEnabled``, RDS Proxies taking IAM tokens), and what is not known
    yet about the others."""
    found: list[Resource] = []
    pending: list[str] = []
    for resource in resources:
        if resource.type in (CLUSTER, INSTANCE):
            enabled = truth(resource.props.get("iamDatabaseAuthenticationEnabled"))
            if enabled is None:
                pending.append(f"{resource.urn} .iamDatabaseAuthenticationEnabled is not known "
                               "yet")
            elif enabled:
                found.append(resource)
        elif resource.type == PROXY:
            scheme = resource.props.get("defaultAuthScheme")
            auths = [get(entry, "iamAuth") for entry in items(resource.props.get("auths"))]
            if str(scheme or "").upper() == "IAM_AUTH" or any(
                    str(value or "").upper() == "REQUIRED" for value in auths):
                found.append(resource)
            elif is_unknown(scheme) or is_unknown(resource.props.get("auths")) or any(
                    is_unknown(value) for value in auths):
                pending.append(f"{resource.urn}: whether the proxy takes IAM tokens is not "
                               "known yet")
    return found, pending


@functools.lru_cache(maxsize=256)
def grants_every_dbuser(arn: str) -> bool:
    """Whether the AWS managed policy ``arn`` allows ``rds-db:connect`` on every database user
    (``False`` for an unknown or unreadable document)."""
    document = managed_policy_document(arn)
    if document is None:
        return False
    try:
        policy = parse_policy(document, kind="identity")
        partition = parse_arn(arn).partition
    except (PolicyDocumentError, ArnError):
        return False
    named = [NamedPolicy(arn, policy)]
    return all(evaluate_identity_policies(
        named, Request(RDS_CONNECT, probe.format(partition=partition))).allowed
        for probe in PROBES)


@dataclass(frozen=True)
class Grant:
    """An attached AWS managed policy that grants every database user: where it is attached."""

    resource: Resource
    where: str
    arn: str


def _stack_policy(source: Resource, prop: str, value: Any,
                  resources: Sequence[Resource]) -> bool:
    """Whether ``value`` (an attached ARN not known yet) is a policy of the stack."""
    refers = refers_to_member if prop in LIST_PROPS else refers_to
    return any(refers(source, prop, value, policy) for policy in resources
               if policy.type in POLICY_TYPES)


def _grants(source: Resource, prop: str, resources: Sequence[Resource],
            pending: list[str]) -> list[Grant]:
    """The elements of ``source.prop`` that attach a policy granting every database user; the
    elements not known yet (and not the stack's own policies) go to ``pending``."""
    value = source.props.get(prop)
    listed = prop in LIST_PROPS
    if listed and is_unknown(value):
        pending.append(f"{source.urn} .{prop}: the attached policies are not known yet")
        return []
    found = []
    for index, arn in enumerate([value] if is_unknown(value) else items(value)):
        where = f"{source.urn} .{prop}" + (f"[{index}]" if listed else "")
        if is_unknown(arn):
            if not _stack_policy(source, prop, arn, resources):
                pending.append(f"{where}: the attached policy ARN is not known yet")
            continue
        named = text(arn)
        if named and is_aws_managed(named) and grants_every_dbuser(named):
            found.append(Grant(source, where, named))
    return found


def _role_is_pod_role(role: Resource, ctx: RuleContext, cache: dict[str, bool | None],
                      ) -> bool | None:
    if role.urn not in cache:
        cache[role.urn] = pod_role(role, ctx)
    return cache[role.urn]


def _identities(source: Resource, attachment: Attachment | None, resources: Sequence[Resource],
                ctx: RuleContext, cache: dict[str, bool | None],
                ) -> tuple[list[str], list[str]]:
    """The identities ``source`` gives its policies to (as ``attachment``, or through its own
    ``managedPolicyArns``) that this rule judges, pod roles left out, named; and what leaves a
    member undecided (a role not known yet, or its trust)."""
    if attachment is None:    # the identity's own managedPolicyArns
        if OWN_LISTS[source.type] != ROLE:
            return [source.urn], []
        pods = _role_is_pod_role(source, ctx, cache)
        if pods is None:
            return [], [f"whether {source.urn} is a pod role waits for its trust policy"]
        return ([] if pods else [source.urn]), []
    value = source.props.get(attachment.identity)
    # a value not known yet is one member, linked by the property's dependencies
    members = [value] if is_unknown(value) else items(value)
    refers = refers_to_member if attachment.identity in LIST_PROPS else refers_to
    candidates = roles(resources) if attachment.kind == ROLE else [
        resource for resource in resources if resource.type in IDENTITY_TYPES[attachment.kind]]
    judged: list[str] = []
    undecided: list[str] = []
    for member in members:
        links = [(candidate, refers(source, attachment.identity, member, candidate))
                 for candidate in candidates]
        linked = [candidate for candidate, link in links if link]
        if attachment.kind != ROLE:
            judged.extend([candidate.urn for candidate in linked] or
                          [f"the {attachment.kind} {text(member) or '(not known yet)'}"])
        elif not linked and (is_unknown(member) or any(link is None for _, link in links)):
            undecided.append(f"{source.urn} .{attachment.identity}: the role is not known yet")
        elif not linked:
            judged.append(f"the role {text(member)} (not in this stack)")
        for role in linked if attachment.kind == ROLE else ():
            pods = _role_is_pod_role(role, ctx, cache)
            if pods is None:
                undecided.append(f"whether {role.urn} is a pod role waits for its trust policy")
            elif not pods:
                judged.append(role.urn)
    return judged, undecided


def _violation(grant: Grant, identities: list[str], databases: list[Resource]) -> Violation:
    names = ", ".join(database.urn for database in databases)
    verb = "gets" if len(identities) == 1 else "each get"
    return Violation(grant.resource.urn, message(
        f"{', '.join(identities)} {verb} the AWS managed policy {grant.arn}, whose Allow covers "
        "rds-db:connect on every database user: that is a login as every IAM database user of "
        f"every database of the account, this stack's IAM-auth databases ({names}) included.",
        grant.where, FIX))


def _sites(source: Resource) -> list[tuple[str, list[Attachment | None]]]:
    """The properties of ``source`` that attach policies, each with what it attaches them to
    (``None``: to ``source`` itself)."""
    sites: dict[str, list[Attachment | None]] = {}
    for attachment in ATTACHMENTS:
        if attachment.type == source.type:
            sites.setdefault(attachment.policy, []).append(attachment)
    if source.type in OWN_LISTS:
        sites.setdefault("managedPolicyArns", []).append(None)
    return list(sites.items())


def check_managed_policy_connect(resources: Sequence[Resource],
                                 ctx: RuleContext) -> Iterator[Finding]:
    databases, databases_pending = iam_auth_databases(resources)
    if not databases and not databases_pending:
        return    # no database of the stack takes IAM tokens
    cache: dict[str, bool | None] = {}
    for source in resources:
        for prop, attachments in _sites(source):
            pending: list[str] = []
            grants = _grants(source, prop, resources, pending)
            if not grants and not pending:
                continue
            identities: list[str] = []
            undecided: list[str] = []
            for attachment in attachments:
                judged, open_ = _identities(source, attachment, resources, ctx, cache)
                identities += judged
                undecided += open_
            if not identities and not undecided:
                continue    # pod roles only: irsa-role-broad-permissions judges them
            if grants and identities and not databases:
                yield Deferred(source.urn, "whether a database of the stack takes IAM tokens "
                                           f"is not known yet ({'; '.join(databases_pending)})")
            elif identities:
                for grant in grants:
                    yield _violation(grant, identities, databases)
            for reason in [*pending, *(undecided if grants else ())]:
                yield Deferred(source.urn, reason)
