"""The rules' plain model: resources, findings, rules, and the context a rule runs in.

Rules are plain functions of plain data: a :class:`Resource` (type, URN, name, properties as
plain dicts and lists in which an unknown value is the engine's sentinel string) and a
:class:`RuleContext` (the policy's configuration, the stack). They yield :class:`Violation`\\ s
and :class:`Deferred` checks and never import pulumi-policy, so they are tested on dicts and
reused anywhere; :mod:`iamdb_rules.pack` adapts them to pulumi-policy's ``ResourceValidationPolicy``
and ``StackValidationPolicy``.

A check that needs a value the engine does not know yet (a preview of a new stack) yields a
:class:`Deferred` naming what it waits for, never a violation: the same rule checks the known
value at update time. Everything known is still checked at preview.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .config import EXEMPTIONS
from .exemptions import config_exemption, tag_exemption

# pulumi-policy's proxies and secret wrapper, recognised by name so that this module does not
# import pulumi-policy (and through it the whole Pulumi SDK).
_PROXY_TYPES = frozenset({"_DictProxy", "_ListProxy", "_DictSecretsProxy", "_ListSecretsProxy"})


def plain(value: Any) -> Any:
    """``value`` with pulumi-policy's unknown-checking proxies (and secret wrappers) removed:
    plain dicts and lists, unknowns left as their sentinel strings for the rules to see."""
    kind = type(value).__name__
    if kind == "Secret" and hasattr(value, "value"):
        return plain(value.value)
    if kind in _PROXY_TYPES:
        value = value["__target"]
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, Sequence):
        return [plain(item) for item in value]
    return value


@dataclass(frozen=True)
class ProviderInfo:
    type: str
    urn: str
    name: str
    props: Mapping[str, Any]


@dataclass(frozen=True)
class Resource:
    """A resource as a rule sees it. For a resource rule ``props`` are the inputs; for a stack
    rule they are the outputs (which include the inputs)."""

    type: str
    urn: str
    name: str = ""
    props: Mapping[str, Any] = field(default_factory=dict)
    parent: str | None = None
    provider: ProviderInfo | None = None
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Violation:
    urn: str
    message: str


@dataclass(frozen=True)
class Deferred:
    urn: str
    reason: str


Finding = Violation | Deferred


@dataclass(frozen=True)
class RuleContext:
    """Where a rule runs: the policy's configuration (defaults filled in) and the stack."""

    config: Mapping[str, Any] = field(default_factory=dict)
    stack: str = ""
    project: str = ""
    dry_run: bool = False

    def setting(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    def stack_matches(self, patterns: Iterable[str]) -> bool:
        """Whether the stack name matches one of ``patterns`` (shell wildcards)."""
        return any(fnmatch.fnmatchcase(self.stack, pattern) for pattern in patterns)


ResourceCheck = Callable[[Resource, RuleContext], Iterable[Finding]]
StackCheck = Callable[[Sequence[Resource], RuleContext], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """One policy of the pack. ``kind`` is ``resource`` (``check(resource, ctx)``) or ``stack``
    (``check(resources, ctx)``); ``config`` is the JSON schema of its properties (with
    defaults)."""

    name: str
    description: str
    kind: str
    enforcement: str
    check: Callable[..., Iterable[Finding]]
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    remediation: str = ""

    @property
    def schema(self) -> dict[str, Mapping[str, Any]]:
        """The configuration schema: the rule's own properties and ``exemptions`` (every rule
        takes them, see :mod:`.exemptions`)."""
        return {**self.config, **EXEMPTIONS}

    def defaults(self) -> dict[str, Any]:
        return {key: spec["default"] for key, spec in self.schema.items() if "default" in spec}

    def context(self, config: Mapping[str, Any] | None = None, **where: Any) -> RuleContext:
        return RuleContext(config={**self.defaults(), **dict(config or {})}, **where)

    def findings(self, subject: Resource | Sequence[Resource], ctx: RuleContext,
                 subject_urn: str) -> Iterator[Finding]:
        """The check's findings. A check that fails on a shape it did not expect yields one
        violation on ``subject_urn`` (the resource, or the stack for a stack rule) naming the
        failure: the pack fails closed rather than failing the whole preview or letting the
        resource pass unchecked."""
        try:
            for finding in self.check(subject, ctx):
                kept = self._unless_exempt(finding, subject, ctx)
                if kept is not None:
                    yield kept
        except Exception as error:  # noqa: BLE001 - any failure becomes a finding
            what = "resource" if self.kind == "resource" else "stack"
            yield Violation(subject_urn, message(
                f"The policy could not evaluate this {what} ({type(error).__name__}: {error}), "
                "so it is not known to comply.",
                subject_urn or "(the stack)",
                "give the properties the provider's shapes, or report the failure to the "
                "pack's maintainers"))

    def _unless_exempt(self, finding: Finding, subject: Resource | Sequence[Resource],
                       ctx: RuleContext) -> Finding | None:
        """``finding``, or ``None`` when its resource is exempt from this rule (configured for
        the stack/resource, or tagged ``pgiam:exempt`` with a reason): neither reported nor,
        for a deferred check, listed as waiting."""
        resources = [subject] if isinstance(subject, Resource) else subject
        resource = next((item for item in resources if item.urn == finding.urn), None)
        name = resource.name if resource is not None else ""
        if config_exemption(ctx.setting("exemptions"), ctx.stack, finding.urn, name):
            return None
        if resource is None:
            return finding
        exempt, why = tag_exemption(self.name, resource.props)
        if exempt:
            return None
        if why and isinstance(finding, Violation):
            return Violation(finding.urn, f"{finding.message}\nNot exempt: {why}")
        return finding

    def run(self, subject: Resource | Sequence[Resource], ctx: RuleContext | None = None,
            ) -> tuple[list[Violation], list[Deferred]]:
        """The rule's findings, split: (violations, deferred)."""
        ctx = ctx or self.context()
        violations: list[Violation] = []
        deferred: list[Deferred] = []
        urn = subject.urn if isinstance(subject, Resource) else next(
            (item.urn for item in subject if item.type == "pulumi:pulumi:Stack"), "")
        for finding in self.findings(subject, ctx, urn):
            (violations if isinstance(finding, Violation) else deferred).append(finding)  # type: ignore[arg-type]
        return violations, deferred


def message(what: str, where: str, fix: str) -> str:
    """The shape of every violation message: what is wrong, where, and how to fix it."""
    return f"{what}\nWhere: {where}\nFix: {fix}"
