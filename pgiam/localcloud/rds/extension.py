"""The RDS side of the local cloud, as a daemon extension: the LDAP responder that runs the token
check, the pool of PostgreSQL servers, and the RDS action handlers on the cloud's gateway.

``start`` is quick (it binds the LDAP responder and registers the handlers), so a local cloud
that never creates a database pays nothing for it. The server template (``initdb``, about a
second) is built in the background from the first RDS request the handlers see; a create waits
for it.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import random
import subprocess
import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pgiam.localcloud.rds.checker_tls import checker_tls_context
from pgiam.localcloud.rds.endpoints import AddressBlock, EndpointNames, random_block
from pgiam.localcloud.rds.gateway import RdsHandlers, ServerRequest
from pgiam.localcloud.rds.keys import IdentityKeys
from pgiam.localcloud.rds.ldap import LdapResponder
from pgiam.localcloud.rds.model import RdsModel
from pgiam.localcloud.rds.postgres import (
    LOOPBACK_V4,
    PostgresError,
    PostgresServer,
    ServerSpec,
    Template,
    find_bin_dir,
    server_version,
)
from pgiam.localcloud.rds.resolver import HOSTS_FILE, resolver_env, write_hosts
from pgiam.localcloud.rds.token import KeyDirectory, check_token, shown

NAME = "rds"
TEMPLATE_TIMEOUT = 120.0
# Clients of the endpoint servers: the kernel picks 127.0.0.1 as the source of a connection to
# any 127/8 address unless the client binds another; all of loopback is let in.
CLIENT_NETWORKS = ("127.0.0.0/8",)
log = logging.getLogger("pgiam.localcloud.rds")


class IamLogins:
    """``authenticate(user, resource_id, token)`` for the LDAP responder: the token check against
    the database the DN names, with one log line per decision (never the token)."""

    def __init__(self, model: RdsModel, keys: KeyDirectory) -> None:
        self.model = model
        self.keys = keys

    def __call__(self, user: str, resource_id: str, password: bytes) -> bool:
        target = self.model.target(resource_id)
        if target is None:
            log.info("RDS IAM login refused: reason=unknown-database user=%s resource=%s", shown(user),
                     resource_id)
            return False
        verdict = check_token(password, user=user, target=target, keys=self.keys,
                              now=datetime.now(timezone.utc))
        if verdict.accepted:
            log.info("RDS IAM login accepted: user=%s database=%s (%s) endpoint=%s access_key=%s "
                     "principal=%s (%s)", shown(user), target.name, resource_id, verdict.endpoint,
                     verdict.access_key_id, verdict.principal_arn, verdict.detail)
        else:
            log.info("RDS IAM login refused: reason=%s user=%s database=%s (%s) access_key=%s: %s",
                     verdict.code, shown(user), target.name, resource_id, verdict.access_key_id or "-",
                     verdict.detail)
        return verdict.accepted


class ServerPool:
    """The running servers, by resource id, made from one template (built once, on demand)."""

    def __init__(self, cloud: Any, ldap_port: int, names: EndpointNames, ldap_ca_file: Path) -> None:
        self.cloud = cloud
        self.ldap_port = ldap_port
        self.ldap_ca_file = ldap_ca_file  # the checker's pinned certificate
        self.names = names
        self._rng = random.SystemRandom()
        self._servers: dict[str, PostgresServer] = {}
        self._lock = threading.Lock()
        self._builder = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="rds-template")
        self._template: concurrent.futures.Future | None = None

    def prepare(self) -> concurrent.futures.Future:
        """Start building the template if nobody has yet."""
        with self._lock:
            if self._template is None:
                self._template = self._builder.submit(self._build_template)
            return self._template

    def _build_template(self) -> Template:
        try:
            template = Template.build(self.cloud.directory(NAME) / "template", self.cloud.processes)
        except Exception:
            log.exception("RDS: the server template could not be built")
            raise
        log.info("RDS: server template ready (%s)", template.bin_dir)
        return template

    def certificate_names(self, request: ServerRequest) -> list[str]:
        """The server's DNS SANs: its endpoints' exact names and RDS's wildcards
        (``*.cluster-<hash>...``, ``*.cluster-ro-<hash>...`` for a cluster, ``*.<hash>...``),
        which also cover instances added later and renames."""
        names = self.names
        if request.kind == "instance":
            return [names.instance(request.identifier), names.instance_wildcard()]
        return [names.cluster(request.identifier), names.reader(request.identifier),
                f"*.cluster-{names.domain}", f"*.cluster-ro-{names.domain}", names.instance_wildcard()]

    def start(self, request: ServerRequest) -> AddressBlock:
        try:
            template = self.prepare().result(timeout=TEMPLATE_TIMEOUT)
        except concurrent.futures.TimeoutError:
            raise PostgresError(
                f"the server template was not ready within {TEMPLATE_TIMEOUT:.0f} s") from None
        certificate, private_key = self.cloud.ca.issue_server_certificate(self.certificate_names(request))
        chosen: list[AddressBlock] = []

        def placement() -> tuple[tuple[str, ...], int]:
            block = random_block(self._rng)
            chosen.append(block)
            addresses = (block.standalone_addresses() if request.kind == "instance"
                         else block.cluster_addresses())
            return addresses, request.port

        server = PostgresServer(
            ServerSpec(name=request.name, master_username=request.master_username,
                       master_password=request.master_password, database_name=request.database_name,
                       resource_id=request.resource_id, certificate_pem=certificate,
                       private_key_pem=private_key),
            template, self.cloud.processes, ldap_host=LOOPBACK_V4, ldap_port=self.ldap_port,
            placement=placement, client_networks=CLIENT_NETWORKS, ldap_ca_file=str(self.ldap_ca_file))
        server.start(attempts=5)
        with self._lock:
            self._servers[request.resource_id] = server
        return chosen[-1]

    def _server(self, resource_id: str) -> PostgresServer | None:
        with self._lock:
            return self._servers.get(resource_id)

    def stop(self, resource_id: str) -> None:
        with self._lock:
            server = self._servers.pop(resource_id, None)
        if server is not None:
            server.stop()

    def set_master_password(self, resource_id: str, password: str) -> None:
        server = self._server(resource_id)
        if server is not None:
            server.set_master_password(password)

    def stop_all(self) -> None:
        self._builder.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
        for server in servers:  # all shut down side by side, then each is waited for
            server.request_stop()
        for server in servers:
            try:
                server.stop()
            except Exception:
                log.exception("RDS server %s did not stop cleanly", server.spec.name)


class RdsExtension:
    name = NAME

    def __init__(self) -> None:
        self.responder: LdapResponder | None = None
        self.pool: ServerPool | None = None
        self.model: RdsModel | None = None
        self.checker_certificate: Path | None = None
        self.hosts_file: Path | None = None
        self.env: dict[str, str] | None = None
        self.server_version = "unknown"

    def start(self, cloud: Any) -> None:
        self.model = RdsModel(cloud.region, cloud.account_id, cloud.partition)
        tls, self.checker_certificate = checker_tls_context(cloud.directory(NAME), LOOPBACK_V4)
        self.responder = LdapResponder(IamLogins(self.model, IdentityKeys(cloud.identity)),
                                       host=LOOPBACK_V4, tls=tls)
        ldap_port = self.responder.start()
        self.hosts_file = cloud.directory(NAME) / HOSTS_FILE
        write_hosts(self.hosts_file, [])
        self.env = resolver_env(self.hosts_file)
        if self.env is None:
            log.warning("RDS: libnss_wrapper.so is not installed (`make postgres`): the endpoint names in "
                        "%s resolve only for clients given their address (libpq hostaddr)", self.hosts_file)
        self.server_version = _server_version()
        self.pool = ServerPool(cloud, ldap_port, self.model.names, self.checker_certificate)
        RdsHandlers(self.model, self.pool, server_version=self.server_version,
                    on_change=self.publish_endpoints).register(cloud.gateway)
        log.info("RDS: LDAP responder on %s:%d; endpoints *.%s listed in %s; servers are PostgreSQL %s",
                 LOOPBACK_V4, ldap_port, self.model.names.domain, self.hosts_file, self.server_version)

    def publish_endpoints(self) -> None:
        """Rewrite the hosts file from the model (after every create, delete or rename)."""
        if self.model is not None and self.hosts_file is not None:
            write_hosts(self.hosts_file, self.model.endpoints())

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.stop_all()
        if self.responder is not None:
            self.responder.stop()
            self.responder = None

    def info(self) -> Mapping[str, Any]:
        return {"endpoint_domain": self.model.names.domain if self.model is not None else None,
                "hosts_file": str(self.hosts_file) if self.hosts_file is not None else None,
                "env": self.env,
                "server_version": self.server_version,
                "engine_version_note": (f"describe_* report the EngineVersion each program asked for; every "
                                        f"local server is PostgreSQL {self.server_version}"),
                "ldap_port": self.responder.port if self.responder is not None else None,
                "ldap_certificate": (str(self.checker_certificate)
                                     if self.checker_certificate is not None else None),
                "engines": {"cluster": "aurora-postgresql", "instance": "postgres"}}


def _server_version() -> str:
    try:
        return server_version(find_bin_dir())
    except (PostgresError, OSError, subprocess.SubprocessError) as error:
        log.warning("RDS: the PostgreSQL server version is unknown: %s", error)
        return "unknown"


def create_extension() -> RdsExtension:
    return RdsExtension()
