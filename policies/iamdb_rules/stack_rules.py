"""Rules across resources of the stack: the IRSA chain and the database user chain hold together.

* A service account annotated ``eks.amazonaws.com/role-arn`` names a role of the stack whose
  trust ``:sub`` names that service account in that namespace (otherwise STS refuses its token).
* A workload configured for AWS or a database runs its pods as the service account an IRSA
  role trusts in its namespace (or one an EKS Pod Identity association names), not ``default``
  or another unannotated one.
* A workload configured for one of the stack's databases runs as a service account whose role
  is granted ``rds-db:connect`` when the stack grants it at all (not on another role).
* Every database user a connect policy names holds ``rds_iam`` in the stack (when the stack
  manages PostgreSQL roles).
* Every connect policy's resource id is the ``clusterResourceId`` (``resourceId`` of an
  instance, the ``prx-`` id of an RDS Proxy) of a database of the stack, in its region and
  account, once those are known.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence

from pgiam.iam import ArnError, parse_arn, wildcard_match

from .broad_permissions import POLICY_TYPES, role_sources
from .documents import ROLE_TYPES, read_document
from .irsa_trust import SERVICE_ACCOUNT_SUBJECT, is_irsa_role, trusted_subjects
from .kubernetes import (
    IRSA_ANNOTATION,
    env_from_values,
    name_of,
    namespace_of,
    pod_service_account,
    pod_specs,
    string_leaves,
    uses_aws_or_database,
    uses_database,
    workload_accounts,
)
from .links import refers_to_member
from .managed_policies import is_aws_managed
from .model import Deferred, Finding, Resource, RuleContext, Violation, message
from .postgresql import rds_iam_holders
from .props import describe_path, get, is_unknown, items, text, type_kind
from .rds import CLUSTER, CLUSTER_INSTANCE, INSTANCE, PROXY
from .rds_db_connect import RDS_CONNECT, connect_grants, has_policy_variable

POD_IDENTITY_ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
# attachment type -> (property naming the role(s), property naming the policy ARN(s))
POLICY_ATTACHMENT_TYPES = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
    "aws:iam/policyAttachment:PolicyAttachment": ("roles", "policyArn"),
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive":
        ("roleName", "policyArns"),
}


def _service_accounts(resources: Sequence[Resource]) -> list[Resource]:
    return [r for r in resources
            if r.type.startswith("kubernetes:core/") and type_kind(r.type) == "ServiceAccount"]


def _role_for_annotation(account: Resource, value: object, resources: Sequence[Resource],
                         prop: str = "metadata") -> tuple[Resource | None, bool]:
    """The stack's role an annotation value (or another role ARN input, ``prop``) names; and
    whether that is not known yet."""
    roles = [r for r in resources if r.type in ROLE_TYPES]
    dependencies = set(account.property_dependencies.get(prop, ()))
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


def _pod_identity_associations(resources: Sequence[Resource],
                               ) -> tuple[dict[tuple[str, str], Resource], bool]:
    """EKS Pod Identity associations by (namespace, service account): they give a service
    account's pods a role without any annotation; and whether some are not known yet."""
    found: dict[tuple[str, str], Resource] = {}
    pending = False
    for association in resources:
        if association.type != POD_IDENTITY_ASSOCIATION:
            continue
        namespace = association.props.get("namespace")
        account = association.props.get("serviceAccount")
        if isinstance(namespace, str) and isinstance(account, str) and \
                not is_unknown(namespace) and not is_unknown(account):
            found[(namespace, account)] = association
        else:
            pending = True
    return found, pending


def check_workload_service_account(resources: Sequence[Resource],
                                   ctx: RuleContext) -> Iterator[Finding]:
    associations, associations_pending = _pod_identity_associations(resources)
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
    for entry in workload_accounts(resources):
        if isinstance(entry, Deferred):
            yield entry
            continue
        workload, path, namespace, account_name = entry
        if (namespace, account_name) in annotated or (namespace, account_name) in associations:
            continue    # an IRSA annotation, or an EKS Pod Identity association
        candidates = sorted(trusted.get(str(namespace), set()))
        if not candidates:
            if trust_pending and uses_aws_or_database(workload, resources):
                yield Deferred(workload.urn, "the trust of an IRSA role of the stack is not "
                                             "known yet")
            continue
        if account_name in candidates or not uses_aws_or_database(workload, resources):
            continue
        if trust_pending or associations_pending:
            yield Deferred(workload.urn, f"whether an IRSA role trusts {namespace}/{account_name} "
                                         "waits for a trust policy (or a Pod Identity "
                                         "association) not known yet")
            continue
        yield Violation(workload.urn, message(
            f"The pods run as the service account {namespace}/{account_name}, which no IRSA role "
            f"trusts and which has no {IRSA_ANNOTATION} annotation, while the stack's IRSA "
            f"roles trust {', '.join(f'{namespace}/{n}' for n in candidates)}: the pods get no "
            "AWS identity and cannot mint database tokens.",
            f"{workload.urn} {describe_path(path)}",
            f"set serviceAccountName: {candidates[0]}"))


def _grants_connect(role: Resource, resources: Sequence[Resource]) -> bool | None:
    """Whether anything attached to ``role`` allows ``rds-db:connect``; ``None`` when that is
    not known yet (unknown documents or links)."""
    sources, pending = role_sources(role, resources)
    undecided = bool(pending)
    for source in sources:
        document = read_document(source.document)
        if document is None or document.error:
            continue
        undecided = undecided or document.unknown
        for statement in document.statements:
            grants = statement.grants(RDS_CONNECT)
            if grants:
                return True
            undecided = undecided or grants is None
    return None if undecided else False


def _has_outside_policy(role: Resource, resources: Sequence[Resource]) -> bool:
    """Whether a policy outside the stack (not AWS managed) is attached to ``role``: what it
    grants is not visible here."""
    arns = items(role.props.get("managedPolicyArns"))
    if any(isinstance(arn, str) and not is_unknown(arn) and not is_aws_managed(arn) and
           not any(refers_to_member(role, "managedPolicyArns", arn, policy) for policy in resources
                   if policy.type in POLICY_TYPES) for arn in arns):
        return True
    return any(_attaches_outside_policy(other, role, resources) for other in resources
               if other.type in POLICY_ATTACHMENT_TYPES)


def _attaches_outside_policy(attachment: Resource, role: Resource,
                             resources: Sequence[Resource]) -> bool:
    """Whether ``attachment`` attaches to ``role`` a policy that is neither in the stack nor AWS
    managed (its document cannot be read here)."""
    role_key, arn_key = POLICY_ATTACHMENT_TYPES[attachment.type]
    members = items(attachment.props.get(role_key))
    if not any(refers_to_member(attachment, role_key, member, role) for member in members):
        return False
    policies = [r for r in resources if r.type in POLICY_TYPES]
    for arn in items(attachment.props.get(arn_key)):
        if any(refers_to_member(attachment, arn_key, arn, policy) for policy in policies):
            continue
        if isinstance(arn, str) and not is_unknown(arn) and not is_aws_managed(arn):
            return True
    return False


_ENDPOINT_KEYS = ("endpoint", "readerEndpoint", "address")


def _connects_to(workload: Resource, databases: Sequence[Resource],
                 resources: Sequence[Resource]) -> bool:
    """Whether the workload is configured for one of the stack's databases (or proxies): its
    spec depends on one, or names one's endpoint (itself or in a ConfigMap/Secret it loads with
    ``envFrom``). Without databases in the stack (they live in another), a database
    configuration is enough."""
    if not databases:
        return True
    urns = {database.urn for database in databases}
    if urns & set(workload.property_dependencies.get("spec", ())) or \
            urns & set(workload.dependencies):
        return True
    hosts = {str(value).split(":", 1)[0] for database in databases for key in _ENDPOINT_KEYS
             if isinstance(value := database.props.get(key), str) and not is_unknown(value)}
    texts = [text for _, spec in pod_specs(workload) for _, text in string_leaves(spec, ())]
    texts.extend(env_from_values(workload, resources))
    return any(host in text for text in texts for host in hosts)


def check_database_workload_role_connects(resources: Sequence[Resource],
                                          ctx: RuleContext) -> Iterator[Finding]:
    """A workload configured for one of the stack's databases runs as a service account whose
    role (IRSA annotation or EKS Pod Identity association) is granted rds-db:connect, when the
    stack grants it at all."""
    grants, pending_grants = connect_grants(resources)
    if not grants and not pending_grants:
        return    # the stack does not use IAM database authentication
    databases = [r for r in resources if r.type in (CLUSTER, INSTANCE, PROXY)]
    accounts = {(namespace_of(a), name_of(a)): a for a in _service_accounts(resources)}
    associations, _ = _pod_identity_associations(resources)
    for workload in resources:
        found = pod_service_account(workload)
        if found is None or not uses_database(workload, resources) or \
                not _connects_to(workload, databases, resources):
            continue
        path, account_name = found
        namespace = namespace_of(workload)
        if is_unknown(account_name) or is_unknown(namespace):
            continue    # irsa-workload-service-account defers it
        account = accounts.get((namespace, account_name))
        annotations = get(account.props, "metadata", "annotations") if account else None
        association = associations.get((namespace, account_name))
        if association is not None:
            role, unknown = _role_for_annotation(association, association.props.get("roleArn"),
                                                 resources, "roleArn")
        elif isinstance(annotations, dict) and IRSA_ANNOTATION in annotations:
            role, unknown = _role_for_annotation(account, annotations[IRSA_ANNOTATION],
                                                 resources)
        else:
            continue    # no role: irsa-workload-service-account's concern
        if unknown:
            yield Deferred(workload.urn, f"the role of {namespace}/{account_name} is not known "
                                         "yet")
            continue
        if role is None:
            continue    # a role of another stack: its policies are not visible here
        connects = _grants_connect(role, resources)
        if connects or _has_outside_policy(role, resources):
            continue    # granted, or maybe by a policy this stack cannot see
        if connects is None:
            yield Deferred(workload.urn, f"whether {role.urn} is granted rds-db:connect waits "
                                         "for policies not known yet")
            continue
        holders = ", ".join(sorted({grant.resource.urn for grant in grants})) or "policies of "\
            "this stack"
        yield Violation(workload.urn, message(
            f"The pods connect to the database as {namespace}/{account_name}, whose role "
            f"{role.urn} is granted no rds-db:connect; the stack grants it through {holders}, "
            "to other principals: every token the pods mint is refused (PAM authentication "
            "failed).",
            f"{workload.urn} {describe_path(path)}",
            "attach the connect policy to the role the service account is annotated with (or "
            "annotate the service account with the role that holds it)"))


def check_connect_user_has_rds_iam(resources: Sequence[Resource],
                                   ctx: RuleContext) -> Iterator[Finding]:
    holders, holders_unknown, manages_roles = rds_iam_holders(resources)
    if not manages_roles:
        return
    grants, deferred = connect_grants(resources)
    yield from deferred
    for grant in grants:
        user = grant.arn.user
        if user in holders or has_policy_variable(user):
            continue    # a policy variable names the caller's own user: not known here
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


def _resource_id(database: Resource) -> object:
    """What a dbuser ARN names for ``database``: a cluster's ``clusterResourceId``, an
    instance's ``resourceId``, a proxy's id (the last part of its ``arn``); unknown or None."""
    if database.type == PROXY:
        arn = database.props.get("arn")
        if arn is None or is_unknown(arn):
            return arn
        return str(arn).rsplit(":", 1)[-1]
    return database.props.get("clusterResourceId" if database.type == CLUSTER else "resourceId")


def check_connect_resource_id(resources: Sequence[Resource],
                              ctx: RuleContext) -> Iterator[Finding]:
    databases = [r for r in resources if r.type in (CLUSTER, INSTANCE, PROXY)]
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
        value = _resource_id(database)
        if value is None or is_unknown(value):
            pending.append(database)
        else:
            known[str(value)] = database
        ident = database.props.get({CLUSTER: "clusterIdentifier", INSTANCE: "identifier",
                                    PROXY: "name"}[database.type])
        if isinstance(ident, str) and not is_unknown(ident):
            identifiers[ident] = database
    for member in resources:
        if member.type == CLUSTER_INSTANCE:
            dbi = member.props.get("dbiResourceId")
            if isinstance(dbi, str) and not is_unknown(dbi):
                identifiers[dbi] = member
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
                other = identifiers[resource_id]
                hint = (f" {resource_id!r} is the resource id of the cluster instance "
                        f"{other.urn}: an Aurora cluster is connected to by the cluster's "
                        "clusterResourceId." if other.type == CLUSTER_INSTANCE else
                        f" {resource_id!r} is the identifier of {other.urn}, not its resource "
                        "id.")
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
