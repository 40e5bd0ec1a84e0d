"""Why a request was not allowed: for each ``Allow`` statement of a policy, the first element
that kept it from applying, in words a log reader can act on ("Condition StringEquals on
<issuer>:sub: the request has 'system:serviceaccount:demo:other', the statement wants
'system:serviceaccount:demo:app'").

Used where a refusal's precise reason goes to a log (the strict STS, the database's token check)
while the caller is told less, as AWS does. Pure: no I/O. Context values shown are those the
request carried (subjects, audiences, ARNs, times); callers must never put a secret in a
request's context.
"""

from __future__ import annotations

from pgiam.iam.conditions import Condition, evaluate_condition, is_ambiguous
from pgiam.iam.document import Policy, Statement
from pgiam.iam.evaluation import NamedPolicy, action_applies, principal_applies, resource_applies
from pgiam.iam.request import MISSING, Request
from pgiam.iam.variables import UnresolvedVariable

MAX_SHOWN = 5  # values listed per condition; the rest are counted


def _shown(values: tuple[str, ...] | list[str]) -> str:
    head = ", ".join(repr(value) for value in values[:MAX_SHOWN])
    more = len(values) - MAX_SHOWN
    return head + (f" and {more} more" if more > 0 else "")


def _request_value(condition: Condition, request: Request) -> str:
    value = request.context_value(condition.key)
    if value is MISSING:
        return "the request has no such key"
    if isinstance(value, (list, tuple, set, frozenset)):
        return f"the request has [{_shown([str(v) for v in value])}]"
    return f"the request has {str(value)!r}"


def _failed_condition(statement: Statement, request: Request, variables_enabled: bool) -> str | None:
    for condition in statement.conditions:
        try:
            holds = evaluate_condition(condition, request.context_value, variables_enabled)
            every = (evaluate_condition(condition, request.context_value, variables_enabled, "all")
                     if holds and is_ambiguous(condition, request.context_value) else True)
        except UnresolvedVariable as exc:
            return f"Condition {condition.operator} on {condition.key}: a policy variable has no value ({exc})"
        if not holds:
            return (f"Condition {condition.operator} on {condition.key}: {_request_value(condition, request)}, "
                    f"the statement wants {_shown(condition.values)}")
        if not every:
            return (f"Condition {condition.operator} on {condition.key}: {_request_value(condition, request)}, "
                    f"several values for an operator without ForAnyValue:/ForAllValues:, and only some "
                    f"match {_shown(condition.values)}: ambiguous, so it does not allow")
    return None


def why_statement_does_not_apply(statement: Statement, request: Request, *, variables_enabled: bool = True,
                                 check_principal: bool = False) -> str | None:
    """The first element of ``statement`` that does not cover ``request``, or ``None`` if it applies."""
    if not action_applies(statement, request.action):
        if statement.actions is not None:
            return f"its Action [{_shown(statement.actions)}] does not cover {request.action}"
        return f"its NotAction [{_shown(statement.not_actions or ())}] excludes {request.action}"
    if check_principal and not principal_applies(statement, request):
        who = "no principal" if request.principal is None else \
            f"{request.principal.kind} {request.principal.identifier}"
        return f"its principal does not name {who}"
    try:
        if not resource_applies(statement, request, variables_enabled):
            if statement.resources is not None:
                return f"its Resource [{_shown(statement.resources)}] does not cover {request.resource}"
            return f"its NotResource [{_shown(statement.not_resources or ())}] excludes {request.resource}"
    except UnresolvedVariable as exc:
        return f"a policy variable in its resources has no value ({exc})"
    return _failed_condition(statement, request, variables_enabled)


def explain_no_allow(policy: Policy | NamedPolicy, request: Request, *, check_principal: bool = False) -> str:
    """One line per ``Allow`` statement saying why it did not allow ``request``; for a policy
    with no ``Allow`` statement at all, says so."""
    name, document = (policy.name, policy.policy) if isinstance(policy, NamedPolicy) else (policy.id, policy)
    prefix = f"{name} " if name else ""
    reasons = []
    for statement in document.statements:
        if statement.effect != "Allow":
            continue
        why = why_statement_does_not_apply(statement, request, variables_enabled=document.variables_enabled,
                                           check_principal=check_principal)
        reasons.append(f"{prefix}{statement.label}: " + (why or "applies"))
    return "; ".join(reasons) if reasons else f"{prefix}has no Allow statement"
