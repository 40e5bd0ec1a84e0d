"""Helpers shared by the app's integration tests (no tests here): the app's stack on the local
cloud, the pod's environment for it, and the app as the pod runs it (a subprocess).

The stack is what the infra program builds, made with boto3 against the worker's local cloud
(the ``localcloud`` fixtures of conftest.py): an Aurora PostgreSQL cluster served by a real
PostgreSQL that checks IAM tokens, the database user with ``rds_iam`` and the grants of DbSetup,
an IAM role trusted by the cluster's OIDC provider for one service account with
``rds-db:connect`` on that user, and a service-account token in a file, as the kubelet projects
it. boto3's default chain in the app process turns that file into credentials through the strict
STS.

The test modules import ``app_stack`` from here (one stack per module, so each module has its own
database); the module's name starts with ``test_app`` only so that it lives with them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import psycopg2
import pytest
import requests

from pgiam.localcloud.client import LocalCloud
from pgiam.localcloud.rds.resolver import connect_address

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0

# Variables a developer's shell may carry that would change what boto3 or libpq do in the app.
_INHERITED = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT")


def clean_environment(home: Path) -> dict[str, str]:
    """A process environment with nothing of the test runner's AWS or PG configuration: HOME is
    an empty directory, so no ~/.aws or ~/.postgresql file is read."""
    env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), AWS_CONFIG_FILE=str(home / "aws-config-absent"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials-absent"),
               PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    return env


def changed(env: dict[str, str], **changes: str | None) -> dict[str, str]:
    """A copy of ``env`` with variables set, or removed where the value is None."""
    result = dict(env)
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_app(env: dict[str, str], *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    """``python -m app ARGS`` as the pod would run it."""
    return subprocess.run([sys.executable, "-m", "app", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@dataclass
class AppServer:
    """``python -m app serve`` on a free loopback port; its stdout and stderr go to ``log``."""

    env: dict[str, str]
    log: Path
    argv: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None
    base_url: str = ""

    def start(self) -> AppServer:
        port = free_port()
        argv = self.argv or [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(argv, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.base_url = f"http://127.0.0.1:{port}"
        self._wait_until_serving()
        return self

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the app exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if requests.get(self.url("/healthz"), timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"the app did not serve within {START_TIMEOUT} s:\n{self.log.read_text()}")

    def url(self, path: str) -> str:
        return self.base_url + path

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url(path), timeout=30, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url(path), timeout=30, **kwargs)

    def stop(self) -> int | None:
        """SIGTERM, as Kubernetes does; the exit code (the process is killed after 15 s)."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise AssertionError("the app did not stop within 15 s of SIGTERM") from None

    def logged(self) -> str:
        return self.log.read_text(errors="replace")


def token_markers() -> tuple[str, ...]:
    """Substrings every IAM auth token carries: none may appear in a log."""
    return ("X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "Action=connect")


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# --- the stack -----------------------------------------------------------------------------------

MASTER_USER = "pgadmin"
DB_NAME = "appdb"
DB_USER = "app_user"
OTHER_DB_USER = "reporting_user"  # has rds_iam, but no policy lets the app's role connect as it


@dataclass
class AppStack:
    cloud: LocalCloud
    cluster_id: str
    host: str
    port: int
    resource_id: str
    master_password: str = field(repr=False)
    namespace: str
    role_arn: str
    denied_role_arn: str
    token_file: Path
    denied_token_file: Path
    workdir: Path

    def pod_env(self, **changes: str | None) -> dict[str, str]:
        """The pod's environment as the infra program and EKS's webhook set it."""
        env = clean_environment(self.workdir / "home")
        env.update(DB_HOST=self.host, DB_PORT=str(self.port), DB_NAME=DB_NAME, DB_USER=DB_USER,
                   AWS_REGION=self.cloud.region, AWS_DEFAULT_REGION=self.cloud.region,
                   AWS_STS_REGIONAL_ENDPOINTS="regional", PGSSLMODE="verify-full",
                   PGSSLROOTCERT=str(self.cloud.ca_bundle), AWS_ROLE_ARN=self.role_arn,
                   AWS_WEB_IDENTITY_TOKEN_FILE=str(self.token_file),
                   AWS_ENDPOINT_URL=self.cloud.endpoint_url)
        env.update(self.cloud.info["extensions"]["rds"]["env"] or {})  # the endpoint names resolve
        return changed(env, **changes)

    def hostaddr(self) -> str | None:
        """The endpoint's address, for libpq's ``hostaddr`` in this (the test runner's) process,
        which was not started with the local cloud's resolver variables."""
        return connect_address(self.cloud.info["extensions"]["rds"]["hosts_file"], self.host)

    def admin(self) -> psycopg2.extensions.connection:
        """The master user, with its password, over verify-full TLS (autocommit)."""
        conn = psycopg2.connect(host=self.host, hostaddr=self.hostaddr(), port=self.port, dbname=DB_NAME, user=MASTER_USER,
                                password=self.master_password, sslmode="verify-full",
                                sslrootcert=str(self.cloud.ca_bundle), connect_timeout=10)
        conn.autocommit = True
        return conn

    def admin_sql(self, sql: str, params: tuple = ()) -> list[tuple]:
        conn = self.admin()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def app_sql(self, sql: str, params: tuple = ()) -> list[tuple]:
        """As the app's database user, logged in with a token minted from the role's credentials
        (the master user cannot read the app's tables, and making it a member of the app user
        would give it rds_iam: the lock-out of the field notes)."""
        conn = psycopg2.connect(host=self.host, hostaddr=self.hostaddr(), port=self.port, dbname=DB_NAME, user=DB_USER,
                                password=self.mint_db_token(), sslmode="verify-full",
                                sslrootcert=str(self.cloud.ca_bundle), connect_timeout=10)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def mint_db_token(self, user: str = DB_USER) -> str:
        session = boto3.session.Session(region_name=self.cloud.region, **self.role_credentials())
        return session.client("rds").generate_db_auth_token(DBHostname=self.host, Port=self.port, DBUsername=user)

    def dbuser_arn(self, user: str) -> str:
        return (f"arn:{self.cloud.info['partition']}:rds-db:{self.cloud.region}:{self.cloud.account_id}:"
                f"dbuser:{self.resource_id}/{user}")

    def role_credentials(self) -> dict[str, str]:
        """The app role's temporary credentials, from the strict STS with the service-account
        token (what boto3's web-identity provider does in the app process)."""
        sts = self.cloud.client("sts", unsigned=True)
        answer = sts.assume_role_with_web_identity(RoleArn=self.role_arn, RoleSessionName="app-test",
                                                   WebIdentityToken=self.token_file.read_text())
        creds = answer["Credentials"]
        return {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
                "aws_session_token": creds["SessionToken"]}

    def login_log(self, user: str) -> list[str]:
        """The local cloud's log lines about IAM logins as ``user`` to this stack's cluster (the
        server's side of a refusal: the client is only told that authentication failed)."""
        log = Path(self.cloud.info["log"]).read_text(errors="replace")
        return [line for line in log.splitlines()
                if "RDS IAM login" in line and f"user={user!r}" in line and f"({self.resource_id})" in line]


def _trust_policy(provider_arn: str, issuer_host_path: str, subject: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{issuer_host_path}:sub": subject,
                                       f"{issuer_host_path}:aud": "sts.amazonaws.com"}}}]})


def _connect_policy(resource: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "rds-db:connect", "Resource": resource}]})


def _write_token(path: Path, token: str) -> Path:
    """As the kubelet projects it: the JWT alone, no newline, readable by the pod only."""
    path.write_text(token)
    path.chmod(0o600)
    return path


def provision(cloud: LocalCloud, provider_arn: str, workdir: Path) -> AppStack:
    """The app's stack on the local cloud, as the infra program builds it (see the module doc)."""
    suffix = uuid.uuid4().hex[:8]
    iam, rds = cloud.client("iam"), cloud.client("rds")
    master_password = uuid.uuid4().hex
    cluster = rds.create_db_cluster(
        DBClusterIdentifier=f"app-{suffix}", Engine="aurora-postgresql", MasterUsername=MASTER_USER,
        MasterUserPassword=master_password, DatabaseName=DB_NAME,
        EnableIAMDatabaseAuthentication=True)["DBCluster"]
    namespace = f"demo-{suffix}"
    stack = AppStack(cloud=cloud, cluster_id=cluster["DBClusterIdentifier"], host=cluster["Endpoint"],
                     port=int(cluster["Port"]), resource_id=cluster["DbClusterResourceId"],
                     master_password=master_password, namespace=namespace, role_arn="", denied_role_arn="",
                     token_file=workdir / "token", denied_token_file=workdir / "denied-token", workdir=workdir)
    _set_up_database(stack)

    stack.role_arn = iam.create_role(
        RoleName=f"app-{suffix}",
        AssumeRolePolicyDocument=_trust_policy(provider_arn, cloud.issuer_host_path,
                                               f"system:serviceaccount:{namespace}:demo-app"))["Role"]["Arn"]
    iam.put_role_policy(RoleName=f"app-{suffix}", PolicyName="connect",
                        PolicyDocument=_connect_policy(stack.dbuser_arn(DB_USER)))
    # The classic mistake: the policy names the cluster identifier, not its DbClusterResourceId.
    stack.denied_role_arn = iam.create_role(
        RoleName=f"app-denied-{suffix}",
        AssumeRolePolicyDocument=_trust_policy(provider_arn, cloud.issuer_host_path,
                                               f"system:serviceaccount:{namespace}:denied"))["Role"]["Arn"]
    iam.put_role_policy(RoleName=f"app-denied-{suffix}", PolicyName="connect", PolicyDocument=_connect_policy(
        stack.dbuser_arn(DB_USER).replace(stack.resource_id, stack.cluster_id)))

    _write_token(stack.token_file, cloud.mint_token(namespace, "demo-app"))
    _write_token(stack.denied_token_file, cloud.mint_token(namespace, "denied"))
    return stack


def _set_up_database(stack: AppStack) -> None:
    """What the infra program's DbSetup grants (field notes: the article's example)."""
    for sql in (f"CREATE ROLE {DB_USER} LOGIN", f"GRANT rds_iam TO {DB_USER}",
                f"GRANT CONNECT ON DATABASE {DB_NAME} TO {DB_USER}",
                f"GRANT USAGE, CREATE ON SCHEMA public TO {DB_USER}",
                f"CREATE ROLE {OTHER_DB_USER} LOGIN", f"GRANT rds_iam TO {OTHER_DB_USER}",
                f"GRANT CONNECT ON DATABASE {DB_NAME} TO {OTHER_DB_USER}"):
        stack.admin_sql(sql)


def delete(stack: AppStack) -> None:
    stack.cloud.client("rds").delete_db_cluster(DBClusterIdentifier=stack.cluster_id, SkipFinalSnapshot=True)


@pytest.fixture(scope="module")
def app_stack(localcloud: LocalCloud, localcloud_oidc_provider: str,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppStack]:
    """One stack per test module (each module has its own database server)."""
    stack = provision(localcloud, localcloud_oidc_provider, tmp_path_factory.mktemp("app-stack"))
    yield stack
    delete(stack)
