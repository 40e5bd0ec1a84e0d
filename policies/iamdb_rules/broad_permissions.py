"""An IRSA role (one a Kubernetes service account assumes) carries no broad permission.

Broad: an ``Allow`` statement whose actions cover every action (``*``, ``NotAction``), on any
resource; or that covers a whole service (``s3:*``, ``iam:*``) on every resource (``*``, an ARN
whose resource part is ``*``, ``NotResource``). A pod's credentials should reach its database
user and nothing like an account.

Everything the role gets is followed, however attached: its ``inlinePolicies``
(aws-native: ``policies``), ``managedPolicyArns``, ``RolePolicy`` (aws, aws-native),
``RolePolicyAttachment``, ``PolicyAttachment`` (``roles``), ``RolePolicyAttachmentsExclusive``,
aws-native ``ManagedPolicy`` (``roles``); an attached ARN is resolved to a ``Policy`` of the stack
or, for ``arn:<partition>:iam::aws:policy/...``, to the AWS managed policy's document
(``AdministratorAccess``, ``PowerUserAccess``, ``AmazonRDSFullAccess``, ...). Policies outside the
stack that are not AWS managed cannot be read and are not judged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pgiam.iam import ArnError, parse_arn

from .documents import Document, DocStatement, documents_of, read_document
from .irsa_trust import is_irsa_role, roles
from .links import refers_to
from .managed_policies import is_aws_managed, managed_policy_document
from .model import Deferred, Finding, Resource, RuleContext, Violation, message
from .props import is_unknown, items, text

ROLE_POLICY_TYPES = {"aws:iam/rolePolicy:RolePolicy": "role",
                     "aws-native:iam:RolePolicy": "roleName"}
POLICY_TYPES = ("aws:iam/policy:Policy", "aws-native:iam:ManagedPolicy")


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
    if "*" in actions.known:
        return f"{statement.label}: Action \"*\" allows every action of every service", False
    services = [pattern for pattern in actions if pattern.split(":", 1)[-1] == "*"]
    if services and every_resource:
        return (f"{statement.label}: {', '.join(services)} on every resource allows the whole "
                "service"), False
    return None, unknown


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
    linked = [policy for policy in policies if refers_to(source, prop, value, policy)]
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


def role_sources(role: Resource, resources: Sequence[Resource]) -> tuple[list[Source], list[str]]:
    """Every document the role gets, and what cannot be resolved yet."""
    sources: list[Source] = [Source(role, f"{role.urn} {ref.path}", ref.value)
                             for ref in documents_of(role, "identity")]
    pending: list[str] = []

    def attach(source: Resource, prop: str, value: Any, where: str) -> None:
        documents, unknown = _policies_by_arn(value, source, prop, resources)
        if unknown:
            pending.append(f"{where}: the attached policy ARN is not known yet")
        for document in documents:
            label = text(value) or "a policy of this stack"
            sources.append(Source(source, f"{where} ({label})", document))

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
            if any(refers_to(other, "roles", member, role) for member in items(members)):
                if other.type == "aws-native:iam:ManagedPolicy":
                    sources.append(Source(other, f"{other.urn} .policyDocument",
                                          other.props.get("policyDocument")))
                else:
                    attach(other, "policyArn", other.props.get("policyArn"),
                           f"{other.urn} .policyArn")
        elif other.type == "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive":
            link = refers_to(other, "roleName", other.props.get("roleName"), role)
            if link:
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
        irsa = is_irsa_role(role, ctx)
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
                f"The IRSA role {role.urn} (assumed by Kubernetes service accounts) gets broad "
                f"permissions: {'; '.join(problems)}.",
                source.where,
                "give the pod's role only what it needs (rds-db:connect on its dbuser ARN); "
                "detach AdministratorAccess/PowerUserAccess and *:* statements from it"))
        for reason in undecided:
            yield Deferred(role.urn, reason)
