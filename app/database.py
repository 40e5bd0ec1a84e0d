"""Opening one connection with an IAM token, over TLS, retrying a refused login once.

What the client can see of a refusal is the server's FATAL message (RDS says ``PAM
authentication failed for user "..."``); it is reported as is, never with the token. Network and
TLS failures are not retried: a new token cannot fix them.
"""

from __future__ import annotations

import logging
import re

import psycopg2
import psycopg2.extensions

from app.errors import DatabaseUnreachable, LoginRefused
from app.settings import Settings
from app.tokens import Token, TokenProvider

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10
_FATAL = re.compile(r"FATAL:\s+(.*)", re.DOTALL)


def connection_parameters(settings: Settings) -> dict[str, object]:
    """Everything libpq needs except the password. Passed explicitly so no PG* variable of the
    environment (PGPASSWORD, PGHOST, ...) can change what we connect to."""
    params: dict[str, object] = {
        "host": settings.db_host,
        "port": settings.db_port,
        "dbname": settings.db_name,
        "user": settings.db_user,
        "sslmode": settings.sslmode,
        "connect_timeout": CONNECT_TIMEOUT,
        "application_name": "pgiam-demo-app",
    }
    if settings.sslrootcert:
        params["sslrootcert"] = settings.sslrootcert
    return params


def server_refusal(exc: psycopg2.OperationalError) -> str | None:
    """The server's FATAL message when the server refused us, or None for a client-side failure."""
    match = _FATAL.search(str(exc))
    return _one_line(match.group(1)) if match else None


def client_failure(exc: psycopg2.OperationalError) -> str:
    """libpq's message for a failure before the server answered, on one line."""
    return _one_line(str(exc))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def connect(settings: Settings, tokens: TokenProvider) -> psycopg2.extensions.connection:
    """A new connection logged in with a token from ``tokens``. A refused login is retried once
    with a newly minted token; a second refusal raises :class:`LoginRefused`."""
    params = connection_parameters(settings)
    token = tokens.token()
    try:
        return _open(params, token)
    except LoginRefused as first:
        log.warning("login as %s refused (%s); retrying once with a new token", settings.db_user, first.reason)
    try:
        return _open(params, tokens.fresh())
    except LoginRefused as second:
        raise LoginRefused(f"login as {settings.db_user!r} refused by the server, also with a new "
                           f"token: {second.reason}") from None


def _open(params: dict[str, object], token: Token) -> psycopg2.extensions.connection:
    try:
        return psycopg2.connect(password=token.value, **params)
    except psycopg2.OperationalError as exc:
        refusal = server_refusal(exc)
        if refusal is not None:
            raise LoginRefused(refusal) from None
        raise DatabaseUnreachable(client_failure(exc)) from None
