"""The network between a local pod and the database it connects to, judged as AWS would (see
:mod:`pgiam.localcloud.network.reachability`): the pod's ``DB_HOST``/``DB_PORT`` (or libpq's
``PGHOST``/``PGPORT``) name the database; the EKS cluster the pod runs in gives its subnets.

Two hooks: the pod-check step fails with the verdict's reason (``targets/local.py``), and a pod
the network keeps from its database resolves that database's names to an address where nothing
listens (:func:`pod_network_env`), so the pod's own app cannot reach it either (on AWS its
connections time out; here they are refused at once)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path

from pgiam.e2e.engine.context import EngineContext
from pgiam.localcloud.network.reachability import Verdict
from pgiam.localcloud.network.snapshot import pod_to_database
from pgiam.localcloud.rds.endpoints import BLOCK_SIZE, Endpoint, render_hosts
from pgiam.localcloud.rds.resolver import read_hosts

# Nothing listens here: the local RDS uses 127.2.0.0-127.15.255.255, pods 127.16.0.0 and up.
UNREACHABLE = "127.1.0.1"


def pod_database_verdict(ctx: EngineContext, cluster_name: str, env: Mapping[str, str]) -> Verdict | None:
    """None when the pod names no database of the local cloud (nothing to judge)."""
    host = env.get("DB_HOST") or env.get("PGHOST") or ""
    port_text = env.get("DB_PORT") or env.get("PGPORT") or ""
    if not host:
        return None
    port = int(port_text) if port_text.isdigit() else None
    return pod_to_database(ctx.client("ec2"), ctx.client("rds"), ctx.client("eks"), cluster_name, host, port)


def pod_network_env(ctx: EngineContext, cluster_name: str, env: Mapping[str, str], directory: Path,
                    ) -> dict[str, str]:
    """For a pod whose database the network check refuses: a hosts file of its own in which that
    database's endpoint names (every name on its address block) lead nowhere; ``{}`` otherwise."""
    if not ctx.cloud.hosts_file:
        return {}
    verdict = pod_database_verdict(ctx, cluster_name, env)
    if verdict is None or verdict.allowed:
        return {}
    hosts = read_hosts(ctx.cloud.hosts_file)
    host = (env.get("DB_HOST") or env.get("PGHOST") or "").lower().rstrip(".")
    address = hosts.get(host)
    if address is None:
        return {}
    base = int(ipaddress.IPv4Address(address)) // BLOCK_SIZE
    entries = [Endpoint(name, UNREACHABLE if int(ipaddress.IPv4Address(ip)) // BLOCK_SIZE == base else ip, "")
               for name, ip in hosts.items()]
    path = directory / "network-hosts"
    path.write_text(render_hosts(entries), encoding="utf-8")
    return {"NSS_WRAPPER_HOSTS": str(path)}
