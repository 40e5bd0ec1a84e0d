"""Judging the negative checks: a refusal counts only after a successful control, and only as
the refusal being tested."""

from __future__ import annotations

import pytest

from pgiam.e2e.checks import (
    DECOY_USER,
    CheckFailure,
    expired_token_attempts,
    judge_assume_role,
    judge_identity,
    judge_logins,
    judge_tls_mode,
    login_hint,
    other_user_attempts,
    parse_results,
    unexplained_refusals,
)
from pgiam.e2e.targets.localcloud import decisions, first_refusal

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


def test_an_allowed_attack_fails_the_check_even_when_the_control_failed():
    with pytest.raises(CheckFailure, match="ALLOWED"):
        judge_logins([refused(label="control"), {"label": "a", "result": "allowed",
                                                 "message": "in"}], "it")


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
    with pytest.raises(CheckFailure, match="ASSUMED"):
        judge_assume_role(denied, {**control, "arn": "x"}, "arn:r", "sa")
    with pytest.raises(CheckFailure, match="expected AccessDenied"):
        judge_assume_role(control, {**denied, "code": "InvalidIdentityToken"}, "arn:r", "sa")


def test_probe_output_is_the_last_json_list():
    assert parse_results('noise\n[{"result": "allowed"}]\n') == [{"result": "allowed"}]
    with pytest.raises(CheckFailure, match="no result"):
        parse_results("Traceback ...")


def test_the_other_user_check_tries_an_iam_enabled_decoy_made_by_the_master_user():
    decoy = other_user_attempts("app_user", "dbowner")[-1]
    assert decoy["user"] == DECOY_USER and decoy["auth"] == "token"
    assert decoy["decoy"]["master_user"] == "dbowner"


@pytest.mark.parametrize("mode", ["require", "verify-ca", "prefer"])
def test_a_pod_that_does_not_verify_the_server_fails_the_connect_flow(mode):
    with pytest.raises(CheckFailure, match=f"PGSSLMODE={mode}"):
        judge_tls_mode(mode)


@pytest.mark.parametrize("mode", ["verify-full", None, ""])
def test_verify_full_or_the_images_default_passes(mode):
    judge_tls_mode(mode)


PREFIX = "2026-11-29 03:31:1{} INFO pgiam.localcloud.{}: "
LOG = "\n".join([
    PREFIX.format("4,253", "sts") + "AssumeRoleWithWebIdentity: system:serviceaccount:demo:demo-app"
                                    " assumed arn:r",
    PREFIX.format("4,300", "gateway") + "sts AssumeRoleWithWebIdentity 200 3ms",
    PREFIX.format("5,219", "rds") + "RDS IAM login refused: reason=expired user='app_user' "
                                    "database=cluster c (cluster-X) access_key=ASIA: signed at ...",
    PREFIX.format("5,742", "rds") + "RDS IAM login accepted: user='app_user' database=cluster c",
]) + "\n"


def test_the_cloud_decisions_are_the_sts_and_rds_login_lines_and_the_first_refusal_says_why():
    lines = decisions(LOG)
    assert [line.split(" ", 2)[1] for line in lines] == ["AssumeRoleWithWebIdentity:", "RDS",
                                                        "RDS"]
    assert first_refusal(lines).startswith("RDS IAM login refused: reason=expired")
    assert first_refusal(lines[:1]) is None


def test_a_refusal_must_be_logged_with_the_reason_tested():
    attempts = expired_token_attempts("app_user")
    assert unexplained_refusals(attempts, decisions(LOG)) == []
    wrong = LOG.replace("reason=expired", "reason=wrong-endpoint")
    (missing,) = unexplained_refusals(attempts, decisions(wrong))
    assert "no 'expired' refusal for app_user" in missing
    assert unexplained_refusals(attempts + attempts[1:], decisions(LOG))


def test_a_token_refused_as_a_password_names_the_rds_iam_membership():
    hint = login_hint('FATAL:  password authentication failed for user "app_user"')
    assert "app_user" in hint and "not a member of rds_iam" in hint
    assert login_hint('FATAL:  PAM authentication failed for user "app_user"') == ""


def test_the_connect_flow_must_run_as_the_stacks_role_and_user():
    arn = "arn:aws:iam::123456789012:role/team/db-irsa"
    judge_identity({"role": "db-irsa"}, {"current_user": "app_user"}, arn, "app_user")
    with pytest.raises(CheckFailure, match="ran as role 'other'"):
        judge_identity({"role": "other"}, {"current_user": "app_user"}, arn, "app_user")
    with pytest.raises(CheckFailure, match="logged in as 'reporting'"):
        judge_identity({"role": "db-irsa"}, {"current_user": "reporting"}, arn, "app_user")
