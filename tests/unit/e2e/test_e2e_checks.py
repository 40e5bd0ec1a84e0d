"""Judging the negative checks: a refusal counts only after a successful control, and only as
the refusal being tested."""

from __future__ import annotations

import pytest

from pgiam.e2e.checks import CheckFailure, judge_assume_role, judge_logins, parse_results

ALLOWED = {"label": "control", "result": "allowed", "message": "logged in as app_user"}
PAM = 'FATAL:  PAM authentication failed for user "app_user"'


def refused(message: str = PAM, label: str = "attack") -> dict:
    return {"label": label, "result": "refused", "message": message}


def test_refusals_after_a_good_control_pass():
    verdict = judge_logins([ALLOWED, refused(), refused('FATAL: role "x" does not exist')], "it")
    assert "control login allowed" in verdict.message


def test_a_failed_control_proves_nothing():
    with pytest.raises(CheckFailure, match="prove nothing"):
        judge_logins([refused(label="control"), refused()], "it")


def test_an_allowed_attack_fails_the_check():
    with pytest.raises(CheckFailure, match="ALLOWED"):
        judge_logins([ALLOWED, {"label": "attack", "result": "allowed", "message": "in"}], "it")


def test_no_answer_from_the_server_is_not_a_refusal():
    with pytest.raises(CheckFailure, match="no answer"):
        judge_logins([ALLOWED, {"label": "a", "result": "error", "message": "timeout"}], "it")


def test_a_refusal_for_another_reason_is_not_the_refusal_tested():
    with pytest.raises(CheckFailure, match="not as an authentication failure"):
        judge_logins([ALLOWED, refused('FATAL: database "x" does not exist')], "it")


def test_assume_role_needs_a_successful_control_and_access_denied():
    control = {"label": "c", "result": "allowed", "message": "ok"}
    denied = {"label": "i", "result": "refused", "code": "AccessDenied",
              "message": "Not authorized"}
    assert "AccessDenied" in judge_assume_role(control, denied, "arn:r", "sa").message
    with pytest.raises(CheckFailure, match="ASSUMED"):
        judge_assume_role(control, {**control, "arn": "x"}, "arn:r", "sa")
    with pytest.raises(CheckFailure, match="proves nothing"):
        judge_assume_role(denied, denied, "arn:r", "sa")
    with pytest.raises(CheckFailure, match="expected AccessDenied"):
        judge_assume_role(control, {**denied, "code": "InvalidIdentityToken"}, "arn:r", "sa")


def test_probe_output_is_the_last_json_list():
    assert parse_results('noise\n[{"result": "allowed"}]\n') == [{"result": "allowed"}]
    with pytest.raises(CheckFailure, match="no result"):
        parse_results("Traceback ...")
