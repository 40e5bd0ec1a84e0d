"""Rules across resources of the stack: the IRSA chain and the database user chain hold together.

* A service account annotated ``eks.amazonaws.com/role-arn`` names a role of the stack whose
  trust ``:sub`` names that service account in that namespace (otherwise STS refuses its token).
* A workload configured for AWS or a database runs its pods as the service account an IRSA
  role trusts in its namespace, not ``default`` or another unannotated one.
* Every database user a connect policy names holds ``rds_iam`` in the stack (when the stack
  manages PostgreSQL roles).
* Every connect policy's resource id is the ``clusterResourceId`` (``resourceId`` of an
  instance) of a database of the stack, in its region and account, once those are known.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence

from pgiam.iam import ArnError, parse_arn, wildcard_match

from .documents import ROLE_TYPES
from .irsa_trust import SERVICE_ACCOUNT_SUBJECT, is_irsa_role, trusted_subjects
from .kubernetes import (
    IRSA_ANNOTATION,
    name_of,
    namespace_of,
    pod_service_account,
    uses_aws_or_database,
)
from .model import Deferred, Finding, Resource, RuleContext, Violation, message
from .postgresql import rds_iam_holders
from .props import describe_path, get, is_unknown, text, type_kind
from .rds import CLUSTER, INSTANCE
from .rds_db_connect import connect_grants


def _service_accounts(resources: Sequence[Resource]) -> list[Resource]:
    return [r for r in resources
            if r.type.startswith("kubernetes:core/") and type_kind(r.type) == "ServiceAccount"]


def _role_for_annotation(account: Resource, value: object,
                         resources: Sequence[Resource]) -> tuple[Resource | None, bool]:
    """The stack's role an annotation value names; and whether that is not known yet."""
    roles = [r for r in resources if r.type in ROLE_TYPES]
    dependencies = set(account.property_dependencies.get("metadata", ()))
    if is_unknown(value):
        linked = [role for role in roles if role.urn in dependencies]
        return (linked[0], False) if len(linked) == 1 else (None, True)
    arn = str(value)
    for role in roles:
        if text(role.props.get("arn")) == arn:
            return role, False
    try:
        parsed = parse_arn(arn)
    except ArnError:
        return None, False
    name = parsed.resource.rsplit("/", 1)[-1]
    for role in roles:
        if text(role.props.get("name")) == name or text(role.props.get("roleName")) == name:
            return role, False
    linked = [role for role in roles if role.urn in dependencies]
    if len(linked) == 1 and (is_unknown(linked[0].props.get("name"))
                             or is_unknown(linked[0].props.get("arn"))):
        return linked[0], False
    return None, False


def _subject_trusted(subject: str, trusted: list[tuple[str, str]]) -> bool:
    for operator, pattern in trusted:
        if operator == "StringLike" and wildcard_match(pattern, subject):
            return True
        if pattern == subject:
            return True
    return False


def check_service_account_role_trust(resources: Sequence[Resource],
                                     ctx: RuleContext) -> Iterator[Finding]:
    for account in _service_accounts(resources):
        annotations = get(account.props, "metadata", "annotations")
        if is_unknown(annotations):
            yield Deferred(account.urn, ".metadata.annotations is not known yet")
            continue
        if not isinstance(annotations, dict) or IRSA_ANNOTATION not in annotations:
            continue
        value = annotations[IRSA_ANNOTATION]
        role, unknown = _role_for_annotation(account, value, resources)
        if unknown:
            yield Deferred(account.urn, f"the {IRSA_ANNOTATION} annotation is not known yet")
            continue
        if role is None:
            continue    # a role of another stack: its trust is not visible here
        namespace, name = namespace_of(account), name_of(account)
        if is_unknown(namespace) or is_unknown(name) or name is None:
            yield Deferred(account.urn, "the service account's name or namespace is not known "
                                        "yet")
            continue
        subject = f"system:serviceaccount:{namespace}:{name}"
        trusted, trust_unknown = trusted_subjects(role)
        if _subject_trusted(subject, trusted):
            continue
        if trust_unknown:
            yield Deferred(account.urn, f"the trust policy of {role.urn} is not known yet")
            continue
        named = ", ".join(pattern for _, pattern in trusted) or "no service account"
        yield Violation(account.urn, message(
            f"The service account {namespace}/{name} is annotated with the role {role.urn}, "
            f"whose trust names {named}, not {subject}: STS refuses the pod's token "
            "(AccessDenied on AssumeRoleWithWebIdentity).",
            f"{account.urn} .metadata.annotations[\"{IRSA_ANNOTATION}\"]",
            f"make the role's trust :sub exactly {subject!r}, or annotate the service account "
            "the role trusts"))


def check_workload_service_account(resources: Sequence[Resource],
                                   ctx: RuleContext) -> Iterator[Finding]:
    accounts = _service_accounts(resources)
    annotated: dict[tuple[str, str], Resource] = {}
    for account in accounts:
        annotations = get(account.props, "metadata", "annotations")
        namespace, name = namespace_of(account), name_of(account)
        if isinstance(annotations, dict) and IRSA_ANNOTATION in annotations and \
                isinstance(namespace, str) and isinstance(name, str) and not is_unknown(name):
            annotated[(namespace, name)] = account
    trusted: dict[str, set[str]] = {}
    trust_pending = False
    for role in resources:
        if role.type not in ROLE_TYPES or is_irsa_role(role, ctx) is False:
            continue
        subjects, unknown = trusted_subjects(role)
        trust_pending = trust_pending or unknown
        for operator, pattern in subjects:
            match = SERVICE_ACCOUNT_SUBJECT.match(pattern) if operator == "StringEquals" else None
            if match:
                trusted.setdefault(match.group("namespace"), set()).add(match.group("name"))
    for workload in resources:
        found = pod_service_account(workload)
        if found is None:
            continue
        path, account_name = found
        namespace = namespace_of(workload)
        if is_unknown(account_name) or is_unknown(namespace):
            yield Deferred(workload.urn, f"{describe_path(path)} or the namespace is not known "
                                         "yet")
            continue
        if (namespace, account_name) in annotated:
            continue
        candidates = sorted(trusted.get(str(namespace), set()))
        if not candidates:
            if trust_pending and uses_aws_or_database(workload):
                yield Deferred(workload.urn, "the trust of an IRSA role of the stack is not "
                                             "known yet")
            continue
        if account_name in candidates or not uses_aws_or_database(workload):
            continue
        if trust_pending:
            yield Deferred(workload.urn, f"whether an IRSA role trusts {namespace}/{account_name} "
                                         "waits for a trust policy not known yet")
            continue
        yield Violation(workload.urn, message(
            f"The pods run as the service account {namespace}/{account_name}, which no IRSA role "
            f"trusts and which has no {IRSA_ANNOTATION} annotation, while the stack's IRSA "
            f"roles trust {', '.join(f'{namespace}/{n}' for n in candidates)}: the pods get no "
            "AWS identity and cannot mint database tokens.",
            f"{workload.urn} {describe_path(path)}",
            f"set serviceAccountName: {candidates[0]}"))


def check_connect_user_has_rds_iam(resources: Sequence[Resource],
                                   ctx: RuleContext) -> Iterator[Finding]:
    holders, holders_unknown, manages_roles = rds_iam_holders(resources)
    if not manages_roles:
        return
    grants, deferred = connect_grants(resources)
    yield from deferred
    for grant in grants:
        user = grant.arn.user
        if user in holders:
            continue
        if holders_unknown:
            yield Deferred(grant.resource.urn, f"whether {user!r} holds rds_iam waits for the "
                                               "stack's PostgreSQL grants")
            continue
        have = ", ".join(sorted(holders)) or "no role"
        yield Violation(grant.resource.urn, message(
            f"The connect policy lets its holder log in as the database user {user!r}, but in "
            f"this stack rds_iam is granted to {have}: PostgreSQL refuses the token "
            "(PAM authentication failed).",
            grant.where,
            f"grant rds_iam to {user!r} (postgresql.GrantRole(role={user!r}, "
            "grant_role='rds_iam')) or name the IAM database user in the connect policy"))


def check_connect_resource_id(resources: Sequence[Resource],
                              ctx: RuleContext) -> Iterator[Finding]:
    databases = [r for r in resources if r.type in (CLUSTER, INSTANCE)]
    if not databases:
        return
    grants, deferred = connect_grants(resources)
    yield from deferred
    if not grants:
        return
    known: dict[str, Resource] = {}
    identifiers: dict[str, Resource] = {}
    pending = []
    for database in databases:
        key = "clusterResourceId" if database.type == CLUSTER else "resourceId"
        value = database.props.get(key)
        if value is None or is_unknown(value):
            pending.append(database)
        else:
            known[str(value)] = database
        ident = database.props.get("clusterIdentifier" if database.type == CLUSTER
                                   else "identifier")
        if isinstance(ident, str) and not is_unknown(ident):
            identifiers[ident] = database
    for grant in grants:
        resource_id = grant.arn.resource_id
        database = known.get(resource_id)
        if database is None:
            if pending:
                yield Deferred(grant.resource.urn, f"the resource id {resource_id!r} is compared "
                                                   "with the clusters' clusterResourceId once it "
                                                   "is known")
                continue
            hint = ""
            if resource_id in identifiers:
                hint = (f" {resource_id!r} is the identifier of {identifiers[resource_id].urn}, "
                        "not its resource id.")
            ids = ", ".join(f"{rid} ({db.urn})" for rid, db in known.items())
            yield Violation(grant.resource.urn, message(
                f"The connect policy names the resource id {resource_id!r}, which is no database "
                f"of this stack (resource ids: {ids}): every token is refused.{hint}",
                grant.where,
                "build the ARN from the cluster's cluster_resource_id output"))
            continue
        arn = text(database.props.get("arn"))
        if arn:
            try:
                parsed = parse_arn(arn)
            except ArnError:
                continue
            mismatched = [f"{what} {mine!r} (the database's is {theirs!r})"
                          for what, mine, theirs in (("region", grant.arn.region, parsed.region),
                                                     ("account", grant.arn.account,
                                                      parsed.account),
                                                     ("partition", grant.arn.partition,
                                                      parsed.partition))
                          if mine != theirs and not fnmatch.fnmatchcase(theirs, mine)]
            if mismatched:
                yield Violation(grant.resource.urn, message(
                    f"The connect policy names {database.urn} but with {', '.join(mismatched)}: "
                    "the ARN matches no database user and every token is refused.",
                    grant.where,
                    "take partition, region and account from aws.get_partition/get_region/"
                    "get_caller_identity of the cluster's provider"))
