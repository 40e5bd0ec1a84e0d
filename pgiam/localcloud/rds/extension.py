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
import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from pgiam.localcloud.rds.gateway import RdsHandlers, ServerRequest
from pgiam.localcloud.rds.keys import IdentityKeys
from pgiam.localcloud.rds.ldap import LdapResponder
from pgiam.localcloud.rds.model import ENDPOINT_HOST, RdsModel
from pgiam.localcloud.rds.postgres import (
    LOOPBACK_V4,
    PostgresError,
    PostgresServer,
    ServerSpec,
    Template,
    loopback_addresses,
)
from pgiam.localcloud.rds.token import KeyDirectory, check_token, shown

NAME = "rds"
TEMPLATE_TIMEOUT = 120.0
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
            log.info("RDS IAM login accepted: user=%s database=%s (%s) access_key=%s principal=%s (%s)",
                     shown(user), target.name, resource_id, verdict.access_key_id, verdict.principal_arn,
                     verdict.detail)
        else:
            log.info("RDS IAM login refused: reason=%s user=%s database=%s (%s) access_key=%s: %s",
                     verdict.code, shown(user), target.name, resource_id, verdict.access_key_id or "-",
                     verdict.detail)
        return verdict.accepted


class ServerPool:
    """The running servers, by resource id, made from one template (built once, on demand)."""

    def __init__(self, cloud: Any, ldap_port: int) -> None:
        self.cloud = cloud
        self.ldap_port = ldap_port
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

    def start(self, request: ServerRequest) -> int:
        try:
            template = self.prepare().result(timeout=TEMPLATE_TIMEOUT)
        except concurrent.futures.TimeoutError:
            raise PostgresError(
                f"the server template was not ready within {TEMPLATE_TIMEOUT:.0f} s") from None
        addresses = loopback_addresses()
        certificate, private_key = self.cloud.ca.issue_server_certificate([ENDPOINT_HOST], list(addresses))
        server = PostgresServer(
            ServerSpec(name=request.name, master_username=request.master_username,
                       master_password=request.master_password, database_name=request.database_name,
                       resource_id=request.resource_id, certificate_pem=certificate,
                       private_key_pem=private_key),
            template, self.cloud.processes, ldap_host=LOOPBACK_V4, ldap_port=self.ldap_port)
        server.start()
        with self._lock:
            self._servers[request.resource_id] = server
        return server.port

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

    def start(self, cloud: Any) -> None:
        self.model = RdsModel(cloud.region, cloud.account_id, cloud.partition)
        self.responder = LdapResponder(IamLogins(self.model, IdentityKeys(cloud.identity)))
        ldap_port = self.responder.start()
        self.pool = ServerPool(cloud, ldap_port)
        RdsHandlers(self.model, self.pool).register(cloud.gateway)
        log.info("RDS: LDAP responder on %s:%d", LOOPBACK_V4, ldap_port)

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.stop_all()
        if self.responder is not None:
            self.responder.stop()
            self.responder = None

    def info(self) -> Mapping[str, Any]:
        return {"endpoint_host": ENDPOINT_HOST,
                "ldap_port": self.responder.port if self.responder is not None else None,
                "engines": {"cluster": "aurora-postgresql", "instance": "postgres"}}


def create_extension() -> RdsExtension:
    return RdsExtension()
