"""The run's report: each step with its phase, duration, outcome, message and logs; written as
JSON and as JUnit XML (what CI systems show), and printed on the terminal while the run goes.

Outcomes: ``passed``; ``failed`` (a check did not hold: the step's message says why); ``error``
(the harness itself could not do the step); ``skipped`` (a step it needs did not pass, or
``--keep``); ``interrupted`` (SIGINT/SIGTERM arrived during it). The run's outcome is ``passed``
only when every step passed or was deliberately skipped by ``--keep``.

The JSON report is rewritten after every step, so a run that is killed outright still leaves the
steps it finished behind (``outcome: running``).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

OUTCOMES = ("pending", "running", "passed", "failed", "error", "skipped", "interrupted")
# Passed or skipped on purpose: not a reason for a non-zero exit.
GOOD_OUTCOMES = frozenset({"passed"})
MAX_LOG_LINES = 400


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class StepRecord:
    """One step of the run as reported."""

    phase: int
    name: str
    title: str
    outcome: str = "pending"
    started_at: str | None = None
    duration_s: float = 0.0
    message: str = ""
    logs: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def log(self, line: str) -> None:
        """Append log lines (a multi-line text becomes several), keeping the last
        :data:`MAX_LOG_LINES`."""
        self.logs.extend(str(line).rstrip("\n").splitlines() or [""])
        if len(self.logs) > MAX_LOG_LINES:
            dropped = len(self.logs) - MAX_LOG_LINES
            self.logs[:] = [f"... {dropped} earlier lines dropped"] + self.logs[-MAX_LOG_LINES:]

    @property
    def label(self) -> str:
        return f"{self.phase}.{self.name}"


@dataclass
class RunReport:
    target: str
    stack: str
    program: str
    started_at: str = field(default_factory=now_iso)
    finished_at: str | None = None
    duration_s: float = 0.0
    outcome: str = "running"
    failed_step: str | None = None
    reason: str | None = None
    kept: bool = False
    signal: str | None = None
    steps: list[StepRecord] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=lambda: {
        "python": platform.python_version(), "platform": platform.platform(),
        "pid": str(os.getpid())})

    def add(self, record: StepRecord) -> StepRecord:
        self.steps.append(record)
        return record

    def step(self, name: str) -> StepRecord | None:
        return next((step for step in self.steps if step.name == name), None)

    def finish(self, duration_s: float) -> None:
        """Set the run's outcome from its steps: the first step that did not pass decides."""
        self.finished_at = now_iso()
        self.duration_s = round(duration_s, 3)
        first_bad = next((step for step in self.steps
                          if step.outcome in ("failed", "error", "interrupted")), None)
        if self.signal is not None:
            self.outcome = "interrupted"
        elif first_bad is not None:
            self.outcome = "failed"
        else:
            self.outcome = "passed"
        if first_bad is not None:
            self.failed_step = first_bad.label
            self.reason = first_bad.message

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------

def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def junit_path_for(report_path: Path) -> Path:
    """``reports/e2e.json`` -> ``reports/e2e.xml``."""
    return report_path.with_suffix(".xml")


def write_json(report: RunReport, path: Path) -> None:
    _atomic_write(path, json.dumps(report.as_json(), indent=2, sort_keys=False) + "\n")


def junit_xml(report: RunReport) -> str:
    """JUnit XML: one ``testsuite`` for the run, one ``testcase`` per step."""
    counts = {outcome: sum(1 for step in report.steps if step.outcome == outcome)
              for outcome in OUTCOMES}
    suite = ET.Element("testsuite", {
        "name": f"pgiam e2e {report.target} {report.stack}",
        "tests": str(len(report.steps)),
        "failures": str(counts["failed"]),
        "errors": str(counts["error"] + counts["interrupted"]),
        "skipped": str(counts["skipped"] + counts["pending"]),
        "time": f"{report.duration_s:.3f}",
        "timestamp": report.started_at,
    })
    properties = ET.SubElement(suite, "properties")
    for key in ("target", "stack", "program", "outcome"):
        ET.SubElement(properties, "property", {"name": key, "value": str(getattr(report, key))})
    for step in report.steps:
        case = ET.SubElement(suite, "testcase", {
            "classname": f"pgiam.e2e.{report.target}",
            "name": f"{step.phase}. {step.name}: {step.title}",
            "time": f"{step.duration_s:.3f}",
        })
        if step.outcome == "failed":
            ET.SubElement(case, "failure", {"message": step.message, "type": "failed"}).text = \
                "\n".join(step.logs)
        elif step.outcome in ("error", "interrupted"):
            ET.SubElement(case, "error", {"message": step.message,
                                          "type": step.outcome}).text = "\n".join(step.logs)
        elif step.outcome in ("skipped", "pending"):
            ET.SubElement(case, "skipped", {"message": step.message or step.outcome})
        if step.logs and step.outcome == "passed":
            ET.SubElement(case, "system-out").text = "\n".join(step.logs)
    root = ET.Element("testsuites", {"name": "pgiam e2e", "tests": suite.get("tests", "0"),
                                     "failures": suite.get("failures", "0"),
                                     "errors": suite.get("errors", "0"),
                                     "time": suite.get("time", "0")})
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(report: RunReport, path: Path) -> None:
    _atomic_write(path, junit_xml(report))


# ------------------------------------------------------------------------------------------
# Terminal
# ------------------------------------------------------------------------------------------

_MARKS = {"passed": "ok", "failed": "FAILED", "error": "ERROR", "skipped": "skipped",
          "interrupted": "INTERRUPTED", "pending": "not run", "running": "..."}


class Progress:
    """Progress lines while the run goes, and the summary at the end. One line when a step
    starts (``==>``) and one when it ends (``<==``), so a watcher (or a test) can follow it."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.quiet = quiet

    def _print(self, text: str) -> None:
        if self.quiet:
            return
        print(text, file=self.stream, flush=True)

    def run_started(self, report: RunReport) -> None:
        self._print(f"pgiam e2e: target {report.target}, stack {report.stack}, "
                    f"program {report.program}")

    def step_started(self, step: StepRecord) -> None:
        self._print(f"==> [{step.phase}] {step.name}: {step.title}")

    def step_finished(self, step: StepRecord) -> None:
        tail = f": {step.message}" if step.message else ""
        self._print(f"<== [{step.phase}] {step.name}: {step.outcome} ({step.duration_s:.1f}s)"
                    f"{tail}")
        if step.outcome in ("failed", "error") and step.logs:
            for line in step.logs[-15:]:
                self._print(f"      | {line}")

    def note(self, text: str) -> None:
        self._print(f"    {text}")

    def summary(self, report: RunReport, paths: list[Path]) -> None:
        width = max((len(step.name) for step in report.steps), default=10)
        lines = ["", f"pgiam e2e report: {report.target} stack {report.stack} "
                     f"({report.duration_s:.1f}s)"]
        for step in report.steps:
            lines.append(f"  {step.phase}  {step.name.ljust(width)}  "
                         f"{_MARKS.get(step.outcome, step.outcome):<11} {step.duration_s:6.1f}s  "
                         f"{step.message}")
        verdict = report.outcome.upper()
        if report.failed_step:
            verdict += f" at step {report.failed_step}: {report.reason}"
        if report.signal:
            verdict += f" (received {report.signal})"
        outcome = [f"result: {verdict}"]
        if report.kept:
            outcome.append(f"kept: the stack {report.stack} was not torn down (--keep); remove "
                           "it with `pgiam e2e --sweep --older-than 0`")
        outcome.extend(f"report: {path}" for path in paths)
        if self.quiet:
            # --quiet drops the progress and the step table, never the verdict and where the
            # report went: a quiet run must still say whether it passed
            print("\n".join(outcome), file=self.stream, flush=True)
            return
        self._print("\n".join(lines + outcome))
