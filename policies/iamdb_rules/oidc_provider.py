"""An IAM OIDC provider's client ids hold the audience IRSA tokens carry.

EKS projects service account tokens with ``aud: sts.amazonaws.com``; STS accepts a web-identity
token only when its audience is one of the provider's ``clientIdLists``. A provider registered
with another client id (``https://kubernetes.default.svc``, the cluster name, a typo) makes STS
refuse every pod's token, whatever the roles' trust says.
"""

from __future__ import annotations

from collections.abc import Iterator

from .model import Deferred, Finding, Resource, RuleContext, Violation, message
from .props import strings

OIDC_PROVIDER_TYPES = {"aws:iam/openIdConnectProvider:OpenIdConnectProvider": "clientIdLists",
                       "aws-native:iam:OidcProvider": "clientIdList"}


def check_client_ids(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    prop = OIDC_PROVIDER_TYPES.get(resource.type)
    if prop is None:
        return
    client_ids, unknown = strings(resource.props.get(prop))
    allowed = list(ctx.setting("allowedAudiences", ["sts.amazonaws.com"]))
    if any(client_id in allowed for client_id in client_ids):
        return
    if unknown:
        yield Deferred(resource.urn, f".{prop} is not known yet")
        return
    yield Violation(resource.urn, message(
        f"The OIDC provider's client ids ({', '.join(client_ids) or 'none'}) do not include "
        f"{' or '.join(allowed)}, the audience of the pods' service account tokens: STS refuses "
        "every token, so no pod can assume its role.",
        f"{resource.urn} .{prop}",
        "set client_id_lists=[\"sts.amazonaws.com\"] (add it next to other client ids)"))
