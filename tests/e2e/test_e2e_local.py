"""The local target end to end: ``infra/``, and correct programs of other shapes, pass every step;
miswired copies fail at the step that must catch them, the report saying why, and still tear
down completely. Each program is an overlay of ``programs/`` (README there)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from e2e_harness import INFRA, OVERLAYS, E2eRun, assert_no_secrets, byop_programs

pytestmark = pytest.mark.timeout(400)

TEARDOWN = ("destroy", "localcloud-down", "verify-clean")
STEPS = ["stack", "deploy", "rollout", "pod-check", "http-api", "other-service-account",
         "password-login", "expired-token", "other-db-user", *TEARDOWN]


def assert_torn_down(run: E2eRun) -> None:
    for name in TEARDOWN:
        assert run.step(name)["outcome"] == "passed", run.explain()
    leftovers = list(run.work_dir.iterdir()) if run.work_dir.exists() else []
    assert leftovers == [], run.explain()


def assert_junit_matches(run: E2eRun) -> None:
    """The JUnit XML parses and says what the JSON report says, step by step: one test case per
    step with its duration, a failure (message and logs) for a failed step, an error for one
    the harness could not do or that was interrupted, a skip for a skipped one, the logs of a
    passed one as its system-out."""
    root = ET.parse(run.junit_path).getroot()
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    steps = run.report["steps"]
    assert len(cases) == len(steps) == int(suite.get("tests"))
    assert int(suite.get("failures")) == sum(s["outcome"] == "failed" for s in steps)
    for step, case in zip(steps, cases):
        assert case.get("name").startswith(f"{step['phase']}. {step['name']}: "), case.get("name")
        assert float(case.get("time")) == pytest.approx(step["duration_s"], abs=0.002)
        kind = {"failed": "failure", "error": "error", "interrupted": "error",
                "skipped": "skipped"}.get(step["outcome"])
        for other in ("failure", "error", "skipped"):
            assert (case.find(other) is not None) == (other == kind), (step, other)
        if kind in ("failure", "error"):
            assert case.find(kind).get("message") == step["message"]
            assert (case.find(kind).text or "") == "\n".join(step["logs"])
        elif step["logs"]:
            assert case.findtext("system-out") == "\n".join(step["logs"])


def test_infra_passes_every_step_and_leaves_nothing(run_e2e):
    run = run_e2e(INFRA)
    assert run.returncode == 0, run.explain()
    assert list(run.outcomes()) == STEPS
    assert set(run.outcomes().values()) == {"passed"}, run.outcomes()
    assert "connected as app_user" in run.step("pod-check")["message"]
    assert "AccessDenied" in run.step("other-service-account")["message"]
    assert "pgiam_e2e_decoy" in run.step("other-db-user")["message"]
    # The local cloud's own account of each decision is in the logs of the step that caused it.
    assert any("RDS IAM login refused: reason=expired user='app_user'" in line
               for line in run.step("expired-token")["logs"])
    assert run.report["outputs"]["appUrl"].startswith("http://127.")
    assert run.report["outputs"]["kubeconfig"] == "[secret]"
    assert isinstance(run.report["outputs"]["clusterPort"], int)
    for step in run.report["steps"]:
        assert step["duration_s"] >= 0 and step["started_at"], step
    assert "pgiam e2e report:" in run.stdout and "result: PASSED" in run.stdout
    assert_junit_matches(run)
    assert_no_secrets(run)
    assert_torn_down(run)


@pytest.mark.parametrize("program", byop_programs(), ids=lambda path: path.name)
def test_a_teams_own_program_passes_unchanged(run_e2e, program):
    """A program written the way a team writes its own (``byop/``: other names, plain EKS, a
    standalone instance, a managed policy, no output named for pgiam) passes every step with
    no edit and no ``--config``: its secrets are generated, its master login, app URL, role
    and database user are found from its resources."""
    run = run_e2e(program)
    assert run.returncode == 0, run.explain()
    assert list(run.outcomes()) == STEPS
    assert set(run.outcomes().values()) == {"passed"}, run.explain()
    assert "token for the master user" in run.step("other-db-user")["message"]
    assert_no_secrets(run)
    assert_torn_down(run)


OVERLAY_NAMES = sorted(path.stem for path in OVERLAYS.glob("*.yaml"))


@pytest.mark.parametrize("overlay", OVERLAY_NAMES)
def test_an_overlay_program_ends_as_it_must_and_still_tears_down(run_e2e, overlay_program,
                                                                   overlay):
    """``expect``: ``outcome: passed`` (every step passes), or ``failed_step`` (the first step
    that did not pass, ``<phase>.<name>``) with ``reason`` (a regular expression the run's
    reason matches) and optionally ``log`` (a line of the failed step's logs); ``passed``
    names steps that must pass all the same, ``failed`` other steps that must fail and how."""
    built = overlay_program(overlay)
    run = run_e2e(built.program, *built.args)
    expect = built.expect
    if expect.get("outcome") == "passed":
        assert run.returncode == 0, run.explain()
        assert list(run.outcomes()) == STEPS
        assert set(run.outcomes().values()) == {"passed"}, run.explain()
    else:
        assert run.returncode == 1, run.explain()
        assert run.report["outcome"] == "failed"
        assert run.report["failed_step"] == expect["failed_step"], run.explain()
        assert re.search(expect["reason"], run.report["reason"]), run.report["reason"]
        assert f"FAILED at step {expect['failed_step']}" in run.stdout
        failed = run.step(expect["failed_step"].split(".", 1)[1])
        assert failed["message"] == run.report["reason"]
        if "log" in expect:
            assert any(expect["log"] in line for line in failed["logs"]), failed["logs"]
        assert_junit_matches(run)
    for name in expect.get("passed", ()):
        assert run.step(name)["outcome"] == "passed", (name, run.explain())
    for name, message in (expect.get("failed") or {}).items():
        assert run.step(name)["outcome"] == "failed", (name, run.explain())
        assert re.search(message, run.step(name)["message"]), run.step(name)["message"]
    assert_no_secrets(run)
    assert_torn_down(run)
