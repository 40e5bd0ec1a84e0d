"""``python -m app check``, the pod's connect flow, run as a subprocess with the pod's environment
against the local cloud: it passes when wired as the infra program wires it, and fails with a
clear reason (no traceback) when it is miswired."""

from __future__ import annotations

import json

import pytest

from test_app_harness import (DB_USER, OTHER_DB_USER, app_stack, changed, clean_environment,  # noqa: F401
                              run_app, token_markers)


def assert_clean_failure(result, exit_code: int, prefix: str) -> str:
    """The run failed with ``exit_code``, one reason line starting with ``prefix``, no traceback
    and no token; returns the reason line."""
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for marker in token_markers():
        assert marker not in result.stdout + result.stderr
    reasons = [line for line in result.stderr.splitlines() if line.startswith(prefix)]
    assert len(reasons) == 1, result.stderr
    return reasons[0]


def test_check_passes_with_the_pod_environment(app_stack):
    result = run_app(app_stack.pod_env(), "check")
    assert result.returncode == 0, result.stderr
    steps = [line.split(":", 1)[0] for line in result.stdout.splitlines() if line.startswith("ok")]
    assert steps == ["ok   credentials", "ok   token", "ok   connect", "ok   current_user", "ok   write/read"]
    assert result.stdout.rstrip().endswith("check passed")
    assert f"assumed-role/{app_stack.role_arn.rsplit('/', 1)[1]}/" in result.stdout


def test_check_json_report_and_the_row_it_wrote(app_stack):
    result = run_app(app_stack.pod_env(), "check", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and "failed" not in report
    assert report["session"]["current_user"] == DB_USER and report["session"]["tls"]["on"] is True
    assert report["identity"]["role"] == app_stack.role_arn.rsplit("/", 1)[1]
    rows = app_stack.app_sql("SELECT body, author FROM public.messages WHERE id = %s", (report["row_id"],))
    assert len(rows) == 1 and rows[0][0].startswith("app check ") and rows[0][1] == DB_USER


def test_a_db_user_the_role_may_not_connect_as_is_refused_after_one_retry(app_stack):
    before = len(app_stack.login_log(OTHER_DB_USER))
    result = run_app(app_stack.pod_env(DB_USER=OTHER_DB_USER), "check")
    reason = assert_clean_failure(result, 1, "app check: failed at login: ")
    assert f"login as '{OTHER_DB_USER}' refused by the server, also with a new token" in reason
    assert f'authentication failed for user "{OTHER_DB_USER}"' in reason
    assert result.stderr.count("retrying once with a new token") == 1
    refusals = app_stack.login_log(OTHER_DB_USER)[before:]
    assert len(refusals) == 2 and all("reason=not-authorized" in line for line in refusals)


def test_a_role_whose_policy_names_the_cluster_id_is_refused(app_stack):
    env = app_stack.pod_env(AWS_ROLE_ARN=app_stack.denied_role_arn,
                            AWS_WEB_IDENTITY_TOKEN_FILE=str(app_stack.denied_token_file))
    result = run_app(env, "check")
    reason = assert_clean_failure(result, 1, "app check: failed at login: ")
    assert f'authentication failed for user "{DB_USER}"' in reason
    assert f"assumed-role/{app_stack.denied_role_arn.rsplit('/', 1)[1]}/" in result.stdout


def test_a_token_signed_for_another_host_name_is_refused(app_stack, tmp_path):
    # A name of the pod's own that reaches the database (a CNAME or a tunnel, field notes): with
    # PGSSLMODE=require TLS does not check the name, so the token is what the server refuses.
    alias = "db.internal.example"
    hosts = tmp_path / "hosts"
    hosts.write_text(f"{app_stack.hostaddr()} {alias}\n")
    result = run_app(app_stack.pod_env(DB_HOST=alias, NSS_WRAPPER_HOSTS=str(hosts), PGSSLMODE="require"),
                     "check")
    assert_clean_failure(result, 1, "app check: failed at login: ")
    control = run_app(app_stack.pod_env(PGSSLMODE="require"), "check")
    assert control.returncode == 0, control.stderr


def test_without_the_role_environment_there_are_no_credentials(app_stack):
    env = app_stack.pod_env(AWS_ROLE_ARN=None, AWS_WEB_IDENTITY_TOKEN_FILE=None)
    reason = assert_clean_failure(run_app(env, "check"), 1, "app check: failed at credentials: ")
    assert "no AWS credentials" in reason and "AWS_ROLE_ARN" in reason


def test_a_service_account_the_role_does_not_trust_is_refused_by_sts(app_stack):
    env = app_stack.pod_env(AWS_WEB_IDENTITY_TOKEN_FILE=str(app_stack.denied_token_file))
    reason = assert_clean_failure(run_app(env, "check"), 1, "app check: failed at credentials: ")
    assert "AssumeRoleWithWebIdentity refused: AccessDenied" in reason


def test_a_missing_token_file_is_named(app_stack):
    env = app_stack.pod_env(AWS_WEB_IDENTITY_TOKEN_FILE=str(app_stack.workdir / "no-such-token"))
    reason = assert_clean_failure(run_app(env, "check"), 1, "app check: failed at credentials: ")
    assert "no-such-token" in reason


def test_a_ca_bundle_that_did_not_sign_the_server_fails_verification(app_stack, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_text(_another_ca_pem())
    reason = assert_clean_failure(run_app(app_stack.pod_env(PGSSLROOTCERT=str(other_ca)), "check"), 1,
                                  "app check: failed at connect: ")
    assert "certificate verify failed" in reason


@pytest.mark.parametrize("changes,named", [
    ({"DB_HOST": None}, "DB_HOST: is not set"),
    ({"DB_PORT": "five"}, "DB_PORT: must be a port number"),
    ({"PGSSLMODE": "disable"}, "PGSSLMODE: 'disable' can send the IAM token without TLS"),
    ({"AWS_REGION": None, "AWS_DEFAULT_REGION": None}, "AWS_REGION: is not set"),
])
@pytest.mark.parametrize("command", ["check", "serve"])
def test_a_bad_setting_stops_start_up_naming_it(tmp_path, changes, named, command):
    # Nothing is contacted before the settings are valid: no stack is needed.
    ca = tmp_path / "ca.pem"
    ca.write_text(_another_ca_pem())
    env = clean_environment(tmp_path / "home")
    env.update(DB_HOST="db.example.com", DB_PORT="5432", DB_NAME="appdb", DB_USER=DB_USER,
               AWS_REGION="us-east-1", PGSSLMODE="verify-full", PGSSLROOTCERT=str(ca))
    result = run_app(changed(env, **changes), command, timeout=30)
    reason = assert_clean_failure(result, 2, f"app {command}: configuration error: ")
    assert named in reason


def _another_ca_pem() -> str:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not the local cloud's CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()
