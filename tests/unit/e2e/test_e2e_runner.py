"""The step runner: teardown always runs (failure, harness error, signal), skips name what they
need, --keep keeps, exit codes."""

from __future__ import annotations

import io
import os
import signal
from typing import Any

import pytest

from pgiam.e2e.report import Progress, RunReport, StepRecord
from pgiam.e2e.run import RunFiles, Runner, Step, StepFailed
from pgiam.e2e.signals import RunInterrupted, SignalGuard


class FakeTarget:
    name = "fake"

    def __init__(self, behaviours: dict[str, Any]) -> None:
        self.behaviours = behaviours
        self.calls: list[str] = []
        self.interrupted: list[int] = []

    def _action(self, name: str):
        def act(record: StepRecord) -> str:
            self.calls.append(name)
            behaviour = self.behaviours.get(name, "ok")
            if behaviour == "fail":
                raise StepFailed(f"{name} did not hold", logs=["detail"])
            if behaviour == "crash":
                raise ValueError("harness bug")
            if behaviour == "signal":
                os.kill(os.getpid(), signal.SIGTERM)
            return f"{name} ok"
        return act

    def steps(self) -> list[Step]:
        return [Step(1, "stack", "s", self._action("stack")),
                Step(2, "deploy", "d", self._action("deploy"), ("stack",)),
                Step(4, "check", "c", self._action("check"), ("deploy",)),
                Step(5, "negative", "n", self._action("negative"), ("deploy",))]

    def teardown_steps(self) -> list[Step]:
        return [Step(7, "destroy", "x", self._action("destroy"))]

    def interrupt(self, signum: int) -> None:
        self.interrupted.append(signum)

    def public_outputs(self) -> dict[str, Any]:
        return {}


def run(target: FakeTarget, tmp_path, keep: bool = False) -> tuple[int, RunReport, str]:
    report = RunReport(target="fake", stack="e2e-x", program="p")
    out = io.StringIO()
    files = RunFiles(tmp_path / "r.json", tmp_path / "r.xml")
    code = Runner(target, report, Progress(out), files, keep=keep).execute()
    return code, report, out.getvalue()


def outcomes(report: RunReport) -> dict[str, str]:
    return {step.name: step.outcome for step in report.steps}


def test_a_passing_run_exits_0_and_tears_down(tmp_path):
    target = FakeTarget({})
    code, report, out = run(target, tmp_path)
    assert code == 0 and report.outcome == "passed"
    assert target.calls[-1] == "destroy"
    assert "==> [2] deploy" in out and "<== [2] deploy: passed" in out
    assert (tmp_path / "r.json").is_file() and (tmp_path / "r.xml").is_file()


def test_a_failed_deploy_skips_what_needs_it_and_still_tears_down(tmp_path):
    target = FakeTarget({"deploy": "fail"})
    code, report, out = run(target, tmp_path)
    assert code == 1
    assert outcomes(report) == {"stack": "passed", "deploy": "failed", "check": "skipped",
                                "negative": "skipped", "destroy": "passed"}
    assert report.step("check").message == "needs deploy (failed)"
    assert report.failed_step == "2.deploy" and report.reason == "deploy did not hold"
    assert "result: FAILED at step 2.deploy" in out


def test_a_failed_check_does_not_stop_the_independent_ones(tmp_path):
    code, report, _ = run(FakeTarget({"check": "fail"}), tmp_path)
    assert outcomes(report)["negative"] == "passed" and code == 1


def test_a_harness_error_is_reported_with_its_traceback(tmp_path):
    _, report, _ = run(FakeTarget({"deploy": "crash"}), tmp_path)
    step = report.step("deploy")
    assert step.outcome == "error" and step.message == "ValueError: harness bug"
    assert any("Traceback" in line for line in step.logs)
    assert outcomes(report)["destroy"] == "passed"


def test_sigterm_during_a_step_interrupts_then_tears_down(tmp_path):
    target = FakeTarget({"deploy": "signal"})
    code, report, out = run(target, tmp_path)
    assert code == 128 + signal.SIGTERM
    assert target.interrupted == [signal.SIGTERM]
    assert outcomes(report) == {"stack": "passed", "deploy": "interrupted", "check": "skipped",
                                "negative": "skipped", "destroy": "passed"}
    assert report.outcome == "interrupted" and report.signal == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is not None  # handlers restored


def test_keep_skips_teardown_and_says_so(tmp_path):
    target = FakeTarget({})
    code, report, out = run(target, tmp_path, keep=True)
    assert "destroy" not in target.calls
    assert report.step("destroy").outcome == "skipped" and report.kept
    assert code == 0 and "--sweep" in out


def test_signals_during_teardown_do_not_interrupt_it():
    with SignalGuard() as guard:
        guard.teardown_mode()
        os.kill(os.getpid(), signal.SIGINT)
    assert guard.first_signal == "SIGINT"


def test_the_first_signal_raises_only_once():
    with SignalGuard() as guard:
        with pytest.raises(RunInterrupted):
            os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
    assert guard.received == [signal.SIGTERM, signal.SIGTERM]


def test_a_step_that_fails_after_a_signal_counts_as_interrupted(tmp_path):
    """Libraries may catch the interruption and fail in their own way (the Pulumi runtime turns
    it into a program error); the step was still interrupted, and teardown still runs."""
    target = FakeTarget({})

    def swallowing(record):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except RunInterrupted:
            pass
        raise StepFailed("the program failed: deploy cancelled")
    steps = target.steps()
    target.steps = lambda: [steps[0], Step(2, "deploy", "d", swallowing, ("stack",)), *steps[2:]]
    code, report, _ = run(target, tmp_path)
    assert code == 128 + signal.SIGTERM
    assert outcomes(report)["deploy"] == "interrupted"
    assert any("deploy cancelled" in line for line in report.step("deploy").logs)
    assert outcomes(report)["destroy"] == "passed"


def test_a_teardown_step_failing_after_a_signal_does_not_stop_teardown(tmp_path):
    target = FakeTarget({"deploy": "signal"})
    teardown = target.teardown_steps()
    failing = Step(7, "first", "f", lambda record: (_ for _ in ()).throw(StepFailed("boom")))
    target.teardown_steps = lambda: [failing, *teardown]
    _, report, _ = run(target, tmp_path)
    assert outcomes(report)["first"] == "failed" and outcomes(report)["destroy"] == "passed"
