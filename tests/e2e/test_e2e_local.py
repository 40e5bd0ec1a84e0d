"""The local target end to end: ``infra/`` passes every step; miswired copies fail at the step
that must catch them and still tear down completely."""

from __future__ import annotations

import re

import pytest
from e2e_harness import INFRA, E2eRun

pytestmark = pytest.mark.timeout(400)

TEARDOWN = ("destroy", "localcloud-down", "verify-clean")


def assert_torn_down(run: E2eRun) -> None:
    for name in TEARDOWN:
        assert run.step(name)["outcome"] == "passed", run.explain()
    leftovers = list(run.work_dir.iterdir()) if run.work_dir.exists() else []
    assert leftovers == [], run.explain()


def test_infra_passes_every_step_and_leaves_nothing(run_e2e):
    run = run_e2e(INFRA)
    assert run.returncode == 0, run.explain()
    assert set(run.outcomes().values()) == {"passed"}, run.outcomes()
    assert list(run.outcomes()) == [
        "stack", "deploy", "rollout", "pod-check", "http-api", "other-service-account",
        "password-login", "expired-token", "other-db-user", *TEARDOWN]
    assert "connected as app_user" in run.step("pod-check")["message"]
    assert "AccessDenied" in run.step("other-service-account")["message"]
    assert run.report["outputs"]["appUrl"].startswith("http://127.")
    assert run.report["outputs"]["kubeconfig"] == "[secret]"
    assert "pgiam e2e report:" in run.stdout and "result: PASSED" in run.stdout
    assert_torn_down(run)


@pytest.mark.parametrize("overlay", ["service_account_mismatch", "connect_policy_other_user",
                                     "pod_crashes", "pod_service_account_missing",
                                     "unsupported_resource"])
def test_a_miswired_program_fails_at_the_right_step_and_still_tears_down(run_e2e, miswired,
                                                                          overlay):
    program, expect = miswired(overlay)
    run = run_e2e(program)
    assert run.returncode == 1, run.explain()
    assert run.report["failed_step"] == expect["failed_step"], run.explain()
    assert re.search(expect["reason"], run.report["reason"]), run.report["reason"]
    assert f"FAILED at step {expect['failed_step']}" in run.stdout
    if "log" in expect:
        failed = run.step(expect["failed_step"].split(".", 1)[1])
        assert any(expect["log"] in line for line in failed["logs"]), failed["logs"]
    assert_torn_down(run)
