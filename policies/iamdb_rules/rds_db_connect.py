"""``rds-db:connect`` grants, however written, name exactly one database user of one database.

Every identity document of every resource that carries one (see :mod:`.documents`) is read;
a statement grants ``rds-db:connect`` when it is an ``Allow`` whose ``Action`` covers it
(``rds-db:connect``, ``rds-db:*``, ``rds-db:conn*``, ``*``, any case) or whose ``NotAction``
leaves it in. Its resources must then each be a full ``dbuser`` ARN:

    arn:<partition>:rds-db:<region>:<12-digit account>:dbuser:<resource id>/<database user>

with no wildcard in region, account, resource id or user, a resource id that is a
``DbClusterResourceId``/``DbiResourceId`` (``cluster-``/``db-`` and upper-case letters and
digits, not the lower-case cluster identifier) or an RDS Proxy's id (``prx-``), never the
database's own
``arn:aws:rds:...:cluster:``/``:db:`` ARN, never ``*``, and never ``NotResource`` (which grants
every other user of every database).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pgiam.iam import ArnError, parse_arn

from .documents import DocStatement, DocumentRef, documents_of, statement_where
from .model import Deferred, Finding, Resource, RuleContext, Violation, message

RDS_CONNECT = "rds-db:connect"
RESOURCE_ID = re.compile(r"^(?:(?:cluster|db)-[A-Z0-9]+|prx-[A-Za-z0-9]+)$")
# IAM policy variables (``${aws:username}``, ``${aws:PrincipalTag/dbuser}``, ``${*}``): a user
# named by a variable is the caller's own, not a wildcard.
POLICY_VARIABLE = re.compile(r"\$\{[^}]*\}")
DB_USER = re.compile(r"^[^*?/]+$")
ACCOUNT = re.compile(r"^\d{12}$")
FIX = ("grant rds-db:connect on exactly arn:<partition>:rds-db:<region>:<account>:dbuser:"
       "<cluster's clusterResourceId>/<database user> (build it from the cluster's "
       "cluster_resource_id output, never from its identifier)")


@dataclass(frozen=True)
class DbUserArn:
    """A ``dbuser`` ARN taken apart."""

    arn: str
    partition: str
    region: str
    account: str
    resource_id: str
    user: str


def parse_dbuser_arn(text: str) -> DbUserArn | None:
    """``arn:...:rds-db:...:dbuser:<id>/<user>`` taken apart; ``None`` for anything else."""
    try:
        arn = parse_arn(text)
    except ArnError:
        return None
    if arn.service != "rds-db" or not arn.resource.startswith("dbuser:"):
        return None
    resource_id, _, user = arn.resource[len("dbuser:"):].partition("/")
    return DbUserArn(text, arn.partition, arn.region, arn.account, resource_id, user)


def _wild(text: str) -> bool:
    return "*" in text or "?" in text


def _wild_user(user: str) -> bool:
    """A wildcard (or a path) in the user part; policy variables are not wildcards."""
    literal = POLICY_VARIABLE.sub("", user)
    return _wild(literal) or "/" in literal


def has_policy_variable(text: str) -> bool:
    return POLICY_VARIABLE.search(text) is not None


def resource_problem(resource: str) -> str | None:
    """Why ``resource`` is not an exact dbuser ARN (``None`` when it is one)."""
    if resource == "*":
        return "'*' grants every database user of every database in the account"
    try:
        arn = parse_arn(resource)
    except ArnError:
        return f"{resource!r} is not an ARN"
    if arn.service == "rds":
        return (f"{resource!r} is the database's own ARN ({arn.resource_type}); rds-db:connect "
                "is granted on arn:...:rds-db:...:dbuser:<resource id>/<user>, so this grants "
                "nothing and every token is refused")
    if arn.service != "rds-db":
        if _wild(arn.service):
            return f"{resource!r} has a wildcard service: it covers every dbuser ARN"
        return f"{resource!r} is not an rds-db dbuser ARN, so the grant allows no connection"
    parsed = parse_dbuser_arn(resource)
    if parsed is None:
        return (f"{resource!r} is not a dbuser ARN "
                "(arn:<partition>:rds-db:<region>:<account>:dbuser:<resource id>/<user>)")
    problems = []
    if _wild(parsed.partition):
        problems.append("a wildcard partition")
    if not parsed.region or _wild(parsed.region):
        problems.append("no region" if not parsed.region else "a wildcard region")
    if not ACCOUNT.match(parsed.account):
        problems.append("a wildcard account" if _wild(parsed.account)
                        else f"account {parsed.account!r} is not 12 digits")
    if _wild(parsed.resource_id):
        problems.append(f"a wildcard resource id {parsed.resource_id!r} (every database)")
    elif not RESOURCE_ID.match(parsed.resource_id):
        problems.append(f"a resource id {parsed.resource_id!r} that is no DbClusterResourceId/"
                        "DbiResourceId/proxy id (cluster-XXXX/db-XXXX, upper case; prx-...): "
                        "with a cluster identifier here every token is refused")
    if not parsed.user:
        problems.append("no database user")
    elif _wild_user(parsed.user):
        problems.append(f"a wildcard user {parsed.user!r} (every database user)")
    if problems:
        return f"{resource!r} has " + ", ".join(problems)
    return None


def connect_statements(resource: Resource) -> Iterator[tuple[DocumentRef, DocStatement] | Deferred]:
    """Each statement of ``resource``'s identity documents that grants ``rds-db:connect``, or a
    Deferred for a document or statement not known yet."""
    for ref in documents_of(resource, "identity"):
        document = ref.read()
        if document is None or document.error:
            continue
        if document.unknown and not document.statements:
            yield Deferred(resource.urn, f"{ref.path} (a policy document) is not known yet")
            continue
        if document.unknown:
            yield Deferred(resource.urn, f"{ref.path}: some statements are not known yet")
        for statement in document.statements:
            grants = statement.grants(RDS_CONNECT)
            if grants is None:
                yield Deferred(resource.urn, f"{ref.path} {statement.label}: whether it grants "
                                             "rds-db:connect is not known yet")
            elif grants:
                yield ref, statement


def check_connect_resources(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    for item in connect_statements(resource):
        if isinstance(item, Deferred):
            yield item
            continue
        ref, statement = item
        where = statement_where(resource.urn, ref, statement)
        if statement.not_resources is not None:
            yield Violation(resource.urn, message(
                f"{statement.action_text()} with NotResource grants rds-db:connect on every "
                "database user of every database except those listed.", where, FIX))
            continue
        if statement.resources is None:
            continue    # an identity statement without Resource: iam-policy-document-valid
        if statement.resources.unknown:
            yield Deferred(resource.urn, f"{ref.path} {statement.label}: a Resource is not "
                                         "known yet")
        problems = [problem for value in statement.resources
                    if (problem := resource_problem(value))]
        if problems:
            broad = "" if statement.actions is not None and all(
                action.lower() == RDS_CONNECT for action in statement.actions) else (
                f" ({statement.action_text()} includes rds-db:connect)")
            yield Violation(resource.urn, message(
                f"rds-db:connect is granted on resources that are not one exact database "
                f"user{broad}: {'; '.join(problems)}.", where, FIX))


@dataclass(frozen=True)
class ConnectGrant:
    """One known dbuser ARN granted by a resource (for the stack rules)."""

    resource: Resource
    where: str
    arn: DbUserArn


def connect_grants(resources: Sequence[Resource]) -> tuple[list[ConnectGrant], list[Deferred]]:
    """Every exact dbuser ARN granted in the stack, and the grants not known yet."""
    grants: list[ConnectGrant] = []
    deferred: list[Deferred] = []
    for resource in resources:
        for item in connect_statements(resource):
            if isinstance(item, Deferred):
                deferred.append(item)
                continue
            ref, statement = item
            if statement.resources is None:
                continue
            if statement.resources.unknown:
                deferred.append(Deferred(resource.urn, f"{ref.path} {statement.label}: a "
                                                       "Resource is not known yet"))
            for value in statement.resources:
                parsed = parse_dbuser_arn(value)
                if parsed is not None and not _wild_user(parsed.user) \
                        and not _wild(parsed.resource_id):
                    grants.append(ConnectGrant(resource, statement_where(resource.urn, ref,
                                                                         statement), parsed))
    return grants, deferred
