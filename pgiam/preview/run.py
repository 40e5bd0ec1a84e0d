"""``pgiam preview``, start to finish.

1. Read the project (``Pulumi.yaml``, ``Pulumi.<stack>.yaml``, overrides) and the pack
   (``PulumiPolicy.yaml``); any problem is a :class:`~pgiam.errors.PgiamError` (exit 2).
2. Serve the Engine (``Log``) and start the pack as its own process, as the CLI does.
3. Run the program under :class:`~pgiam.preview.offline_mocks.OfflineMocks` while a worker
   thread, once the pack listens, configures it and sends ``Analyze`` for each resource as it
   is registered (as the engine does during a deployment; the pack works on the other core
   meanwhile).
4. ``AnalyzeStack`` with every resource's final outputs, then stop the pack and the engine
   service (always, also on failure).
"""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgiam.errors import PgiamError
from pgiam.preview.report import PreviewReport

_DONE = object()


@dataclass(frozen=True)
class PreviewOptions:
    program: str | Path
    policy_pack: str | Path
    stack: str = "dev"
    config: list[str] = field(default_factory=list)
    mode: str = "preview"
    policy_config: str | Path | None = None
    organization: str = "organization"
    # seconds the program may run under the mocks before the preview gives up on it
    timeout: float = 120.0
    # another stack's outputs a pulumi.StackReference reads: "org/project/stack:KEY=VALUE"
    stack_outputs: list[str] = field(default_factory=list)


class ProgramTimeout(PgiamError):
    """The program did not finish under the mock runtime in time (it waits for an answer the
    offline preview never gives: a gap of pgiam's, named by the last resource registered)."""


@contextlib.contextmanager
def _deadline(seconds: float, describe: Callable[[], str]) -> Iterator[None]:
    """Raise :class:`ProgramTimeout` in this (main) thread after ``seconds``: a program stuck on
    an await that nothing answers must end the run with a clear error, never hang it. Outside
    the main thread (a caller's worker) no alarm can be set, and none is."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: Any) -> None:
        raise ProgramTimeout(f"the program did not finish within {seconds:g} s under the mock "
                             f"runtime ({describe()}); it waits for something the offline "
                             "preview never answers: a gap of pgiam's (raise --timeout if the "
                             "program is only slow)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _AnalyzeWorker(threading.Thread):
    """Configures the pack once it listens, then analyses registrations as they arrive."""

    def __init__(self, running: Any, session: Any, builder: Any) -> None:
        super().__init__(name="pgiam-analyze", daemon=True)
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.error: BaseException | None = None
        self._running = running
        self._session = session
        self._builder = builder

    def run(self) -> None:
        from pgiam.preview.pack_host import wait_for_port

        try:
            wait_for_port(self._running)
            self._session.start()
            while (item := self.inbox.get()) is not _DONE:
                for engine_resource in self._builder.add(item):
                    self._session.analyze(engine_resource)
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            self.error = error
            while self.inbox.get() is not _DONE:
                pass

    def finish(self) -> None:
        self.inbox.put(_DONE)
        self.join()
        if self.error is not None:
            raise self.error


def preview(options: PreviewOptions) -> PreviewReport:
    """Run the whole preview and return its report; :class:`PgiamError` when the program or the
    pack cannot run."""
    from pgiam.program.config_reads import required_secrets
    from pgiam.program.loader import load_project, load_stack_config, parse_config_overrides
    from pgiam.preview.pack_host import EngineLogServer, load_pack, pack_environment, start_pack
    from pgiam.preview.policy_config import read_policy_config

    if options.mode not in ("preview", "up"):
        raise PgiamError(f"--mode must be preview or up, not {options.mode!r}")
    project = load_project(options.program)
    pack = load_pack(options.policy_pack)
    # A preview reads no secret value: a required secret nobody set (``secret: true`` in
    # Pulumi.yaml, ``require_secret`` in the code) gets a placeholder, named in the report.
    config = load_stack_config(project, options.stack, parse_config_overrides(options.config),
                               unset_secrets=required_secrets(project))
    policy_config = read_policy_config(options.policy_config)
    dry_run = options.mode == "preview"

    engine = EngineLogServer()
    running = None
    try:
        running = start_pack(pack, engine.address, pack_environment(
            project.name, config.stack, dry_run=dry_run, organization=options.organization,
            config_env=config.environment()))
        report = _analyse(project, config, running, policy_config, options, dry_run)
        report.warnings.extend(f"policy pack {entry.severity}: {entry.message}"
                               for entry in engine.entries
                               if entry.severity in ("warning", "error"))
        return report
    finally:
        if running is not None:
            running.stop()
        engine.stop()


def _analyse(project: Any, config: Any, running: Any, policy_config: dict[str, Any],
             options: PreviewOptions, dry_run: bool) -> PreviewReport:
    from pgiam.preview.analysis import AnalysisSession
    from pgiam.preview.engine_view import EngineViewBuilder, engine_view
    from pgiam.preview.offline_mocks import OfflineMocks, cloud_context, parse_stack_outputs
    from pgiam.program.runner import ProgramError, run_program

    session = AnalysisSession(running, project=project.name, stack=config.stack,
                              organization=options.organization, dry_run=dry_run,
                              config=config.values, secret_keys=config.secret_keys,
                              policy_config=policy_config)
    worker = _AnalyzeWorker(running, session, EngineViewBuilder(project.name, config.stack,
                                                                config.values))
    worker.start()
    mocks = OfflineMocks(cloud_context(config.values), computed=not dry_run, resource_references=True,
                         stack_outputs=parse_stack_outputs(options.stack_outputs))
    registered: list[str] = []

    def on_register(resource: Any) -> None:
        registered.append(f"{resource.type} {resource.name!r}")
        worker.inbox.put(resource)

    def last_registered() -> str:
        return f"last resource registered: {registered[-1]}" if registered else \
            "no resource registered"

    try:
        with _deadline(options.timeout, last_registered):
            run = run_program(project, config, mocks, preview=dry_run,
                              organization=options.organization, on_register=on_register)
    except ProgramError as error:
        worker.inbox.put(_DONE)
        raise PgiamError(f"the program {project.directory} failed: {error}") from None
    worker.finish()
    view = engine_view(run, config.values)
    result = session.analyze_stack(view.resources)
    warnings = [entry.message for entry in run.logs if entry.severity == "warning"]
    warnings.extend(f"{key} is a secure value that cannot be decrypted offline: previewed with a "
                    f"placeholder (pass --config {key}=VALUE, or set PULUMI_CONFIG_PASSPHRASE)"
                    for key in config.placeholders)
    warnings.extend(f"{key} is a required secret that is not set: previewed with a placeholder "
                    f"secret (a preview reads no secret value; pass --config {key}=VALUE to use one)"
                    for key in config.placeholder_secrets)
    warnings.extend(f"pulumi.StackReference({stack!r}): its outputs cannot be read offline, so "
                    f"they are unknown and what depends on them is deferred (pass "
                    f"--stack-output {stack}:KEY=VALUE to preview with values)"
                    for stack in mocks.unknown_stack_references)
    return PreviewReport(project=project.name, stack=config.stack, mode=options.mode,
                         pack=result.pack, resources=len(view), violations=result.violations,
                         deferred=result.deferred, warnings=warnings)
