"""``RecordingMocks``: Pulumi's mock runtime answered by :mod:`pgiam.program.synth`, with a record
of every resource and data source call the program made.

Resources get realistic computed values in the account, region and partition of the
:class:`~pgiam.program.synth.CloudContext` (``aws``, ``aws-cn``, ``aws-us-gov``, ...); with
``computed=False`` they get none (their inputs echoed, no id), as in ``pulumi preview`` of a new
stack, where computed outputs are unknown. Data sources are answered in both modes.

The record keeps inputs both as they arrived (``raw_inputs``: secrets wrapped in Pulumi's secret
envelope) and unwrapped (``inputs``), with the top-level keys that were secret
(``secret_inputs``), so tests can assert on values and on their secrecy.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import Mocks
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs
from pulumi.runtime.rpc import _special_resource_sig, _special_secret_sig, _special_sig_key

from .sdk_types import echoed_inputs
from .synth import ChildResource, CloudContext, synthesize_call, synthesize_resource


def unwrap_secrets(value: Any) -> tuple[Any, bool]:
    """``value`` with every Pulumi secret envelope removed, and whether it contained one."""
    if isinstance(value, Mapping):
        if value.get(_special_sig_key) == _special_secret_sig:
            inner, _ = unwrap_secrets(value.get("value"))
            return inner, True
        found = False
        plain = {}
        for key, item in value.items():
            plain[key], secret = unwrap_secrets(item)
            found = found or secret
        return plain, found
    if isinstance(value, list):
        found = False
        items = []
        for item in value:
            plain, secret = unwrap_secrets(item)
            items.append(plain)
            found = found or secret
        return items, found
    return value, False


def child_urn(parent_type: str, child: ChildResource) -> str:
    """The URN the engine gives a component's child: the parent's type chain prefixed."""
    from pulumi.runtime.settings import get_project, get_stack

    return f"urn:pulumi:{get_stack()}::{get_project()}::{parent_type}${child.type}::{child.name}"


def resolve_child_references(value: Any, parent_type: str,
                             children: dict[str, tuple[str, str, dict]] | None) -> Any:
    """``value`` with each :class:`ChildResource` replaced by a resource reference as the engine
    sends one, the child's registration (urn, id, state) added to ``children``; with
    ``children=None`` (a monitor that cannot answer for them) every mapping entry holding one
    is left out, as if the component had not returned it."""
    if isinstance(value, ChildResource):
        if children is None:
            return None
        urn = child_urn(parent_type, value)
        children[urn] = (urn, value.id, dict(value.state))
        return {_special_sig_key: _special_resource_sig, "urn": urn, "id": value.id, "packageVersion": ""}
    if isinstance(value, Mapping):
        resolved = {}
        for key, item in value.items():
            if children is None and _holds_child(item):
                continue
            resolved[key] = resolve_child_references(item, parent_type, children)
        return resolved
    if isinstance(value, list):
        return [resolve_child_references(item, parent_type, children) for item in value]
    return value


def _holds_child(value: Any) -> bool:
    if isinstance(value, ChildResource):
        return True
    if isinstance(value, Mapping):
        return any(_holds_child(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_child(item) for item in value)
    return False


def without_resource_references(value: Any) -> Any:
    """Resource references downgraded to the referenced resource's id (else its URN), as the
    engine marshals properties for a plugin that does not keep resources (an analyzer)."""
    if isinstance(value, Mapping):
        if value.get(_special_sig_key) == _special_resource_sig:
            return value.get("id") or value.get("urn")
        return {key: without_resource_references(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_resource_references(item) for item in value]
    return value


@dataclass(frozen=True)
class RecordedResource:
    type: str
    name: str
    id: str
    custom: bool
    provider: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    raw_inputs: dict[str, Any] = field(repr=False)
    secret_inputs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RecordedCall:
    token: str
    args: dict[str, Any]
    result: dict[str, Any]


class RecordingMocks(Mocks):
    """A ``pulumi.runtime.Mocks`` that synthesizes realistic values and records everything."""

    def __init__(self, context: CloudContext | None = None, *, computed: bool = True,
                 resource_references: bool = False) -> None:
        """``resource_references``: outputs that reference resources a remote component created
        (pulumi-eks's ``core``, ``eksCluster``) are given, for a monitor that registers
        :attr:`children` (``pgiam.program.runner``'s); Pulumi's own ``MockMonitor`` cannot
        answer for them, so by default they are left out."""
        self.context = context or CloudContext()
        self.computed = computed
        self.resource_references = resource_references
        self.resources: list[RecordedResource] = []
        self.calls: list[RecordedCall] = []
        self.children: dict[str, tuple[str, str, dict]] = {}
        self._lock = threading.Lock()

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        raw_inputs = dict(args.inputs)
        # ``Resource.get(name, id)``: the mock monitor's ReadResource passes the id as
        # ``resource_id`` and no ``custom`` (a read resource is always a custom one)
        read = bool(getattr(args, "resource_id", None))
        if self.computed:
            resource_id, state = synthesize_resource(self.context, args.typ, args.name,
                                                     raw_inputs, bool(args.custom) or read,
                                                     read=read)
            if read:
                resource_id = str(args.resource_id)
        else:
            # as at preview: the inputs echoed, each in the shape of the output of that name
            # (awsx's ``natGateways``: unknown rather than the strategy the input holds)
            resource_id, state = "", echoed_inputs(args.typ, raw_inputs)
        children: dict[str, tuple[str, str, dict]] = {}
        state = resolve_child_references(state, args.typ, children if self.resource_references else None)
        inputs, _ = unwrap_secrets(raw_inputs)
        outputs, _ = unwrap_secrets(without_resource_references(state))
        secret_keys = frozenset(key for key, value in raw_inputs.items()
                                if unwrap_secrets(value)[1])
        record = RecordedResource(type=args.typ, name=args.name, id=resource_id,
                                  custom=bool(args.custom), provider=args.provider or None,
                                  inputs=inputs, outputs=outputs, raw_inputs=raw_inputs,
                                  secret_inputs=secret_keys)
        with self._lock:
            self.resources.append(record)
            self.children.update(children)
        return resource_id, state

    def call(self, args: MockCallArgs) -> tuple[dict, list | None]:
        plain_args, _ = unwrap_secrets(dict(args.args))
        result = synthesize_call(self.context, args.token, plain_args)
        with self._lock:
            self.calls.append(RecordedCall(args.token, plain_args, result))
        return result, []

    def of_type(self, type_: str) -> list[RecordedResource]:
        """Every recorded resource of ``type_``, in registration order."""
        return [resource for resource in self.resources if resource.type == type_]

    def one(self, type_: str) -> RecordedResource:
        """The single recorded resource of ``type_``; AssertionError when there are 0 or several."""
        found = self.of_type(type_)
        if len(found) != 1:
            raise AssertionError(f"expected exactly one {type_}, found {len(found)}: "
                                 f"{[resource.name for resource in found]}")
        return found[0]

    def named(self, name: str) -> RecordedResource:
        """The recorded resource with logical name ``name``."""
        found = [resource for resource in self.resources if resource.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected exactly one resource named {name!r}, "
                                 f"found {len(found)}")
        return found[0]

    def calls_to(self, token: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.token == token]
