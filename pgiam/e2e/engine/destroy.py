"""Destroying what the state holds, in reverse dependency order, and proving it is gone.

A failed delete does not stop the walk (its dependencies' deletes may fail in turn, and every
failure is reported); the entry stays in the state, so a later sweep tries again. After the
resources, every process and directory the state still records is stopped and removed (a
pod whose Deployment entry was lost mid-create, for instance)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pgiam.e2e.engine import processes
from pgiam.e2e.engine.aws_api import exists
from pgiam.e2e.engine.context import EngineContext
from pgiam.e2e.engine.catalog import handler_of_entry
from pgiam.e2e.engine.resources import DeferredToServer
from pgiam.e2e.engine.state import EngineState, ResourceEntry, destroy_order
from pgiam.e2e.naming import STACK_TAG


@dataclass
class DestroyOutcome:
    deleted: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    stopped_processes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def stop_processes(state: EngineState, owner: str | None = None) -> list[str]:
    stopped = []
    for entry in state.processes(owner):
        processes.stop(entry)
        state.remove_process(entry.pid)
        stopped.append(f"{entry.description} (pid {entry.pid})")
    return stopped


def remove_directories(state: EngineState) -> None:
    for directory in list(state.data.directories):
        shutil.rmtree(directory, ignore_errors=True)
        state.remove_directory(Path(directory))


def destroy(ctx: EngineContext, log: Callable[[str], None] = lambda line: None
            ) -> DestroyOutcome:
    outcome = DestroyOutcome()
    for entry in list(destroy_order(ctx.state.resources())):
        if entry.status != "created":
            log(f"{entry.key}: was being created when the run stopped; nothing recorded to "
                "delete (the cloud check below looks for leftovers)")
            ctx.state.forget(entry)
            continue
        handler = handler_of_entry(entry.type)
        try:
            if handler is None:
                raise RuntimeError(f"no handler for {entry.type}")
            handler.delete(ctx, entry)
        except DeferredToServer as deferred:
            outcome.deferred.append(entry.key)
            log(f"{entry.key}: left to its server ({deferred})")
        except Exception as error:  # noqa: BLE001 - every failure is reported, the walk goes on
            outcome.failed.append((entry.key, f"{type(error).__name__}: {error}"))
            log(f"{entry.key}: delete FAILED: {error}")
            continue
        else:
            outcome.deleted.append(entry.key)
            log(f"deleted {entry.key} ({entry.id})")
        outcome.stopped_processes += stop_processes(ctx.state, entry.key)
        ctx.state.forget(entry)
    outcome.stopped_processes += stop_processes(ctx.state)
    remove_directories(ctx.state)
    return outcome


def still_existing(ctx: EngineContext, entries: list[ResourceEntry]) -> list[str]:
    """The entries whose resource the cloud still reports (their handler's ``exists``)."""
    left = []
    for entry in entries:
        handler = handler_of_entry(entry.type)
        if handler is not None and entry.status == "created" and handler.exists(ctx, entry):
            left.append(f"{entry.key} ({entry.id})")
    return left


def _gone_anyway(ctx: EngineContext, arn: str) -> bool:
    """Tagged records that are not resources any more: a NAT gateway in state ``deleted`` (AWS
    lists those for a while too), and an automated snapshot of a deleted cluster (AWS removes
    those with the cluster, ``DeleteAutomatedBackups`` defaulting to true; moto keeps them)."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return False
    service, region, resource = parts[2], parts[3], parts[5]
    if service == "ec2" and resource.startswith("natgateway/"):
        gateways = ctx.client("ec2", region).describe_nat_gateways(
            NatGatewayIds=[resource.split("/", 1)[1]])["NatGateways"]
        return all(gateway.get("State") in ("deleted", "deleting") for gateway in gateways)
    if service == "rds" and resource.startswith("cluster-snapshot:rds:"):
        snapshots = ctx.client("rds", region).describe_db_cluster_snapshots(
            DBClusterSnapshotIdentifier=resource.split(":", 1)[1])["DBClusterSnapshots"]
        return all(s.get("SnapshotType") == "automated" and not exists(
            lambda s=s: ctx.client("rds", region).describe_db_clusters(
                DBClusterIdentifier=s["DBClusterIdentifier"])["DBClusters"])
            for s in snapshots)
    return False


def tagged_leftovers(ctx: EngineContext, stack: str) -> list[str]:
    """ARNs the local cloud's tagging API still lists with this stack's tag."""
    found = []
    tagging = ctx.client("resourcegroupstaggingapi")
    for page in tagging.get_paginator("get_resources").paginate(
            TagFilters=[{"Key": STACK_TAG, "Values": [stack]}]):
        found += [item["ResourceARN"] for item in page.get("ResourceTagMappingList", [])]
    return [arn for arn in found if not _gone_anyway(ctx, arn)]
