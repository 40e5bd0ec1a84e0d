"""The pgiam pytest plugin as a team meets it: the example of docs/testing-plugin.md runs in a
repository of its own (no conftest, no configuration: the plugin comes in through its entry
point), and fails when the program it tests is miswired; the database-login fixture logs in
with an IAM token where the database allows it and is refused where it does not."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import psycopg2
import pytest
from rds_fixtures import APP_USER, DB_NAME

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples"


def run_team_suite(repository: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "unit", "--strict-markers",
                           "-p", "no:cacheprovider", "-c", str(repository / "pytest.ini"), "."],
                          cwd=repository, capture_output=True, text=True, timeout=120)


@pytest.fixture
def team_repository(tmp_path: Path) -> Path:
    repository = tmp_path / "team"
    shutil.copytree(EXAMPLE, repository, ignore=shutil.ignore_patterns("__pycache__"))
    (repository / "pytest.ini").write_text("[pytest]\n")
    return repository


def test_the_documented_example_passes_in_a_repository_of_its_own(team_repository: Path) -> None:
    result = run_team_suite(team_repository)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_the_example_fails_when_the_trust_admits_every_service_account(
        team_repository: Path) -> None:
    program = team_repository / "shop_program" / "__main__.py"
    text = program.read_text()
    assert text.count('"system:serviceaccount:shop:checkout"') == 1
    program.write_text(text.replace('"StringEquals": {\n                       f"{issuer}:sub"',
                                    '"StringLike": {\n                       f"{issuer}:sub"')
                       .replace('"system:serviceaccount:shop:checkout"',
                                '"system:serviceaccount:shop:*"'))
    result = run_team_suite(team_repository)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed, 2 passed" in result.stdout
    assert "test_only_the_checkout_service_account_can_assume_the_role" in result.stdout


def test_pgiam_db_login_logs_in_with_a_token_and_is_refused_for_another_user(
        pgiam_db_login, shared_cluster, connect_role, role_credentials) -> None:
    credentials = role_credentials(connect_role(shared_cluster.dbuser_arn(APP_USER)))
    session = boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                    aws_secret_access_key=credentials["SecretAccessKey"],
                                    aws_session_token=credentials["SessionToken"])
    address = shared_cluster.address()
    connection = pgiam_db_login(session, shared_cluster.host, shared_cluster.port, APP_USER,
                                DB_NAME, hostaddr=address)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            assert cursor.fetchone() == (APP_USER, True)
    finally:
        connection.close()
    with pytest.raises(psycopg2.OperationalError, match="authentication failed"):
        pgiam_db_login(session, shared_cluster.host, shared_cluster.port, "postgres", DB_NAME,
                       hostaddr=address)
