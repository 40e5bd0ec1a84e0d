"""A team's Pulumi program under the mock runtime, and IAM questions about what it registered.

The program runs as ``pgiam preview`` runs it (:func:`pgiam.program.runner.run_program`, the
offline mocks with realistic computed values), from its own ``Pulumi.yaml``. Required secret
configuration gets a placeholder (a unit test reads no real secret); other required keys must be
passed. The answers about IAM come from pgiam's IAM engine (:mod:`pgiam.iam`) evaluating the
documents the program registered, the way STS and the database evaluate them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgiam.errors import PgiamError
from pgiam.iam import (
    Decision,
    NamedPolicy,
    Principal,
    Request,
    Resolution,
    evaluate_identity_policies,
    evaluate_trust_policy,
    parse_policy,
)
from pgiam.program.config_reads import required_secrets
from pgiam.program.loader import load_project, load_stack_config
from pgiam.program.mocks import unwrap_secrets
from pgiam.program.runner import ProgramRun, RegisteredResource

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
STS_AUDIENCE = "sts.amazonaws.com"


class NotInStack(PgiamError, LookupError):
    """The stack holds no resource of that type and name (the message lists what it holds)."""


class _Unknown:
    """A value not known until the resource exists (``pulumi preview``)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


def _known_or_unknown(value: Any) -> Any:
    from pulumi.runtime.rpc import UNKNOWN as WIRE_UNKNOWN

    if isinstance(value, str) and value == WIRE_UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        return {key: _known_or_unknown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_known_or_unknown(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    """Secrets unwrapped; a value unknown at preview as :data:`UNKNOWN`."""
    return _known_or_unknown(unwrap_secrets(value)[0])


def _document(value: Any) -> Any:
    value = _plain(value)
    return json.loads(value) if isinstance(value, str) else value


@dataclass
class StackUnderTest:
    """What one run of a program registered, with IAM questions answered about it."""

    run: ProgramRun

    @property
    def outputs(self) -> dict[str, Any]:
        return _plain(self.run.outputs)

    def resources(self, type_: str | None = None) -> list[RegisteredResource]:
        return [r for r in self.run.resources if type_ is None or r.type == type_]

    def resource(self, type_: str, name: str) -> RegisteredResource:
        """The resource of ``type_`` (``aws:iam/role:Role``) with logical name ``name``."""
        for resource in self.resources(type_):
            if resource.name == name:
                return resource
        held = sorted(r.name for r in self.resources(type_))
        raise NotInStack(f"no {type_} named {name!r} in the stack (it has: {held or 'none'})")

    def state(self, resource: RegisteredResource) -> dict[str, Any]:
        """Inputs and outputs of ``resource`` as plain values (secrets unwrapped)."""
        return _plain({**resource.inputs, **resource.outputs})

    # -- IAM ---------------------------------------------------------------------------------

    def role_policies(self, role: RegisteredResource) -> list[NamedPolicy]:
        """Every identity policy the stack gives ``role``: ``inline_policies``,
        ``aws.iam.RolePolicy``, and its own ``aws.iam.Policy`` attached by
        ``RolePolicyAttachment`` or ``managed_policy_arns``. A policy the stack does not hold
        (AWS-managed, another stack's) cannot be judged here and raises :class:`NotInStack`."""
        state = self.state(role)
        name, arn = state.get("name"), state.get("arn")
        policies = [NamedPolicy(f"{role.name}/{item.get('name')}",
                                parse_policy(_document(item.get("policy")), kind="identity"))
                    for item in state.get("inlinePolicies") or [] if item.get("policy")]
        for resource in self.resources(ROLE_POLICY):
            inline = self.state(resource)
            if inline.get("role") in (name, arn):
                policies.append(NamedPolicy(resource.name, parse_policy(
                    _document(inline.get("policy")), kind="identity")))
        attached = list(state.get("managedPolicyArns") or [])
        attached += [self.state(r).get("policyArn") for r in self.resources(ATTACHMENT)
                     if self.state(r).get("role") in (name, arn)]
        managed = {self.state(r).get("arn"): r for r in self.resources(POLICY)}
        for policy_arn in attached:
            resource = managed.get(policy_arn)
            if resource is None:
                raise NotInStack(f"{role.name}: the attached policy {policy_arn} is not a "
                                 "policy of this stack; its content is unknown here")
            policies.append(NamedPolicy(resource.name, parse_policy(
                _document(self.state(resource).get("policy")), kind="identity")))
        return policies

    def role_allows(self, role: RegisteredResource, action: str, resource: str,
                    context: Mapping[str, Any] | None = None, *,
                    resolution: Resolution = "strict") -> Decision:
        """Whether the stack's policies of ``role`` allow ``action`` on ``resource``
        (``resolution``: see :data:`pgiam.iam.Resolution`; ``permissive`` for a "must refuse"
        assertion, which then also fails on what an ambiguous condition could grant)."""
        state = self.state(role)
        principal = Principal("AWS", str(state.get("arn") or ""))
        return evaluate_identity_policies(self.role_policies(role), Request(
            action=action, resource=resource, principal=principal, context=dict(context or {})),
            resolution=resolution)

    def trust_allows(self, role: RegisteredResource, subject: str, *,
                     audience: str = STS_AUDIENCE, provider_arn: str | None = None,
                     resolution: Resolution = "strict") -> Decision:
        """Whether ``role``'s trust lets a web identity token with ``sub`` = ``subject`` and
        ``aud`` = ``audience`` in, from ``provider_arn`` (default: the Federated principal its
        trust names; a trust naming none is asked for the stack's OIDC providers);
        ``resolution`` as for :meth:`role_allows`."""
        trust = parse_policy(_document(self.state(role).get("assumeRolePolicy")), kind="trust")
        if provider_arn is None:
            named = [str(identifier) for statement in trust.statements
                     for identifier in _federated(statement)]
            if not named:
                raise NotInStack(f"{role.name}: its trust names no Federated principal")
            provider_arn = named[0]
        issuer = provider_arn.split(":oidc-provider/", 1)[-1]
        return evaluate_trust_policy(trust, Request(
            action=WEB_IDENTITY, resource=str(self.state(role).get("arn") or "*"),
            principal=Principal("Federated", provider_arn),
            context={f"{issuer}:sub": subject, f"{issuer}:aud": audience,
                     "aws:FederatedProvider": provider_arn}), resolution=resolution)


def _federated(statement: Any) -> list[str]:
    """The Federated identifiers an Allow statement's ``Principal`` names."""
    principal = statement.principal
    if statement.effect != "Allow" or not isinstance(principal, Mapping):
        return []
    return list(principal.get("Federated", ()))


def run_pulumi_program(directory: str | Path, config: Mapping[str, str] | None = None, *,
                       preview: bool = False, stack: str = "unit") -> StackUnderTest:
    """Run the Pulumi Python project in ``directory`` under the mock runtime.

    ``config``: keys with or without the project's namespace. Required secrets nobody gives get
    a placeholder; ``preview=True`` runs as ``pulumi preview`` of a new stack (computed values
    unknown). Raises :class:`pgiam.program.runner.ProgramError` with the program's own error."""
    from pgiam.preview.offline_mocks import OfflineMocks, cloud_context
    from pgiam.program.runner import run_program

    project = load_project(directory)
    stack_config = load_stack_config(project, stack, dict(config or {}),
                                     unset_secrets=required_secrets(project))
    mocks = OfflineMocks(cloud_context(stack_config.values), computed=not preview,
                         resource_references=True)
    return StackUnderTest(run_program(project, stack_config, mocks, preview=preview))
