"""The checker's LDAP responder under an idle-connection flood (issue 12 §1): at its connection
limit it closes the connection idle longest to serve a new one, and says so in the log; when it
cannot make room, the refusal names the lack of capacity. Real sockets on loopback, real ldap3
client; each refusal paired with a bind that succeeds on the same responder."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import pytest

from pgiam.localcloud.rds.ldap import LdapResponder

DN = "cn=app_user,ou=cluster-ABC,dc=pgiam-rds"


def bind(port: int, password: str) -> bool:
    from ldap3 import NONE, SIMPLE, Connection, Server

    server = Server("127.0.0.1", port=port, connect_timeout=5, get_info=NONE)
    connection = Connection(server, user=DN, password=password, authentication=SIMPLE, receive_timeout=5)
    try:
        return bool(connection.bind())
    except Exception:  # ldap3 raises when the server closes the connection unanswered
        return False
    finally:
        connection.unbind()


def responder(max_connections: int) -> Iterator[LdapResponder]:
    server = LdapResponder(lambda user, resource_id, password: password == b"good-token",
                           max_connections=max_connections, read_timeout=30)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def small_responder() -> Iterator[LdapResponder]:
    yield from responder(8)


@pytest.fixture
def full_responder() -> Iterator[LdapResponder]:
    yield from responder(0)


def test_a_valid_bind_is_served_past_a_flood_of_idle_connections(small_responder, caplog):
    caplog.set_level(logging.INFO, logger="pgiam.localcloud.rds.ldap")
    flood = [socket.create_connection(("127.0.0.1", small_responder.port), timeout=5) for _ in range(40)]
    try:
        time.sleep(0.2)
        assert bind(small_responder.port, "good-token")
        assert not bind(small_responder.port, "bad-token")  # a refusal is still a refusal
        assert "closed the one idle longest" in caplog.text
    finally:
        for connection in flood:
            connection.close()


def test_a_refusal_for_lack_of_capacity_says_so_in_the_log(full_responder, small_responder, caplog):
    caplog.set_level(logging.INFO, logger="pgiam.localcloud.rds.ldap")
    assert bind(small_responder.port, "good-token")  # control: the same bind where there is room
    assert not bind(full_responder.port, "good-token")
    assert "refusing a connection for lack of capacity" in caplog.text
