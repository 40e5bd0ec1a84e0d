"""IAM database authentication against the local RDS, as a pod does it: credentials from the
strict STS for a service-account token, a token from boto3's ``generate_db_auth_token``, psycopg2
with ``sslmode=verify-full`` against the local CA. Every refusal is preceded by a successful
control login on the same endpoint, so a dead server never passes for a refusal."""

from __future__ import annotations

import datetime
import uuid
from unittest import mock

import pytest
from rds_fixtures import APP_USER, MASTER_USER, OTHER_USER

AUTH_FAILED = 'authentication failed for user "{}"'


@pytest.fixture
def app_credentials(shared_cluster, connect_role, role_credentials):
    """Credentials of a role allowed ``rds-db:connect`` as ``app_user`` on the shared cluster."""
    return role_credentials(connect_role(shared_cluster.dbuser_arn(APP_USER)))


@pytest.fixture
def control(shared_cluster, app_credentials):
    """A successful IAM login on the shared cluster's endpoint, right now."""
    def login() -> None:
        token = shared_cluster.token(app_credentials, APP_USER)
        assert shared_cluster.login(APP_USER, token) == (APP_USER, True)

    return login


def refusal_reason(daemon_log, action) -> tuple[str, str]:
    """Run ``action`` and return the local cloud's log lines it caused and the refusal code."""
    mark = daemon_log.mark()
    message = action()
    logged = daemon_log.since(mark)
    lines = [line for line in logged.splitlines() if "RDS IAM login refused" in line]
    assert lines, f"no refusal logged; client saw {message!r}"
    return message, lines[-1].split("reason=", 1)[1].split(" ", 1)[0]


def test_pod_role_logs_in_with_a_token_over_verified_tls(shared_cluster, app_credentials, daemon_log):
    assert app_credentials["AccessKeyId"].startswith("ASIA")
    token = shared_cluster.token(app_credentials, APP_USER)
    mark = daemon_log.mark()
    assert shared_cluster.login(APP_USER, token) == (APP_USER, True)
    logged = daemon_log.since(mark)
    assert f"RDS IAM login accepted: user='{APP_USER}'" in logged
    assert token not in logged and token.rsplit("=", 1)[1] not in logged


def test_the_same_token_logs_in_again_until_it_expires(shared_cluster, app_credentials):
    token = shared_cluster.token(app_credentials, APP_USER)
    for _ in range(3):
        assert shared_cluster.login(APP_USER, token)[0] == APP_USER


def test_tampered_signature_is_refused(shared_cluster, app_credentials, control, daemon_log):
    control()
    token = shared_cluster.token(app_credentials, APP_USER)
    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
    message, reason = refusal_reason(daemon_log, lambda: shared_cluster.refused(APP_USER, tampered))
    assert AUTH_FAILED.format(APP_USER) in message
    assert reason == "signature-mismatch"


def test_token_for_another_user_is_refused(shared_cluster, app_credentials, control, daemon_log):
    control()
    token = shared_cluster.token(app_credentials, OTHER_USER)
    message, reason = refusal_reason(daemon_log, lambda: shared_cluster.refused(APP_USER, token))
    assert AUTH_FAILED.format(APP_USER) in message
    assert reason == "user-mismatch"


def test_role_allowed_only_another_user_is_refused(shared_cluster, connect_role, role_credentials, control,
                                                   daemon_log):
    credentials = role_credentials(connect_role(shared_cluster.dbuser_arn(OTHER_USER)))
    control()
    token = shared_cluster.token(credentials, APP_USER)
    _, reason = refusal_reason(daemon_log, lambda: shared_cluster.refused(APP_USER, token))
    assert reason == "not-authorized"
    assert shared_cluster.login(OTHER_USER, shared_cluster.token(credentials, OTHER_USER))[0] == OTHER_USER


@pytest.mark.parametrize("scope", ["other cluster's resource id", "cluster identifier",
                                   "instance resource id"])
def test_role_scoped_to_another_resource_id_is_refused(shared_cluster, rds_databases, connect_role,
                                                       role_credentials, control, daemon_log, scope):
    if scope == "other cluster's resource id":
        resource_id = rds_databases("cluster").resource_id
    elif scope == "cluster identifier":
        resource_id = shared_cluster.identifier
    else:
        member = shared_cluster.described["DBClusterMembers"][0]["DBInstanceIdentifier"]
        resource_id = shared_cluster.cloud.client("rds").describe_db_instances(
            DBInstanceIdentifier=member)["DBInstances"][0]["DbiResourceId"]
    credentials = role_credentials(connect_role(shared_cluster.dbuser_arn(APP_USER, resource_id)))
    control()
    token = shared_cluster.token(credentials, APP_USER)
    _, reason = refusal_reason(daemon_log, lambda: shared_cluster.refused(APP_USER, token))
    assert reason == "not-authorized"


def test_expired_token_is_refused(shared_cluster, app_credentials, control, daemon_log):
    control()
    signed_at = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=16)
    with mock.patch("botocore.auth.get_current_datetime", return_value=signed_at):
        token = shared_cluster.token(app_credentials, APP_USER)
    _, reason = refusal_reason(daemon_log, lambda: shared_cluster.refused(APP_USER, token))
    assert reason == "expired"


def test_token_for_another_region_is_refused(shared_cluster, app_credentials, control, daemon_log):
    control()
    token = shared_cluster.token(app_credentials, APP_USER, region="eu-west-1")
    _, reason = refusal_reason(daemon_log, lambda: shared_cluster.refused(APP_USER, token))
    assert reason == "wrong-region"


@pytest.mark.parametrize("endpoint", ["IP address", "other port"])
def test_token_signed_for_another_host_or_port_is_refused(shared_cluster, app_credentials, control,
                                                          daemon_log, endpoint):
    control()
    host, port = (("127.0.0.1", shared_cluster.port) if endpoint == "IP address"
                  else (shared_cluster.host, shared_cluster.port + 1))
    token = shared_cluster.token(app_credentials, APP_USER, host=host, port=port)
    _, reason = refusal_reason(daemon_log, lambda: shared_cluster.refused(APP_USER, token))
    assert reason == "wrong-endpoint"


def test_unknown_access_key_is_refused(shared_cluster, control, daemon_log):
    control()
    stranger = {"AccessKeyId": "AKIA" + uuid.uuid4().hex[:16].upper(), "SecretAccessKey": "x" * 40}
    token = shared_cluster.token(stranger, APP_USER)
    _, reason = refusal_reason(daemon_log, lambda: shared_cluster.refused(APP_USER, token))
    assert reason == "unknown-access-key"


def test_iam_user_access_key_is_checked_like_a_role(shared_cluster, control, daemon_log):
    iam = shared_cluster.cloud.client("iam")
    user = f"alice-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    control()
    token = shared_cluster.token(key, APP_USER)
    _, reason = refusal_reason(daemon_log, lambda: shared_cluster.refused(APP_USER, token))
    assert reason == "not-authorized"
    iam.put_user_policy(UserName=user, PolicyName="connect", PolicyDocument=(
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds-db:connect", '
        f'"Resource": "{shared_cluster.dbuser_arn(APP_USER)}"}}]}}'))
    assert shared_cluster.login(APP_USER, shared_cluster.token(key, APP_USER))[0] == APP_USER


def test_plain_password_of_an_rds_iam_member_is_refused(shared_cluster, control, daemon_log):
    user = f"pw_{uuid.uuid4().hex[:8]}"
    shared_cluster.add_iam_user(user)
    shared_cluster.master(f'ALTER ROLE "{user}" PASSWORD %s', ("a-plain-password",))
    control()
    message, reason = refusal_reason(daemon_log, lambda: shared_cluster.refused(user, "a-plain-password"))
    assert AUTH_FAILED.format(user) in message
    assert reason == "malformed"


def test_iam_login_without_tls_is_rejected_by_pg_hba(shared_cluster, app_credentials, control):
    control()
    token = shared_cluster.token(app_credentials, APP_USER)
    message = shared_cluster.refused(APP_USER, token, sslmode="disable")
    assert "pg_hba.conf rejects connection" in message and "no encryption" in message


@pytest.mark.parametrize("password", ["garbage", "\u00e9\u00e8" * 50, "x" * 8193, "y" * 100_000],
                         ids=["garbage", "non-ascii", "just-over-8-KiB", "100-KB"])
def test_garbage_and_huge_passwords_are_refused_and_the_next_login_works(shared_cluster, control, password):
    control()
    message = shared_cluster.refused(APP_USER, password)
    assert AUTH_FAILED.format(APP_USER) in message or "closed" in message
    control()


def test_password_logins_of_other_roles_work_with_and_without_tls(shared_cluster, control):
    control()
    assert shared_cluster.login(MASTER_USER, shared_cluster.master_password) == (MASTER_USER, True)
    assert shared_cluster.login(MASTER_USER, shared_cluster.master_password, sslmode="disable") == (
        MASTER_USER, False)
    assert "password authentication failed" in shared_cluster.refused(MASTER_USER, "wrong-password")


def test_master_granted_rds_iam_is_locked_out_of_its_password(rds_databases, connect_role, role_credentials):
    database = rds_databases("cluster")
    assert database.login(MASTER_USER, database.master_password)[0] == MASTER_USER
    database.master(f"GRANT rds_iam TO {MASTER_USER}")
    message = database.refused(MASTER_USER, database.master_password)
    assert AUTH_FAILED.format(MASTER_USER) in message
    credentials = role_credentials(connect_role(database.dbuser_arn(MASTER_USER)))
    assert database.login(MASTER_USER, database.token(credentials, MASTER_USER))[0] == MASTER_USER


def test_turning_iam_auth_off_refuses_tokens_at_once_and_on_again_admits_them(
        rds_databases, connect_role, role_credentials, daemon_log):
    database = rds_databases("cluster")
    database.add_iam_user(APP_USER)
    credentials = role_credentials(connect_role(database.dbuser_arn(APP_USER)))
    rds = database.cloud.client("rds")
    assert database.login(APP_USER, database.token(credentials, APP_USER))[0] == APP_USER
    changed = rds.modify_db_cluster(DBClusterIdentifier=database.identifier,
                                    EnableIAMDatabaseAuthentication=False, ApplyImmediately=True)["DBCluster"]
    assert changed["IAMDatabaseAuthenticationEnabled"] is False
    described = rds.describe_db_clusters(DBClusterIdentifier=database.identifier)["DBClusters"][0]
    assert described["IAMDatabaseAuthenticationEnabled"] is False
    token = database.token(credentials, APP_USER)
    _, reason = refusal_reason(daemon_log, lambda: database.refused(APP_USER, token))
    assert reason == "iam-auth-disabled"
    assert database.login(MASTER_USER, database.master_password)[0] == MASTER_USER
    rds.modify_db_cluster(DBClusterIdentifier=database.identifier, EnableIAMDatabaseAuthentication=True,
                          ApplyImmediately=True)
    assert database.login(APP_USER, database.token(credentials, APP_USER))[0] == APP_USER


def test_cluster_created_without_iam_auth_refuses_tokens(rds_databases, connect_role, role_credentials,
                                                         daemon_log):
    database = rds_databases("cluster", iam=False)
    assert database.described["IAMDatabaseAuthenticationEnabled"] is False
    database.add_iam_user(APP_USER)
    credentials = role_credentials(connect_role(database.dbuser_arn(APP_USER)))
    assert database.login(MASTER_USER, database.master_password)[0] == MASTER_USER
    token = database.token(credentials, APP_USER)
    _, reason = refusal_reason(daemon_log, lambda: database.refused(APP_USER, token))
    assert reason == "iam-auth-disabled"


def test_deleted_cluster_serves_no_more_and_leaves_nothing(rds_databases, connect_role, role_credentials):
    database = rds_databases("cluster")
    database.add_iam_user(APP_USER)
    credentials = role_credentials(connect_role(database.dbuser_arn(APP_USER)))
    token = database.token(credentials, APP_USER)
    assert database.login(APP_USER, token)[0] == APP_USER
    records = database.cloud.state_dir / "processes"
    assert (records / f"rds-cluster-{database.identifier}.json").is_file()
    rds = database.cloud.client("rds")
    rds.delete_db_instance(DBInstanceIdentifier=f"{database.identifier}-1", SkipFinalSnapshot=True)
    rds.delete_db_cluster(DBClusterIdentifier=database.identifier, SkipFinalSnapshot=True)
    message = database.refused(APP_USER, token, timeout=3)
    assert "could not translate host name" in message  # its endpoint names are gone, as on AWS
    assert not (records / f"rds-cluster-{database.identifier}.json").exists()
    with pytest.raises(rds.exceptions.DBClusterNotFoundFault):
        rds.describe_db_clusters(DBClusterIdentifier=database.identifier)


def test_master_password_change_takes_effect_at_once(rds_databases):
    database = rds_databases("cluster")
    rds = database.cloud.client("rds")
    rds.modify_db_cluster(DBClusterIdentifier=database.identifier, MasterUserPassword="a-new-password-1",
                          ApplyImmediately=True)
    assert "password authentication failed" in database.refused(MASTER_USER, database.master_password)
    assert database.login(MASTER_USER, "a-new-password-1")[0] == MASTER_USER


def test_standalone_postgres_instance_accepts_tokens_for_its_dbi_resource_id(
        rds_databases, connect_role, role_credentials, daemon_log):
    database = rds_databases("instance")
    assert database.resource_id.startswith("db-")
    database.add_iam_user(APP_USER)
    credentials = role_credentials(connect_role(database.dbuser_arn(APP_USER)))
    assert database.login(APP_USER, database.token(credentials, APP_USER)) == (APP_USER, True)
    wrong = role_credentials(connect_role(database.dbuser_arn(APP_USER, database.identifier)))
    wrong_token = database.token(wrong, APP_USER)
    _, reason = refusal_reason(daemon_log, lambda: database.refused(APP_USER, wrong_token))
    assert reason == "not-authorized"
    rds = database.cloud.client("rds")
    rds.modify_db_instance(DBInstanceIdentifier=database.identifier, EnableIAMDatabaseAuthentication=False,
                           ApplyImmediately=True)
    token = database.token(credentials, APP_USER)
    _, reason = refusal_reason(daemon_log, lambda: database.refused(APP_USER, token))
    assert reason == "iam-auth-disabled"


def test_refusals_reach_the_client_without_a_reason(shared_cluster, app_credentials, control):
    control()
    token = shared_cluster.token(app_credentials, OTHER_USER)
    message = shared_cluster.refused(APP_USER, token)
    assert message.strip().endswith(f'FATAL:  LDAP {AUTH_FAILED.format(APP_USER)}')
    for leak in ("user-mismatch", "DBUser", "signature", "policy"):
        assert leak not in message

