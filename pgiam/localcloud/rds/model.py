"""What the local cloud knows of RDS beyond moto: which clusters and instances have a real server,
on which port, with which resource ids, and whether IAM database authentication is on. Plain
objects; no I/O. moto keeps everything else (and answers the API); the gateway merges the two.

* An Aurora PostgreSQL cluster (``create_db_cluster``) has one server; its instances
  (``create_db_instance`` with ``DBClusterIdentifier``) share it, as an Aurora cluster's
  instances share its storage. IAM policies name the cluster's ``DbClusterResourceId``.
* A standalone ``postgres`` instance has its own server; IAM policies name its ``DbiResourceId``.
* Every instance gets its own ``DbiResourceId`` (moto gives all the same one).
* ``IAMDatabaseAuthenticationEnabled`` is owned here: moto ignores it on modify.

Identifiers are case-insensitive, as in RDS (kept lower case).
"""

from __future__ import annotations

import re
import secrets
import string
import threading
from dataclasses import dataclass, field

from pgiam.localcloud.rds.endpoints import (
    MAX_CLUSTER_INSTANCES,
    AddressBlock,
    Endpoint,
    EndpointNames,
)
from pgiam.localcloud.rds.token import ConnectTarget

CLUSTER_ENGINES = frozenset({"aurora-postgresql"})
INSTANCE_ENGINES = frozenset({"postgres"})
_RESOURCE_ID_ALPHABET = string.ascii_uppercase + string.digits
# RDS: 1 to 63 letters, digits or underscores, starting with a letter; not a word the engine uses
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
RESERVED_USERNAMES = frozenset({"rdsadmin", "rds_superuser", "rds_iam", "rds_password",
                                "rds_replication", "postgres", "public", "none", "current_user",
                                "session_user", "user"})
RESERVED_DATABASES = frozenset({"postgres", "template0", "template1", "rdsadmin"})


class InvalidParameter(ValueError):
    """A parameter RDS would refuse; ``code`` is RDS's error code."""

    def __init__(self, message: str, code: str = "InvalidParameterValue") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_master_username(name: str | None) -> str:
    if not name:
        raise InvalidParameter("The parameter MasterUsername must be provided and must not be blank.")
    if not _NAME.match(name):
        raise InvalidParameter("MasterUsername must be 1 to 63 letters, digits or underscores, starting "
                               "with a letter.")
    if name.lower() in RESERVED_USERNAMES or name.lower().startswith("pg_"):
        raise InvalidParameter(f"MasterUsername {name} cannot be used as it is a reserved word used by the "
                               "engine")
    return name


def check_database_name(name: str | None) -> str | None:
    if name is None:
        return None
    if not _NAME.match(name) or name.lower() in RESERVED_DATABASES:
        raise InvalidParameter(f"DatabaseName {name} must be 1 to 63 letters, digits or underscores, start "
                               "with a letter and not be a name the engine reserves.")
    return name


def new_dbi_resource_id() -> str:
    """``db-`` and 26 upper-case letters and digits, as RDS writes them."""
    return "db-" + "".join(secrets.choice(_RESOURCE_ID_ALPHABET) for _ in range(26))


@dataclass
class Database:
    """A server-backed database: an Aurora cluster or a standalone instance, on its address
    block (see :mod:`.endpoints`) and port. ``members`` maps each instance of a cluster to its
    address slot."""

    kind: str  # "cluster" | "instance"
    identifier: str
    resource_id: str
    iam_enabled: bool
    port: int = 0
    block: AddressBlock | None = None
    members: dict[str, int] = field(default_factory=dict)
    engine_version: str = ""
    server_version: str = ""

    def endpoints(self, names: EndpointNames) -> list[Endpoint]:
        """Every endpoint that reaches this database: a cluster's writer and reader endpoints
        and its instances', or a standalone instance's own."""
        if self.block is None:
            return []
        if self.kind == "instance":
            return [Endpoint(names.instance(self.identifier), self.block.writer, "instance")]
        found = [Endpoint(names.cluster(self.identifier), self.block.writer, "writer"),
                 Endpoint(names.reader(self.identifier), self.block.reader, "reader")]
        found += [Endpoint(names.instance(member), self.block.instance(slot), "instance")
                  for member, slot in sorted(self.members.items())]
        return found

    def host(self, names: EndpointNames) -> str:
        """The endpoint ``describe_*`` names first: a cluster's writer, an instance's own."""
        return names.cluster(self.identifier) if self.kind == "cluster" else names.instance(self.identifier)

    def target(self, names: EndpointNames) -> ConnectTarget:
        """What a token for this database must name: one of its endpoints, at its port. (RDS
        checks the token's host against the endpoint the client reached; a server cannot tell
        which of a cluster's names resolved to it, as with Aurora, where the writer, reader and
        writer instance names resolve to one address.)"""
        return ConnectTarget(region=names.region, account_id=names.account_id, partition=names.partition,
                             resource_id=self.resource_id,
                             hosts=frozenset(e.name for e in self.endpoints(names)), port=self.port,
                             iam_enabled=self.iam_enabled, name=f"{self.kind} {self.identifier}")


@dataclass
class Instance:
    identifier: str
    dbi_resource_id: str
    cluster: str | None = None


class RdsModel:
    """Thread-safe registry of the local cloud's RDS databases."""

    def __init__(self, region: str, account_id: str, partition: str) -> None:
        self.region = region
        self.account_id = account_id
        self.partition = partition
        self.names = EndpointNames(partition, region, account_id)
        self._clusters: dict[str, Database] = {}
        self._standalone: dict[str, Database] = {}
        self._instances: dict[str, Instance] = {}
        self._by_resource_id: dict[str, Database] = {}
        self._lock = threading.RLock()

    # -- lookups ---------------------------------------------------------------------------------

    def cluster(self, identifier: str) -> Database | None:
        with self._lock:
            return self._clusters.get(identifier.lower())

    def instance(self, identifier: str) -> Instance | None:
        with self._lock:
            return self._instances.get(identifier.lower())

    def standalone(self, identifier: str) -> Database | None:
        with self._lock:
            return self._standalone.get(identifier.lower())

    def database_of_instance(self, identifier: str) -> Database | None:
        """The server-backed database an instance is served by (its cluster's, or its own)."""
        with self._lock:
            instance = self._instances.get(identifier.lower())
            if instance is None:
                return None
            if instance.cluster is not None:
                return self._clusters.get(instance.cluster)
            return self._standalone.get(instance.identifier)

    def check_instance_iam_switch(self, identifier: str) -> None:
        """IAM authentication of an Aurora instance is its cluster's, as RDS says."""
        instance = self.instance(identifier)
        if instance is not None and instance.cluster is not None:
            raise InvalidParameter("The requested DB Instance is a member of a DB Cluster. Set IAM database "
                                   "authentication for the DB cluster.", "InvalidParameterCombination")

    def target(self, resource_id: str) -> ConnectTarget | None:
        """What a token for ``resource_id`` must name, or None if no such database exists."""
        with self._lock:
            database = self._by_resource_id.get(resource_id)
            if database is None:
                return None
            return database.target(self.names)

    def databases(self) -> list[Database]:
        with self._lock:
            return list(self._clusters.values()) + list(self._standalone.values())

    def endpoints(self) -> list[Endpoint]:
        """Every endpoint of every database (what the hosts file lists)."""
        with self._lock:
            return [e for database in self.databases() for e in database.endpoints(self.names)]

    def host_of(self, database: Database) -> str:
        return database.host(self.names)

    def instance_endpoint(self, identifier: str) -> Endpoint | None:
        """An instance's own endpoint (a cluster member's, or a standalone instance's)."""
        with self._lock:
            database = self.database_of_instance(identifier)
            if database is None:
                return None
            key = identifier.lower()
            return next((e for e in database.endpoints(self.names)
                         if e.role == "instance" and e.name == self.names.instance(key)), None)

    # -- changes ---------------------------------------------------------------------------------

    def add_cluster(self, identifier: str, resource_id: str, iam_enabled: bool, port: int,
                    block: AddressBlock | None = None) -> Database:
        with self._lock:
            database = Database("cluster", identifier.lower(), resource_id, iam_enabled, port, block)
            self._clusters[database.identifier] = database
            self._by_resource_id[resource_id] = database
            return database

    def add_instance(self, identifier: str, *, cluster: str | None = None,
                     dbi_resource_id: str | None = None) -> Instance:
        with self._lock:
            key = identifier.lower()
            cluster_key = cluster.lower() if cluster else None
            instance = Instance(key, dbi_resource_id or new_dbi_resource_id(), cluster_key)
            if cluster_key in self._clusters:
                members = self._clusters[cluster_key].members
                free = sorted(set(range(MAX_CLUSTER_INSTANCES)) - set(members.values()))
                if not free:
                    raise InvalidParameter(f"DB cluster {cluster_key} already has {MAX_CLUSTER_INSTANCES} "
                                           "instances", "InstanceQuotaExceeded")
                members[key] = free[0]
            self._instances[key] = instance
            return instance

    def add_standalone(self, instance: Instance, iam_enabled: bool, port: int,
                       block: AddressBlock | None = None) -> Database:
        with self._lock:
            database = Database("instance", instance.identifier, instance.dbi_resource_id, iam_enabled, port,
                                block)
            self._standalone[instance.identifier] = database
            self._by_resource_id[database.resource_id] = database
            return database

    def remove_cluster(self, identifier: str) -> Database | None:
        with self._lock:
            database = self._clusters.pop(identifier.lower(), None)
            if database is not None:
                self._by_resource_id.pop(database.resource_id, None)
            return database

    def remove_instance(self, identifier: str) -> Database | None:
        """Forget an instance; returns its standalone database (whose server must stop), if any."""
        with self._lock:
            key = identifier.lower()
            instance = self._instances.pop(key, None)
            if instance is None:
                return None
            if instance.cluster is not None:
                cluster = self._clusters.get(instance.cluster)
                if cluster is not None:
                    cluster.members.pop(key, None)
                return None
            database = self._standalone.pop(key, None)
            if database is not None:
                self._by_resource_id.pop(database.resource_id, None)
            return database

    def set_iam(self, database: Database, enabled: bool) -> None:
        with self._lock:
            database.iam_enabled = enabled

    def rename_cluster(self, old: str, new: str) -> None:
        with self._lock:
            database = self._clusters.pop(old.lower())
            database.identifier = new.lower()
            self._clusters[database.identifier] = database
            for member in database.members:
                self._instances[member].cluster = database.identifier

    def rename_instance(self, old: str, new: str) -> None:
        with self._lock:
            instance = self._instances.pop(old.lower())
            instance.identifier = new.lower()
            self._instances[instance.identifier] = instance
            if instance.cluster is not None:
                members = self._clusters[instance.cluster].members
                members[instance.identifier] = members.pop(old.lower())
            database = self._standalone.pop(old.lower(), None)
            if database is not None:
                database.identifier = instance.identifier
                self._standalone[instance.identifier] = database
