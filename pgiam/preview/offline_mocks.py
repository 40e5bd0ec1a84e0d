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
  which an offline run does not have: it is refused with a clear error.
"""

from __future__ import annotations

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


class StackReferenceError(PgiamError):
    """The program reads another stack's outputs, which an offline preview cannot."""


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
    """RecordingMocks with unknown computed attributes at preview and stack references refused."""

    def new_resource(self, args: Any) -> tuple[str | None, dict]:
        if args.typ == STACK_REFERENCE:
            raise StackReferenceError(
                f"the program reads stack outputs through pulumi.StackReference({args.name!r}); "
                "an offline preview has no backend to read them from (stack references are out "
                "of scope: pass the values as configuration instead)")
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
