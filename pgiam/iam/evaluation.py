"""Decisions: whether a statement applies to a request, and how policies combine.

IAM User Guide, "Policy evaluation logic": an explicit ``Deny`` in any applicable statement wins;
otherwise an applicable ``Allow`` allows; otherwise the request is implicitly denied. With a
permissions boundary the identity policies and the boundary must both allow (an explicit deny in
either wins). Not modelled: SCPs/RCPs, session policies, and the cross-account rule that needs
both the identity and the resource policy to allow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from pgiam.iam.arn import resource_tokens_match
from pgiam.iam.conditions import Reading, evaluate_condition, is_ambiguous
from pgiam.iam.document import Policy, Statement
from pgiam.iam.errors import PolicyDocumentError
from pgiam.iam.principals import names_specifically, not_principal_applies, principal_matches
from pgiam.iam.request import Request
from pgiam.iam.variables import UnresolvedVariable, parse_template, resolve_tokens
from pgiam.iam.wildcard import action_matches

Effect = Literal["Allow", "ExplicitDeny", "ImplicitDeny"]
Resolution = Literal["strict", "permissive"]
"""How a statement whose condition is ambiguous (an operator without a set qualifier on a key
the request holds several values of: :func:`pgiam.iam.conditions.is_ambiguous`) is decided when
its two readings disagree. ``strict`` (the default): an ``Allow`` does not apply and a ``Deny``
does, so no ambiguity ever grants; ``permissive``: the opposite, to ask what the policy could
grant at worst. Either way the :class:`Decision` names the keys."""


@dataclass(frozen=True)
class NamedPolicy:
    """A policy with the name reports give it (``inline:app``, ``arn:aws:iam::aws:policy/X``)."""

    name: str
    policy: Policy


@dataclass(frozen=True)
class Decision:
    """The outcome and what decided it: the first applicable Deny statement, else the first
    applicable Allow statement, else nothing (``ImplicitDeny``)."""

    effect: Effect
    statement: Statement | None = None
    policy_name: str | None = None
    ambiguous: tuple[str, ...] = ()
    """Condition keys of statements whose two readings disagreed (see :data:`Resolution`)."""

    @property
    def allowed(self) -> bool:
        return self.effect == "Allow"

    def __str__(self) -> str:
        if self.statement is None:
            text = self.effect if self.policy_name is None else f"{self.effect} by {self.policy_name}"
        else:
            where = (self.statement.label if self.policy_name is None
                     else f"{self.policy_name} {self.statement.label}")
            text = f"{self.effect} by {where}"
        if self.ambiguous:
            text += (f" (ambiguous: an operator without ForAnyValue:/ForAllValues: on the multivalued "
                     f"{', '.join(self.ambiguous)})")
        return text


IMPLICIT_DENY = Decision("ImplicitDeny")


def action_applies(statement: Statement, action: str) -> bool:
    """``Action``: any entry matches; ``NotAction``: no entry matches."""
    if statement.actions is not None:
        return any(action_matches(pattern, action) for pattern in statement.actions)
    assert statement.not_actions is not None
    return not any(action_matches(pattern, action) for pattern in statement.not_actions)


def resource_applies(statement: Statement, request: Request, variables_enabled: bool) -> bool:
    """``Resource``: any entry matches; ``NotResource``: none does; neither (a trust policy):
    the statement is about the policy's own resource. Raises :class:`UnresolvedVariable`."""
    patterns = statement.resources if statement.resources is not None else statement.not_resources
    if patterns is None:
        return True
    resolved = [
        resolve_tokens(parse_template(pattern, variables_enabled), request.context_value)
        for pattern in patterns
    ]
    matched = any(resource_tokens_match(tokens, request.resource) for tokens in resolved)
    return matched if statement.resources is not None else not matched


def principal_applies(statement: Statement, request: Request) -> bool:
    """``Principal`` names the caller, or ``NotPrincipal`` does not exclude it."""
    if statement.principal is not None:
        return principal_matches(statement.principal, request.principal)
    if statement.not_principal is not None:
        return not_principal_applies(statement.not_principal, request.principal)
    return False


def conditions_hold(statement: Statement, request: Request, variables_enabled: bool,
                    reading: Reading = "any") -> bool:
    """Every condition holds. Raises :class:`UnresolvedVariable`."""
    return all(
        evaluate_condition(condition, request.context_value, variables_enabled, reading)
        for condition in statement.conditions
    )


def ambiguous_keys(statement: Statement, request: Request) -> tuple[str, ...]:
    """The keys of ``statement``'s conditions that are ambiguous for ``request``."""
    return tuple(condition.key for condition in statement.conditions
                 if is_ambiguous(condition, request.context_value))


def statement_applies(
    statement: Statement, request: Request, *, variables_enabled: bool = True, check_principal: bool = False,
    reading: Reading = "any",
) -> bool:
    """Whether the statement covers the request (its effect aside), ambiguous conditions read as
    ``reading`` says (see :func:`resolved_applies` for both readings).

    A policy variable that has no value and no default makes the statement not apply (AWS:
    "any attempt to match it fails and causes the statement to be invalid").
    """
    if not action_applies(statement, request.action):
        return False
    if check_principal and not principal_applies(statement, request):
        return False
    try:
        return resource_applies(statement, request, variables_enabled) and conditions_hold(
            statement, request, variables_enabled, reading
        )
    except UnresolvedVariable:
        return False


def resolved_applies(
    statement: Statement, request: Request, *, variables_enabled: bool, check_principal: bool,
    resolution: Resolution = "strict",
) -> tuple[bool, tuple[str, ...]]:
    """Whether the statement applies, both readings of its ambiguous conditions tried; and the
    ambiguous keys when the readings disagreed (then ``resolution`` decided)."""
    keys = ambiguous_keys(statement, request) if statement.conditions else ()
    options = {"variables_enabled": variables_enabled, "check_principal": check_principal}
    if not keys:
        return statement_applies(statement, request, **options), ()
    under_any = statement_applies(statement, request, reading="any", **options)
    if under_any == statement_applies(statement, request, reading="all", **options):
        return under_any, ()
    return (statement.effect == "Deny") == (resolution == "strict"), keys


def _decide(policies: Iterable[Policy | NamedPolicy], request: Request, *, check_principal: bool,
            resolution: Resolution = "strict") -> Decision:
    allow: Decision | None = None
    ambiguous: list[str] = []
    for item in policies:
        name, policy = (item.name, item.policy) if isinstance(item, NamedPolicy) else (item.id, item)
        for statement in policy.statements:
            if not check_principal and (
                statement.principal is not None or statement.not_principal is not None
            ):
                raise PolicyDocumentError(
                    f"{name + ' ' if name else ''}Statement[{statement.index}].Principal",
                    "an identity-based policy cannot name a principal",
                )
            applies, keys = resolved_applies(statement, request, variables_enabled=policy.variables_enabled,
                                             check_principal=check_principal, resolution=resolution)
            ambiguous.extend(key for key in keys if key not in ambiguous)
            if not applies:
                continue
            if statement.effect == "Deny":
                return Decision("ExplicitDeny", statement, name, tuple(ambiguous))
            if allow is None:
                allow = Decision("Allow", statement, name)
    decision = allow or IMPLICIT_DENY
    return replace(decision, ambiguous=tuple(ambiguous)) if ambiguous else decision


def evaluate_identity_policies(
    policies: Iterable[Policy | NamedPolicy],
    request: Request,
    *,
    permissions_boundary: Policy | NamedPolicy | None = None,
    resolution: Resolution = "strict",
) -> Decision:
    """Decide a request against a principal's identity policies (inline and attached managed),
    optionally bounded by a permissions boundary. The request principal is not consulted:
    identity policies have no Principal element."""
    decision = _decide(policies, request, check_principal=False, resolution=resolution)
    if permissions_boundary is None or decision.effect == "ExplicitDeny":
        return decision
    bound = _decide([permissions_boundary], request, check_principal=False, resolution=resolution)
    if bound.effect == "ExplicitDeny":
        return bound
    if decision.allowed and not bound.allowed:
        name = (
            permissions_boundary.name
            if isinstance(permissions_boundary, NamedPolicy)
            else permissions_boundary.id
        )
        return Decision("ImplicitDeny", None, name)
    return decision


def evaluate_resource_policy(policy: Policy | NamedPolicy, request: Request, *,
                             resolution: Resolution = "strict") -> Decision:
    """Decide a request against a resource-based policy: every statement must name the caller
    in ``Principal`` (or not exclude it in ``NotPrincipal``) to apply."""
    return _decide([policy], request, check_principal=True, resolution=resolution)


def evaluate_trust_policy(policy: Policy | NamedPolicy, request: Request, *,
                          resolution: Resolution = "strict") -> Decision:
    """Decide ``sts:AssumeRole*`` against a role's trust policy (a resource-based policy whose
    resource is the role): Principal/NotPrincipal, Action and Condition decide."""
    return evaluate_resource_policy(policy, request, resolution=resolution)


def allows_principal_by_name(policy: Policy | NamedPolicy, request: Request) -> bool:
    """Whether an applicable ``Allow`` statement of a resource-based policy names the request's
    principal itself (its user or session ARN, or a session's role) rather than only its account
    or everyone: see :func:`pgiam.iam.principals.names_specifically`."""
    policy = policy.policy if isinstance(policy, NamedPolicy) else policy
    return any(
        statement.effect == "Allow"
        and names_specifically(statement.principal, request.principal)
        and resolved_applies(statement, request, variables_enabled=policy.variables_enabled,
                             check_principal=True)[0]
        for statement in policy.statements
    )
