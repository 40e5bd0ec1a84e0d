"""EKS Pod Identity judged on its own terms (docs/pod-identity.md).

An ``aws.eks.PodIdentityAssociation`` binds a namespace and service account of a cluster to a
role; the EKS Auth service (principal ``pods.eks.amazonaws.com``) assumes that role for the pods
with ``sts:AssumeRole`` and ``sts:TagSession``, tagging the session with the cluster, namespace,
service account and pod. So:

* a role trusting ``pods.eks.amazonaws.com`` trusts it alone (no other principal, no wildcard)
  for exactly ``sts:AssumeRole`` and ``sts:TagSession``; ``aws:SourceAccount`` names the role's
  own account (``pod-identity-trust``);
* an association's role trusts ``pods.eks.amazonaws.com`` at all (EKS refuses an association
  whose role trusts only an OIDC provider), and the trust's ``aws:SourceArn``,
  ``aws:SourceAccount`` and ``aws:RequestTag/<EKS session tag>`` conditions, when present, name
  the association's own cluster, account, namespace and service account: otherwise EKS's
  AssumeRole is denied and the pods get no credentials (``pod-identity-association-role``);
* in a stack that uses Pod Identity, a workload configured for AWS or a database runs as a
  service account some association (or an IRSA annotation) gives a role
  (``pod-identity-workload-association``).

The rules that judge pod roles (broad permissions, secret reads, connect scoping, the database
workload chain) recognise Pod Identity roles through ``broad_permissions.pod_role`` and the
associations in ``stack_rules``; this module adds only what is specific to Pod Identity.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Sequence

from .broad_permissions import POD_IDENTITY_SERVICE
from .documents import ROLE_TYPES, DocStatement, DocumentRef, statement_where
from .irsa_trust import is_irsa_role, trust_documents
from .kubernetes import (
    IRSA_ANNOTATION,
    name_of,
    namespace_of,
    uses_aws_or_database,
    workload_accounts,
)
from .links import refers_to
from .model import Deferred, Finding, Resource, RuleContext, Violation, message
from .props import describe_path, get, is_unknown, text, type_kind

POD_IDENTITY_ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
POD_IDENTITY_ACTIONS = frozenset({"sts:assumerole", "sts:tagsession"})
# Session tag -> the association's property it carries (EKS user guide, pod-id-abac).
_TAG_PROPERTIES = {
    "kubernetes-namespace": "namespace",
    "kubernetes-service-account": "serviceAccount",
    "eks-cluster-name": "clusterName",
}
_EQUALS = ("StringEquals", "ArnEquals", "StringEqualsIgnoreCase", "ArnLike", "StringLike")
_WILDCARDS = ("*", "?")
_ACCOUNT = re.compile(r"^[0-9]{12}$")


def _pods_statements(role: Resource) -> Iterator[tuple[DocumentRef, DocStatement]]:
    """Allow statements of the role's trust whose Service principal is, or could be by a
    wildcard, ``pods.eks.amazonaws.com``."""
    for ref, document in trust_documents(role):
        for statement in document.statements:
            if statement.allows is False or statement.principal is None:
                continue
            services = [value.lower() for value in statement.principal.of("Service").known]
            if POD_IDENTITY_SERVICE in services or any(
                    wildcard in value for value in services for wildcard in _WILDCARDS):
                yield ref, statement


def _account_of(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def _principal_problems(statement: DocStatement) -> list[str]:
    problems: list[str] = []
    principal = statement.principal
    if principal is None:
        return problems
    services = principal.of("Service").known
    wild = [value for value in services if any(w in value for w in _WILDCARDS)]
    if wild:
        problems.append(f"the Service principal {', '.join(wild)} is a wildcard: any AWS service "
                        "may assume the role")
    others = sorted(kind for kind, values in principal.kinds.items()
                    if kind != "Service" and (values.known or values.unknown))
    extra_services = [value for value in services
                      if value.lower() != POD_IDENTITY_SERVICE and value not in wild]
    if others or extra_services:
        named = [*(f"{kind} principal" for kind in others), *extra_services]
        problems.append(f"it trusts {', '.join(named)} besides {POD_IDENTITY_SERVICE}: the Pod "
                        "Identity role is assumable without EKS")
    if statement.not_actions is not None:
        problems.append("NotAction lets EKS Auth (and whoever shares the statement) do every "
                        "other action")
    elif statement.actions is not None and not statement.actions.unknown:
        actions = {action.lower() for action in statement.actions.known}
        wildcards = sorted(action for action in statement.actions.known
                           if any(w in action for w in _WILDCARDS))
        if wildcards:
            problems.append(f"the actions {', '.join(wildcards)} are wildcards: the trust must "
                            "allow exactly sts:AssumeRole and sts:TagSession")
        else:
            missing = sorted(POD_IDENTITY_ACTIONS - actions)
            extra = sorted(actions - POD_IDENTITY_ACTIONS)
            if missing:
                problems.append(f"{', '.join(missing)} is not allowed: EKS Pod Identity needs "
                                "sts:AssumeRole and sts:TagSession (it tags every session), so "
                                "the pods get no credentials")
            if extra:
                problems.append(f"it also allows {', '.join(extra)}, which Pod Identity never "
                                "uses")
    return problems


def check_trust(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    """A role trusting ``pods.eks.amazonaws.com`` trusts it alone, for exactly the two actions,
    and an ``aws:SourceAccount`` condition names the role's own account."""
    if resource.type not in ROLE_TYPES:
        return
    account = _account_of(text(resource.props.get("arn")))
    for ref, statement in _pods_statements(resource):
        where = statement_where(resource.urn, ref, statement)
        for problem in _principal_problems(statement):
            yield Violation(resource.urn, message(
                f"The EKS Pod Identity trust of {resource.urn}: {problem}.", where,
                f"trust only {{\"Service\": \"{POD_IDENTITY_SERVICE}\"}} for exactly "
                "[\"sts:AssumeRole\", \"sts:TagSession\"], in a statement of its own"))
        for cond in statement.conditions_on("aws:SourceAccount"):
            if cond.negated or cond.values.unknown:
                continue    # unknown values: the association rule compares them once known
            wrong = [value for value in cond.values
                     if not _ACCOUNT.match(value) or (account is not None and value != account)]
            if wrong:
                yield Violation(resource.urn, message(
                    f"The EKS Pod Identity trust of {resource.urn} requires aws:SourceAccount "
                    f"{', '.join(wrong)}, not the role's account"
                    + (f" {account}" if account else " (a 12-digit account id)")
                    + ": EKS Auth assumes the role from the cluster's account, so the "
                    "condition never matches (or names a foreign account or a pattern).", where,
                    "set aws:SourceAccount to " + (repr(account) if account
                                                   else "the role's 12-digit account id")))


def _associations(resources: Sequence[Resource]) -> list[Resource]:
    return [r for r in resources if r.type == POD_IDENTITY_ASSOCIATION]


def _association_role(association: Resource, resources: Sequence[Resource],
                      ) -> tuple[Resource | None, bool]:
    """The stack's role the association names (None: not in the stack); whether undecided."""
    value = association.props.get("roleArn")
    undecided = False
    for role in resources:
        if role.type not in ROLE_TYPES:
            continue
        found = refers_to(association, "roleArn", value, role)
        if found:
            return role, False
        undecided = undecided or found is None
    return None, undecided


def _cluster_arn_matches(value: str, cluster: str | None, account: str | None) -> bool | None:
    """Whether an ``aws:SourceArn``/``eks-cluster-arn`` value names the association's cluster."""
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[2] != "eks" or not parts[5].startswith("cluster/"):
        return False
    if any(w in value for w in _WILDCARDS):
        return False
    if cluster is None:
        return None
    return parts[5] == f"cluster/{cluster}" and (account is None or parts[4] == account)


def _condition_problems(statement: DocStatement, association: Resource,
                        account: str | None) -> tuple[list[str], bool]:
    problems: list[str] = []
    undecided = False
    props = association.props
    cluster = text(props.get("clusterName"))
    for key in ("aws:SourceArn", "aws:RequestTag/eks-cluster-arn"):
        for cond in statement.conditions_on(key):
            if cond.negated or cond.base not in _EQUALS:
                continue
            undecided = undecided or cond.values.unknown
            for value in cond.values:
                matches = _cluster_arn_matches(value, cluster, account)
                if matches is None:
                    undecided = True
                elif not matches:
                    problems.append(f"{key} is {value!r}, not the ARN of the association's "
                                    f"cluster {cluster}" + (f" in account {account}"
                                                            if account else ""))
    for cond in statement.conditions_on("aws:SourceAccount"):
        if cond.negated or cond.base not in _EQUALS:
            continue
        if cond.values.unknown or account is None:
            undecided = True
            continue
        wrong = [value for value in cond.values if value != account]
        if wrong and account not in cond.values.known:
            problems.append(f"aws:SourceAccount is {', '.join(wrong)}, not the association's "
                            f"account {account}")
    for tag, prop in _TAG_PROPERTIES.items():
        expected = props.get(prop)
        for cond in statement.conditions_on(f"aws:RequestTag/{tag}"):
            if cond.negated or cond.base not in _EQUALS:
                continue
            if cond.values.unknown or is_unknown(expected):
                undecided = True
                continue
            if str(expected) not in cond.values.known and not (
                    cond.base == "StringLike" and any(
                        _like(pattern, str(expected)) for pattern in cond.values)):
                problems.append(f"aws:RequestTag/{tag} must be "
                                f"{', '.join(cond.values.known) or '(nothing)'}, but EKS tags "
                                f"the association's sessions with {expected!r}")
    return problems, undecided


def _like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def check_association_role(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[Finding]:
    """An association's role trusts ``pods.eks.amazonaws.com``, and the trust's conditions let
    EKS Auth assume it for that association's cluster, account, namespace and service account."""
    for association in _associations(resources):
        role, undecided = _association_role(association, resources)
        where = f"{association.urn} .roleArn"
        if role is None:
            if undecided:
                yield Deferred(association.urn, "the association's role is not known yet")
            continue
        documents = trust_documents(role)
        if not documents or any(document.unknown and not document.statements
                                for _, document in documents):
            yield Deferred(association.urn, f"the trust policy of {role.urn} is not known yet")
            continue
        statements = list(_pods_statements(role))
        if not statements:
            pending = any(document.unknown for _, document in documents)
            if pending:
                yield Deferred(association.urn, f"the trust policy of {role.urn} is not fully "
                                                "known yet")
                continue
            oidc = is_irsa_role(role, ctx)
            trusted = ("trusts only an OIDC provider (an IRSA trust)" if oidc
                       else f"does not trust {POD_IDENTITY_SERVICE}")
            yield Violation(association.urn, message(
                f"The EKS Pod Identity association {association.urn} names the role {role.urn}, "
                f"which {trusted}: EKS refuses the association (the role must trust the "
                f"service principal {POD_IDENTITY_SERVICE}) and the pods get no credentials.",
                where,
                f"add a statement trusting {{\"Service\": \"{POD_IDENTITY_SERVICE}\"}} for "
                "[\"sts:AssumeRole\", \"sts:TagSession\"] to the role (a role may trust both "
                "ways), or name the Pod Identity role"))
            continue
        account = _account_of(text(association.props.get("roleArn"))) or \
            _account_of(text(role.props.get("arn")))
        for ref, statement in statements:
            problems, pending = _condition_problems(statement, association, account)
            for problem in problems:
                yield Violation(association.urn, message(
                    f"The trust of {role.urn}, the role of the EKS Pod Identity association "
                    f"{association.urn}: {problem}; EKS Auth's AssumeRole is denied and the "
                    "pods get no credentials.",
                    statement_where(role.urn, ref, statement),
                    "make the trust's conditions name the association's cluster, account, "
                    "namespace and service account, or associate the service account the role "
                    "names"))
            if pending and not problems:
                yield Deferred(association.urn, f"whether the trust of {role.urn} names the "
                                                "association's cluster, namespace and service "
                                                "account waits for values not known yet")


def check_workload_association(resources: Sequence[Resource],
                               ctx: RuleContext) -> Iterator[Finding]:
    """In a stack that uses EKS Pod Identity, a workload configured for AWS or a database runs
    as a service account an association names (or one annotated for IRSA)."""
    associations = _associations(resources)
    if not associations:
        return
    bound: set[tuple[str, str]] = set()
    pending = False
    for association in associations:
        namespace = association.props.get("namespace")
        account = association.props.get("serviceAccount")
        if is_unknown(namespace) or is_unknown(account) or namespace is None or account is None:
            pending = True
            continue
        bound.add((str(namespace), str(account)))
    annotated: set[tuple[str, str]] = set()
    for account in resources:
        if not (account.type.startswith("kubernetes:core/")
                and type_kind(account.type) == "ServiceAccount"):
            continue
        annotations = get(account.props, "metadata", "annotations")
        if isinstance(annotations, dict) and IRSA_ANNOTATION in annotations:
            annotated.add((str(namespace_of(account)), str(name_of(account))))
    described = ", ".join(sorted(f"{ns}/{sa}" for ns, sa in bound)) or "(not known yet)"
    for entry in workload_accounts(resources):
        if isinstance(entry, Deferred):
            if uses_aws_or_database(next(r for r in resources if r.urn == entry.urn), resources):
                yield entry
            continue
        workload, path, namespace, account_name = entry
        if not uses_aws_or_database(workload, resources):
            continue
        key = (str(namespace), str(account_name))
        if key in bound or key in annotated:
            continue
        if pending:
            yield Deferred(workload.urn, "whether an EKS Pod Identity association names "
                                         f"{key[0]}/{key[1]} waits for values not known yet")
            continue
        yield Violation(workload.urn, message(
            f"The workload runs as {key[0]}/{key[1]}, which no EKS Pod Identity association of "
            f"the stack names (they name {described}) and no IRSA annotation gives a role: the "
            "Pod Identity Agent serves its pods no credentials.",
            f"{workload.urn} {describe_path(path)}",
            "run the pods as the associated service account, or associate this one"))
