"""The mocks ``pgiam preview`` runs a program with: :class:`~pgiam.program.mocks.RecordingMocks`
plus what the engine does that plain mocks do not.

* ``--mode up``: every resource gets the realistic computed values of
  :mod:`pgiam.program.synth`, as after ``pulumi up``.
* ``--mode preview``: as ``pulumi preview`` of a new stack, where a provider answers a create with
  the inputs and every attribute it computes as *unknown*: the computed attributes
  :mod:`pgiam.program.synth` knows for the type are returned as unknowns (not left out), so the
  policy pack sees ``clusterResourceId`` as "not known yet" rather than "not there".
* A policy document given as an object (pulumi-aws' ``PolicyDocumentArgs``) comes back as the
  JSON text the provider returns (the output is typed ``str``), unknown while it holds unknowns.
* A stack reference (``pulumi.StackReference``) reads another stack's outputs from a backend,
  which an offline run does not have: its outputs are the values the user passed
  (``--stack-output STACK:KEY=VALUE``), else, at ``--mode preview``, unknown, so what depends on
  them is deferred, never judged on an invented value
  (:attr:`OfflineMocks.unknown_stack_references` names them); ``--mode up`` without them is
  refused, naming the option.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pgiam.errors import PgiamError
from pgiam.program.mocks import RecordingMocks
from pgiam.program.synth import DNS_SUFFIXES, CloudContext, synthesize_resource

STACK_REFERENCE = "pulumi:pulumi:StackReference"
# type -> properties holding an IAM policy document that the provider returns as JSON text
DOCUMENT_OUTPUTS = {
    "aws:iam/role:Role": ("assumeRolePolicy",),
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy": ("inlinePolicy",),
}
# Region name prefixes of the partitions other than "aws" (botocore's endpoints data).
_PARTITION_PREFIXES = (("us-gov-", "aws-us-gov"), ("cn-", "aws-cn"), ("us-isob-", "aws-iso-b"),
                       ("us-isof-", "aws-iso-f"), ("eu-isoe-", "aws-iso-e"),
                       ("us-iso-", "aws-iso"), ("eusc-", "aws-eusc"))


class StackOutputError(PgiamError):
    """A ``--stack-output`` that is not ``STACK:KEY=VALUE``."""


def parse_stack_outputs(items: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``--stack-output org/project/stack:KEY=VALUE`` options -> {stack: {key: value}}; a VALUE
    that is JSON (a number, a list, an object, ``true``) is taken as such, else as text."""
    outputs: dict[str, dict[str, Any]] = {}
    for item in items:
        stack, colon, assignment = item.partition(":")
        key, equals, text = assignment.partition("=")
        if not (colon and equals and stack.strip() and key.strip()):
            raise StackOutputError(f"--stack-output {item!r}: expected STACK:KEY=VALUE "
                                   "(e.g. acme/network/prod:vpcId=vpc-0abc)")
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        outputs.setdefault(stack.strip(), {})[key.strip()] = value
    return outputs


def cloud_context(config: dict[str, str] | Any) -> CloudContext:
    """The account, region and partition synthesized values live in: ``aws:region`` from the
    stack's configuration (default us-east-1), its partition derived from the region name."""
    region = str(config.get("aws:region") or "us-east-1")
    partition = next((name for prefix, name in _PARTITION_PREFIXES
                      if region.startswith(prefix)), "aws")
    if partition not in DNS_SUFFIXES:
        partition = "aws"
    return CloudContext(region=region, partition=partition)


def _has_unknown(value: Any) -> bool:
    from pulumi.output import Unknown

    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(_has_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_unknown(item) for item in value)
    return False


def _documents_as_text(type_: str, state: dict) -> None:
    """Object policy documents as the provider returns them: JSON text (unknown while partly
    unknown)."""
    import json

    from pulumi.output import UNKNOWN

    from pgiam.program.mocks import unwrap_secrets

    for key in DOCUMENT_OUTPUTS.get(type_, ()):
        value = state.get(key)
        if isinstance(value, (dict, list)):
            plain, _ = unwrap_secrets(value)
            state[key] = UNKNOWN if _has_unknown(plain) else json.dumps(plain)


def _known_part(value: Any) -> Any:
    """``value`` without its unknown members (``pulumi.output.Unknown``), for the synthesizers."""
    from pulumi.output import Unknown

    if isinstance(value, dict):
        return {key: _known_part(item) for key, item in value.items()
                if not isinstance(item, Unknown)}
    if isinstance(value, list):
        return [_known_part(item) for item in value if not isinstance(item, Unknown)]
    return value


class OfflineMocks(RecordingMocks):
    """RecordingMocks with unknown computed attributes at preview, and stack references answered
    from ``stack_outputs`` or unknown."""

    def __init__(self, context: CloudContext | None = None, *,
                 stack_outputs: Mapping[str, Mapping[str, Any]] | None = None, **options: Any) -> None:
        super().__init__(context, **options)
        self.stack_outputs = {name: dict(values) for name, values in (stack_outputs or {}).items()}
        self.unknown_stack_references: list[str] = []

    def _stack_reference(self, args: Any) -> tuple[str, dict]:
        from pulumi.output import UNKNOWN

        stack = str(args.inputs.get("name") or args.name)
        given = self.stack_outputs.get(stack)
        if given is None:
            if self.computed:
                # after ``up`` a program's code runs on every value (an unknown would reach it as
                # None): values are needed, and nothing would stand for them but invention
                raise StackOutputError(
                    f"the program reads pulumi.StackReference({stack!r}), whose outputs cannot be "
                    f"read offline: --mode up needs them, pass --stack-output {stack}:KEY=VALUE for "
                    "each output the program reads (or use --mode preview, where they are unknown "
                    "and what depends on them is deferred)")
            if stack not in self.unknown_stack_references:
                self.unknown_stack_references.append(stack)
            return stack, {"name": stack, "outputs": UNKNOWN, "secretOutputNames": UNKNOWN}
        return stack, {"name": stack, "outputs": dict(given), "secretOutputNames": []}

    def new_resource(self, args: Any) -> tuple[str | None, dict]:
        if args.typ == STACK_REFERENCE:
            return self._stack_reference(args)
        resource_id, state = super().new_resource(args)
        _documents_as_text(args.typ, state)
        if self.computed:
            return resource_id, state
        from pulumi.output import UNKNOWN

        try:
            _, full = synthesize_resource(self.context, args.typ, args.name,
                                          _known_part(dict(args.inputs)), bool(args.custom))
        except Exception:  # noqa: BLE001 - a synthesizer that cannot cope with partial inputs
            return resource_id, state
        for key in full:
            if key not in state and key != "id":
                state[key] = UNKNOWN
        return resource_id, state
