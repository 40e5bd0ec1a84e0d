"""RDS in the local cloud: subnet groups, (cluster) parameter groups, Aurora clusters and their
instances, and DB instances. The local cloud serves each cluster with a real PostgreSQL server,
so the endpoint, port and ``DbClusterResourceId`` the program reads come back from it, and a
create waits until the cluster reports ``available`` (bounded)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pgiam.e2e.engine.aws_api import (
    client_for,
    delete_quietly,
    exists,
    is_not_found,
    region_for,
    tag_list,
    truthy,
)
from pgiam.e2e.engine.context import EngineContext
from pgiam.e2e.engine.resources import Created, CreateRequest, EngineError, handles
from pgiam.e2e.engine.state import ResourceEntry

AVAILABLE_TIMEOUT = 180.0
GONE_TIMEOUT = 60.0


def _wait(describe: Callable[[], dict[str, Any]], what: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    status = "?"
    while time.monotonic() < deadline:
        answer = describe()
        status = str(answer.get("Status") or answer.get("DBInstanceStatus") or "")
        if status == "available":
            return answer
        if status in ("failed", "incompatible-parameters", "inaccessible-encryption-credentials"):
            raise EngineError(f"{what} is {status}")
        time.sleep(0.25)
    raise EngineError(f"{what} was not available after {timeout:.0f}s (status {status})")


def _wait_gone(describe: Callable[[], Any], timeout: float) -> None:
    from botocore.exceptions import ClientError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            describe()
        except ClientError as error:
            if is_not_found(error):
                return
            raise
        time.sleep(0.25)


def _common(request: CreateRequest, tags: dict[str, str]) -> dict[str, Any]:
    return {"Tags": tag_list(tags)} if tags else {}


@handles("aws:rds/subnetGroup:SubnetGroup")
class SubnetGroup:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        tags = ctx.tags_for(request.inputs, request.provider)
        name = request.autoname(lower=True)
        description = request.inputs.get("description") or "Managed by Pulumi"
        group = ctx.client("rds", region).create_db_subnet_group(
            DBSubnetGroupName=name, DBSubnetGroupDescription=description,
            SubnetIds=list(request.inputs.get("subnetIds") or []),
            **_common(request, tags))["DBSubnetGroup"]
        return Created(name, {"id": name, "name": name, "arn": group["DBSubnetGroupArn"],
                              "description": description,
                              "vpcId": group.get("VpcId", ""), "tagsAll": tags},
                       {"region": region})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        delete_quietly(lambda: client_for(ctx, entry, "rds").delete_db_subnet_group(
            DBSubnetGroupName=entry.id))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: client_for(ctx, entry, "rds").describe_db_subnet_groups(
            DBSubnetGroupName=entry.id)["DBSubnetGroups"])


def _parameters(request: CreateRequest) -> list[dict[str, str]]:
    return [{"ParameterName": item["name"], "ParameterValue": str(item["value"]),
             "ApplyMethod": item.get("applyMethod") or "immediate"}
            for item in request.inputs.get("parameters") or []]


class _ParameterGroupHandler:
    """A DB parameter group or a DB cluster parameter group: the same API but for the names of
    its calls and fields (``kind`` ``DBParameterGroup`` or ``DBClusterParameterGroup``)."""

    kind = ""
    calls = ""  # the snake-case stem of the client's methods: db_parameter_group, ...

    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        rds = ctx.client("rds", region)
        tags = ctx.tags_for(request.inputs, request.provider)
        name = request.autoname(lower=True)
        description = request.inputs.get("description") or "Managed by Pulumi"
        group = getattr(rds, f"create_{self.calls}")(
            **{f"{self.kind}Name": name}, DBParameterGroupFamily=request.inputs["family"],
            Description=description, **_common(request, tags))[self.kind]
        parameters = _parameters(request)
        if parameters:
            getattr(rds, f"modify_{self.calls}")(**{f"{self.kind}Name": name}, Parameters=parameters)
        return Created(name, {"id": name, "name": name, "arn": group[f"{self.kind}Arn"],
                              "description": description, "tagsAll": tags}, {"region": region})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        rds = client_for(ctx, entry, "rds")
        delete_quietly(lambda: getattr(rds, f"delete_{self.calls}")(**{f"{self.kind}Name": entry.id}))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        rds = client_for(ctx, entry, "rds")
        return exists(lambda: getattr(rds, f"describe_{self.calls}s")(
            **{f"{self.kind}Name": entry.id})[f"{self.kind}s"])


@handles("aws:rds/clusterParameterGroup:ClusterParameterGroup")
class ClusterParameterGroup(_ParameterGroupHandler):
    kind = "DBClusterParameterGroup"
    calls = "db_cluster_parameter_group"


@handles("aws:rds/parameterGroup:ParameterGroup")
class ParameterGroup(_ParameterGroupHandler):
    kind = "DBParameterGroup"
    calls = "db_parameter_group"


_CLUSTER_PARAMETERS = {
    "engine": "Engine", "engineVersion": "EngineVersion", "engineMode": "EngineMode",
    "databaseName": "DatabaseName", "masterUsername": "MasterUsername",
    "masterPassword": "MasterUserPassword", "dbSubnetGroupName": "DBSubnetGroupName",
    "dbClusterParameterGroupName": "DBClusterParameterGroupName",
    "kmsKeyId": "KmsKeyId", "preferredBackupWindow": "PreferredBackupWindow",
    "preferredMaintenanceWindow": "PreferredMaintenanceWindow",
}
_CLUSTER_FLAGS = {
    "iamDatabaseAuthenticationEnabled": "EnableIAMDatabaseAuthentication",
    "storageEncrypted": "StorageEncrypted", "copyTagsToSnapshot": "CopyTagsToSnapshot",
    "deletionProtection": "DeletionProtection",
}


def _remember_master_login(ctx: EngineContext, request: CreateRequest, user_key: str,
                           password_key: str) -> None:
    user, password = request.inputs.get(user_key), request.inputs.get(password_key)
    if user and password:
        ctx.master_logins[f"{request.type}::{request.name}"] = (str(user), str(password))


def database_region(ctx: EngineContext, request: CreateRequest) -> str:
    """The region a database goes to, refused at deploy when it is not the local cloud's: the
    local RDS serves (names, certificates, token checks) in the cloud's region only, and a
    database quietly served elsewhere would fail later at login for no reason of the program's."""
    region = region_for(ctx, request)
    if region != ctx.cloud.region:
        raise EngineError(f"{request.type.rsplit(':', 1)[-1]} {request.name!r}: its provider puts "
                          f"it in {region}; the local cloud serves databases in {ctx.cloud.region} "
                          "only (the run's aws:region); an explicit aws.Provider region is not "
                          "supported by the local target yet")
    return region


@handles("aws:rds/cluster:Cluster")
class Cluster:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = database_region(ctx, request)
        rds = ctx.client("rds", region)
        tags = ctx.tags_for(request.inputs, request.provider)
        identifier = request.autoname("clusterIdentifier", lower=True, max_length=63)
        params: dict[str, Any] = {"DBClusterIdentifier": identifier, **_common(request, tags)}
        for key, name in _CLUSTER_PARAMETERS.items():
            if request.inputs.get(key) not in (None, ""):
                params[name] = str(request.inputs[key])
        for key, name in _CLUSTER_FLAGS.items():
            if key in request.inputs:
                params[name] = truthy(request.inputs[key])
        if request.inputs.get("port"):
            params["Port"] = int(request.inputs["port"])
        if request.inputs.get("backupRetentionPeriod"):
            params["BackupRetentionPeriod"] = int(request.inputs["backupRetentionPeriod"])
        if request.inputs.get("vpcSecurityGroupIds"):
            params["VpcSecurityGroupIds"] = list(request.inputs["vpcSecurityGroupIds"])
        if request.inputs.get("availabilityZones"):
            params["AvailabilityZones"] = list(request.inputs["availabilityZones"])
        rds.create_db_cluster(**params)
        _remember_master_login(ctx, request, "masterUsername", "masterPassword")
        data = {"region": region,
                "skipFinalSnapshot": truthy(request.inputs.get("skipFinalSnapshot", False)),
                "finalSnapshotIdentifier": request.inputs.get("finalSnapshotIdentifier") or ""}
        try:
            cluster = _wait(lambda: rds.describe_db_clusters(
                DBClusterIdentifier=identifier)["DBClusters"][0],
                f"RDS cluster {identifier}", AVAILABLE_TIMEOUT)
        except BaseException:
            self._delete(rds, identifier, data)
            raise
        return Created(identifier, {
            "id": identifier, "clusterIdentifier": identifier, "arn": cluster["DBClusterArn"],
            "clusterResourceId": cluster["DbClusterResourceId"],
            "endpoint": cluster["Endpoint"], "readerEndpoint": cluster.get("ReaderEndpoint", ""),
            "port": int(cluster["Port"]), "hostedZoneId": cluster.get("HostedZoneId", ""),
            "engine": cluster["Engine"], "engineVersionActual": cluster.get("EngineVersion", ""),
            "masterUsername": cluster.get("MasterUsername", ""),
            "iamDatabaseAuthenticationEnabled": bool(
                cluster.get("IAMDatabaseAuthenticationEnabled")),
            "storageEncrypted": bool(cluster.get("StorageEncrypted")),
            "availabilityZones": cluster.get("AvailabilityZones", []),
            "clusterMembers": [], "tagsAll": tags,
        }, data)

    @staticmethod
    def _delete(rds: Any, identifier: str, data: dict[str, Any]) -> None:
        params: dict[str, Any] = {"DBClusterIdentifier": identifier,
                                  "SkipFinalSnapshot": bool(data.get("skipFinalSnapshot"))}
        if not params["SkipFinalSnapshot"]:
            params["FinalDBSnapshotIdentifier"] = data.get("finalSnapshotIdentifier") or \
                f"{identifier}-final"
        delete_quietly(lambda: rds.delete_db_cluster(**params))
        _wait_gone(lambda: rds.describe_db_clusters(DBClusterIdentifier=identifier), GONE_TIMEOUT)

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        self._delete(client_for(ctx, entry, "rds"), entry.id, entry.data)

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: client_for(ctx, entry, "rds").describe_db_clusters(
            DBClusterIdentifier=entry.id)["DBClusters"])


def _instance_outputs(instance: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    endpoint = instance.get("Endpoint") or {}
    return {"id": instance["DBInstanceIdentifier"],
            "identifier": instance["DBInstanceIdentifier"], "arn": instance["DBInstanceArn"],
            "endpoint": f"{endpoint.get('Address', '')}:{endpoint.get('Port', '')}"
            if "DBClusterIdentifier" not in instance else endpoint.get("Address", ""),
            "address": endpoint.get("Address", ""), "port": int(endpoint.get("Port") or 0),
            "dbiResourceId": instance.get("DbiResourceId", ""),
            "resourceId": instance.get("DbiResourceId", ""),
            "engineVersionActual": instance.get("EngineVersion", ""), "tagsAll": tags}


class _Instance:
    cluster_member = False

    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = database_region(ctx, request)
        rds = ctx.client("rds", region)
        tags = ctx.tags_for(request.inputs, request.provider)
        identifier = request.autoname("identifier", lower=True, max_length=63)
        params: dict[str, Any] = {"DBInstanceIdentifier": identifier,
                                  "DBInstanceClass": request.inputs["instanceClass"],
                                  "Engine": request.inputs.get("engine") or "",
                                  **_common(request, tags)}
        optional = {"engineVersion": "EngineVersion", "dbSubnetGroupName": "DBSubnetGroupName",
                    "username": "MasterUsername", "password": "MasterUserPassword",
                    "dbName": "DBName", "parameterGroupName": "DBParameterGroupName",
                    "clusterIdentifier": "DBClusterIdentifier"}
        for key, name in optional.items():
            if request.inputs.get(key) not in (None, ""):
                params[name] = str(request.inputs[key])
        for key, name in (("publiclyAccessible", "PubliclyAccessible"),
                          ("autoMinorVersionUpgrade", "AutoMinorVersionUpgrade"),
                          ("iamDatabaseAuthenticationEnabled",
                           "EnableIAMDatabaseAuthentication"),
                          ("storageEncrypted", "StorageEncrypted"),
                          ("deletionProtection", "DeletionProtection")):
            if key in request.inputs:
                params[name] = truthy(request.inputs[key])
        if request.inputs.get("allocatedStorage"):
            params["AllocatedStorage"] = int(request.inputs["allocatedStorage"])
        if request.inputs.get("port"):
            params["Port"] = int(request.inputs["port"])
        if request.inputs.get("vpcSecurityGroupIds"):
            params["VpcSecurityGroupIds"] = list(request.inputs["vpcSecurityGroupIds"])
        if self.cluster_member and not params.get("DBClusterIdentifier"):
            raise EngineError(f"ClusterInstance {request.name!r}: clusterIdentifier is required")
        rds.create_db_instance(**params)
        _remember_master_login(ctx, request, "username", "password")
        data = {"region": region,
                "skipFinalSnapshot": self.cluster_member or truthy(
                    request.inputs.get("skipFinalSnapshot", False)),
                "finalSnapshotIdentifier": request.inputs.get("finalSnapshotIdentifier") or ""}
        try:
            instance = _wait(lambda: rds.describe_db_instances(
                DBInstanceIdentifier=identifier)["DBInstances"][0],
                f"RDS instance {identifier}", AVAILABLE_TIMEOUT)
        except BaseException:
            self._delete(rds, identifier, data)
            raise
        outputs = _instance_outputs(instance, tags)
        if self.cluster_member:
            outputs["writer"] = True
            outputs["clusterIdentifier"] = params["DBClusterIdentifier"]
        return Created(identifier, outputs, data)

    @staticmethod
    def _delete(rds: Any, identifier: str, data: dict[str, Any]) -> None:
        params: dict[str, Any] = {"DBInstanceIdentifier": identifier,
                                  "SkipFinalSnapshot": bool(data.get("skipFinalSnapshot"))}
        if not params["SkipFinalSnapshot"]:
            params["FinalDBSnapshotIdentifier"] = data.get("finalSnapshotIdentifier") or \
                f"{identifier}-final"
        delete_quietly(lambda: rds.delete_db_instance(**params))
        _wait_gone(lambda: rds.describe_db_instances(DBInstanceIdentifier=identifier),
                   GONE_TIMEOUT)

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        self._delete(client_for(ctx, entry, "rds"), entry.id, entry.data)

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: client_for(ctx, entry, "rds").describe_db_instances(
            DBInstanceIdentifier=entry.id)["DBInstances"])


@handles("aws:rds/clusterInstance:ClusterInstance")
class ClusterInstance(_Instance):
    cluster_member = True


@handles("aws:rds/instance:Instance")
class Instance(_Instance):
    cluster_member = False
