"""The local database servers fail closed when their checker is gone (issue 12 §1).

* The servers ask the checker over ``ldaps`` and verify its certificate against the local CA: a
  process that binds the checker's port after the daemon died (a decoy answering "success" to
  every bind, in plain LDAP or over TLS with a certificate of another CA) admits no login.
* The daemon's watchdog stops the servers when the daemon dies, ``kill -9`` included.
* ``status`` names servers left without their daemon; ``up`` on the state directory stops them.
* An idle-connection flood on the checker's port does not refuse valid logins.

Every refusal is paired with a control on the same setup (a working login, a decoy that does
answer "success" to a direct bind)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rds_fixtures import APP_USER, MASTER_USER, RdsDatabase, create_database

from pgiam.localcloud.ca import load_or_create
from pgiam.localcloud.processes import process_state
from pgiam.localcloud.rds.ldap import LdapResponder


def wait_for(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def gone(pid: int) -> bool:
    return process_state(pid) in (None, "Z")


def ldap_port(database: RdsDatabase) -> int:
    return int(database.cloud.info["extensions"]["rds"]["ldap_port"])


def server_pid(database: RdsDatabase) -> int:
    records = [json.loads(path.read_text()) for path in (database.cloud.state_dir / "processes").glob("*.json")]
    return next(record["pid"] for record in records if record["name"].endswith(database.identifier))


def pgiam_localcloud(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pgiam", "localcloud", *args], capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture
def private_cluster(localcloud_factory) -> RdsDatabase:
    """A cluster with an ``rds_iam`` member on a local cloud of its own (the tests kill daemons)."""
    cloud = localcloud_factory()
    database = create_database(cloud, "cluster", "failclosed")
    database.add_iam_user(APP_USER)
    return database


def decoy_certificate_context(ca_directory: Path | None = None) -> ssl.SSLContext:
    """A TLS server context for 127.0.0.1 with a certificate of a CA that is not the cloud's, or
    (``ca_directory``) one the cloud's own CA signed: the servers trust neither, only the
    checker's pinned certificate."""
    with tempfile.TemporaryDirectory(prefix="pgiam-decoy-") as directory:
        authority_dir = ca_directory or Path(directory)
        authority = load_or_create(authority_dir / "ca.pem", authority_dir / "ca-key.pem")
        certificate, key = authority.issue_server_certificate([], ["127.0.0.1"])
        (Path(directory) / "cert.pem").write_bytes(certificate)
        (Path(directory) / "key.pem").write_bytes(key)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(Path(directory) / "cert.pem"), str(Path(directory) / "key.pem"))
        return context


def start_decoy(port: int, tls: ssl.SSLContext | None) -> LdapResponder:
    """An LDAP server on the freed port that answers "success" to every bind. The killed daemon's
    threads may still be closing their sockets for a moment (its leader shows as a zombie first)."""
    deadline = time.monotonic() + 10
    while True:
        options = {"tls": tls} if tls is not None else {}
        decoy = LdapResponder(lambda user, resource_id, password: True, port=port, **options)
        try:
            assert decoy.start() == port
            return decoy
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def direct_bind_succeeds(port: int, *, tls: bool) -> bool:
    """What the decoy answers to a simple bind with any password (ldap3, trusting any certificate)."""
    from ldap3 import NONE, SIMPLE, Connection, Server, Tls

    # get_info=NONE: no root DSE search after the bind (the decoy, like the checker, serves binds only)
    server = Server("127.0.0.1", port=port, connect_timeout=5, use_ssl=tls, get_info=NONE,
                    tls=Tls(validate=ssl.CERT_NONE) if tls else None)
    connection = Connection(server, user="cn=app_user,ou=cluster-X,dc=pgiam-rds", password="anything",
                            authentication=SIMPLE, receive_timeout=5)
    try:
        return bool(connection.bind())
    finally:
        connection.unbind()


@pytest.fixture
def crashed_without_watchdog(private_cluster: RdsDatabase) -> Iterator[RdsDatabase]:
    """The private cluster's daemon killed with SIGKILL while its watchdog is frozen (SIGSTOP: a
    killed one would be restarted by the daemon): the server runs on without its checker."""
    cloud = private_cluster.cloud
    assert private_cluster.login(MASTER_USER, private_cluster.master_password)[0] == MASTER_USER
    watchdog = cloud.info["watchdog_pid"]
    os.kill(watchdog, signal.SIGSTOP)
    try:
        os.kill(cloud.pid, signal.SIGKILL)
        assert wait_for(lambda: gone(cloud.pid))
        yield private_cluster
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(watchdog, signal.SIGKILL)


@pytest.mark.parametrize("decoy_tls", [None, "another-ca", "local-ca"],
                         ids=["plain-ldap-decoy", "tls-decoy-of-another-ca", "tls-decoy-signed-by-the-local-ca"])
def test_a_decoy_on_the_freed_checker_port_admits_no_login(crashed_without_watchdog, decoy_tls):
    database = crashed_without_watchdog
    port = ldap_port(database)
    context = (None if decoy_tls is None else
               decoy_certificate_context(database.cloud.state_dir if decoy_tls == "local-ca" else None))
    decoy = start_decoy(port, context)
    try:
        assert direct_bind_succeeds(port, tls=decoy_tls is not None)  # control: the decoy says "success"
        # control: the server is alive and serves password logins
        assert database.login(MASTER_USER, database.master_password)[0] == MASTER_USER
        message = database.refused(APP_USER, "any-password-at-all")
        assert 'authentication failed for user "app_user"' in message
    finally:
        decoy.stop()


def test_status_names_the_servers_a_crash_left_and_up_stops_them(crashed_without_watchdog):
    database = crashed_without_watchdog
    cloud, postmaster = database.cloud, server_pid(database)
    assert not gone(postmaster)
    status = pgiam_localcloud("status", "--state-dir", str(cloud.state_dir))
    assert status.returncode != 0
    assert "left running" in status.stderr and f"rds-cluster-failclosed (pid {postmaster})" in status.stderr
    restarted = pgiam_localcloud("up", "--state-dir", str(cloud.state_dir))
    assert restarted.returncode == 0, restarted.stderr
    assert wait_for(lambda: gone(postmaster), 5)
    info = json.loads(restarted.stdout)
    assert info["pid"] != cloud.pid
    status = pgiam_localcloud("status", "--state-dir", str(cloud.state_dir))
    assert status.returncode == 0 and json.loads(status.stdout)["pid"] == info["pid"]


def test_killing_the_daemon_stops_its_database_servers(private_cluster):
    database, cloud = private_cluster, private_cluster.cloud
    postmaster = server_pid(database)
    data = Path(json.loads((cloud.state_dir / "processes" / "rds-cluster-failclosed.json").read_text())["paths"][0])
    assert database.login(MASTER_USER, database.master_password)[0] == MASTER_USER  # control
    os.kill(cloud.pid, signal.SIGKILL)
    assert wait_for(lambda: gone(postmaster), 15), "the server outlived its daemon"
    assert wait_for(lambda: not data.exists(), 5)
    assert wait_for(lambda: "is gone; stopped what it left running: rds-cluster-failclosed"
                    in Path(cloud.info["log"]).read_text(), 5)
    status = pgiam_localcloud("status", "--state-dir", str(cloud.state_dir))
    assert status.returncode != 0 and "left running" not in status.stderr


def test_a_killed_watchdog_is_replaced_and_the_servers_still_stop_with_the_daemon(private_cluster):
    database, cloud = private_cluster, private_cluster.cloud
    postmaster = server_pid(database)
    os.kill(cloud.info["watchdog_pid"], signal.SIGKILL)
    log = Path(cloud.info["log"])
    assert wait_for(lambda: "watchdog restarted" in log.read_text(), 15)
    assert database.login(MASTER_USER, database.master_password)[0] == MASTER_USER  # control
    os.kill(cloud.pid, signal.SIGKILL)
    assert wait_for(lambda: gone(postmaster), 15), "the server outlived its daemon"


def test_valid_logins_work_under_an_idle_connection_flood(shared_cluster, connect_role, role_credentials,
                                                          daemon_log):
    credentials = role_credentials(connect_role(shared_cluster.dbuser_arn(APP_USER)))
    token = shared_cluster.token(credentials, APP_USER)
    assert shared_cluster.login(APP_USER, token) == (APP_USER, True)  # control, before the flood
    flood = []
    try:
        for _ in range(300):
            flood.append(socket.create_connection(("127.0.0.1", ldap_port(shared_cluster)), timeout=5))
        time.sleep(0.2)
        for _ in range(5):
            assert shared_cluster.login(APP_USER, shared_cluster.token(credentials, APP_USER)) == (APP_USER, True)
        assert shared_cluster.refused(APP_USER, "not-a-token")  # refusals still refuse
    finally:
        for connection in flood:
            connection.close()
