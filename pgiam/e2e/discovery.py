"""What an e2e run finds out about a program from the resources it made, not from names.

A team's program exports what it likes under names of its own (or nothing). The facts the
checks need (the database and its master login, the app's URL) are read from the resources
the engine created and the pods it runs; a stack output with our program's name stays a hint
that wins when present. Pure functions over the engine's records: no I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pgiam.e2e.engine.kube import labels_match

DATABASE_TYPES = ("aws:rds/cluster:Cluster", "aws:rds/instance:Instance")
_HOST_OUTPUTS = ("endpoint", "readerEndpoint", "address")


@dataclass(frozen=True)
class DatabaseRecord:
    key: str                      # the engine's entry key, ``type::name``
    outputs: Mapping[str, Any]


@dataclass(frozen=True)
class ServiceRecord:
    namespace: str
    name: str
    ip: str
    selector: Mapping[str, str]
    ports: Mapping[int, int]      # service port -> local listen port


def _hosts_of(database: DatabaseRecord) -> set[str]:
    hosts = set()
    for key in _HOST_OUTPUTS:
        value = database.outputs.get(key)
        if isinstance(value, str) and value:
            hosts.add(value.rsplit(":", 1)[0] if value.count(":") == 1 else value)
    return hosts


def database_for_host(databases: Iterable[DatabaseRecord], host: str | None
                      ) -> DatabaseRecord | None:
    """The database the pod's host names (by any of its endpoints); else the only one there
    is; else None (several databases and no host to choose by)."""
    databases = list(databases)
    if host:
        for database in databases:
            if host in _hosts_of(database):
                return database
    clusters = [d for d in databases if d.key.startswith(DATABASE_TYPES[0])]
    candidates = clusters or databases
    return candidates[0] if len(candidates) == 1 else None


def master_login(database: DatabaseRecord | None, logins: Mapping[str, tuple[str, str]]
                 ) -> tuple[str, str] | None:
    """The master user and password the program gave ``database``, or None."""
    if database is None:
        return None
    if database.key in logins:
        return logins[database.key]
    if len(logins) == 1:                     # an instance of a cluster: the cluster's login
        return next(iter(logins.values()))
    return None


def master_user(database: DatabaseRecord | None) -> str | None:
    """The master user as the database reports it (``masterUsername`` / ``username``)."""
    if database is None:
        return None
    for key in ("masterUsername", "username"):
        value = database.outputs.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def app_url(services: Iterable[ServiceRecord], namespace: str,
            pod_labels: Mapping[str, str]) -> str | None:
    """The URL of the Service in front of the pod (its first port), LoadBalancer or not."""
    for service in services:
        if service.namespace == namespace and labels_match(service.selector, pod_labels):
            if not service.ports:
                continue
            port = min(service.ports)
            listen = service.ports[port]
            return f"http://{service.ip}" if listen == 80 else f"http://{service.ip}:{listen}"
    return None
