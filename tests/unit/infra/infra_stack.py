"""Runs the infra program (iampg.stack.build_stack, what infra/__main__.py exports) under
Pulumi's mock runtime with pgiam's RecordingMocks, and keeps what it registered and exported."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.mocks import set_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from pgiam.program.mocks import RecordingMocks
from pgiam.program.synth import CloudContext

PROJECT = "iam-postgres"
MASTER_PASSWORD = "unit-Master-Passw0rd"
BASE_CONFIG = {f"{PROJECT}:masterPassword": MASTER_PASSWORD}


@dataclass
class StackRun:
    """One run of a program: the mocks' record, the stack outputs and what the engine logged."""

    context: CloudContext
    config: dict[str, str]
    mocks: RecordingMocks
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


class _Collect(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


def full_config(config: dict[str, str] | None, context: CloudContext) -> dict[str, str]:
    """The master password and the region, plus ``config`` (keys without a namespace get the
    project's; a None value removes the key)."""
    merged = {**BASE_CONFIG, "aws:region": context.region}
    for key, value in (config or {}).items():
        merged[key if ":" in key else f"{PROJECT}:{key}"] = value
    return {key: value for key, value in merged.items() if value is not None}


def run_program(program: Callable[[], dict[str, Any] | None], config: dict[str, str] | None = None,
                context: CloudContext | None = None, *, preview: bool = False,
                stack: str = "unit") -> StackRun:
    """Run ``program`` (which returns the outputs to export, or None) under mocks; raise what it
    raises. ``preview``: a ``pulumi preview`` of a new stack, computed values unknown."""
    context = context or CloudContext()
    run = StackRun(context=context, config=full_config(config, context),
                   mocks=RecordingMocks(context, computed=not preview))
    logger = logging.Logger("pgiam.unit.infra")  # this run's only: not in logging's registry
    logger.addHandler(_Collect(run.warnings))

    runtime_settings.reset_options(project=PROJECT, stack=stack)
    set_mocks(run.mocks, project=PROJECT, stack=stack, preview=preview, logger=logger)
    pulumi.runtime.set_all_config(run.config, [f"{PROJECT}:masterPassword"])

    async def main() -> None:
        for name, value in (program() or {}).items():
            output = pulumi.Output.from_input(value)
            run.outputs[name] = await output.future()
            if await output.is_secret():
                run.secret_outputs.add(name)

    _sync_await(run_pulumi_func(main))
    return run


def run_stack(config: dict[str, str] | None = None, context: CloudContext | None = None, *,
              preview: bool = False) -> StackRun:
    """The infra program itself, as infra/__main__.py runs it."""
    from iampg.config import load_settings
    from iampg.stack import build_stack

    return run_program(lambda: build_stack(load_settings()), config, context, preview=preview)
