"""pulumi-kubernetes resources in the local cluster of the provider's kubeconfig.

Namespace, ServiceAccount, ConfigMap and Secret are stored as the API server stores them; a
Deployment's controller makes ``replicas`` pods from the template and the kubelet runs them (a
pod the cluster would refuse - a missing service account, config map or secret - is the
Deployment's FailedCreate event, reported when the run waits for the rollout, as a real
cluster reports it); a Service gets its own loopback address with a proxy to its pods, and a
LoadBalancer Service reports that address as its ingress. The create returns at once: unlike
pulumi-kubernetes, it does not await the Deployment's readiness (the e2e run waits for it as a
step of its own, with the pods' logs and events when it does not come)."""

from __future__ import annotations

import copy
import secrets
import string
from typing import Any

from pgiam.e2e.engine.context import EngineContext, LocalCluster
from pgiam.e2e.engine.kube import (
    KubeError,
    ObjectKey,
    deployment_selector,
    kind_of_type,
    plan_pod,
    pod_template_hash,
)
from pgiam.e2e.engine.kubelet import Workload
from pgiam.e2e.engine.resources import Created, CreateRequest, handles
from pgiam.e2e.engine.state import ResourceEntry

_POD_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"


def _object(request: CreateRequest) -> tuple[str, str, dict[str, Any]]:
    api_version, kind = kind_of_type(request.type)
    body = {key: copy.deepcopy(value) for key, value in request.inputs.items()
            if key not in ("apiVersion", "kind")}
    metadata = body.setdefault("metadata", {})
    if isinstance(metadata, dict) and not metadata.get("name"):
        metadata["name"] = auto_name(request.name)
    return api_version, kind, body


def auto_name(logical_name: str) -> str:
    """pulumi-kubernetes's auto-name for an object without ``metadata.name``: the logical name,
    a dash and eight random lower-case letters and digits."""
    alphabet = string.ascii_lowercase + string.digits
    return f"{logical_name}-{''.join(secrets.choice(alphabet) for _ in range(8))}"


def _object_id(key: ObjectKey) -> str:
    return f"{key.namespace}/{key.name}" if key.namespace else key.name


def _data(cluster: LocalCluster, key: ObjectKey) -> dict[str, Any]:
    return {"cluster": cluster.model.name, "kind": key.kind, "namespace": key.namespace,
            "name": key.name}


def _cluster(ctx: EngineContext, entry: ResourceEntry) -> LocalCluster | None:
    return ctx.clusters.get(entry.data.get("cluster", ""))


class _Stored:
    """Objects the API server only stores."""

    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        cluster = ctx.cluster_for_provider(request.provider_id, request.type, request.name)
        api_version, kind, body = _object(request)
        stored = cluster.model.admit(api_version, kind, body)
        key = cluster.model.key_of(kind, stored)
        outputs = dict(stored)
        outputs.update(self.status(stored))
        return Created(_object_id(key), outputs, _data(cluster, key))

    def status(self, stored: dict[str, Any]) -> dict[str, Any]:
        return {}

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        cluster = _cluster(ctx, entry)
        if cluster is not None:
            cluster.model.remove(ObjectKey(entry.data["kind"], entry.data["namespace"],
                                           entry.data["name"]))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        cluster = _cluster(ctx, entry)
        key = ObjectKey(entry.data["kind"], entry.data["namespace"], entry.data["name"])
        return cluster is not None and key in cluster.model.objects


@handles("kubernetes:core/v1:Namespace")
class Namespace(_Stored):
    def status(self, stored: dict[str, Any]) -> dict[str, Any]:
        return {"status": {"phase": "Active"}}

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        cluster = _cluster(ctx, entry)
        if cluster is not None:
            # As the namespace controller does: what is still inside goes with it.
            for key in [k for k in cluster.model.objects if k.namespace == entry.data["name"]]:
                cluster.model.remove(key)
        super().delete(ctx, entry)


@handles("kubernetes:core/v1:ServiceAccount", "kubernetes:core/v1:ConfigMap")
class Stored(_Stored):
    pass


@handles("kubernetes:core/v1:Secret")
class Secret(_Stored):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        created = super().create(ctx, request)
        created.secret_outputs = frozenset({"data", "stringData"})
        return created


def _pod_name(deployment: str, template_hash: str) -> str:
    suffix = "".join(secrets.choice(_POD_SUFFIX) for _ in range(5))
    return f"{deployment}-{template_hash}-{suffix}"


@handles("kubernetes:apps/v1:Deployment")
class Deployment(_Stored):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        cluster = ctx.cluster_for_provider(request.provider_id, request.type, request.name)
        api_version, kind, body = _object(request)
        selector_labels = deployment_selector(body)
        stored = cluster.model.admit(api_version, kind, body)
        key = cluster.model.key_of(kind, stored)
        owner = f"{request.type}::{request.name}"
        spec = stored.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        template = copy.deepcopy(spec.get("template") or {})
        template_hash = pod_template_hash(template)
        template.setdefault("metadata", {}).setdefault("labels", {}).update(
            {**selector_labels, "pod-template-hash": template_hash})
        workload = Workload(key.namespace, key.name, owner, replicas)
        cluster.kubelet.workloads[(key.namespace, key.name)] = workload
        try:
            for _ in range(replicas):
                pod_name = _pod_name(key.name, template_hash)
                try:
                    plan = plan_pod(cluster.model, key.namespace, pod_name, template)
                except KubeError as refused:
                    workload.failed_create = f"FailedCreate: {refused}"
                    break
                workload.pods.append(cluster.kubelet.start_pod(plan, owner))
        except BaseException:
            self._stop(cluster, key.namespace, key.name)
            cluster.model.remove(key)
            raise
        outputs = dict(stored)
        outputs["status"] = {"observedGeneration": 1, "replicas": len(workload.pods),
                             "updatedReplicas": len(workload.pods), "readyReplicas": 0,
                             "availableReplicas": 0}
        return Created(_object_id(key), outputs, _data(cluster, key))

    @staticmethod
    def _stop(cluster: LocalCluster, namespace: str, name: str) -> None:
        workload = cluster.kubelet.workloads.pop((namespace, name), None)
        for pod in workload.pods if workload else []:
            cluster.kubelet.stop_pod(pod)

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        cluster = _cluster(ctx, entry)
        if cluster is not None:
            self._stop(cluster, entry.data["namespace"], entry.data["name"])
        super().delete(ctx, entry)


@handles("kubernetes:core/v1:Service")
class Service(_Stored):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        cluster = ctx.cluster_for_provider(request.provider_id, request.type, request.name)
        api_version, kind, body = _object(request)
        stored = cluster.model.admit(api_version, kind, body)
        key = cluster.model.key_of(kind, stored)
        spec = dict(stored.get("spec") or {})
        try:
            proxy = cluster.kubelet.start_service(key.namespace, key.name, spec,
                                                  f"{request.type}::{request.name}")
        except BaseException:
            cluster.model.remove(key)
            raise
        service_type = spec.get("type") or "ClusterIP"
        spec.update({"type": service_type, "clusterIP": proxy.ip, "clusterIPs": [proxy.ip]})
        status: dict[str, Any] = {"loadBalancer": {}}
        if service_type == "LoadBalancer":
            same_ports = all(listen == port for port, (_, listen, _) in proxy.ports.items())
            if same_ports:
                status = {"loadBalancer": {"ingress": [{"ip": proxy.ip}]}}
            else:  # could not bind the declared port (not root): the address carries the port
                first = next(iter(proxy.ports.values()))[1]
                status = {"loadBalancer": {"ingress": [{"hostname": f"{proxy.ip}:{first}"}]}}
        outputs = {**stored, "spec": spec, "status": status}
        return Created(_object_id(key), outputs, _data(cluster, key))

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        cluster = _cluster(ctx, entry)
        if cluster is not None:
            cluster.kubelet.stop_service(entry.data["namespace"], entry.data["name"])
        super().delete(ctx, entry)
