"""``python -m app check``: the pod's connect flow, once.

Credentials from the default chain (the caller identity proves which role they belong to), a
token, a TLS connection as DB_USER, ``current_user``, then a row written and read back. The first
step that fails ends the check with its stage and the reason the client saw.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import psycopg2

from app import database, repository
from app.errors import DependencyError
from app.identity import AwsClients, caller_identity, rds_token_minter
from app.settings import Settings
from app.tokens import TokenProvider


class CheckFailed(Exception):
    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason


@dataclass
class CheckReport:
    steps: list[tuple[str, str]] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)
    failed: CheckFailed | None = None

    @property
    def ok(self) -> bool:
        return self.failed is None

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"ok": self.ok, "steps": [{"step": s, "detail": d} for s, d in self.steps],
                                   **self.facts}
        if self.failed:
            body["failed"] = {"stage": self.failed.stage, "reason": self.failed.reason}
        return body


def run_check(settings: Settings, clients: AwsClients) -> CheckReport:
    report = CheckReport()
    try:
        _run(settings, clients, report)
    except DependencyError as exc:
        report.failed = CheckFailed(exc.stage, exc.reason)
    except CheckFailed as exc:
        report.failed = exc
    return report


def _run(settings: Settings, clients: AwsClients, report: CheckReport) -> None:
    identity = caller_identity(clients.sts)
    report.facts["identity"] = identity.as_json()
    report.steps.append(("credentials", f"{identity.arn}"))

    tokens = TokenProvider(rds_token_minter(clients.rds, settings.db_host, settings.db_port,
                                            settings.db_user, settings.region))
    token = tokens.token()
    report.facts["token_expires_at"] = token.expires_at.isoformat()
    report.steps.append(("token", f"minted for {settings.db_user}@{settings.endpoint}, expires {token.expires_at.isoformat()}"))

    conn = database.connect(settings, tokens)
    try:
        _use(conn, settings, report)
    finally:
        conn.close()


def _use(conn, settings: Settings, report: CheckReport) -> None:
    session = repository.session_info(conn)
    report.facts["session"] = session.as_json()
    if not session.ssl:
        raise CheckFailed("tls", "the server reports this session is not encrypted (pg_stat_ssl.ssl = false)")
    report.steps.append(("connect", f"{settings.endpoint}/{settings.db_name} over {session.ssl_version} "
                                    f"(sslmode {settings.sslmode})"))
    if session.current_user != settings.db_user:
        raise CheckFailed("current_user", f"logged in as {session.current_user!r}, expected {settings.db_user!r}")
    report.steps.append(("current_user", session.current_user))

    try:
        repository.create_table(conn)
        marker = f"app check {uuid.uuid4()}"
        written = repository.add_message(conn, marker)
        read = repository.get_message(conn, written.id)
    except repository.TableMissing:
        raise CheckFailed("write", "the messages table vanished between create and insert") from None
    except psycopg2.Error as exc:
        raise CheckFailed("write", " ".join(str(exc).split()) or type(exc).__name__) from None
    if read is None or read.body != marker:
        raise CheckFailed("read", f"row {written.id} did not read back as written")
    report.facts["row_id"] = written.id
    report.steps.append(("write/read", f"row {written.id} written and read back"))
