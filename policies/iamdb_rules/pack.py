"""The catalogue's rules as pulumi-policy policies (the only module that imports pulumi-policy).

Each rule's :class:`~iamdb_rules.model.Violation`\\ s are reported with the offending resource's
URN; its :class:`~iamdb_rules.model.Deferred` checks are raised at the end as one
``UnknownValueError``, which pulumi-policy turns into its advisory "can't run policy ... during
preview" diagnostic: the CLI shows them as not run, never as passed. Its message lists one
deferred check per line as ``<urn>: <what it waits for>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from .catalog import RULES
from .model import Deferred, ProviderInfo, Resource, Rule, RuleContext, Violation, plain

PACK_NAME = "pgiam-iam-database-auth"
STACK_TYPE = "pulumi:pulumi:Stack"
LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY,
          "disabled": EnforcementLevel.DISABLED}


class DeferredChecks(UnknownValueError):
    """Checks that wait for values the engine does not know yet."""

    def __init__(self, deferred: Sequence[Deferred]) -> None:
        super().__init__(UNKNOWN_STRING_VALUE, [])
        self.deferred = list(deferred)
        self.message = "\n".join(f"{item.urn}: {item.reason}" for item in self.deferred)


def _provider(provider: Any) -> ProviderInfo | None:
    if provider is None:
        return None
    return ProviderInfo(provider.resource_type, provider.urn, provider.name,
                        plain(provider.props))


def resource_from_args(args: ResourceValidationArgs) -> Resource:
    return Resource(type=args.resource_type, urn=args.urn, name=args.name,
                    props=plain(args.props), parent=getattr(args.opts, "parent", None),
                    provider=_provider(args.provider))


def resource_from_stack(resource: PolicyResource) -> Resource:
    return Resource(
        type=resource.resource_type, urn=resource.urn, name=resource.name,
        props=plain(resource.props),
        parent=resource.parent.urn if resource.parent is not None else None,
        provider=_provider(resource.provider),
        dependencies=tuple(d.urn for d in resource.dependencies),
        property_dependencies={key: tuple(d.urn for d in deps)
                               for key, deps in resource.property_dependencies.items()})


def context(rule: Rule, config: Mapping[str, Any] | None) -> RuleContext:
    return rule.context(plain(config) if config else None, stack=pulumi.get_stack(),
                        project=pulumi.get_project(), dry_run=pulumi.runtime.is_dry_run())


def _report(rule: Rule, subject: Any, ctx: RuleContext, report_violation: Any,
            subject_urn: str) -> None:
    """Report the rule's violations (a rule that fails is one: see ``Rule.findings``), then raise
    its deferred checks."""
    deferred: list[Deferred] = []
    for finding in rule.findings(subject, ctx, subject_urn):
        if isinstance(finding, Violation):
            report_violation(finding.message, finding.urn)
        else:
            deferred.append(finding)
    if deferred:
        raise DeferredChecks(deferred)


def _stack_urn(resources: Sequence[Resource]) -> str:
    return next((resource.urn for resource in resources if resource.type == STACK_TYPE),
                resources[0].urn if resources else "")


def _schema(rule: Rule) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties={k: dict(v) for k, v in rule.schema.items()})


def to_policy(rule: Rule) -> ResourceValidationPolicy | StackValidationPolicy:
    if rule.kind == "resource":
        def validate_resource(args: ResourceValidationArgs, report_violation: Any) -> None:
            _report(rule, resource_from_args(args), context(rule, args.get_config()),
                    report_violation, args.urn)

        return ResourceValidationPolicy(
            name=rule.name, description=rule.description, validate=validate_resource,
            enforcement_level=LEVELS[rule.enforcement], config_schema=_schema(rule))

    def validate_stack(args: StackValidationArgs, report_violation: Any) -> None:
        resources = [resource_from_stack(resource) for resource in args.resources]
        _report(rule, resources, context(rule, args.get_config()), report_violation,
                _stack_urn(resources))

    return StackValidationPolicy(
        name=rule.name, description=rule.description, validate=validate_stack,
        enforcement_level=LEVELS[rule.enforcement], config_schema=_schema(rule))


def build_policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    return [to_policy(rule) for rule in RULES]
