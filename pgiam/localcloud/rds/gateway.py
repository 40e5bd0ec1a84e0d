"""The RDS API actions the local cloud answers itself (around moto): creating and deleting a
cluster or a standalone ``postgres`` instance starts and stops a real server; modify applies
``EnableIAMDatabaseAuthentication`` and ``MasterUserPassword`` at once; every response that
describes a cluster or an instance is rewritten with what the local cloud knows (RDS-shaped
endpoint names, see :mod:`.endpoints`, on the requested port; a unique ``DbiResourceId`` per
instance; the IAM flag).

moto validates the parameters and keeps everything else; a handler calls it first and acts only
on its success, so errors are moto's (AWS's) own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from xml.etree import ElementTree as ET

from werkzeug.wrappers import Response

from pgiam.localcloud.awsquery import AwsError
from pgiam.localcloud.gateway import AwsRequest
from pgiam.localcloud.rds.endpoints import DEFAULT_PORT, AddressBlock
from pgiam.localcloud.rds.model import (
    CLUSTER_ENGINES,
    INSTANCE_ENGINES,
    Database,
    InvalidParameter,
    RdsModel,
    check_database_name,
    check_master_username,
)

log = logging.getLogger("pgiam.localcloud.rds")

API_VERSION = "2014-10-31"
DESCRIBING_ACTIONS = ("DescribeDBClusters", "StartDBCluster", "StopDBCluster", "FailoverDBCluster",
                      "DescribeDBInstances", "RebootDBInstance", "StartDBInstance", "StopDBInstance")

MotoCall = Callable[[AwsRequest], Response]


@dataclass(frozen=True)
class ServerRequest:
    """What a new server needs from the API call."""

    name: str
    resource_id: str
    master_username: str
    master_password: str | None = field(repr=False)
    database_name: str | None
    kind: str = "cluster"  # "cluster" | "instance"
    identifier: str = ""
    port: int = DEFAULT_PORT


class Servers(Protocol):
    """Starts and stops the real servers (keyed by resource id)."""

    def prepare(self) -> object:
        """Get ready to start servers soon (idempotent, returns at once)."""

    def start(self, request: ServerRequest) -> AddressBlock:
        """Start a server on ``request.port``; returns the address block it listens on."""

    def stop(self, resource_id: str) -> None: ...

    def set_master_password(self, resource_id: str, password: str) -> None: ...


def flag(value: str | None) -> bool:
    return (value or "").lower() == "true"


def requested_port(params: Mapping[str, str]) -> int:
    """``Port`` as the program asked (RDS: 1150-65535), else PostgreSQL's 5432."""
    value = params.get("Port")
    if value in (None, ""):
        return DEFAULT_PORT
    if not value.isdigit() or not 1150 <= int(value) <= 65535:
        raise InvalidParameter(f"Invalid port {value}: the port must be between 1150 and 65535.")
    return int(value)


# -- XML ------------------------------------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(element: ET.Element) -> str:
    return element.tag[1:].split("}", 1)[0] if element.tag.startswith("{") else ""


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _text(element: ET.Element, name: str) -> str | None:
    child = _child(element, name)
    return child.text if child is not None else None


def _set(element: ET.Element, name: str, value: str, *, only_if_present: bool = False) -> None:
    child = _child(element, name)
    if child is None:
        if only_if_present:
            return
        namespace = _namespace(element)
        child = ET.SubElement(element, f"{{{namespace}}}{name}" if namespace else name)
    child.text = value


def _elements(root: ET.Element, name: str) -> Iterable[ET.Element]:
    return [e for e in root.iter() if _local(e.tag) == name]


def _bool(value: bool) -> str:
    return "true" if value else "false"


class ResponseRewriter:
    """Puts the local cloud's view of clusters and instances into moto's XML."""

    def __init__(self, model: RdsModel) -> None:
        self.model = model

    def cluster(self, element: ET.Element, *, describing: bool) -> None:
        database = self.model.cluster(_text(element, "DBClusterIdentifier") or "")
        if database is None:
            return
        names = self.model.names
        _set(element, "Endpoint", names.cluster(database.identifier))
        _set(element, "ReaderEndpoint", names.reader(database.identifier))
        _set(element, "Port", str(database.port))
        _set(element, "IAMDatabaseAuthenticationEnabled", _bool(database.iam_enabled))
        if describing and _text(element, "Status") == "creating":
            _set(element, "Status", "available")

    def instance(self, element: ET.Element, *, describing: bool) -> None:
        identifier = _text(element, "DBInstanceIdentifier") or ""
        instance = self.model.instance(identifier)
        if instance is None:
            return
        _set(element, "DbiResourceId", instance.dbi_resource_id)
        database = self.model.database_of_instance(identifier)
        if database is None:
            return
        endpoint = _child(element, "Endpoint")
        if endpoint is None:
            namespace = _namespace(element)
            endpoint = ET.SubElement(element, f"{{{namespace}}}Endpoint" if namespace else "Endpoint")
        own = self.model.instance_endpoint(identifier)
        _set(endpoint, "Address", own.name if own is not None else self.model.host_of(database))
        _set(endpoint, "Port", str(database.port))
        _set(element, "DbInstancePort", str(database.port), only_if_present=True)
        _set(element, "IAMDatabaseAuthenticationEnabled", _bool(database.iam_enabled))
        if describing and _text(element, "DBInstanceStatus") == "creating":
            _set(element, "DBInstanceStatus", "available")

    def rewrite(self, response: Response, *, describing: bool = True) -> Response:
        if response.status_code != 200:
            return response
        root = ET.fromstring(response.get_data())
        for element in _elements(root, "DBCluster"):
            self.cluster(element, describing=describing)
        for element in _elements(root, "DBInstance"):
            self.instance(element, describing=describing)
        namespace = _namespace(root)
        body = ET.tostring(root, encoding="utf-8", xml_declaration=False,
                           default_namespace=namespace or None)
        response.set_data(body)
        return response


def first_text(response: Response, element: str, child: str) -> str | None:
    root = ET.fromstring(response.get_data())
    for found in _elements(root, element):
        return _text(found, child)
    return None


# -- handlers -------------------------------------------------------------------------------------

class RdsHandlers:
    """The intercepted actions. ``register(registry)`` installs them on the cloud's gateway."""

    def __init__(self, model: RdsModel, servers: Servers, *, server_version: str = "unknown",
                 on_change: Callable[[], None] = lambda: None) -> None:
        self.model = model
        self.servers = servers
        self.server_version = server_version
        self.on_change = on_change
        self.rewriter = ResponseRewriter(model)

    def register(self, registry) -> None:
        for action, handler in self.handlers().items():
            registry.register("rds", action, self._preparing(handler))

    def _preparing(self, handler: Callable[[AwsRequest, MotoCall], Response],
                   ) -> Callable[[AwsRequest, MotoCall], Response]:
        """The handler, after asking the servers to get ready: a client that uses RDS at all is
        likely to create a database soon."""
        def prepared(request: AwsRequest, call_moto: MotoCall) -> Response:
            self.servers.prepare()
            try:
                return handler(request, call_moto)
            except InvalidParameter as exc:
                raise AwsError(exc.code, exc.message) from None

        return prepared

    def handlers(self) -> dict[str, Callable[[AwsRequest, MotoCall], Response]]:
        table: dict[str, Callable[[AwsRequest, MotoCall], Response]] = {
            "CreateDBCluster": self.create_db_cluster,
            "DeleteDBCluster": self.delete_db_cluster,
            "ModifyDBCluster": self.modify_db_cluster,
            "CreateDBInstance": self.create_db_instance,
            "DeleteDBInstance": self.delete_db_instance,
            "ModifyDBInstance": self.modify_db_instance,
        }
        for action in DESCRIBING_ACTIONS:
            table[action] = self.describe
        return table

    def describe(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        return self.rewriter.rewrite(call_moto(request))

    # clusters

    def create_db_cluster(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        params = request.params
        if params.get("Engine") not in CLUSTER_ENGINES:
            return self.rewriter.rewrite(call_moto(request), describing=False)
        username = check_master_username(params.get("MasterUsername"))
        database_name = check_database_name(params.get("DatabaseName"))
        port = requested_port(params)
        response = call_moto(request)
        if response.status_code != 200:
            return response
        identifier = first_text(response, "DBCluster", "DBClusterIdentifier") or ""
        resource_id = first_text(response, "DBCluster", "DbClusterResourceId") or ""
        server = ServerRequest(name=f"cluster-{identifier}", resource_id=resource_id,
                               master_username=username, master_password=params.get("MasterUserPassword"),
                               database_name=database_name, kind="cluster", identifier=identifier, port=port)
        block = self._start_or_roll_back(server, request, call_moto, {
            "Action": "DeleteDBCluster", "DBClusterIdentifier": identifier, "SkipFinalSnapshot": "true"})
        iam_enabled = flag(params.get("EnableIAMDatabaseAuthentication"))
        database = self.model.add_cluster(identifier, resource_id, iam_enabled, port, block)
        self.on_change()
        names = self.model.names
        log.info("RDS cluster %s (%s) serves on %s (%s) and %s (%s), port %d", identifier, resource_id,
                 names.cluster(database.identifier), block.writer, names.reader(database.identifier),
                 block.reader, port)
        self._report_version(f"cluster {identifier}", params.get("EngineVersion"))
        return self.rewriter.rewrite(response, describing=False)

    def delete_db_cluster(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        response = self.rewriter.rewrite(call_moto(request), describing=False)
        if response.status_code == 200:
            database = self.model.remove_cluster(request.params.get("DBClusterIdentifier", ""))
            if database is not None:
                self.on_change()
                self.servers.stop(database.resource_id)
                log.info("RDS cluster %s deleted; its server is stopped", database.identifier)
        return response

    def modify_db_cluster(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        identifier = request.params.get("DBClusterIdentifier", "")
        database = self.model.cluster(identifier)
        response = call_moto(request)
        if response.status_code != 200 or database is None:
            return self.rewriter.rewrite(response, describing=False)
        renamed = first_text(response, "DBCluster", "DBClusterIdentifier")
        if renamed and renamed.lower() != database.identifier:
            self.model.rename_cluster(database.identifier, renamed)
            self.on_change()
        self._apply_modifications(database, request)
        return self.rewriter.rewrite(response, describing=False)

    # instances

    def create_db_instance(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        params = request.params
        cluster = params.get("DBClusterIdentifier")
        standalone = cluster is None and params.get("Engine") in INSTANCE_ENGINES
        if standalone:
            username = check_master_username(params.get("MasterUsername"))
            database_name = check_database_name(params.get("DBName"))
            port = requested_port(params)
        response = call_moto(request)
        if response.status_code != 200:
            return response
        identifier = first_text(response, "DBInstance", "DBInstanceIdentifier") or ""
        if not standalone:
            self.model.add_instance(identifier, cluster=cluster)
            self.on_change()
            return self.rewriter.rewrite(response, describing=False)
        instance = self.model.add_instance(identifier)
        server = ServerRequest(name=f"instance-{identifier}", resource_id=instance.dbi_resource_id,
                               master_username=username, master_password=params.get("MasterUserPassword"),
                               database_name=database_name, kind="instance", identifier=identifier, port=port)
        try:
            block = self._start_or_roll_back(server, request, call_moto, {
                "Action": "DeleteDBInstance", "DBInstanceIdentifier": identifier,
                "SkipFinalSnapshot": "true"})
        except AwsError:
            self.model.remove_instance(identifier)
            raise
        self.model.add_standalone(instance, flag(params.get("EnableIAMDatabaseAuthentication")), port, block)
        self.on_change()
        log.info("RDS instance %s (%s) serves on %s (%s), port %d", identifier, instance.dbi_resource_id,
                 self.model.names.instance(identifier), block.writer, port)
        self._report_version(f"instance {identifier}", params.get("EngineVersion"))
        return self.rewriter.rewrite(response, describing=False)

    def delete_db_instance(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        response = self.rewriter.rewrite(call_moto(request), describing=False)
        if response.status_code == 200:
            database = self.model.remove_instance(request.params.get("DBInstanceIdentifier", ""))
            self.on_change()
            if database is not None:
                self.servers.stop(database.resource_id)
                log.info("RDS instance %s deleted; its server is stopped", database.identifier)
        return response

    def modify_db_instance(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        identifier = request.params.get("DBInstanceIdentifier", "")
        instance = self.model.instance(identifier)
        if "EnableIAMDatabaseAuthentication" in request.params:
            self.model.check_instance_iam_switch(identifier)
        database = self.model.standalone(identifier)
        response = call_moto(request)
        if response.status_code != 200 or instance is None:
            return self.rewriter.rewrite(response, describing=False)
        renamed = first_text(response, "DBInstance", "DBInstanceIdentifier")
        if renamed and renamed.lower() != instance.identifier:
            self.model.rename_instance(instance.identifier, renamed)
            self.on_change()
        if database is not None:
            self._apply_modifications(database, request)
        return self.rewriter.rewrite(response, describing=False)

    # shared

    def _report_version(self, what: str, engine_version: str | None) -> None:
        """Say when the program's engine version and the local server's differ (nothing is
        refused: the server is what this machine has)."""
        asked = (engine_version or "").split(".")[0]
        running = self.server_version.split(".")[0]
        if asked and asked != running:
            log.warning("RDS %s: EngineVersion %s requested (major %s), but the local server is PostgreSQL "
                        "%s (major %s): describe_* report %s; SQL and features are %s's", what,
                        engine_version, asked, self.server_version, running, engine_version,
                        self.server_version)

    def _apply_modifications(self, database: Database, request: AwsRequest) -> None:
        """What RDS applies to a running database at once: the IAM switch and the master
        password (both take effect for the next login)."""
        params = request.params
        if "EnableIAMDatabaseAuthentication" in params:
            enabled = flag(params["EnableIAMDatabaseAuthentication"])
            self.model.set_iam(database, enabled)
            log.info("RDS %s %s: IAM database authentication %s", database.kind, database.identifier,
                     "enabled" if enabled else "disabled")
        if params.get("MasterUserPassword"):
            self.servers.set_master_password(database.resource_id, params["MasterUserPassword"])

    def _start_or_roll_back(self, server: ServerRequest, request: AwsRequest, call_moto: MotoCall,
                            rollback: dict[str, str]) -> AddressBlock:
        try:
            return self.servers.start(server)
        except Exception as exc:
            log.exception("RDS %s: the server did not start", server.name)
            undo = call_moto(request.with_params({**rollback, "Version": API_VERSION}))
            if undo.status_code != 200:
                log.error("RDS %s: rolling back moto's record failed (HTTP %s)", server.name,
                          undo.status_code)
            raise AwsError("InternalFailure", f"The local database server for {server.name} did not "
                           f"start: {exc}", 500, sender=False) from exc
