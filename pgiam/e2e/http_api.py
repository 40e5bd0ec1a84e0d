"""Driving the demo app's HTTP API through its Service's URL (step 4, both targets): health,
readiness, set up the table, write a message, read it back, and the identity the app reports.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

from pgiam.e2e.checks import CheckFailure


@dataclass
class ApiCall:
    method: str
    path: str
    status: int
    body: Any

    def line(self) -> str:
        text = json.dumps(self.body) if not isinstance(self.body, str) else self.body
        return f"{self.method} {self.path} -> {self.status} {text[:300]}"


@dataclass
class ApiSession:
    base_url: str
    timeout: float = 15.0
    calls: list[ApiCall] = field(default_factory=list)

    def request(self, method: str, path: str, body: Any = None) -> ApiCall:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url.rstrip("/") + path, data=data,
                                         headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            raise CheckFailure(f"{method} {path}: no answer from {self.base_url}: "
                               f"{getattr(error, 'reason', error)}") from None
        try:
            parsed: Any = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")[:300]
        call = ApiCall(method, path, status, parsed)
        self.calls.append(call)
        return call

    def expect(self, method: str, path: str, statuses: tuple[int, ...], body: Any = None
               ) -> ApiCall:
        call = self.request(method, path, body)
        if call.status not in statuses:
            raise CheckFailure(f"{method} {path}: expected {'/'.join(map(str, statuses))}, got "
                               f"{call.status}: {call.line()}")
        return call


def wait_reachable(base_url: str, timeout: float) -> None:
    """Until ``GET /healthz`` answers (a load balancer's DNS and targets take a while on AWS)."""
    session = ApiSession(base_url, timeout=5.0)
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            if session.request("GET", "/healthz").status == 200:
                return
        except CheckFailure as failure:
            last = str(failure)
        time.sleep(1.0)
    raise CheckFailure(f"{base_url} did not answer /healthz within {timeout:.0f}s: {last}")


def exercise(base_url: str, expected_role: str | None, expected_user: str | None
             ) -> tuple[str, list[str], dict[str, Any]]:
    """Health, readiness, info (the role the app runs as, the database user it is, over TLS),
    setup, write, read back. Returns (message, log lines, details)."""
    session = ApiSession(base_url)
    session.expect("GET", "/healthz", (200,))
    session.expect("GET", "/readyz", (200,))
    info = session.expect("GET", "/api/info", (200,)).body or {}
    identity = info.get("identity") if isinstance(info, dict) else None
    role = identity.get("role") if isinstance(identity, dict) else None
    if expected_role and role != expected_role:
        raise CheckFailure(f"/api/info: the app runs as role {role!r}, expected "
                           f"{expected_role!r} ({identity})")
    db_session = info.get("session") if isinstance(info, dict) else None
    if not isinstance(db_session, dict) or "error" in db_session:
        raise CheckFailure(f"/api/info: no database session: {db_session}")
    if expected_user and db_session.get("current_user") != expected_user:
        raise CheckFailure(f"/api/info: the app is database user "
                           f"{db_session.get('current_user')!r}, expected {expected_user!r}")
    if not (db_session.get("tls") or {}).get("on"):
        raise CheckFailure(f"/api/info: the app's database session is not encrypted: {db_session}")
    session.expect("POST", "/api/setup", (200, 201))
    text = f"pgiam e2e {uuid.uuid4()}"
    written = session.expect("POST", "/api/messages", (201,), {"text": text}).body or {}
    message = written.get("message") if isinstance(written, dict) else None
    if not isinstance(message, dict):
        raise CheckFailure(f"POST /api/messages: no message in the answer: {written}")
    listing = session.expect("GET", "/api/messages?limit=50", (200,)).body
    items = listing.get("messages") if isinstance(listing, dict) else listing
    texts = [item.get("text") or item.get("body") for item in items or []
             if isinstance(item, dict)]
    if text not in texts:
        raise CheckFailure(f"GET /api/messages: the message written ({text!r}) did not read "
                           f"back; got {texts[:5]}")
    lines = [call.line() for call in session.calls]
    return (f"wrote and read back message {message.get('id')} as role {role}", lines,
            {"url": base_url, "role": role, "message_id": message.get("id")})
