"""Telling a server's refusal (retried once with a new token) from a client-side failure (not
retried), from the messages libpq produces."""

from __future__ import annotations

import psycopg2
import pytest

from app.database import client_failure, connection_parameters, server_refusal
from app.settings import Settings

SETTINGS = Settings(db_host="db.example.com", db_port=5432, db_name="appdb", db_user="app_user",
                    region="us-east-1", sslmode="verify-full", sslrootcert="/ca.pem", port=8080)


@pytest.mark.parametrize("message,reason", [
    ('connection to server at "db.example.com" (10.0.0.5), port 5432 failed: FATAL:  PAM authentication '
     'failed for user "app_user"\n', 'PAM authentication failed for user "app_user"'),
    ('connection to server at "localhost" (127.0.0.1), port 5432 failed: FATAL:  pg_hba.conf rejects '
     'connection for host "10.0.0.9", user "app_user", database "appdb", no encryption\n',
     'pg_hba.conf rejects connection for host "10.0.0.9", user "app_user", database "appdb", no encryption'),
])
def test_a_fatal_from_the_server_is_a_refusal_with_its_words(message, reason):
    assert server_refusal(psycopg2.OperationalError(message)) == reason


@pytest.mark.parametrize("message", [
    'connection to server at "db.example.com" (10.0.0.5), port 5432 failed: Connection refused\n'
    "\tIs the server running on that host and accepting TCP/IP connections?\n",
    'connection to server at "localhost" (127.0.0.1), port 5432 failed: SSL error: certificate verify failed\n',
    'could not translate host name "db.example.com" to address: Name or service not known\n',
])
def test_network_and_tls_failures_are_not_refusals(message):
    exc = psycopg2.OperationalError(message)
    assert server_refusal(exc) is None
    assert "\n" not in client_failure(exc) and "\t" not in client_failure(exc)


def test_every_connection_parameter_is_explicit_and_none_is_the_password():
    params = connection_parameters(SETTINGS)
    assert params["sslmode"] == "verify-full" and params["sslrootcert"] == "/ca.pem"
    assert {"host", "port", "dbname", "user", "connect_timeout"} <= set(params)
    assert "password" not in params
