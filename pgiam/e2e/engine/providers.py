"""Explicit providers the program registers. A provider is configuration, not a thing in the
cloud: the engine keeps its inputs in memory (a PostgreSQL provider's password included, never
written to the state) for the resources that name it, and resolves a Kubernetes provider's
kubeconfig to the local cluster it points at."""

from __future__ import annotations

import uuid

from pgiam.e2e.engine.context import CLUSTER_KEY, EngineContext
from pgiam.e2e.engine.resources import Created, CreateRequest, handles
from pgiam.e2e.engine.state import ResourceEntry

# Provider inputs that are safe to keep in the state file (what a later delete needs to know
# where to go; credentials are not among them).
_KEEP = ("region", "host", "port", "database", "username", "sslmode", "sslrootcert",
         "superuser")


class _Provider:
    def _remember(self, ctx: EngineContext, request: CreateRequest,
                  extra: dict[str, str] | None = None) -> Created:
        extra = extra or {}
        provider_id = str(uuid.uuid4())
        ctx.providers[provider_id] = {**request.inputs, **extra}
        data = {key: request.inputs[key] for key in _KEEP if key in request.inputs
                and key not in request.secret_inputs}
        return Created(provider_id, {}, {**data, **extra})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        ctx.providers.pop(entry.id, None)

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return False  # nothing of a provider lives in the cloud


@handles("pulumi:providers:aws", "pulumi:providers:postgresql")
class ConfigurationProvider(_Provider):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        return self._remember(ctx, request)


@handles("pulumi:providers:kubernetes")
class KubernetesProvider(_Provider):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        cluster = ctx.cluster_for_kubeconfig(request.inputs.get("kubeconfig"))
        return self._remember(ctx, request, {CLUSTER_KEY: cluster.model.name})
