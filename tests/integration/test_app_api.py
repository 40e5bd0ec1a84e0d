"""Every endpoint of ``python -m app serve``, run as the pod runs it (a subprocess with the pod's
environment) against the local cloud: IRSA credentials from the strict STS, a real IAM token,
a real PostgreSQL that checks it, ``sslmode=verify-full``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from test_app_harness import DB_USER, OTHER_DB_USER, AppServer, app_stack, token_markers  # noqa: F401


@pytest.fixture(scope="module")
def server(app_stack, tmp_path_factory):
    app = AppServer(app_stack.pod_env(), tmp_path_factory.mktemp("app-api") / "app.log").start()
    yield app
    assert app.stop() == 0, app.logged()


def unique_text(prefix: str = "hello") -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def test_healthz_answers_while_the_process_is_up(server):
    answer = server.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_readyz_runs_a_real_query(server, app_stack):
    assert server.get("/readyz").json() == {"ready": True}
    rows = app_stack.admin_sql("SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND "
                               "application_name = 'pgiam-demo-app'", (DB_USER,))
    assert rows[0][0] >= 1


def test_info_shows_endpoint_role_tls_and_token_expiry(server, app_stack):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    info = server.get("/api/info").json()
    assert info["database"] == {"host": app_stack.host, "port": app_stack.port, "name": "appdb", "user": DB_USER,
                                "sslmode": "verify-full", "sslrootcert": str(app_stack.cloud.ca_bundle)}
    role_name = app_stack.role_arn.rsplit("/", 1)[1]
    assert info["identity"]["role"] == role_name
    assert info["identity"]["arn"].startswith(f"arn:aws:sts::{app_stack.cloud.account_id}:assumed-role/{role_name}/")
    session = info["session"]
    assert session["current_user"] == DB_USER
    assert session["tls"]["on"] is True and session["tls"]["version"].startswith("TLSv1.")
    ssl_row = app_stack.admin_sql("SELECT ssl FROM pg_stat_ssl WHERE pid = %s", (session["backend_pid"],))
    assert ssl_row == [(True,)]
    expires = datetime.fromisoformat(info["token"]["expires_at"])
    assert before + timedelta(minutes=14) <= expires <= before + timedelta(minutes=15, seconds=5)
    assert info["tls_warning"] is None


def test_the_page_shows_the_same_facts(server, app_stack):
    page = server.get("/")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert f"{app_stack.host}:{app_stack.port} / appdb" in html
    assert app_stack.role_arn.rsplit("/", 1)[1] in html
    assert "TLS on" in html and "Token expiry" in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_messages_before_setup_are_a_409_and_setup_creates_the_table_once(server, app_stack):
    app_stack.app_sql("DROP TABLE IF EXISTS public.messages")
    missing = server.get("/api/messages")
    assert missing.status_code == 409 and "POST /api/setup" in missing.json()["error"]
    assert server.post("/api/messages", json={"text": "too early"}).status_code == 409
    first = server.post("/api/setup")
    assert first.status_code == 201 and first.json() == {"table": "messages", "created": True}
    again = server.post("/api/setup", json={})
    assert again.status_code == 200 and again.json()["created"] is False
    owner = app_stack.app_sql("SELECT tableowner FROM pg_tables WHERE tablename = 'messages'")
    assert owner == [(DB_USER,)]


def test_a_message_is_stored_as_written_and_listed_newest_first(server, app_stack):
    server.post("/api/setup")
    texts = [unique_text("first"), unique_text("<b>second</b> & 'quoted'")]
    created = [server.post("/api/messages", json={"text": t}) for t in texts]
    assert [c.status_code for c in created] == [201, 201]
    ids = [c.json()["message"]["id"] for c in created]
    assert created[1].json()["message"]["author"] == DB_USER
    listed = server.get("/api/messages", params={"limit": 2}).json()["messages"]
    assert [(m["id"], m["text"]) for m in listed] == [(ids[1], texts[1]), (ids[0], texts[0])]
    stored = app_stack.app_sql("SELECT body FROM public.messages WHERE id = %s", (ids[1],))
    assert stored == [(texts[1],)]


def test_a_message_is_trimmed_and_500_characters_fit(server):
    server.post("/api/setup")
    answer = server.post("/api/messages", json={"text": "  " + "é" * 500 + "\n"})
    assert answer.status_code == 201 and answer.json()["message"]["text"] == "é" * 500


@pytest.mark.parametrize("body,content_type,status,words", [
    (b'{"text": ', "application/json", 400, "malformed JSON"),
    (b'{"text": 42}', "application/json", 400, "must be a string"),
    (b'{"text": "   "}', "application/json", 400, "must not be empty"),
    (b'{"text": "' + b"x" * 501 + b'"}', "application/json", 400, "the limit is 500"),
    (b'{"text": "a\\u0000b"}', "application/json", 400, "control character"),
    (b'{"text": "hi", "author": "x"}', "application/json", 400, "unknown field"),
    (b"[]", "application/json", 400, "expected a JSON object"),
    (b'{"text": "hi"}', "text/plain", 415, "application/json"),
    (b"text=hi", "application/x-www-form-urlencoded", 415, "application/json"),
    (b'{"text": "' + b"x" * 100_000 + b'"}', "application/json", 413, "over 16384 bytes"),
])
def test_bad_input_is_a_json_4xx_with_the_reason(server, body, content_type, status, words):
    answer = server.post("/api/messages", data=body, headers={"Content-Type": content_type})
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "application/json" and words in answer.json()["error"]


def test_a_chunked_body_over_the_limit_is_a_413(server):
    def chunks():
        for _ in range(64):
            yield b" " * 1024

    answer = requests.post(server.url("/api/messages"), data=chunks(), timeout=30,
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 413


def test_a_huge_body_is_refused_by_the_server_before_the_app(server):
    answer = server.post("/api/messages", data=b" " * (2 * 1024 * 1024), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=ten", "limit=-1"])
def test_a_bad_limit_is_a_400(server, query):
    answer = server.get(f"/api/messages?{query}")
    assert answer.status_code == 400 and answer.json()["field"] == "limit"


@pytest.mark.parametrize("method,path,status", [("GET", "/nope", 404), ("DELETE", "/api/messages", 405),
                                                ("GET", "/api/setup", 405)])
def test_unknown_routes_and_methods_are_json(server, method, path, status):
    answer = requests.request(method, server.url(path), timeout=30)
    assert answer.status_code == status and answer.json()["status"] == status


def test_a_pooled_connection_the_server_closed_is_replaced(server, app_stack):
    pid = server.get("/api/info").json()["session"]["backend_pid"]
    assert app_stack.admin_sql("SELECT pg_terminate_backend(%s)", (pid,)) == [(True,)]
    assert server.get("/readyz").status_code == 200
    info = server.get("/api/info").json()
    assert info["session"]["backend_pid"] != pid
    assert info["pool"]["discarded_broken"] >= 1


def test_no_token_reaches_the_log(server):
    server.get("/api/info")
    logged = server.logged()
    assert "GET /api/info 200" in logged
    for marker in token_markers():
        assert marker not in logged


def test_a_refused_login_makes_the_app_unready_with_the_reason(app_stack, tmp_path):
    app = AppServer(app_stack.pod_env(DB_USER=OTHER_DB_USER), tmp_path / "app.log").start()
    try:
        assert app.get("/healthz").status_code == 200
        ready = app.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["stage"] == "login"
        assert f'authentication failed for user "{OTHER_DB_USER}"' in ready.json()["reason"]
        info = app.get("/api/info").json()
        assert info["session"]["stage"] == "login" and info["identity"]["role"]
        assert app.post("/api/setup").status_code == 503
        page = app.get("/")
        assert page.status_code == 200 and "no connection (login)" in page.text
    finally:
        assert app.stop() == 0
    assert app.logged().count("retrying once with a new token") >= 1


def test_a_weaker_tls_mode_is_served_with_a_warning(app_stack, tmp_path):
    app = AppServer(app_stack.pod_env(PGSSLMODE="require"), tmp_path / "app.log").start()
    try:
        info = app.get("/api/info").json()
        assert "does not verify the server" in info["tls_warning"]
        assert info["session"]["tls"]["on"] is True
        assert 'id="tls-warning"' in app.get("/").text
    finally:
        assert app.stop() == 0
    assert "INSECURE TLS SETTING: PGSSLMODE=require" in app.logged()


def test_a_missing_grant_is_a_503_with_the_servers_words(server, app_stack):
    # DbSetup forgot CREATE on schema public: the operator must read it, not a bare 500.
    app_stack.app_sql("DROP TABLE IF EXISTS public.messages")
    app_stack.admin_sql(f"REVOKE CREATE ON SCHEMA public FROM {DB_USER}")
    try:
        answer = server.post("/api/setup")
    finally:
        app_stack.admin_sql(f"GRANT CREATE ON SCHEMA public TO {DB_USER}")
    assert answer.status_code == 503
    assert answer.json() == {"error": "permission denied for schema public", "stage": "query"}
    assert server.post("/api/setup").status_code == 201
