"""Time: an IAM token lives 15 minutes, and RDS checks it only when a connection logs in. The app
must keep working past that by minting new tokens and retiring old connections, and a refused
login is retried once with a new token.

How time moves, for both sides, without waiting 15 minutes: the database server (the local
cloud's token check) keeps the real clock. The app runs in a subprocess whose whole notion of
time is shifted by an offset the test controls: the token cache's clock, the pool's clock, and
botocore's signing time (so the tokens it mints carry the shifted ``X-Amz-Date``). The app starts
almost 15 minutes in the past, so its first token really expires on the server a few seconds
later; then its clock jumps forward past the 15 minutes and it must notice on its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import botocore.auth
import psycopg2
import pytest
import requests

from app import database
from app.errors import LoginRefused
from app.settings import Settings
from app.tokens import TokenProvider, token_expiry
from test_app_harness import DB_NAME, DB_USER, ROOT, app_stack  # noqa: F401 (fixture)

# The app, served as `python -m app serve` would, except that time is shifted by the number of
# seconds in the file named by argv[1] (read on every use, so the test can move it).
SHIFTED_APP = r"""
import json, os, sys, time
from datetime import timedelta
from pathlib import Path

import botocore.auth
import waitress

from app.service import DemoService
from app.settings import load_settings
from app.web import create_app

offset_file = Path(sys.argv[1])

def offset():
    return float(offset_file.read_text())

def clock():
    return time.time() + offset()

real_now = botocore.auth.get_current_datetime
botocore.auth.get_current_datetime = lambda *a, **k: real_now(*a, **k) + timedelta(seconds=offset())

service = DemoService.build(load_settings(os.environ), clock=clock)
server = waitress.create_server(create_app(service), host="127.0.0.1", port=0, threads=4)
print(json.dumps({"port": server.effective_port}), flush=True)
server.run()
"""

TOKEN_LIFE = 900
HEADROOM = 8  # seconds the app's first token has left on the server when it is minted


def settings_for(stack) -> Settings:
    return Settings(db_host=stack.host, db_port=stack.port, db_name=DB_NAME, db_user=DB_USER,
                    region=stack.cloud.region, sslmode="verify-full", sslrootcert=str(stack.cloud.ca_bundle),
                    port=8080)


def role_rds_client(stack, **overrides):
    credentials = {**stack.role_credentials(), **overrides}
    return boto3.session.Session(region_name=stack.cloud.region, **credentials).client("rds")


def mint(rds_client, stack, *, shifted_by: float = 0.0) -> str:
    """A real token, signed as if the clock read now + ``shifted_by`` seconds."""
    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda *a, **k: original(*a, **k) + timedelta(seconds=shifted_by)
    try:
        return rds_client.generate_db_auth_token(DBHostname=stack.host, Port=stack.port, DBUsername=DB_USER)
    finally:
        botocore.auth.get_current_datetime = original


def try_login(stack, token: str) -> str | None:
    """None if the token logs in, else the server's refusal as the client sees it."""
    try:
        psycopg2.connect(host=stack.host, hostaddr=stack.hostaddr(), port=stack.port, dbname=DB_NAME, user=DB_USER, password=token,
                         sslmode="verify-full", sslrootcert=str(stack.cloud.ca_bundle), connect_timeout=10).close()
    except psycopg2.OperationalError as exc:
        return " ".join(str(exc).split())
    return None


def refusals_since(stack, count_before: int, reason: str) -> list[str]:
    return [line for line in stack.login_log(DB_USER)[count_before:] if f"reason={reason}" in line]


def test_the_database_refuses_a_token_older_than_fifteen_minutes(app_stack):
    rds = role_rds_client(app_stack)
    before = len(app_stack.login_log(DB_USER))
    stale = mint(rds, app_stack, shifted_by=-(TOKEN_LIFE + 60))
    assert token_expiry(stale) < datetime.now(timezone.utc)
    refusal = try_login(app_stack, stale)
    assert refusal is not None and f'authentication failed for user "{DB_USER}"' in refusal
    assert len(refusals_since(app_stack, before, "expired")) == 1
    assert try_login(app_stack, mint(rds, app_stack)) is None


class ShiftedApp:
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.offset_file = workdir / "offset"
        self.log = workdir / "shifted-app.log"
        self.process: subprocess.Popen | None = None
        self.base_url = ""
        self.env = env

    def shift(self, seconds: float) -> None:
        self.offset_file.write_text(repr(seconds))

    def start(self) -> None:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-c", SHIFTED_APP, str(self.offset_file)],
                                            env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.process.stdout.readline()
        assert line, f"the shifted app did not start:\n{self.log.read_text()}"
        self.base_url = f"http://127.0.0.1:{json.loads(line)['port']}"

    def get(self, path: str) -> requests.Response:
        return requests.get(self.base_url + path, timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


@pytest.fixture
def shifted_app(app_stack, tmp_path):
    app = ShiftedApp(app_stack.pod_env(), tmp_path)
    app.shift(-(TOKEN_LIFE - HEADROOM))
    app.start()
    yield app
    app.stop()


def test_the_app_keeps_working_after_fifteen_minutes(shifted_app, app_stack):
    # The app's first token and connection, minted HEADROOM seconds before the token expires.
    first = shifted_app.get("/api/info").json()
    assert first["session"]["current_user"] == DB_USER and first["token"]["minted_count"] == 1
    first_pid = first["session"]["backend_pid"]
    first_expiry = datetime.fromisoformat(first["token"]["expires_at"])
    assert first_expiry <= datetime.now(timezone.utc) + timedelta(seconds=HEADROOM)
    # A witness minted like the app's token, to show the server's side once time has passed.
    witness = mint(role_rds_client(app_stack), app_stack, shifted_by=-(TOKEN_LIFE - HEADROOM))

    time.sleep(max(0.0, (first_expiry - datetime.now(timezone.utc)).total_seconds()) + 1.5)
    assert try_login(app_stack, witness) is not None, "the server still accepts the first token"

    # 16 minutes and 40 seconds later, for the app; still inside the server's 5-minute skew.
    shifted_app.shift(-(TOKEN_LIFE - HEADROOM) + 1000)
    assert shifted_app.get("/readyz").json() == {"ready": True}
    assert shifted_app.get("/api/messages").status_code in (200, 409)
    later = shifted_app.get("/api/info").json()
    assert later["token"]["minted_count"] == 2
    assert datetime.fromisoformat(later["token"]["expires_at"]) > datetime.now(timezone.utc) + timedelta(minutes=15)
    assert later["session"]["backend_pid"] != first_pid
    assert later["pool"]["retired_old"] >= 1
    still_open = app_stack.admin_sql("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (first_pid,))
    assert still_open == [(0,)], "the pool left the old connection open"


def test_a_refused_login_is_retried_once_with_a_new_token(app_stack, monkeypatch):
    monkeypatch.setenv("PGHOSTADDR", app_stack.hostaddr())  # libpq's, for the app's code in this process
    # The first token is signed with a secret that is not the key's (as after a rotation).
    good = role_rds_client(app_stack)
    wrong = role_rds_client(app_stack, aws_secret_access_key="not-the-secret-of-this-key")
    minted = iter([mint(wrong, app_stack), mint(good, app_stack)])
    tokens = TokenProvider(lambda: next(minted))
    before = len(app_stack.login_log(DB_USER))
    conn = database.connect(settings_for(app_stack), tokens)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user")
            assert cur.fetchone() == (DB_USER,)
    finally:
        conn.close()
    assert tokens.minted == 2
    assert len(refusals_since(app_stack, before, "signature-mismatch")) == 1


def test_a_second_refusal_is_reported_with_the_servers_reason(app_stack, monkeypatch):
    monkeypatch.setenv("PGHOSTADDR", app_stack.hostaddr())  # libpq's, for the app's code in this process
    wrong = role_rds_client(app_stack, aws_secret_access_key="not-the-secret-of-this-key")
    tokens = TokenProvider(lambda: mint(wrong, app_stack))
    before = len(app_stack.login_log(DB_USER))
    with pytest.raises(LoginRefused) as refused:
        database.connect(settings_for(app_stack), tokens)
    assert refused.value.reason.startswith(f"login as '{DB_USER}' refused by the server, also with a new token: ")
    assert refused.value.reason.endswith(f'authentication failed for user "{DB_USER}"')
    assert tokens.minted == 2
    assert len(refusals_since(app_stack, before, "signature-mismatch")) == 2
