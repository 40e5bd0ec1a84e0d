"""A pod's role cannot read secrets broadly.

In a passwordless design a pod needs no secret to reach its database; a pod role that may read
every secret (``secretsmanager:GetSecretValue``, ``ssm:GetParameter*``, ``kms:Decrypt`` on ``*``,
on every secret/parameter/key of the account, or through ``NotResource``) or the RDS master
password's secret (``manage_master_user_password``'s ``masterUserSecrets[].secretArn``) reads the
database's administrator password and every other credential of the account. The role's
documents are followed however they are attached (see :mod:`.broad_permissions`); a statement
that policy already reports (``*``, ``secretsmanager:*`` on every resource) is not reported twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pgiam.iam import ArnError, parse_arn, wildcard_match

from .broad_permissions import broad_problem, pod_role, role_sources
from .documents import DocStatement, read_document
from .irsa_trust import roles
from .model import Deferred, Finding, Resource, RuleContext, Violation, message
from .props import items, text
from .rds import CLUSTER, INSTANCE

SECRET_ACTIONS = ("secretsmanager:GetSecretValue", "ssm:GetParameter", "ssm:GetParameters",
                  "ssm:GetParametersByPath", "kms:Decrypt")


def master_secret_arns(resources: Sequence[Resource]) -> set[str]:
    """The ARNs of the master password secrets RDS manages for the stack's databases."""
    found: set[str] = set()
    for resource in resources:
        if resource.type not in (CLUSTER, INSTANCE):
            continue
        for secret in items(resource.props.get("masterUserSecrets")):
            arn = text(secret.get("secretArn")) if isinstance(secret, dict) else None
            if arn:
                found.add(arn)
    return found


def _every(pattern: str) -> bool:
    """``*``, or an ARN whose resource names every secret, parameter or key (``secret:*``,
    ``parameter/*``, ``key/*``, ``*``)."""
    if pattern == "*":
        return True
    try:
        resource = parse_arn(pattern).resource
    except ArnError:
        return False
    return resource in ("*", "secret:*", "parameter/*", "parameter*", "key/*", "alias/*")


# What the master password secrets RDS manages are named (rds!cluster-<uuid>-<6>, rds!db-<uuid>-<6>):
# a pattern matching them (secret:rds!*, secret:rds*) reaches every database's master password.
RDS_MANAGED_SECRETS = ("secret:rds!cluster-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9-AbCdEf",
                       "secret:rds!db-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9-AbCdEf")


def _rds_managed(pattern: str) -> bool:
    try:
        arn = parse_arn(pattern)
    except ArnError:
        return False
    return arn.service in ("secretsmanager", "*") and any(
        wildcard_match(arn.resource, name) for name in RDS_MANAGED_SECRETS)


def secret_problem(statement: DocStatement, master_secrets: set[str]) -> str | None:
    if statement.allows is not True or statement.conditions or statement.conditions_unknown:
        return None
    if broad_problem(statement)[0] is not None:
        return None     # every action, a whole service...: irsa-role-broad-permissions says so
    actions = [action for action in SECRET_ACTIONS if statement.grants(action)]
    if not actions:
        return None
    if statement.not_resources is not None:
        return f"{statement.label}: {', '.join(actions)} on every resource but NotResource"
    resources = statement.resources.known if statement.resources is not None else ()
    broad = [pattern for pattern in resources if _every(pattern)]
    if broad:
        return f"{statement.label}: {', '.join(actions)} on {', '.join(broad)}"
    master = [pattern for pattern in resources
              if pattern in master_secrets or _rds_managed(pattern)]
    if master:
        return (f"{statement.label}: {', '.join(actions)} on the database's master password "
                f"secret {', '.join(master)}")
    return None


def _undecided(statement: DocStatement) -> bool:
    """An unconditioned Allow of a secret read whose resources are not all known yet (an ARN
    from an Output, such as the master secret's, at preview)."""
    return statement.allows is not False and not statement.conditions and \
        statement.resources is not None and statement.resources.unknown and \
        any(statement.grants(action) is not False for action in SECRET_ACTIONS)


def check_secret_access(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[Finding]:
    master_secrets = master_secret_arns(resources)
    for role in roles(resources):
        sources, _ = role_sources(role, resources)
        found: list[tuple[Resource, str, list[str]]] = []
        undecided: list[str] = []
        for source in sources:
            document = read_document(source.document)
            if document is None or document.error:
                continue
            problems = [problem for statement in document.statements
                        if (problem := secret_problem(statement, master_secrets))]
            if problems:
                found.append((source.resource, source.where, problems))
            elif document.unknown:
                undecided.append(f"{source.where}: the document is not known yet")
            elif any(_undecided(statement) for statement in document.statements):
                undecided.append(f"{source.where}: a secret read's Resource is not known yet")
        if not found and not undecided:
            continue
        pods = pod_role(role, ctx)
        if pods is False:
            continue
        for reason in undecided:
            yield Deferred(role.urn, reason)
        if not found:
            continue
        if pods is None:
            yield Deferred(role.urn, "its trust policy is not known yet; if pods assume it, they "
                                     "can read secrets broadly")
            continue
        for offender, where, problems in found:
            yield Violation(offender.urn, message(
                f"The pod role {role.urn} can read secrets broadly: {'; '.join(problems)}. A "
                "passwordless pod needs no secret, and this reaches the master password and "
                "every credential of the account.",
                where,
                "grant the pod only rds-db:connect; if it truly needs a secret, name that "
                "secret's ARN (never '*' or the database's master secret)"))
