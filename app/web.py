"""HTTP: the page and the JSON API. Routes only translate between HTTP and :class:`DemoService`.

Every answer of the API is JSON, errors included: bad input is a 4xx saying what was wrong
(never a 500), a failing dependency (credentials, database) is a 503 with the reason.
"""

from __future__ import annotations

import logging

import psycopg2
from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.errors import DependencyError, QueryFailed
from app.repository import TableMissing
from app.service import DemoService
from app.validation import (MAX_BODY_BYTES, MAX_MESSAGE_LENGTH, InvalidInput, list_limit, message_text,
                            parse_json_object, require_json)

log = logging.getLogger(__name__)
access_log = logging.getLogger("app.access")

# No inline script or style anywhere: a message that slipped past escaping still could not run.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                           "img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def create_app(service: DemoService) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    app.extensions["demo_service"] = service

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        access_log.info("%s %s %d", request.method, request.path, response.status_code)
        return response

    @app.errorhandler(InvalidInput)
    def invalid_input(exc: InvalidInput):
        return jsonify(exc.as_json()), exc.status

    @app.errorhandler(TableMissing)
    def table_missing(exc: TableMissing):
        return jsonify(error="the messages table does not exist yet: POST /api/setup creates it"), 409

    @app.errorhandler(DependencyError)
    def dependency_failed(exc: DependencyError):
        log.warning("%s failed: %s", exc.stage, exc.reason)
        return jsonify(error=exc.reason, stage=exc.stage), 503

    @app.errorhandler(psycopg2.Error)
    def query_failed(exc: psycopg2.Error):
        # Input is validated before it reaches SQL: what is left is the deployment (grants,
        # a table changed under the app), which the operator needs to read.
        return dependency_failed(QueryFailed(_server_message(exc)))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if isinstance(exc, RequestEntityTooLarge):
            return jsonify(error=f"request body over {MAX_BODY_BYTES} bytes", status=413), 413
        return jsonify(error=exc.description, status=exc.code), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return jsonify(error="internal error; see the server log"), 500

    @app.get("/")
    def page():
        return render_template("index.html", info=service.info(), max_length=MAX_MESSAGE_LENGTH)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz():
        try:
            service.ready()
        except DependencyError as exc:
            return jsonify(ready=False, stage=exc.stage, reason=exc.reason), 503
        return jsonify(ready=True)

    @app.get("/api/info")
    def info():
        return jsonify(service.info())

    @app.post("/api/setup")
    def setup():
        _no_body_or_json_object()
        created = service.setup()
        return jsonify(table="messages", created=created), 201 if created else 200

    @app.get("/api/messages")
    def list_messages():
        limit = list_limit(request.args.get("limit"))
        return jsonify(messages=[m.as_json() for m in service.messages(limit)])

    @app.post("/api/messages")
    def add_message():
        require_json(request.content_type)
        text = message_text(parse_json_object(_body()))
        return jsonify(message=service.add_message(text).as_json()), 201

    return app


def _server_message(exc: psycopg2.Error) -> str:
    message = (exc.diag.message_primary if exc.diag else None) or str(exc) or type(exc).__name__
    return " ".join(message.split())


def _body() -> bytes:
    # Werkzeug enforces MAX_CONTENT_LENGTH (413) for declared and chunked bodies alike.
    return request.get_data(cache=False)


def _no_body_or_json_object() -> None:
    """POST /api/setup takes no input; an empty body (curl -X POST) or a JSON object is accepted.
    Any other content type is refused, so a cross-site HTML form cannot trigger it."""
    body = _body()
    if request.content_type is None and not body:
        return
    require_json(request.content_type)
    if body.strip():
        parse_json_object(body)
