"""Running a Pulumi Python program in-process under Pulumi's mock runtime, the way the Python
language host runs it, and keeping everything it registered.

``run_program(project, config, mocks, preview=...)`` takes ANY ``pulumi.runtime.Mocks``:
:class:`pgiam.program.mocks.RecordingMocks` for a preview or a synthesized ``pulumi up``, or mocks
that create resources for real (a local engine). The program runs as the language host runs it:
the project (or ``main``) directory on ``sys.path``, the working directory the project's, its
configuration set (secret keys marked), ``__main__.py`` executed by ``runpy`` inside a root
``pulumi:pulumi:Stack`` (``pulumi.export`` and ``pulumi.run`` both work), and the run awaited to
quiescence.

What it records comes from the resource monitor, not from the mocks, so it is the same whatever
the mocks are: for every registration (custom, component, provider, remote component, read) its
URN, type, name, parent, provider reference, dependencies and property dependencies, options,
and its inputs and outputs as the engine sees them (:class:`RegisteredResource`): plain JSON
values in which an unknown is the engine's sentinel string and a secret the engine's
``{"4dabf1...": "1b4706...", "value": ...}`` envelope. Component outputs and the stack outputs are
what the program passed to ``register_outputs``/``pulumi.export``.

A program that fails raises :class:`ProgramError` with the program's own message (a
``pulumi.RunError``'s text alone, as the CLI prints it; otherwise the exception and the line of
the program it came from), never a raw traceback.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import os
import runpy
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgiam.errors import PgiamError
from pgiam.program.loader import PulumiProject, StackConfig

STACK_TYPE = "pulumi:pulumi:Stack"
# The engine's wire forms (pulumi/sdk/go/common/resource/plugin/rpc.go, pulumi.runtime.rpc).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_NOT_YET = object()     # a placeholder root resource while the mocks are installed


class ProgramError(PgiamError):
    """The program could not run to completion; the message is the program's error."""


@dataclass(frozen=True)
class ResourceOptionsRecord:
    protect: bool = False
    ignore_changes: tuple[str, ...] = ()
    delete_before_replace: bool | None = None
    additional_secret_outputs: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    custom_timeouts: tuple[float, float, float] | None = None


@dataclass
class RegisteredResource:
    """One resource as the engine would hold it after the run."""

    urn: str
    type: str
    name: str
    custom: bool
    id: str = ""
    parent: str = ""
    provider: str = ""            # provider reference, "<provider urn>::<provider id>"
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    options: ResourceOptionsRecord = field(default_factory=ResourceOptionsRecord)
    version: str = ""
    remote: bool = False
    read: bool = False

    @property
    def provider_urn(self) -> str:
        """The URN part of the provider reference ('' when the default provider is used)."""
        return provider_urn(self.provider)

    @property
    def is_provider(self) -> bool:
        return self.type.startswith("pulumi:providers:")


@dataclass(frozen=True)
class LogEntry:
    severity: str          # debug | info | warning | error
    message: str
    urn: str = ""


@dataclass
class ProgramRun:
    """What one run of a program registered, in registration order (the stack first)."""

    project: str
    stack: str
    preview: bool
    resources: list[RegisteredResource]
    outputs: dict[str, Any]
    logs: list[LogEntry]

    def by_urn(self) -> dict[str, RegisteredResource]:
        return {resource.urn: resource for resource in self.resources}

    def of_type(self, type_: str) -> list[RegisteredResource]:
        return [resource for resource in self.resources if resource.type == type_]


def provider_urn(reference: str) -> str:
    """``urn:...::name::id`` -> ``urn:...::name`` (a provider reference ends with ``::<id>``)."""
    return reference.rsplit("::", 1)[0] if reference else ""


def _struct_to_dict(message: Any) -> dict[str, Any]:
    from google.protobuf import json_format

    return json_format.MessageToDict(message) if message is not None else {}


def _options(request: Any) -> ResourceOptionsRecord:
    timeouts = None
    if request.HasField("customTimeouts"):
        ct = request.customTimeouts
        timeouts = tuple(_duration_seconds(value) for value in (ct.create, ct.update, ct.delete))
    aliases = tuple(request.aliasURNs) + tuple(
        alias.urn for alias in request.aliases if alias.WhichOneof("alias") == "urn")
    return ResourceOptionsRecord(
        protect=bool(request.protect),
        ignore_changes=tuple(request.ignoreChanges),
        delete_before_replace=(request.deleteBeforeReplace
                               if request.deleteBeforeReplaceDefined else None),
        additional_secret_outputs=tuple(request.additionalSecretOutputs),
        aliases=aliases,
        custom_timeouts=timeouts)  # type: ignore[arg-type]


def _duration_seconds(text: str) -> float:
    """Go durations as the SDK sends them ("5m", "1h30m", "10s"); 0 when unset."""
    if not text:
        return 0.0
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    total, number = 0.0, ""
    index = 0
    while index < len(text):
        char = text[index]
        if char.isdigit() or char == ".":
            number += char
            index += 1
            continue
        unit = "ms" if text[index:index + 2] == "ms" else char
        total += float(number or 0) * units.get(unit, 0.0)
        number = ""
        index += len(unit)
    return total


def _holds_reference(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get(SIG_KEY) == RESOURCE_REF_SIG or any(
            _holds_reference(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_reference(item) for item in value)
    return False


def _without_references(request: Any, field_name: str, plain: dict[str, Any]) -> Any:
    """``request`` with the resource references in its ``field_name`` Struct downgraded to the
    referenced resource's id (else URN), as the engine marshals properties for a plugin that
    does not keep resources; ``request`` itself when it holds none.

    Pulumi's ``MockMonitor`` deserializes what it is sent on the SDK's worker thread: each
    reference becomes a rehydrated resource whose ``getResource`` RPC is scheduled on that
    thread's own event loop, which nobody pumps once the call returns. The program's run then
    waits for that RPC forever (pulumi-eks's ``NodeGroupV2(cluster=cluster)`` at preview did).
    The mocks never need the resource object: they judge and synthesize from plain values."""
    from google.protobuf import json_format

    from pgiam.program.mocks import without_resource_references

    if not _holds_reference(plain):
        return request
    copy = type(request)()
    copy.CopyFrom(request)
    struct = getattr(copy, field_name)
    struct.Clear()
    json_format.ParseDict(without_resource_references(plain), struct)
    return copy


def _recording_monitor_class() -> type:
    """A ``MockMonitor`` that records each registration's engine-level facts (built lazily so
    importing this module does not import the Pulumi SDK)."""
    from pulumi.runtime.mocks import MockMonitor

    from pgiam.program.mocks import without_resource_references

    class RecordingMonitor(MockMonitor):
        def __init__(self, mocks: Any,
                     on_register: Callable[[RegisteredResource], None] | None) -> None:
            super().__init__(mocks)
            self.on_register = on_register
            self.records: dict[str, RegisteredResource] = {}
            self.order: list[str] = []
            self.registered_outputs: dict[str, dict[str, Any]] = {}
            self._lock = threading.Lock()

        def make_urn(self, parent: str, type_: str, name: str) -> str:
            """URNs as the engine forms them (``resource.NewURN``): the parent's whole qualified
            type is prefixed, except the root stack's; the mock monitor keeps only the last
            type of the chain and always the stack's."""
            from pulumi.runtime.settings import get_project, get_stack

            if parent:
                parent_type = parent.split("::")[2]
                if parent_type != STACK_TYPE:
                    type_ = f"{parent_type}${type_}"
            return f"urn:pulumi:{get_stack()}::{get_project()}::{type_}::{name}"

        def _register_children(self) -> None:
            """Resources a remote component created, which its outputs reference: known to
            ``pulumi:pulumi:getResource`` (the SDK rehydrates references through it), not
            registrations of the program."""
            children = getattr(self.mocks, "children", None)
            if children:
                with self._lock:
                    for urn, (_, resource_id, state) in list(children.items()):
                        self.resources.setdefault(urn, self.ResourceRegistration(urn, resource_id, state))

        def _keep(self, record: RegisteredResource) -> None:
            with self._lock:
                new = record.urn not in self.records
                if new:
                    self.order.append(record.urn)
                self.records[record.urn] = record
            if new and self.on_register is not None:
                self.on_register(record)

        def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
            inputs = _struct_to_dict(request.object)
            response = super().RegisterResource(_without_references(request, "object", inputs))
            self._register_children()
            record = RegisteredResource(
                urn=response.urn, type=request.type, name=request.name,
                custom=bool(request.custom), id=response.id or "", parent=request.parent,
                provider=request.provider, dependencies=tuple(request.dependencies),
                property_dependencies={key: tuple(deps.urns) for key, deps in
                                       request.propertyDependencies.items()},
                inputs=inputs,
                outputs=(without_resource_references(_struct_to_dict(response.object))
                         if request.type != STACK_TYPE else {}),
                options=_options(request), version=request.version,
                remote=bool(request.remote))
            self._keep(record)
            return response

        def ReadResource(self, request: Any) -> Any:  # noqa: N802
            inputs = _struct_to_dict(request.properties)
            response = super().ReadResource(_without_references(request, "properties", inputs))
            self._keep(RegisteredResource(
                urn=response.urn, type=request.type, name=request.name, custom=True,
                id=request.id, parent=request.parent, provider=request.provider,
                dependencies=tuple(request.dependencies),
                inputs=inputs,
                outputs=_struct_to_dict(response.properties), version=request.version,
                read=True))
            return response

        def Invoke(self, request: Any) -> Any:  # noqa: N802
            return super().Invoke(_without_references(request, "args", _struct_to_dict(request.args)))

        def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
            with self._lock:
                self.registered_outputs[request.urn] = _struct_to_dict(request.outputs)
            return super().RegisterResourceOutputs(request)

        def Call(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
            """A method of a resource (``cluster.get_kubeconfig()``, token
            ``eks:index:Cluster/getKubeconfig``): answered as a data source is, from the
            method's result class; pulumi's MockMonitor has no ``Call``."""
            from pulumi.runtime import rpc
            from pulumi.runtime.mocks import MockCallArgs, _ensure_event_loop, _sync_await
            from pulumi.runtime.proto import provider_pb2

            _ensure_event_loop()
            args = {key: value for key, value in _struct_to_dict(request.args).items()
                    if key != "__self__"}
            result, _ = self.mocks.call(MockCallArgs(token=request.tok, args=args,
                                                     provider=request.provider))
            return provider_pb2.CallResponse(
                **{"return": _sync_await(rpc.serialize_properties(result, {}))})

    return RecordingMonitor


class _LogEngine:
    """The engine's ``Log`` endpoint: keeps what the program logs (with the resource URN); the
    SDK's own debug chatter is dropped."""

    SEVERITIES = {0: "debug", 1: "info", 2: "warning", 3: "error"}

    def __init__(self) -> None:
        self.entries: list[LogEntry] = []
        self._lock = threading.Lock()

    def Log(self, request: Any) -> None:  # noqa: N802
        if request.severity == 0:
            return
        with self._lock:
            self.entries.append(LogEntry(self.SEVERITIES.get(request.severity, "info"),
                                         request.message, request.urn))


@contextlib.contextmanager
def _program_environment(project: PulumiProject) -> Iterator[None]:
    """The program directory first on ``sys.path``, the project directory as working directory;
    both restored afterwards, and the program's own modules forgotten so that another program
    (or another run) imports its own."""
    program_dir = project.main if project.main.is_dir() else project.main.parent
    before_modules = set(sys.modules)
    previous_cwd = os.getcwd()
    sys.path.insert(0, str(program_dir))
    os.chdir(project.directory)
    try:
        yield
    finally:
        os.chdir(previous_cwd)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(program_dir))
        prefix = str(project.directory) + os.sep
        for name in set(sys.modules) - before_modules:
            module_file = getattr(sys.modules.get(name), "__file__", None) or ""
            if module_file.startswith(prefix):
                del sys.modules[name]


@contextlib.contextmanager
def _quiet_event_loop() -> Iterator[None]:
    """A failed program leaves the SDK's pending tasks and coroutines behind; asyncio would
    report each of them on stderr (``Task exception was never retrieved``, ``coroutine ... was
    never awaited``) after the program's own error. They are collected here, silently."""
    asyncio_logger = logging.getLogger("asyncio")
    previous = asyncio_logger.level
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="coroutine .* was never awaited",
                                category=RuntimeWarning)
        asyncio_logger.setLevel(logging.CRITICAL)
        try:
            yield
        except BaseException:
            gc.collect()
            raise
        finally:
            asyncio_logger.setLevel(previous)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while the program runs. Importing the providers'
    SDKs allocates millions of long-lived objects, and the collector's repeated passes over
    them cost about a fifth of a run (benchmarks/preview.py: 2.25 s -> 1.86 s median for
    infra/); the peak memory is the same (124 MB), the run creating few cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _program_frame(error: BaseException, project: PulumiProject) -> str:
    """``file:line`` of the innermost frame of ``error`` inside the project, if any."""
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        path = Path(frame.filename)
        if path.is_absolute() and path.resolve().is_relative_to(project.directory):
            return f"{path.relative_to(project.directory)}:{frame.lineno}"
    return ""


def describe_program_error(error: BaseException, project: PulumiProject) -> str:
    """The one-line message a user gets for a program that raised ``error``."""
    import pulumi

    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for item in chain:
        if isinstance(item, PgiamError):
            return _one_line(str(item))
    if isinstance(error, pulumi.RunError):
        return _one_line(str(error))
    where = _program_frame(error, project)
    text = _one_line(str(error)) or type(error).__name__
    return f"{type(error).__name__}: {text}" + (f" (at {where})" if where else "")


def _one_line(text: str) -> str:
    """A message the SDK spreads over several lines (its type checks do) on one line."""
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())


def run_program(project: PulumiProject, config: StackConfig, mocks: Any, *, preview: bool,
                organization: str = "organization",
                on_register: Callable[[RegisteredResource], None] | None = None) -> ProgramRun:
    """Run ``project``'s program under ``mocks``; :class:`ProgramError` if it fails.

    ``on_register`` is called with each resource as it is registered (from the SDK's worker
    threads, inputs known, outputs as the mocks returned them), as the engine hands each
    registration to analyzers while the program still runs. What the program prints goes to
    the run's log as ``info`` entries, as the language host turns it into diagnostics."""
    import pulumi
    from pulumi.runtime import settings as runtime_settings
    from pulumi.runtime.mocks import set_mocks
    from pulumi.runtime.stack import run_in_stack
    from pulumi.runtime.sync_await import _sync_await

    from pgiam.program.lazy_imports import make_lazy_modules_thread_safe

    make_lazy_modules_thread_safe()
    monitor = _recording_monitor_class()(mocks, on_register)
    engine = _LogEngine()
    runtime_settings.reset_options(project=project.name, stack=config.stack,
                                   root_directory=str(project.directory), preview=preview,
                                   organization=organization)
    # A logger of this run only, outside logging's registry (a registered one would live forever
    # and slow every later logging.getLogger user, pytest's log capture included).
    logger = logging.Logger("pgiam.program")
    # set_mocks registers a root stack of its own unless one is set: the language host's is
    # made around the program (run_in_stack), and it is the one whose outputs are the stack's.
    runtime_settings.ROOT.set(_NOT_YET)
    set_mocks(mocks, project=project.name, stack=config.stack, preview=preview, logger=logger,
              monitor=monitor, organization=organization)
    runtime_settings.SETTINGS.engine = engine
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_all_config(dict(config.values), sorted(config.secret_keys))

    entry = project.main
    printed = io.StringIO()
    with _program_environment(project), contextlib.redirect_stdout(printed), \
            _quiet_event_loop(), _collector_paused():
        try:
            _sync_await(run_in_stack(lambda: runpy.run_path(str(entry), run_name="__main__")))
        except SystemExit as error:
            if error.code not in (None, 0):
                raise ProgramError(f"the program exited with status {error.code}") from None
        except Exception as error:  # noqa: BLE001 - reported as the program's error
            raise ProgramError(describe_program_error(error, project)) from None
    engine.entries.extend(LogEntry("info", line) for line in printed.getvalue().splitlines()
                          if line.strip())
    errors = [entry.message for entry in engine.entries if entry.severity == "error"]
    if errors:
        raise ProgramError(f"the program logged an error: {errors[0]}")

    resources = [monitor.records[urn] for urn in monitor.order]
    for resource in resources:
        registered = monitor.registered_outputs.get(resource.urn)
        if registered is not None and not resource.custom:
            resource.outputs = registered
    stack = next((r for r in resources if r.type == STACK_TYPE), None)
    if stack is not None:
        resources.remove(stack)
        resources.insert(0, stack)
    outputs = dict(stack.outputs) if stack is not None else {}
    return ProgramRun(project=project.name, stack=config.stack, preview=preview,
                      resources=resources, outputs=outputs, logs=list(engine.entries))
