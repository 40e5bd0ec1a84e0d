"""``EngineMocks``: the ``pulumi.runtime.Mocks`` of the local engine. Where Pulumi's mock runtime
asks for a resource's id and outputs, it creates the resource for real through its handler and
returns what the handler got back; a data source is answered from the local cloud.

The SDK calls ``new_resource`` from worker threads, concurrently for resources that do not
depend on each other, and only once everything a resource depends on exists; the state is
written before and after each creation. :meth:`EngineMocks.cancel` (SIGINT/SIGTERM) makes
every later registration fail at once, and :meth:`EngineMocks.wait_idle` lets teardown wait for
the creations already under way, so nothing is created behind teardown's back.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from pulumi.runtime import Mocks
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from pgiam.e2e.engine.context import EngineContext
from pgiam.e2e.engine.catalog import data_source_for, handler_for, is_handled
from pgiam.e2e.engine.resources import (
    CreateRequest,
    EngineError,
    UnknownResourceType,
    provider_id,
)
from pgiam.program.mocks import resolve_child_references, unwrap_secrets


class DeployCancelled(EngineError):
    def __init__(self, name: str) -> None:
        super().__init__(f"deploy cancelled before {name!r} was created")


class EngineMocks(Mocks):
    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self._cancelled = threading.Event()
        self._inflight = 0
        self._idle = threading.Condition()
        self.durations: dict[str, float] = {}   # entry key -> seconds its creation took
        # resources a remote component created that its outputs reference (pulumi-eks's core):
        # registered by pgiam.program.runner's monitor for pulumi:pulumi:getResource
        self.children: dict[str, tuple[str, str, dict]] = {}

    # -- cancellation -------------------------------------------------------------------

    def cancel(self) -> None:
        self._cancelled.set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no creation is under way; False after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._inflight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    # -- Mocks --------------------------------------------------------------------------

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        if args.resource_id:
            raise EngineError(f"{args.name!r}: reading or importing an existing {args.typ} "
                              f"(id {args.resource_id!r}) is not supported by the local engine")
        if not is_handled(args.typ):
            if not args.custom and not args.typ.startswith("pulumi:providers:"):
                return "", {}            # a component resource: nothing to create
            raise UnknownResourceType(args.typ, args.name)
        if self._cancelled.is_set():
            raise DeployCancelled(args.name)
        raw_inputs = dict(args.inputs)
        inputs, _ = unwrap_secrets(raw_inputs)
        secret_keys = frozenset(key for key, value in raw_inputs.items()
                                if unwrap_secrets(value)[1])
        pid = provider_id(args.provider or "")
        request = CreateRequest(type=args.typ, name=args.name, inputs=inputs,
                                secret_inputs=secret_keys,
                                provider=self.ctx.providers.get(pid), provider_id=pid)
        handler = handler_for(args.typ, args.name)
        with self._idle:
            self._inflight += 1
        try:
            entry = self.ctx.state.begin(args.typ, args.name, args.provider or "")
            started = time.monotonic()
            try:
                created = handler.create(self.ctx, request)
            except BaseException:
                self.ctx.state.forget(entry)
                raise
            children: dict[str, tuple[str, str, dict]] = {}
            outputs = resolve_child_references(created.outputs, args.typ, children)
            self.children.update(children)
            self.ctx.state.created(entry, created.id, outputs, created.data,
                                   created.secret_outputs | request.secret_inputs)
            self.durations[entry.key] = time.monotonic() - started
        finally:
            with self._idle:
                self._inflight -= 1
                self._idle.notify_all()
        return created.id, {**raw_inputs, **outputs}

    def call(self, args: MockCallArgs) -> tuple[dict, list | None]:
        plain, _ = unwrap_secrets(dict(args.args))
        answer = data_source_for(args.token)
        return answer(self.ctx, plain, self.ctx.providers.get(provider_id(args.provider or ""))
                      ), []


def record_dependencies(ctx: EngineContext, run: Any) -> None:
    """After the program ran: each state entry's dependencies (explicit, through its inputs, and
    its provider), by entry key, from what the resource monitor recorded."""
    keys = {resource.urn: f"{resource.type}::{resource.name}" for resource in run.resources}
    dependencies: dict[str, list[str]] = {}
    for resource in run.resources:
        urns = set(resource.dependencies)
        for values in resource.property_dependencies.values():
            urns.update(values)
        if resource.provider_urn:
            urns.add(resource.provider_urn)
        dependencies[keys[resource.urn]] = [keys[urn] for urn in urns if urn in keys]
    ctx.state.set_dependencies(dependencies)
