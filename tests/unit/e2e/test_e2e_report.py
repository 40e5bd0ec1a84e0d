"""The report: outcome from the steps, JSON and JUnit XML files."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

from pgiam.e2e.report import (
    Progress,
    RunReport,
    StepRecord,
    junit_path_for,
    write_json,
    write_junit,
)


def _report(*outcomes: str) -> RunReport:
    report = RunReport(target="local", stack="e2e-20261129t011800-abcdef", program="infra")
    for index, outcome in enumerate(outcomes):
        report.add(StepRecord(index + 1, f"step{index}", "title", outcome=outcome,
                              message=f"message {index}", duration_s=0.5))
    return report


def test_the_first_step_that_did_not_pass_decides_the_outcome():
    report = _report("passed", "skipped", "failed", "error")
    report.finish(3.0)
    assert report.outcome == "failed"
    assert report.failed_step == "3.step2"
    assert report.reason == "message 2"


def test_a_run_with_every_step_passed_passes():
    report = _report("passed", "passed")
    report.finish(1.0)
    assert (report.outcome, report.failed_step) == ("passed", None)


def test_a_signal_makes_the_run_interrupted_even_if_teardown_passed():
    report = _report("passed", "interrupted", "passed")
    report.signal = "SIGTERM"
    report.finish(1.0)
    assert report.outcome == "interrupted"
    assert report.failed_step == "2.step1"


def test_log_keeps_the_last_lines_and_says_how_many_were_dropped():
    step = StepRecord(1, "deploy", "t")
    step.log("\n".join(f"line {i}" for i in range(1000)))
    assert step.logs[-1] == "line 999"
    assert step.logs[0].startswith("... 600 earlier lines dropped")


def test_json_and_junit_files_hold_every_step(tmp_path):
    report = _report("passed", "failed", "skipped", "error")
    report.steps[1].log("why it failed")
    report.finish(2.0)
    json_path = tmp_path / "out" / "e2e.json"
    write_json(report, json_path)
    write_junit(report, junit_path_for(json_path))
    data = json.loads(json_path.read_text())
    assert [step["outcome"] for step in data["steps"]] == ["passed", "failed", "skipped", "error"]
    suite = ET.parse(tmp_path / "out" / "e2e.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("4", "1", "1", "1")
    failure = suite.findall("testcase")[1].find("failure")
    assert failure is not None and failure.get("message") == "message 1"
    assert "why it failed" in (failure.text or "")


def test_quiet_progress_still_prints_the_verdict_and_the_report_paths(tmp_path):
    report = _report("passed", "failed")
    report.finish(2.0)
    stream = io.StringIO()
    progress = Progress(stream, quiet=True)
    progress.run_started(report)
    progress.step_started(report.steps[0])
    progress.step_finished(report.steps[0])
    progress.summary(report, [tmp_path / "e2e.json", tmp_path / "e2e.xml"])
    assert stream.getvalue().splitlines() == [
        "result: FAILED at step 2.step1: message 1",
        f"report: {tmp_path / 'e2e.json'}",
        f"report: {tmp_path / 'e2e.xml'}",
    ]


def test_loud_progress_prints_the_step_table_before_the_verdict(tmp_path):
    report = _report("passed")
    report.finish(1.0)
    stream = io.StringIO()
    Progress(stream).summary(report, [tmp_path / "e2e.json"])
    lines = stream.getvalue().splitlines()
    assert any("step0" in line for line in lines)
    assert lines[-2:] == ["result: PASSED", f"report: {tmp_path / 'e2e.json'}"]
