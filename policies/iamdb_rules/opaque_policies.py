"""A pod role's attached policies can all be read.

Every policy a pod role gets is judged (broad permissions, secret reads, connect grants), element
by element for attachment lists. A policy attached by the ARN of a customer managed policy that
the stack does not define (another stack's, another account's, one created by hand), or an AWS
managed policy whose document is not in the bundled copy, cannot be read here: whatever it grants
passes unjudged. This rule names each one, so the grant is reviewed (or the policy moved into
the stack, or the role exempted with a reason, see :mod:`.exemptions`) instead of hidden behind
the stack's own policy in the same list.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .broad_permissions import pod_role, role_sources
from .irsa_trust import roles
from .model import Deferred, Finding, Resource, RuleContext, Violation, message


def check_opaque_policies(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[Finding]:
    for role in roles(resources):
        found: list[tuple[Resource, str, str, bool]] = []
        _, pending = role_sources(role, resources, opaque=found)
        opaque = [(source, where, arn) for source, where, arn, certain in found if certain]
        pending += [f"{where}: {arn} may be a policy of the stack whose ARN is not known yet"
                    for _, where, arn, certain in found if not certain]
        if not opaque and not pending:
            continue
        pods = pod_role(role, ctx)
        if pods is False:
            continue
        if pods is None and opaque:
            yield Deferred(role.urn, "its trust policy is not known yet; if pods assume it, "
                                     f"{', '.join(arn for _, _, arn in opaque)} cannot be judged")
            continue
        if pending:
            # an attached ARN not known yet may be another stack's policy
            yield Deferred(role.urn, "; ".join(pending))
        if pods is None:
            continue
        for source, where, arn in opaque:
            yield Violation(source.urn, message(
                f"The pod role {role.urn} gets the policy {arn}, which is not defined in this "
                "stack and whose document the pack cannot read: what it grants the pods "
                "(broad permissions, secret reads, rds-db:connect on other databases) is not "
                "judged.",
                where,
                "define the policy in the stack (aws.iam.Policy) so it is judged, or review it "
                "and exempt the resource with a reason (tag pgiam:exempt "
                "\"irsa-role-unreadable-policy: <why>\")"))
