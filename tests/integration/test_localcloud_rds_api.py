"""The local RDS's API (what ``describe_*`` says and that it reaches the server) and its
robustness: clients that never finish and garbage on the LDAP port do not hold up the next login."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql
from rds_fixtures import APP_USER, DB_NAME, MASTER_USER

from pgiam.localcloud.processes import process_state
from pgiam.localcloud.rds.postgres import SERVER_ACCESS_ROLES


def test_cluster_describes_as_available_with_an_endpoint_that_reaches_it(shared_cluster):
    rds = shared_cluster.cloud.client("rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier=shared_cluster.identifier)["DBClusters"][0]
    assert cluster["Status"] == "available"
    domain = shared_cluster.cloud.info["extensions"]["rds"]["endpoint_domain"]
    assert cluster["Endpoint"] == f"{shared_cluster.identifier}.cluster-{domain}"
    assert cluster["ReaderEndpoint"] == f"{shared_cluster.identifier}.cluster-ro-{domain}"
    assert cluster["Port"] == 5432  # what RDS gives aurora-postgresql when the program asks none
    assert cluster["IAMDatabaseAuthenticationEnabled"] is True
    assert cluster["DbClusterResourceId"] == shared_cluster.resource_id
    assert cluster["DbClusterResourceId"].startswith("cluster-")
    connection = shared_cluster.connect(MASTER_USER, shared_cluster.master_password, host=cluster["Endpoint"],
                                        port=cluster["Port"])
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), rolsuper, rolcreaterole, rolcreatedb, "
                       "pg_has_role(current_user, 'rds_superuser', 'MEMBER') "
                       "FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (DB_NAME, False, True, True, True)
        cursor.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'rds_iam'")
        assert cursor.fetchone() == (False,)
    connection.close()


def test_instances_get_unique_dbi_resource_ids_and_the_clusters_endpoint(shared_cluster, rds_databases):
    rds = shared_cluster.cloud.client("rds")
    rds.create_db_instance(DBInstanceIdentifier=f"{shared_cluster.identifier}-2",
                           DBClusterIdentifier=shared_cluster.identifier, Engine="aurora-postgresql",
                           DBInstanceClass="db.t4g.medium")
    try:
        standalone = rds_databases("instance")
        instances = {i["DBInstanceIdentifier"]: i for i in rds.describe_db_instances()["DBInstances"]}
        members = [instances[f"{shared_cluster.identifier}-{n}"] for n in (1, 2)]
        ids = [i["DbiResourceId"] for i in members] + [standalone.resource_id]
        assert len(set(ids)) == 3 and all(i.startswith("db-") for i in ids)
        domain = shared_cluster.cloud.info["extensions"]["rds"]["endpoint_domain"]
        for member in members:
            assert member["Endpoint"] == {"Address": f"{member['DBInstanceIdentifier']}.{domain}",
                                          "Port": shared_cluster.port}
            assert member["IAMDatabaseAuthenticationEnabled"] is True
            assert member["DBInstanceStatus"] == "available"
        again = {i["DBInstanceIdentifier"]: i["DbiResourceId"]
                 for i in rds.describe_db_instances()["DBInstances"]}
        assert [again[i["DBInstanceIdentifier"]] for i in members] == ids[:2]
        assert standalone.port == shared_cluster.port == 5432  # each on its own addresses
        assert standalone.address() not in {shared_cluster.address(), None}
    finally:
        rds.delete_db_instance(DBInstanceIdentifier=f"{shared_cluster.identifier}-2", SkipFinalSnapshot=True)


def test_reserved_master_user_name_is_refused_before_anything_starts(localcloud):
    rds = localcloud.client("rds")
    with pytest.raises(rds.exceptions.ClientError) as error:
        rds.create_db_cluster(DBClusterIdentifier="reserved-master", Engine="aurora-postgresql",
                              MasterUsername="rdsadmin", MasterUserPassword="password-123")
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(rds.exceptions.DBClusterNotFoundFault):
        rds.describe_db_clusters(DBClusterIdentifier="reserved-master")


def test_iam_flag_on_an_aurora_instance_is_refused_as_rds_does(shared_cluster):
    rds = shared_cluster.cloud.client("rds")
    member = shared_cluster.described["DBClusterMembers"][0]["DBInstanceIdentifier"]
    with pytest.raises(rds.exceptions.ClientError) as error:
        rds.modify_db_instance(DBInstanceIdentifier=member, EnableIAMDatabaseAuthentication=False,
                               ApplyImmediately=True)
    assert error.value.response["Error"]["Code"] == "InvalidParameterCombination"


def _ldap_port(cloud) -> int:
    return int(cloud.info["extensions"]["rds"]["ldap_port"])


def test_silent_clients_and_ldap_garbage_do_not_hold_up_the_next_login(
        shared_cluster, connect_role, role_credentials):
    credentials = role_credentials(connect_role(shared_cluster.dbuser_arn(APP_USER)))
    assert shared_cluster.login(APP_USER, shared_cluster.token(credentials, APP_USER))[0] == APP_USER
    ldap_port = _ldap_port(shared_cluster.cloud)
    idle = [socket.create_connection((host, port)) for host, port in
            ((shared_cluster.address(), shared_cluster.port), ("127.0.0.1", ldap_port))
            for _ in range(5)]
    half = socket.create_connection(("127.0.0.1", ldap_port))
    half.sendall(b"\x30\x84\x00\x00\x10\x00\x02\x01")  # a 4 KiB message that never comes
    garbage = socket.create_connection(("127.0.0.1", ldap_port))
    garbage.sendall(b"GET / HTTP/1.1\r\n\r\n" * 10)
    oversized = socket.create_connection(("127.0.0.1", ldap_port))
    oversized.sendall(b"\x30\x84\x7f\xff\xff\xff")
    try:
        for peer in (garbage, oversized):
            peer.settimeout(5)
            assert peer.recv(1) == b""  # closed by the responder, not left hanging
        started = time.monotonic()
        token = shared_cluster.token(credentials, APP_USER)
        assert shared_cluster.login(APP_USER, token)[0] == APP_USER
        assert time.monotonic() - started < 2.0
    finally:
        for peer in (*idle, half, garbage, oversized):
            peer.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # ldap3's client imports old pyasn1 names
def test_ldap_responder_refuses_a_direct_bind_without_a_valid_token(shared_cluster):
    from ldap3 import SIMPLE, Connection, Server

    import ssl

    from ldap3 import Tls

    pinned = shared_cluster.cloud.info["extensions"]["rds"]["ldap_certificate"]
    tls = Tls(ca_certs_file=pinned, validate=ssl.CERT_REQUIRED)
    server = Server("127.0.0.1", port=_ldap_port(shared_cluster.cloud), connect_timeout=5, use_ssl=True,
                    tls=tls)
    dn = f"cn={APP_USER},ou={shared_cluster.resource_id},dc=pgiam-rds"
    for user, password in ((dn, "not-a-token"), ("cn=admin,dc=example", "secret")):
        connection = Connection(server, user=user, password=password, authentication=SIMPLE,
                                receive_timeout=5)
        assert connection.bind() is False
        assert connection.result["result"] == 49  # invalidCredentials
        connection.unbind()


def test_down_after_a_daemon_crash_stops_the_servers_and_removes_their_data(localcloud_factory):
    cloud = localcloud_factory()
    rds = cloud.client("rds")
    rds.create_db_cluster(DBClusterIdentifier="orphan", Engine="aurora-postgresql",
                          MasterUsername=MASTER_USER, MasterUserPassword="password-123", DatabaseName=DB_NAME)
    record = json.loads((cloud.state_dir / "processes" / "rds-cluster-orphan.json").read_text())
    postmaster, data = record["pid"], Path(record["paths"][0])
    assert data.is_dir() and not data.is_relative_to(cloud.state_dir)
    watchdog = cloud.info["watchdog_pid"]
    os.kill(watchdog, signal.SIGSTOP)  # frozen (a killed one is restarted): the server outlives its daemon
    try:
        os.kill(cloud.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while process_state(cloud.pid) not in (None, "Z") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process_state(postmaster) not in (None, "Z")
        cloud.down()
        assert process_state(postmaster) in (None, "Z")  # an orphan's zombie waits for init to reap it
        assert not data.exists()
    finally:
        os.kill(watchdog, signal.SIGKILL)


@pytest.mark.parametrize("role", SERVER_ACCESS_ROLES)
def test_the_master_user_cannot_grant_itself_the_servers_files_or_programs(shared_cluster, role):
    """RDS keeps them from rds_superuser; PostgreSQL 15 lets any CREATEROLE role grant them, which
    would hand the master user the OS account that runs every local database."""
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        shared_cluster.master(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(MASTER_USER)))
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        shared_cluster.master("COPY (SELECT 1) TO PROGRAM 'true'")
    shared_cluster.master(sql.SQL("GRANT pg_monitor TO {}").format(sql.Identifier(MASTER_USER)))
