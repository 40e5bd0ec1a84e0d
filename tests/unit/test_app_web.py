"""The HTTP layer's translation of bad input: JSON 4xx answers, never a 500, before any database
work. The service behind it has no database (every connection attempt is refused), so a request
that got past validation answers 503, which the tests tell apart from a 4xx."""

from __future__ import annotations

import pytest
from flask import render_template
from hypothesis import given, settings as hsettings, strategies as st

from app.errors import DatabaseUnreachable
from app.identity import AwsClients
from app.pool import ConnectionPool
from app.service import DemoService
from app.settings import Settings
from app.tokens import TokenProvider
from app.validation import MAX_BODY_BYTES
from app.web import create_app

SETTINGS = Settings(db_host="db.example.com", db_port=5432, db_name="appdb", db_user="app_user",
                    region="us-east-1", sslmode="verify-full", sslrootcert="/ca.pem", port=8080)


def no_database():
    raise DatabaseUnreachable("no database in the unit layer")


@pytest.fixture(scope="module")
def app():
    service = DemoService(SETTINGS, AwsClients(rds=None, sts=None), TokenProvider(lambda: ""),
                          ConnectionPool(no_database))
    return create_app(service)


@pytest.fixture
def client(app):
    return app.test_client()


def post_json(client, path, data, content_type="application/json"):
    return client.post(path, data=data, headers={"Content-Type": content_type})


def test_healthz_needs_no_database(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.get_json() == {"status": "ok"}


def test_readyz_reports_the_database_failure_as_503(client):
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json() == {"ready": False, "stage": "connect", "reason": "no database in the unit layer"}


def test_valid_input_reaches_the_service(client):
    answer = post_json(client, "/api/messages", b'{"text": "hello"}')
    assert answer.status_code == 503 and answer.get_json()["stage"] == "connect"


@pytest.mark.parametrize("body,status,words", [
    (b'{"text": ', 400, "malformed JSON"),
    (b'{"text": 5}', 400, "must be a string"),
    (b'{"text": ""}', 400, "must not be empty"),
    (b'{"text": "' + b"x" * 501 + b'"}', 400, "the limit is 500"),
    (b'["text"]', 400, "expected a JSON object"),
    (b'{"text": "a\\u0000b"}', 400, "control character U+0000"),
    (b'{"text": "a\\ud800"}', 400, "unpaired surrogate"),
    (b"\xff", 400, "not UTF-8"),
])
def test_bad_message_bodies_are_400_with_the_reason(client, body, status, words):
    answer = post_json(client, "/api/messages", body)
    assert answer.status_code == status
    assert answer.is_json and words in answer.get_json()["error"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=b"])
def test_other_content_types_are_415(client, content_type):
    answer = post_json(client, "/api/messages", b'{"text": "hi"}', content_type)
    assert answer.status_code == 415 and "application/json" in answer.get_json()["error"]


def test_a_body_over_the_limit_is_413_json(client):
    answer = post_json(client, "/api/messages", b'{"text": "' + b"x" * MAX_BODY_BYTES + b'"}')
    assert answer.status_code == 413
    assert answer.get_json()["error"] == f"request body over {MAX_BODY_BYTES} bytes"


@pytest.mark.parametrize("query,status", [("limit=0", 400), ("limit=abc", 400), ("limit=201", 400),
                                          ("limit=10", 503)])
def test_list_limit_is_validated_before_the_database(client, query, status):
    assert client.get(f"/api/messages?{query}").status_code == status


def test_setup_refuses_a_cross_site_form_post(client):
    answer = post_json(client, "/api/setup", b"a=b", "application/x-www-form-urlencoded")
    assert answer.status_code == 415


@pytest.mark.parametrize("content_type,body", [(None, b""), ("application/json", b"{}"),
                                               ("application/json", b"")])
def test_setup_accepts_no_body_or_an_empty_object(client, content_type, body):
    headers = {"Content-Type": content_type} if content_type else {}
    assert client.post("/api/setup", data=body, headers=headers).status_code == 503


@pytest.mark.parametrize("method,path,status", [("GET", "/nope", 404), ("DELETE", "/api/messages", 405),
                                                ("GET", "/api/setup", 405), ("PUT", "/healthz", 405)])
def test_unknown_routes_and_methods_answer_json(client, method, path, status):
    answer = client.open(path, method=method)
    assert answer.status_code == status and answer.get_json()["status"] == status


def test_every_answer_carries_the_security_headers(client):
    headers = client.get("/healthz").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_the_page_escapes_what_servers_and_settings_say(app):
    evil = '<img src=x onerror="alert(1)">'
    info = {"database": {"host": "db.example.com", "port": 5432, "name": "appdb", "user": "app_user",
                         "sslmode": "verify-full"},
            "tls_warning": evil,
            "identity": {"error": evil, "stage": "credentials"},
            "session": {"error": evil, "stage": "login"},
            "token": None}
    with app.test_request_context("/"):
        html = render_template("index.html", info=info, max_length=500)
    assert evil not in html
    assert html.count("&lt;img src=x onerror=&#34;alert(1)&#34;&gt;") == 3


@hsettings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=200) | st.text(max_size=100).map(str.encode),
       content_type=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", ""]))
def test_no_body_makes_a_500(app, body, content_type):
    answer = app.test_client().post("/api/messages", data=body, headers={"Content-Type": content_type})
    assert answer.status_code in (400, 413, 415, 503) and answer.is_json
