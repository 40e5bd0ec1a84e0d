"""IRSA trust policies: any role whose trust lets someone call ``sts:AssumeRoleWithWebIdentity``.

A statement is a web-identity statement when it is an ``Allow`` whose ``Action``/``NotAction``
covers ``sts:AssumeRoleWithWebIdentity`` however written (``sts:*``, ``sts:AssumeRoleWith*``,
``*``, a ``NotAction`` that leaves it in) and whose principal can be a web identity (``*``, or a
``Federated`` entry). For each such statement:

* **federated provider**: a specific IAM OIDC provider ARN (or a named identity provider such as
  Cognito), never ``*``, never ``Principal: *`` or ``{"AWS": "*"}`` (the same), never
  ``NotPrincipal`` with ``Allow``, never an ARN with ``https://`` in its issuer or a wildcard;
  and an OIDC provider trusted for ``sts:AssumeRole`` (which web identities never call);
* **condition keys**: OIDC condition keys are ``<issuer>:<claim>`` with the issuer as IAM names
  the provider (no ``https://``, not the provider's ARN) and the issuer of a provider the
  statement trusts: any other key never matches, so nobody can assume the role;
* **subject** (Kubernetes issuers): a ``:sub`` condition that names exactly
  ``system:serviceaccount:<namespace>:<name>``: ``StringEquals``, no set qualifier, no
  ``IfExists``, no wildcard (a ``*`` inside ``StringEquals`` is a literal that never matches, and
  ``StringLike`` widens the trust to other service accounts); without it every pod of the cluster
  can assume the role;
* **audience** (Kubernetes issuers): ``:aud`` is one of the allowed audiences
  (``sts.amazonaws.com``); missing is reported by its own, advisory, policy.

Issuers of CI systems and other identity providers (GitHub Actions, GitLab, Terraform Cloud,
...) are not Kubernetes: the subject and audience checks skip them (configurable with
``nonKubernetesIssuers``); the provider and key checks apply to every web identity.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pgiam.iam import ArnError, parse_arn

from .documents import (
    ISSUER_SCHEME,
    DocStatement,
    Document,
    DocumentRef,
    documents_of,
    is_oidc_key,
    split_condition_key,
    statement_where,
)
from .model import Deferred, Finding, Resource, RuleContext, Violation, message

ASSUME_WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
STS_AUDIENCE = "sts.amazonaws.com"
# Identity providers named directly in Federated (not through an IAM OIDC provider).
NAMED_IDENTITY_PROVIDERS = frozenset({"cognito-identity.amazonaws.com", "accounts.google.com",
                                      "graph.facebook.com", "www.amazon.com"})
# Issuers that are not Kubernetes clusters: their subjects are not service accounts.
NON_KUBERNETES_ISSUERS = (
    "token.actions.githubusercontent.com", "token.actions.githubusercontent.com/*",
    "gitlab.com", "app.terraform.io", "oidc.circleci.com/org/*",
    "api.bitbucket.org/2.0/workspaces/*/pipelines-config/identity/oidc",
    "vstoken.dev.azure.com/*", "sts.windows.net/*", "login.microsoftonline.com/*",
    "accounts.google.com", "cognito-idp.*.amazonaws.com/*", "agent.buildkite.com",
    *NAMED_IDENTITY_PROVIDERS,
)
_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
SERVICE_ACCOUNT_SUBJECT = re.compile(
    rf"^system:serviceaccount:(?P<namespace>{_LABEL}):(?P<name>{_LABEL}(?:\.{_LABEL})*)$")


def provider_issuer(federated: str) -> str | None:
    """The issuer a ``Federated`` entry stands for: an OIDC provider ARN's
    ``oidc-provider/<issuer>`` (without a URL scheme, which IAM never keeps in the ARN: see
    :func:`federated_problem`), or a named identity provider; ``None`` otherwise."""
    if federated in NAMED_IDENTITY_PROVIDERS:
        return federated
    try:
        arn = parse_arn(federated)
    except ArnError:
        return None
    if arn.service != "iam" or not arn.resource.startswith("oidc-provider/"):
        return None
    return _strip_scheme(arn.resource[len("oidc-provider/"):])


def federated_problem(federated: str) -> str | None:
    """Why a ``Federated`` entry is not one specific identity provider (``None`` when it is)."""
    if federated in NAMED_IDENTITY_PROVIDERS:
        return None
    if provider_issuer(federated) is None:
        return (f"Federated principal {federated!r} is not an IAM OIDC provider ARN "
                "(arn:<partition>:iam::<account>:oidc-provider/<issuer>) nor a named identity "
                "provider: IAM refuses it or no token ever matches.")
    arn = parse_arn(federated)
    issuer = arn.resource[len("oidc-provider/"):]
    if ISSUER_SCHEME.match(issuer):
        return (f"Federated principal {federated!r} keeps the URL scheme in the issuer: IAM "
                "names OIDC providers without https://, so this ARN is no provider of the "
                "account and no token ever matches.")
    if any(_has_wildcard(part) for part in (arn.partition, arn.account, issuer)):
        return (f"Federated principal {federated!r} holds a wildcard: a principal names one "
                "provider (IAM refuses wildcards in principal ARNs, and a pattern would trust "
                "every provider it matches).")
    return None


def _has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def is_kubernetes_issuer(issuer: str, ctx: RuleContext) -> bool:
    patterns = (*NON_KUBERNETES_ISSUERS, *(ctx.setting("nonKubernetesIssuers", []) or []))
    return not any(fnmatch.fnmatchcase(issuer.lower(), pattern.lower()) for pattern in patterns)


@dataclass
class WebIdentityStatement:
    """A statement that allows (or may allow) ``AssumeRoleWithWebIdentity``."""

    statement: DocStatement
    federated: list[str] = field(default_factory=list)
    federated_unknown: bool = False
    everyone: bool = False              # Principal "*" or Federated "*"
    not_principal: bool = False

    @property
    def provider_issuers(self) -> list[str]:
        return [issuer for value in self.federated if (issuer := provider_issuer(value))]

    def key_issuers(self) -> list[str]:
        return list(dict.fromkeys(split_condition_key(cond.key)[0]
                                  for cond in self.statement.conditions if is_oidc_key(cond.key)))

    def issuers(self) -> list[str]:
        """The issuers whose tokens the statement accepts: its providers' (or, while they are
        unknown or ``*``, those its condition keys name)."""
        issuers = self.provider_issuers
        if issuers and not self.everyone:
            return issuers
        return list(dict.fromkeys([*issuers, *(_strip_scheme(i) for i in self.key_issuers())]))


def _strip_scheme(issuer: str) -> str:
    return re.sub(r"^[a-z][a-z0-9+.-]*://", "", issuer, flags=re.IGNORECASE)


def web_identity_statements(document: Document) -> tuple[list[WebIdentityStatement], list[str]]:
    """The web-identity statements of a trust document, and what could not be decided."""
    found: list[WebIdentityStatement] = []
    undecided: list[str] = []
    for statement in document.statements:
        grants = statement.grants(ASSUME_WEB_IDENTITY)
        if grants is False:
            continue
        if grants is None:
            undecided.append(f"{statement.label}: its Effect or Action is not known yet")
            continue
        if statement.principal is None:
            if statement.not_principal is not None:
                found.append(WebIdentityStatement(statement, not_principal=True))
            continue
        principal = statement.principal
        if principal.unknown and not principal.kinds:
            found.append(WebIdentityStatement(statement, federated_unknown=True))
            continue
        # {"AWS": "*"} is the same as "*" (IAM User Guide, "AWS JSON policy elements:
        # Principal"): every principal, web identities included.
        if principal.everyone or "*" in principal.of("AWS").known:
            found.append(WebIdentityStatement(statement, everyone=True))
            continue
        federated = principal.of("Federated")
        if not federated.known and not federated.unknown:
            continue    # AWS or Service principals cannot call AssumeRoleWithWebIdentity
        known = list(federated.known)
        found.append(WebIdentityStatement(statement, federated=[v for v in known if v != "*"],
                                          federated_unknown=federated.unknown,
                                          everyone="*" in known))
    return found, undecided


def trust_documents(resource: Resource) -> list[tuple[DocumentRef, Document]]:
    read: list[tuple[DocumentRef, Document]] = []
    for ref in documents_of(resource, "trust"):
        document = ref.read()
        if document is not None:
            read.append((ref, document))
    return read


def _trust_statements(resource: Resource) -> Iterator[tuple[DocumentRef, WebIdentityStatement]
                                                      | Deferred]:
    """Each web-identity statement of the role's trust, or a Deferred for what is unknown."""
    for ref, document in trust_documents(resource):
        if document.unknown and not document.statements:
            yield Deferred(resource.urn, f"{ref.path} (the trust policy) is not known yet")
            continue
        if document.error:
            continue    # reported by iam-policy-document-valid
        statements, undecided = web_identity_statements(document)
        for reason in undecided:
            yield Deferred(resource.urn, f"{ref.path} {reason}")
        if document.unknown:
            yield Deferred(resource.urn, f"{ref.path}: some statements are not known yet")
        for statement in statements:
            yield ref, statement


def is_irsa_role(resource: Resource, ctx: RuleContext) -> bool | None:
    """Whether the role trusts a Kubernetes service account token (``None``: not known yet)."""
    undecided = False
    for item in _trust_statements(resource):
        if isinstance(item, Deferred):
            undecided = True
            continue
        _, statement = item
        issuers = statement.issuers()
        if not issuers:
            undecided = undecided or statement.federated_unknown
            if statement.everyone or statement.not_principal:
                return True
            continue
        if any(is_kubernetes_issuer(issuer, ctx) for issuer in issuers):
            return True
    return None if undecided else False


def trusted_subjects(resource: Resource) -> tuple[list[tuple[str, str]], bool]:
    """(operator, subject pattern) of every positive ``:sub`` condition of the role's
    web-identity statements, and whether some are not known yet."""
    subjects: list[tuple[str, str]] = []
    unknown = False
    for item in _trust_statements(resource):
        if isinstance(item, Deferred):
            unknown = True
            continue
        _, statement = item
        if statement.statement.conditions_unknown:
            unknown = True
        for cond in statement.statement.conditions:
            if is_oidc_key(cond.key) and split_condition_key(cond.key)[1].lower() == "sub" \
                    and not cond.negated:
                subjects.extend((cond.base, value) for value in cond.values)
                unknown = unknown or cond.values.unknown
    return subjects, unknown


# ------------------------------------------------------------------------------------------
# The checks
# ------------------------------------------------------------------------------------------

def _oidc_provider_without_web_identity(resource: Resource) -> Iterator[Finding]:
    """An ``Allow`` statement trusting an OIDC provider for ``sts:AssumeRole`` but not
    ``sts:AssumeRoleWithWebIdentity``: OIDC tokens are only ever exchanged through the latter,
    so nobody can assume the role (``sts:TagSession`` alone, next to a web-identity statement,
    is fine)."""
    for ref, document in trust_documents(resource):
        for statement in document.statements:
            if statement.allows is not True or statement.principal is None:
                continue
            providers = [value for value in statement.principal.of("Federated").known
                         if provider_issuer(value) and value not in NAMED_IDENTITY_PROVIDERS]
            if providers and statement.covers(ASSUME_WEB_IDENTITY) is False \
                    and statement.covers("sts:AssumeRole") is True:
                yield Violation(resource.urn, message(
                    f"The statement trusts the OIDC provider {providers[0]!r} for sts:AssumeRole: "
                    "web identity tokens are exchanged only through "
                    "sts:AssumeRoleWithWebIdentity, so nobody can assume the role.",
                    statement_where(resource.urn, ref, statement),
                    "set Action to sts:AssumeRoleWithWebIdentity"))


_OTHER_ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithSAML")


def _everyone_can_assume_pod_role(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    """On a pod role (it trusts a Kubernetes issuer), an unconditioned ``Allow`` statement
    letting every AWS principal (``"*"``, ``{"AWS": "*"}``) call ``sts:AssumeRole`` or
    ``sts:AssumeRoleWithSAML``: besides the pods, any principal of any account assumes the role,
    however exact its web-identity statement is. Web-identity statements are judged below; a
    statement with conditions (``aws:PrincipalOrgID``, ...) is not judged here."""
    if is_irsa_role(resource, ctx) is not True:
        return
    for ref, document in trust_documents(resource):
        for statement in document.statements:
            principal = statement.principal
            if principal is None or statement.conditions or statement.conditions_unknown or \
                    not (principal.everyone or "*" in principal.of("AWS").known):
                continue
            if statement.grants(ASSUME_WEB_IDENTITY) is not False:
                continue    # a web-identity statement: check_federated_provider reports it
            actions = [action for action in _OTHER_ASSUME_ACTIONS
                       if statement.grants(action) is True]
            if actions:
                yield Violation(resource.urn, message(
                    f"The pod role's trust lets every AWS principal (Principal \"*\") call "
                    f"{', '.join(actions)} with no condition: any principal of any AWS account "
                    "can assume the role the pods use.",
                    statement_where(resource.urn, ref, statement),
                    "remove the statement, or name the exact principals (role ARNs) that may "
                    "assume the role"))


def check_federated_provider(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    yield from _oidc_provider_without_web_identity(resource)
    yield from _everyone_can_assume_pod_role(resource, ctx)
    for item in _trust_statements(resource):
        if isinstance(item, Deferred):
            yield item
            continue
        ref, ws = item
        where = statement_where(resource.urn, ref, ws.statement)
        fix = ("trust exactly your cluster's IAM OIDC provider: Principal {\"Federated\": "
               "<aws.iam.OpenIdConnectProvider arn, or pulumi-eks oidcProviderArn>}")
        if ws.not_principal:
            yield Violation(resource.urn, message(
                "An Allow statement with NotPrincipal lets every principal but the listed ones "
                "assume the role with a web identity token.", where, fix))
            continue
        if ws.everyone:
            yield Violation(resource.urn, message(
                "The statement trusts any web identity (Principal or Federated \"*\"): a token "
                "from any OIDC provider in the account can assume the role.", where, fix))
        if ws.federated_unknown and not ws.federated:
            yield Deferred(resource.urn, f"{ref.path} {ws.statement.label}: the Federated "
                                         "principal is not known yet")
        for value in ws.federated:
            problem = federated_problem(value)
            if problem is not None:
                yield Violation(resource.urn, message(problem, where, fix))


def check_condition_keys(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    for item in _trust_statements(resource):
        if isinstance(item, Deferred):
            yield item
            continue
        ref, ws = item
        statement = ws.statement
        where = statement_where(resource.urn, ref, statement)
        if statement.conditions_unknown:
            yield Deferred(resource.urn, f"{ref.path} {statement.label}: the Condition block "
                                         "is not known yet")
        providers = [issuer.lower() for issuer in ws.provider_issuers]
        for cond in statement.conditions:
            if not is_oidc_key(cond.key):
                continue
            issuer, claim = split_condition_key(cond.key)
            if re.match(r"^https?://", issuer, re.IGNORECASE):
                yield Violation(resource.urn, message(
                    f"Condition key {cond.key!r} starts with the URL scheme: IAM keys OIDC "
                    "claims by the issuer without https://, so this condition never matches "
                    "and nobody can assume the role.", where,
                    f"use {_strip_scheme(issuer)}:{claim} (pulumi-eks: oidcIssuer, or strip "
                    "https:// from oidcProviderUrl)"))
                continue
            if issuer.lower().startswith("arn:"):
                yield Violation(resource.urn, message(
                    f"Condition key {cond.key!r} names the provider's ARN, not its issuer: the "
                    "condition never matches and nobody can assume the role.", where,
                    f"key the condition by the issuer: "
                    f"{(provider_issuer(issuer) or '<issuer>')}:{claim}"))
                continue
            if ws.federated_unknown or ws.everyone or not providers:
                if ws.federated_unknown:
                    yield Deferred(resource.urn, f"{ref.path} {statement.label}: whether "
                                                 f"{cond.key!r} is keyed by the trusted "
                                                 "provider's issuer waits for the provider ARN")
                continue
            if issuer.lower() not in providers:
                yield Violation(resource.urn, message(
                    f"Condition key {cond.key!r} is keyed by the issuer {issuer!r}, but the "
                    f"statement trusts {', '.join(ws.provider_issuers)}: tokens of that provider "
                    "never carry this key, so nobody can assume the role (a typo, or another "
                    "cluster's issuer).", where,
                    f"key the condition by the trusted provider's issuer: "
                    f"{ws.provider_issuers[0]}:{claim}"))


def _kubernetes_issuers(ws: WebIdentityStatement, ctx: RuleContext) -> list[str]:
    return [issuer for issuer in ws.issuers() if is_kubernetes_issuer(issuer, ctx)]


def _subject_problem(cond, value: str) -> str | None:
    if cond.qualifier:
        return (f"{cond.operator} on the single-valued :sub claim (ForAllValues is true when the "
                "key is missing, ForAnyValue hides what is matched)")
    if cond.if_exists:
        return f"{cond.operator} passes when the claim is absent"
    if cond.base == "StringLike":
        if "*" in value or "?" in value:
            return (f"StringLike {value!r} matches other service accounts or namespaces than "
                    "one")
        return f"StringLike is used where StringEquals is meant ({value!r})"
    if cond.base != "StringEquals":
        return f"{cond.operator} is not an exact match of the subject ({value!r})"
    if "*" in value or "?" in value:
        return (f"StringEquals {value!r} holds a wildcard, which StringEquals compares literally: "
                "it never matches (and StringLike would trust more than one service account)")
    if not SERVICE_ACCOUNT_SUBJECT.match(value):
        return (f"{value!r} is not system:serviceaccount:<namespace>:<service account> with "
                "valid Kubernetes names")
    return None


def _is_exact_subject(cond) -> bool:
    """``StringEquals`` (no qualifier, no ``IfExists``) naming only exact service accounts."""
    return (cond.base == "StringEquals" and not cond.qualifier and not cond.if_exists
            and not cond.values.unknown and bool(cond.values.known)
            and all(_subject_problem(cond, value) is None for value in cond.values))


def check_subject(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    for item in _trust_statements(resource):
        if isinstance(item, Deferred):
            yield item
            continue
        ref, ws = item
        statement = ws.statement
        where = statement_where(resource.urn, ref, statement)
        issuers = _kubernetes_issuers(ws, ctx)
        if not issuers:
            if ws.federated_unknown and not ws.key_issuers():
                yield Deferred(resource.urn, f"{ref.path} {statement.label}: the trusted "
                                             "provider is not known yet")
            continue
        if statement.conditions_unknown:
            yield Deferred(resource.urn, f"{ref.path} {statement.label}: the Condition block "
                                         "is not known yet")
            continue
        fix = ("add Condition StringEquals {\"<issuer>:sub\": \"system:serviceaccount:<namespace>:"
               "<service account>\"} naming the one service account the pods run as")
        for issuer in issuers:
            conditions = statement.conditions_on(f"{issuer}:sub")
            positive = [cond for cond in conditions if not cond.negated and cond.base != "Null"]
            if not positive:
                hint = ""
                for aud in statement.conditions_on(f"{issuer}:aud"):
                    if any(value.startswith("system:serviceaccount:") for value in aud.values):
                        hint = (" The service account is named on :aud, where :sub was meant.")
                yield Violation(resource.urn, message(
                    f"No exact :sub condition for the issuer {issuer}: every service account "
                    f"of the cluster (any pod) can assume the role.{hint}", where, fix))
                continue
            if any(_is_exact_subject(cond) for cond in positive):
                continue    # conditions are ANDed: one exact subject makes the trust exact
            if any(cond.values.unknown for cond in positive):
                yield Deferred(resource.urn, f"{ref.path} {statement.label}: a value of the "
                                             f"{issuer}:sub condition is not known yet")
                continue
            problems = [problem for cond in positive for value in cond.values
                        if (problem := _subject_problem(cond, value))]
            if problems:
                yield Violation(resource.urn, message(
                    f"The :sub condition for {issuer} does not name exactly one service "
                    f"account: {'; '.join(problems)}.", where, fix))


def _audience_conditions(statement: DocStatement, issuer: str) -> list:
    return [cond for cond in statement.conditions_on(f"{issuer}:aud")
            if not cond.negated and cond.base != "Null"]


def check_audience(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    """An :aud condition that is present names only allowed audiences, exactly."""
    allowed = list(ctx.setting("allowedAudiences", [STS_AUDIENCE]) or [STS_AUDIENCE])
    for item in _trust_statements(resource):
        if isinstance(item, Deferred):
            yield item
            continue
        ref, ws = item
        statement = ws.statement
        where = statement_where(resource.urn, ref, statement)
        if statement.conditions_unknown:
            yield Deferred(resource.urn, f"{ref.path} {statement.label}: the Condition block "
                                         "is not known yet")
            continue
        for issuer in _kubernetes_issuers(ws, ctx):
            for cond in _audience_conditions(statement, issuer):
                if cond.values.unknown:
                    yield Deferred(resource.urn, f"{ref.path} {statement.label}: the value of "
                                                 f"{cond.key!r} is not known yet")
                problems = []
                if cond.qualifier or cond.if_exists or cond.base not in ("StringEquals",
                                                                         "StringLike"):
                    problems.append(f"{cond.operator} is not an exact match")
                for value in cond.values:
                    if value.startswith("system:serviceaccount:"):
                        problems.append(f"{value!r} is a service account subject: it belongs on "
                                        ":sub, and on :aud it never matches")
                    elif "*" in value or "?" in value:
                        problems.append(f"{value!r} is a wildcard")
                    elif value not in allowed:
                        problems.append(f"{value!r} is not an allowed audience "
                                        f"({', '.join(allowed)})")
                if problems:
                    yield Violation(resource.urn, message(
                        f"The :aud condition for {issuer} is wrong: {'; '.join(problems)}.",
                        where, f"use StringEquals {{\"{issuer}:aud\": \"{allowed[0]}\"}}"))


def check_audience_present(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    """Each Kubernetes web-identity statement pins the token audience."""
    allowed = list(ctx.setting("allowedAudiences", [STS_AUDIENCE]) or [STS_AUDIENCE])
    for item in _trust_statements(resource):
        if isinstance(item, Deferred):
            yield item
            continue
        ref, ws = item
        statement = ws.statement
        if statement.conditions_unknown:
            yield Deferred(resource.urn, f"{ref.path} {statement.label}: the Condition block "
                                         "is not known yet")
            continue
        for issuer in _kubernetes_issuers(ws, ctx):
            if not _audience_conditions(statement, issuer):
                yield Violation(resource.urn, message(
                    f"No :aud condition for {issuer}: a token the cluster issues for another "
                    "audience is accepted too.",
                    statement_where(resource.urn, ref, statement),
                    f"add StringEquals {{\"{issuer}:aud\": \"{allowed[0]}\"}}"))


def roles(resources: Sequence[Resource]) -> list[Resource]:
    from .documents import ROLE_TYPES

    return [resource for resource in resources if resource.type in ROLE_TYPES]


DEFAULT_SERVICE_ACCOUNT = re.compile(r"^system:serviceaccount:[^:]*:default$")


def check_default_service_account(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    """Trusting ``system:serviceaccount:<namespace>:default`` (exactly or through a pattern that
    in any namespace) hands the role to every pod of the namespace that names no service account."""
    if is_irsa_role(resource, ctx) is False:
        return
    subjects, unknown = trusted_subjects(resource)
    for _, value in subjects:
        if DEFAULT_SERVICE_ACCOUNT.match(value):
            yield Violation(resource.urn, message(
                f"The trust lets the service account subject {value!r} assume the role: every pod "
                "of the namespace that names no service account runs as 'default' and gets the "
                "role.",
                f"{resource.urn} .assumeRolePolicy :sub",
                "create a dedicated ServiceAccount for the workload and trust "
                "system:serviceaccount:<namespace>:<that account> only"))
            return
    if unknown:
        yield Deferred(resource.urn, ".assumeRolePolicy (its :sub condition) is not known yet")
