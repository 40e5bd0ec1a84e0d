"""The local RDS's endpoints as a client on AWS sees them (issue 12 §3): RDS-shaped names, each on
a loopback address of its own, on the port the program asked for, resolvable in the processes
started with the environment ``up`` prints (nss_wrapper), and named in the servers' certificates.
A token must name one of the database's own endpoints. Every refusal follows a successful login
on the same database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from rds_fixtures import APP_USER, DB_NAME, MASTER_USER

pytestmark = pytest.mark.integration

# A pod's view: a fresh process with only the cloud's resolver variables added; it resolves the
# name itself (Python's getaddrinfo, libpq), mints its token with botocore for the name and the
# literal port, and logs in with verify-full.
CLIENT = textwrap.dedent("""
    import json, socket, sys
    import boto3, psycopg2
    args = json.loads(sys.argv[1])
    out = {"getaddrinfo": sorted({a[4][0] for a in socket.getaddrinfo(args["host"], args["port"],
                                                                    type=socket.SOCK_STREAM)})}
    if args.get("credentials"):
        c = args["credentials"]
        rds = boto3.client("rds", region_name=args["region"], aws_access_key_id=c["AccessKeyId"],
                           aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
        password = rds.generate_db_auth_token(DBHostname=args.get("token_host") or args["host"],
                                              Port=args["port"], DBUsername=args["user"])
    else:
        password = args["password"]
    try:
        conn = psycopg2.connect(host=args["host"], port=args["port"], user=args["user"], password=password,
                                dbname=args["dbname"], sslmode="verify-full", sslrootcert=args["ca"],
                                connect_timeout=10)
    except psycopg2.OperationalError as error:
        out["error"] = str(error)
    else:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user, host(inet_server_addr()), inet_server_port()")
            out["login"] = list(cur.fetchone())
        conn.close()
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def rds_info(localcloud):
    info = localcloud.info["extensions"]["rds"]
    if not info.get("env"):
        pytest.fail("libnss_wrapper.so is not installed: run `make postgres`")
    return info


@pytest.fixture
def as_pod(localcloud, rds_info):
    def run(host: str, port: int, user: str, *, credentials=None, password=None, token_host=None) -> dict:
        if credentials:
            credentials = {k: credentials[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
        args = {"host": host, "port": port, "user": user, "credentials": credentials, "password": password,
                "token_host": token_host, "region": localcloud.region, "dbname": DB_NAME,
                "ca": str(localcloud.ca_bundle)}
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **rds_info["env"]}
        done = subprocess.run([sys.executable, "-c", CLIENT, json.dumps(args)], env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    return run


@pytest.fixture
def app_credentials(shared_cluster, connect_role, role_credentials):
    return role_credentials(connect_role(shared_cluster.dbuser_arn(APP_USER)))


def test_up_prints_the_resolver_environment_and_the_server_version(rds_info):
    assert os.path.isfile(rds_info["env"]["LD_PRELOAD"]) and rds_info["env"]["LD_PRELOAD"].endswith(
        "libnss_wrapper.so")
    assert rds_info["env"]["NSS_WRAPPER_HOSTS"] == rds_info["hosts_file"]
    assert rds_info["server_version"].split(".")[0].isdigit()
    assert rds_info["server_version"] in rds_info["engine_version_note"]


def test_every_endpoint_resolves_to_its_own_address_and_logs_in_on_the_literal_port(
        shared_cluster, app_credentials, as_pod):
    rds = shared_cluster.cloud.client("rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier=shared_cluster.identifier)["DBClusters"][0]
    member = rds.describe_db_instances(
        DBInstanceIdentifier=cluster["DBClusterMembers"][0]["DBInstanceIdentifier"])["DBInstances"][0]
    addresses = set()
    for host in (cluster["Endpoint"], cluster["ReaderEndpoint"], member["Endpoint"]["Address"]):
        seen = as_pod(host, 5432, APP_USER, credentials=app_credentials)
        assert len(seen["getaddrinfo"]) == 1, seen
        address = seen["getaddrinfo"][0]
        assert address.startswith("127.") and address != "127.0.0.1"
        assert seen.get("login") == [APP_USER, address, 5432], seen
        addresses.add(address)
    assert len(addresses) == 3


def test_requested_port_is_served(rds_databases, localcloud, as_pod):
    rds = localcloud.client("rds")
    rds.create_db_cluster(DBClusterIdentifier="port-6543", Engine="aurora-postgresql", Port=6543,
                          MasterUsername=MASTER_USER, MasterUserPassword="password-6543", DatabaseName=DB_NAME)
    try:
        cluster = rds.describe_db_clusters(DBClusterIdentifier="port-6543")["DBClusters"][0]
        assert cluster["Port"] == 6543
        seen = as_pod(cluster["Endpoint"], 6543, MASTER_USER, password="password-6543")
        assert seen.get("login", [None])[0] == MASTER_USER, seen
        refused = as_pod(cluster["Endpoint"], 5432, MASTER_USER, password="password-6543")
        assert "refused" in refused["error"]
    finally:
        rds.delete_db_cluster(DBClusterIdentifier="port-6543", SkipFinalSnapshot=True)


def test_a_port_rds_refuses_is_refused(localcloud):
    rds = localcloud.client("rds")
    with pytest.raises(rds.exceptions.ClientError) as error:
        rds.create_db_cluster(DBClusterIdentifier="port-80", Engine="aurora-postgresql", Port=80,
                              MasterUsername=MASTER_USER, MasterUserPassword="password-80")
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_reader_token_logs_in_on_the_reader_and_other_databases_names_are_refused(
        shared_cluster, rds_databases, app_credentials, as_pod, daemon_log):
    rds = shared_cluster.cloud.client("rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier=shared_cluster.identifier)["DBClusters"][0]
    reader = cluster["ReaderEndpoint"]
    for endpoint in (reader, cluster["Endpoint"]):  # the log tells a reader token from a writer's
        mark = daemon_log.mark()
        assert as_pod(endpoint, 5432, APP_USER, credentials=app_credentials).get("login", [None])[0] == APP_USER
        assert f"endpoint={endpoint}:5432 " in daemon_log.since(mark)
    other = rds_databases("cluster")
    for token_host in (other.host, "localhost", shared_cluster.address(), reader.upper() + ".example"):
        mark = daemon_log.mark()
        seen = as_pod(reader, 5432, APP_USER, credentials=app_credentials, token_host=token_host)
        assert "authentication failed" in seen.get("error", ""), (token_host, seen)
        assert "reason=wrong-endpoint" in daemon_log.since(mark), token_host


def test_certificates_name_the_endpoints_not_the_address(shared_cluster):
    assert shared_cluster.login(MASTER_USER, shared_cluster.master_password)[0] == MASTER_USER
    import psycopg2

    address = shared_cluster.address()
    with pytest.raises(psycopg2.OperationalError, match="does not match host name|certificate"):
        psycopg2.connect(host=address, port=shared_cluster.port, user=MASTER_USER,
                         password=shared_cluster.master_password, dbname=DB_NAME, sslmode="verify-full",
                         sslrootcert=str(shared_cluster.cloud.ca_bundle), connect_timeout=10).close()


def test_engine_version_difference_is_logged(rds_databases, rds_info, daemon_log):
    mark = daemon_log.mark()
    database = rds_databases("cluster")  # asks EngineVersion 16.4
    logged = daemon_log.since(mark)
    if rds_info["server_version"].split(".")[0] == "16":
        pytest.fail("this check needs a server whose major version is not 16")
    assert (f"RDS cluster {database.identifier}: EngineVersion 16.4 requested (major 16), but the local "
            f"server is PostgreSQL {rds_info['server_version']}") in logged


WRAPPER_CLIENT = textwrap.dedent("""
    import json, sys
    import psycopg
    from aws_advanced_python_wrapper import AwsWrapperConnection
    args = json.loads(sys.argv[1])
    try:
        conn = AwsWrapperConnection.connect(
            psycopg.Connection.connect,
            f"host={args['host']} port={args['port']} dbname={args['dbname']} user={args['user']} "
            f"sslmode=verify-full sslrootcert={args['ca']}",
            plugins="iam", wrapper_dialect="pg", iam_region=args["region"])
    except Exception as error:
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
    else:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user")
            print(json.dumps({"login": cur.fetchone()[0]}))
        conn.close()
""")


def test_aws_advanced_python_wrapper_iam_plugin_takes_the_endpoint_name(shared_cluster, app_credentials,
                                                                        localcloud, rds_info):
    """The wrapper's IAM plugin signs the token itself and refuses any host that is not an RDS or
    Aurora endpoint (``localhost`` was what the local cloud answered before)."""
    def run(host: str) -> dict:
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **rds_info["env"],
               "AWS_ACCESS_KEY_ID": app_credentials["AccessKeyId"],
               "AWS_SECRET_ACCESS_KEY": app_credentials["SecretAccessKey"],
               "AWS_SESSION_TOKEN": app_credentials["SessionToken"]}
        args = {"host": host, "port": 5432, "dbname": DB_NAME, "user": APP_USER, "ca": str(localcloud.ca_bundle),
                "region": localcloud.region}
        done = subprocess.run([sys.executable, "-c", WRAPPER_CLIENT, json.dumps(args)], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    assert run(shared_cluster.host) == {"login": APP_USER}
    refused = run("localhost")
    assert "must be a valid RDS or Aurora endpoint" in refused.get("error", ""), refused
