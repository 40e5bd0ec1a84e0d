"""The step runner shared by both targets.

A target gives the steps of phases 1-6 (stack and config, deploy, rollout, checks in the pod,
negative checks, AWS-only checks) and the teardown steps of phase 7. The runner runs them in
order, each one timed and recorded (:class:`~pgiam.e2e.report.StepRecord`), skips a step when a
step it needs did not pass, and then ALWAYS runs the teardown steps, whatever happened before: a
failed step, an unexpected exception, SIGINT, SIGTERM or SIGHUP (:mod:`pgiam.e2e.signals`). Only
``--keep`` skips teardown, and says so in the report. The JSON report is rewritten after each
step; the JUnit XML at the end.
"""

from __future__ import annotations

import signal
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pgiam.e2e.report import Progress, RunReport, StepRecord, now_iso, write_json, write_junit
from pgiam.e2e.signals import RunInterrupted, SignalGuard
from pgiam.errors import PgiamError

EXIT_OK = 0
EXIT_FAILED = 1


class StepFailed(Exception):
    """A check did not hold; ``message`` is what the report shows as the reason."""

    def __init__(self, message: str, *, logs: Sequence[str] = (),
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.logs = list(logs)
        self.details = dict(details or {})


StepAction = Callable[[StepRecord], "str | None"]


@dataclass(frozen=True)
class Step:
    phase: int
    name: str
    title: str
    action: StepAction
    # Steps that must have passed for this one to run; otherwise it is skipped, naming them.
    requires: tuple[str, ...] = ()


class Target(Protocol):
    """What a target gives the runner."""

    name: str

    def steps(self) -> list[Step]: ...

    def teardown_steps(self) -> list[Step]: ...

    def interrupt(self, signum: int) -> None:
        """Called from the signal handler: set flags only (stop starting new work)."""

    def public_outputs(self) -> dict[str, Any]:
        """The stack outputs that may be shown (no secrets)."""


@dataclass
class RunFiles:
    report: Path | None = None
    junit: Path | None = None

    def paths(self) -> list[Path]:
        return [path for path in (self.report, self.junit) if path is not None]


class Runner:
    def __init__(self, target: Target, report: RunReport, progress: Progress, files: RunFiles,
                 *, keep: bool = False) -> None:
        self.target = target
        self.report = report
        self.progress = progress
        self.files = files
        self.keep = keep
        self.guard: SignalGuard | None = None

    # -- one step -----------------------------------------------------------------------

    def _save(self) -> None:
        self.report.outputs = self.target.public_outputs()
        if self.files.report is not None:
            write_json(self.report, self.files.report)

    def _blockers(self, step: Step) -> list[str]:
        blockers = []
        for name in step.requires:
            record = self.report.step(name)
            if record is None or record.outcome != "passed":
                blockers.append(f"{name} ({record.outcome if record else 'not run'})")
        return blockers

    def run_step(self, step: Step) -> StepRecord:
        """Run one step and record it. Everything after the record exists is inside the
        ``try``, so a signal arriving at any point leaves the step ``interrupted``, never
        ``running``."""
        record = self.report.add(StepRecord(step.phase, step.name, step.title))
        started = time.monotonic()
        try:
            blockers = self._blockers(step)
            if blockers:
                record.outcome = "skipped"
                record.message = "needs " + ", ".join(blockers)
                return record
            record.outcome = "running"
            record.started_at = now_iso()
            self.progress.step_started(record)
            self._save()
            message = step.action(record)
            record.outcome = "passed"
            record.message = message or ""
        except StepFailed as failure:
            record.outcome = "failed"
            record.message = failure.message
            for line in failure.logs:
                record.log(line)
            record.details.update(failure.details)
            self._interrupted_anyway(record)
        except PgiamError as error:
            record.outcome = "failed"
            record.message = str(error)
            self._interrupted_anyway(record)
        except RunInterrupted as interrupted:
            record.outcome = "interrupted"
            record.message = f"interrupted by {interrupted.name}"
            raise
        except Exception as error:  # noqa: BLE001 - a harness error is reported, not raised
            record.outcome = "error"
            record.message = f"{type(error).__name__}: {error}"
            record.log(traceback.format_exc())
            self._interrupted_anyway(record)
        finally:
            if record.started_at is not None:
                record.duration_s = round(time.monotonic() - started, 3)
            self.progress.step_finished(record)
            self._save()
        return record

    def _interrupted_anyway(self, record: StepRecord) -> None:
        """A step that failed after a signal arrived failed because of it (some library caught
        the interruption and turned it into an error of its own): it was interrupted."""
        if self.guard is not None and self.guard.received and not self.guard.tearing_down:
            signum = self.guard.received[0]
            record.log(f"failed after {signal.Signals(signum).name}: {record.message}")
            record.outcome = "interrupted"
            record.message = f"interrupted by {signal.Signals(signum).name}"
            raise RunInterrupted(signum)

    def _skip_all(self, steps: Sequence[Step], message: str) -> None:
        for step in steps:
            record = self.report.add(StepRecord(step.phase, step.name, step.title,
                                                outcome="skipped", message=message))
            self.progress.step_finished(record)

    # -- the run ------------------------------------------------------------------------

    def execute(self) -> int:
        started = time.monotonic()
        self.progress.run_started(self.report)
        guard = SignalGuard(on_interrupt=self.target.interrupt, announce=self.progress.note)
        self.guard = guard
        with guard:
            steps: list[Step] = []
            try:
                steps = self.target.steps()
                for step in steps:
                    self.run_step(step)
                # Still inside the try: a signal from here on is either caught below or, once
                # teardown mode is on, only recorded; it can never skip the teardown.
                guard.teardown_mode()
            except RunInterrupted:
                done = {record.name for record in self.report.steps}
                self._skip_all([s for s in steps if s.name not in done],
                               f"not run: {guard.first_signal} received")
            finally:
                guard.teardown_mode()
                self.report.signal = guard.first_signal
                teardown = self.target.teardown_steps()
                if self.keep:
                    self.report.kept = True
                    self._skip_all(teardown, "kept (--keep)")
                else:
                    for step in teardown:
                        self.run_step(step)
                self.report.finish(time.monotonic() - started)
                self._save()
                if self.files.junit is not None:
                    write_junit(self.report, self.files.junit)
                self.progress.summary(self.report, self.files.paths())
        return exit_code(self.report, guard.received[0] if guard.received else None)


def exit_code(report: RunReport, signum: int | None) -> int:
    """0 when every step passed; 128+N after signal N (shell convention); else 1."""
    if signum is not None:
        return 128 + signum
    return EXIT_OK if report.outcome == "passed" else EXIT_FAILED
