"""Fixtures of the local RDS (issue #5), registered from conftest.py. Everything goes through the
local cloud's AWS endpoint with boto3 and reaches the databases with psycopg2.

  ``rds_databases``    ``create(kind="cluster"|"instance", iam=True) -> RdsDatabase``; deleted at
                       teardown (function scope)
  ``shared_cluster``   one Aurora PostgreSQL cluster (IAM on, one instance) per test module, with
                       the database role ``app_user`` (member of ``rds_iam``) and ``other_user``
  ``connect_role``     ``connect_role(*dbuser_arns) -> role ARN``: an IRSA role (trusting the
                       worker's OIDC provider for ``system:serviceaccount:demo:<name>``) whose
                       inline policy allows ``rds-db:connect`` on the ARNs
  ``role_credentials`` ``role_credentials(role_arn) -> dict``: credentials from the strict STS
                       for a service-account token, as a pod gets them
  ``daemon_log``       ``daemon_log.mark()`` then ``daemon_log.since(mark) -> str``
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from psycopg2 import sql

from pgiam.localcloud.client import LocalCloud
from pgiam.localcloud.rds.resolver import connect_address

MASTER_USER = "pgadmin"
DB_NAME = "appdb"
APP_USER = "app_user"
OTHER_USER = "other_user"
SERVICE_ACCOUNT_NAMESPACE = "demo"


@dataclass
class RdsDatabase:
    """One database of the local RDS, as a client sees it."""

    cloud: LocalCloud
    kind: str  # "cluster" | "instance"
    identifier: str
    host: str
    port: int
    resource_id: str
    master_password: str = field(repr=False)
    described: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def hosts_file(self) -> str:
        return self.cloud.info["extensions"]["rds"]["hosts_file"]

    def address(self, host: str | None = None) -> str | None:
        """The endpoint's loopback address: this process was not started under nss_wrapper, so
        libpq gets it as ``hostaddr`` (and still verifies the certificate against ``host``)."""
        return connect_address(self.hosts_file, host or self.host)

    def connect(self, user: str, password: str, *, sslmode: str = "verify-full", host: str | None = None,
                port: int | None = None, timeout: int = 10) -> Any:
        address = self.address(host)
        return psycopg2.connect(host=host or self.host, port=port or self.port, user=user, password=password,
                                dbname=DB_NAME, sslmode=sslmode, sslrootcert=str(self.cloud.ca_bundle),
                                connect_timeout=timeout, **({"hostaddr": address} if address else {}))

    def login(self, user: str, password: str, **options: Any) -> tuple[str, bool]:
        """Log in, return ``(current_user, ssl)`` as the server sees them, log out."""
        connection = self.connect(user, password, **options)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                current_user, ssl = cursor.fetchone()
            return current_user, ssl
        finally:
            connection.close()

    def refused(self, user: str, password: str, **options: Any) -> str:
        """The error message of a login that must fail."""
        with pytest.raises(psycopg2.OperationalError) as failure:
            self.connect(user, password, **options).close()
        return str(failure.value)

    def master(self, statement: sql.Composable | str, params: tuple = ()) -> None:
        connection = self.connect(MASTER_USER, self.master_password)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
        finally:
            connection.close()

    def add_iam_user(self, name: str) -> None:
        """What the Pulumi program's PostgreSQL provider does as the master user: a login role,
        GRANT rds_iam (pulumi-postgresql's GrantRole), CONNECT on the database."""
        role = sql.Identifier(name)
        self.master(sql.SQL("CREATE ROLE {} LOGIN").format(role))
        self.master(sql.SQL("GRANT rds_iam TO {}").format(role))
        self.master(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(DB_NAME), role))

    def dbuser_arn(self, user: str, resource_id: str | None = None) -> str:
        return (f"arn:aws:rds-db:{self.cloud.region}:{self.cloud.account_id}:dbuser:"
                f"{resource_id or self.resource_id}/{user}")

    def token(self, credentials: dict[str, str], user: str, *, host: str | None = None,
              port: int | None = None, region: str | None = None) -> str:
        """A token minted by boto3's ``generate_db_auth_token`` with these credentials."""
        client = self.cloud.client("rds", access_key_id=credentials["AccessKeyId"],
                                   secret_access_key=credentials["SecretAccessKey"],
                                   session_token=credentials.get("SessionToken"))
        return client.generate_db_auth_token(DBHostname=host or self.host, Port=port or self.port,
                                             DBUsername=user, Region=region or self.cloud.region)


def create_database(cloud: LocalCloud, kind: str, identifier: str, *, iam: bool = True) -> RdsDatabase:
    rds = cloud.client("rds")
    password = f"pw-{uuid.uuid4().hex}"
    if kind == "cluster":
        rds.create_db_cluster(DBClusterIdentifier=identifier, Engine="aurora-postgresql",
                              EngineVersion="16.4", MasterUsername=MASTER_USER, MasterUserPassword=password,
                              DatabaseName=DB_NAME, EnableIAMDatabaseAuthentication=iam)
        rds.create_db_instance(DBInstanceIdentifier=f"{identifier}-1", DBClusterIdentifier=identifier,
                               Engine="aurora-postgresql", DBInstanceClass="db.t4g.medium")
        described = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
        return RdsDatabase(cloud, kind, identifier, described["Endpoint"], described["Port"],
                           described["DbClusterResourceId"], password, described)
    rds.create_db_instance(DBInstanceIdentifier=identifier, Engine="postgres", EngineVersion="16.4",
                           DBInstanceClass="db.t4g.micro", AllocatedStorage=20, MasterUsername=MASTER_USER,
                           MasterUserPassword=password, DBName=DB_NAME, EnableIAMDatabaseAuthentication=iam)
    described = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    endpoint = described["Endpoint"]
    return RdsDatabase(cloud, kind, identifier, endpoint["Address"], endpoint["Port"],
                       described["DbiResourceId"], password, described)


def delete_database(database: RdsDatabase) -> None:
    rds = database.cloud.client("rds")
    if database.kind == "cluster":
        for member in database.described.get("DBClusterMembers", []):
            try:
                rds.delete_db_instance(DBInstanceIdentifier=member["DBInstanceIdentifier"],
                                       SkipFinalSnapshot=True)
            except rds.exceptions.DBInstanceNotFoundFault:
                pass
        try:
            rds.delete_db_cluster(DBClusterIdentifier=database.identifier, SkipFinalSnapshot=True)
        except rds.exceptions.DBClusterNotFoundFault:
            pass
    else:
        try:
            rds.delete_db_instance(DBInstanceIdentifier=database.identifier, SkipFinalSnapshot=True)
        except rds.exceptions.DBInstanceNotFoundFault:
            pass


@pytest.fixture
def rds_databases(localcloud: LocalCloud) -> Iterator[Callable[..., RdsDatabase]]:
    created: list[RdsDatabase] = []

    def create(kind: str = "cluster", *, iam: bool = True) -> RdsDatabase:
        database = create_database(localcloud, kind, f"db-{uuid.uuid4().hex[:10]}", iam=iam)
        created.append(database)
        return database

    yield create
    for database in created:
        delete_database(database)


@pytest.fixture(scope="module")
def shared_cluster(localcloud: LocalCloud) -> Iterator[RdsDatabase]:
    database = create_database(localcloud, "cluster", f"shared-{uuid.uuid4().hex[:10]}")
    database.add_iam_user(APP_USER)
    database.add_iam_user(OTHER_USER)
    yield database
    delete_database(database)


@pytest.fixture
def connect_role(localcloud: LocalCloud, localcloud_oidc_provider: str) -> Callable[..., str]:
    iam = localcloud.client("iam")

    def create(*dbuser_arns: str, name: str | None = None) -> str:
        name = name or f"connect-{uuid.uuid4().hex[:10]}"
        key = localcloud.issuer_host_path
        subject = f"system:serviceaccount:{SERVICE_ACCOUNT_NAMESPACE}:{name}"
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": localcloud_oidc_provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{key}:sub": subject, f"{key}:aud": "sts.amazonaws.com"}}}]}
        role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="connect", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "rds-db:connect", "Resource": list(dbuser_arns)}]}))
        return role_arn

    return create


@pytest.fixture
def role_credentials(localcloud: LocalCloud) -> Callable[[str], dict[str, str]]:
    sts = localcloud.client("sts", unsigned=True)

    def assume(role_arn: str) -> dict[str, str]:
        service_account = role_arn.rsplit("/", 1)[1]
        token = localcloud.mint_token(SERVICE_ACCOUNT_NAMESPACE, service_account)
        return sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="pod",
                                                 WebIdentityToken=token)["Credentials"]

    return assume


@dataclass
class DaemonLog:
    path: Path

    def mark(self) -> int:
        return self.path.stat().st_size

    def since(self, mark: int) -> str:
        with open(self.path, "rb") as log:
            log.seek(mark)
            return log.read().decode("utf-8", errors="replace")


@pytest.fixture
def daemon_log(localcloud: LocalCloud) -> DaemonLog:
    return DaemonLog(Path(localcloud.info["log"]))
