"""The network between a local pod and the database it connects to, judged as AWS would (see
:mod:`pgiam.localcloud.network.reachability`): the pod's ``DB_HOST``/``DB_PORT`` (or libpq's
``PGHOST``/``PGPORT``) name the database; the EKS cluster the pod runs in gives its subnets."""

from __future__ import annotations

from collections.abc import Mapping

from pgiam.e2e.engine.context import EngineContext
from pgiam.localcloud.network.reachability import Verdict
from pgiam.localcloud.network.snapshot import pod_to_database


def pod_database_verdict(ctx: EngineContext, cluster_name: str, env: Mapping[str, str]) -> Verdict | None:
    """None when the pod names no database of the local cloud (nothing to judge)."""
    host = env.get("DB_HOST") or env.get("PGHOST") or ""
    port_text = env.get("DB_PORT") or env.get("PGPORT") or ""
    if not host:
        return None
    port = int(port_text) if port_text.isdigit() else None
    return pod_to_database(ctx.client("ec2"), ctx.client("rds"), ctx.client("eks"), cluster_name, host, port)
