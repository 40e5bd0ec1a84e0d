"""The SQL the app runs. Every statement is parameterised; each function commits its own work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from app.validation import MAX_MESSAGE_LENGTH

TABLE = "messages"

CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS public.{TABLE} (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    body       text        NOT NULL CHECK (char_length(body) BETWEEN 1 AND {MAX_MESSAGE_LENGTH}),
    author     text        NOT NULL DEFAULT current_user,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


class TableMissing(Exception):
    """The messages table has not been created yet (POST /api/setup creates it)."""


@dataclass(frozen=True)
class Message:
    id: int
    body: str
    author: str
    created_at: datetime

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "text": self.body, "author": self.author,
                "created_at": self.created_at.isoformat(timespec="seconds")}


@dataclass(frozen=True)
class SessionInfo:
    """What the server says about our session: who we are and whether TLS carries it."""

    current_user: str
    database: str
    server_version: str
    backend_pid: int
    ssl: bool
    ssl_version: str | None
    ssl_cipher: str | None

    def as_json(self) -> dict[str, object]:
        return {"current_user": self.current_user, "database": self.database,
                "server_version": self.server_version, "backend_pid": self.backend_pid,
                "tls": {"on": self.ssl, "version": self.ssl_version, "cipher": self.ssl_cipher}}


def ping(conn: psycopg2.extensions.connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()
    conn.rollback()


def session_info(conn: psycopg2.extensions.connection) -> SessionInfo:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT current_user, current_database(), current_setting('server_version'), s.pid,"
            "       s.ssl, s.version, s.cipher"
            "  FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()"
        )
        row = cur.fetchone()
    conn.rollback()
    return SessionInfo(*row)


def create_table(conn: psycopg2.extensions.connection) -> bool:
    """Create the messages table if needed; True when this call created it."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NULL", (f"public.{TABLE}",))
        missing = cur.fetchone()[0]
        cur.execute(CREATE_TABLE)
    conn.commit()
    return bool(missing)


def add_message(conn: psycopg2.extensions.connection, body: str) -> Message:
    try:
        with conn.cursor() as cur:
            cur.execute(f"INSERT INTO public.{TABLE} (body) VALUES (%s) "
                        "RETURNING id, body, author, created_at", (body,))
            row = cur.fetchone()
        conn.commit()
    except psycopg2.errors.UndefinedTable:
        conn.rollback()
        raise TableMissing() from None
    return Message(*row)


def get_message(conn: psycopg2.extensions.connection, message_id: int) -> Message | None:
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT id, body, author, created_at FROM public.{TABLE} WHERE id = %s", (message_id,))
            row = cur.fetchone()
    except psycopg2.errors.UndefinedTable:
        raise TableMissing() from None
    finally:
        conn.rollback()
    return Message(*row) if row else None


def list_messages(conn: psycopg2.extensions.connection, limit: int) -> list[Message]:
    """The newest ``limit`` messages, newest first."""
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT id, body, author, created_at FROM public.{TABLE} "
                        "ORDER BY id DESC LIMIT %s", (limit,))
            rows = cur.fetchall()
    except psycopg2.errors.UndefinedTable:
        raise TableMissing() from None
    finally:
        conn.rollback()
    return [Message(*row) for row in rows]
