"""The local Kubernetes cluster's model: objects as the API server stores them, the admission
EKS's pod identity webhook performs, and the plan of a pod (what to run, with which environment
and files). Plain objects and pure functions; :mod:`pgiam.e2e.engine.kubelet` does the I/O.

Supported kinds: Namespace, ServiceAccount, ConfigMap, Secret, Deployment, Service (and one-off
Pods the e2e run starts itself). Anything else is refused by name: a silent skip would let a
program that depends on it pass.

The pod identity webhook (aws/amazon-eks-pod-identity-webhook, ``pkg/handler``): for a pod whose
service account carries ``eks.amazonaws.com/role-arn``, every container gets ``AWS_ROLE_ARN``,
``AWS_WEB_IDENTITY_TOKEN_FILE`` (a projected service account token, audience
``sts.amazonaws.com`` unless ``eks.amazonaws.com/audience`` says otherwise, expiring after
``eks.amazonaws.com/token-expiration`` seconds, default 86400), ``AWS_STS_REGIONAL_ENDPOINTS=
regional``, and ``AWS_REGION``/``AWS_DEFAULT_REGION`` when the container does not set them. A
container that already mounts the token directory is left alone, as the webhook does.
"""

from __future__ import annotations

import copy
import hashlib
import re
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any

from pgiam.e2e.engine.pod_identity import pod_identity_mutation
from pgiam.errors import PgiamError

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
AUDIENCE_ANNOTATION = "eks.amazonaws.com/audience"
EXPIRATION_ANNOTATION = "eks.amazonaws.com/token-expiration"
REGIONAL_STS_ANNOTATION = "eks.amazonaws.com/sts-regional-endpoints"
TOKEN_VOLUME = "aws-iam-token"
TOKEN_MOUNT_PATH = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
TOKEN_FILE = "token"
DEFAULT_AUDIENCE = "sts.amazonaws.com"
DEFAULT_EXPIRATION = 86400
MIN_EXPIRATION = 3600

SUPPORTED_KINDS = ("Namespace", "ServiceAccount", "ConfigMap", "Secret", "Deployment", "Service",
                   "Pod")
CLUSTER_SCOPED = frozenset({"Namespace"})
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?"
                            r"(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_ENV_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\$")


class KubeError(PgiamError):
    """The local cluster refuses an object, or cannot run a pod (the message says why)."""


# ------------------------------------------------------------------------------------------
# Images the local cluster can run
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LocalImage:
    """What an image means on this machine: its CMD/ENTRYPOINT/ENV/WORKDIR as the Dockerfile
    declares them, with ``python`` standing for this interpreter and the packages it copies
    linked into the pod's image directory. ``bind_args`` are appended to the command so the
    process listens on the pod's own loopback address (a container has its own network
    namespace; here the pod's IP stands for it)."""

    repository: str
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    env: Mapping[str, str]
    workdir: str
    packages: tuple[str, ...]
    bind_args: tuple[str, ...] = ()


# app/Dockerfile: WORKDIR /opt/demo, the package at /opt/demo/app, CMD python -m app serve.
DEMO_APP_IMAGE = LocalImage(
    repository="pgiam-demo-app",
    entrypoint=(),
    cmd=("python", "-m", "app", "serve"),
    env={"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "PORT": "8080",
         "PGSSLMODE": "verify-full", "PGSSLROOTCERT": "/etc/ssl/certs/rds-global-bundle.pem"},
    workdir="/opt/demo",
    packages=("app",),
    bind_args=("--host", "{pod_ip}"),
)
LOCAL_IMAGES = {DEMO_APP_IMAGE.repository: DEMO_APP_IMAGE}


def image_repository(image: str) -> str:
    """``123.dkr.ecr.../team/pgiam-demo-app:0.1.0@sha256:..`` -> ``pgiam-demo-app``."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def local_image(image: str, images: Mapping[str, LocalImage] = LOCAL_IMAGES) -> LocalImage:
    found = images.get(image_repository(image))
    if found is None:
        raise KubeError(f"image {image!r}: the local cluster runs the demo app's image and the "
                        f"images mapped with --image-command ({', '.join(sorted(images))}); "
                        "there is no container runtime here")
    return found


def command_image(mapping: str) -> LocalImage:
    """``--image-command IMAGE=COMMAND``: a local command standing for an image's CMD.

    ``IMAGE`` is matched by repository (registry, tag and digest ignored, as the demo image is);
    ``COMMAND`` is split as a shell would split it, ``python`` is this interpreter, and
    ``{pod_ip}`` stands for the pod's address (a server must listen there, as in a pod's own
    network namespace). The pod's ``command``/``args`` still win over it, as over a CMD."""
    image, separator, command = mapping.partition("=")
    repository = image_repository(image.strip())
    if not separator or not repository or not command.strip():
        raise KubeError(f"--image-command {mapping!r}: expected IMAGE=COMMAND")
    try:
        argv = tuple(shlex.split(command))
    except ValueError as error:
        raise KubeError(f"--image-command {mapping!r}: {error}") from None
    return LocalImage(repository=repository, entrypoint=(), cmd=argv, env={}, workdir="/",
                      packages=())


# ------------------------------------------------------------------------------------------
# Objects
# ------------------------------------------------------------------------------------------

def kind_of_type(type_: str) -> tuple[str, str]:
    """``kubernetes:apps/v1:Deployment`` -> (``apps/v1``, ``Deployment``);
    ``kubernetes:core/v1:Namespace`` -> (``v1``, ``Namespace``)."""
    parts = type_.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes":
        raise KubeError(f"{type_!r} is not a Kubernetes resource type")
    group_version = parts[1]
    if group_version.startswith("core/"):
        group_version = group_version[len("core/"):]
    return group_version, parts[2]


@dataclass(frozen=True)
class ObjectKey:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else \
            f"{self.kind} {self.name}"


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _uid(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


@dataclass
class ClusterModel:
    """The objects of one local cluster, keyed by kind/namespace/name."""

    name: str
    region: str
    objects: dict[ObjectKey, dict[str, Any]] = field(default_factory=dict)
    # image repository -> what runs for it here (the demo app's, and --image-command's)
    images: Mapping[str, LocalImage] = field(default_factory=lambda: dict(LOCAL_IMAGES))
    # (namespace, service account) -> the Pod Identity Agent URL of the association naming it
    pod_identity: dict[tuple[str, str], str] = field(default_factory=dict)
    _version: int = 0

    def key_of(self, kind: str, obj: Mapping[str, Any]) -> ObjectKey:
        metadata = obj.get("metadata") or {}
        name = metadata.get("name")
        if not isinstance(name, str) or not name:
            raise KubeError(f"{kind}: metadata.name is required")
        namespace = "" if kind in CLUSTER_SCOPED else (metadata.get("namespace") or "default")
        return ObjectKey(kind, namespace, name)

    def admit(self, api_version: str, kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Validate ``obj`` as the API server would and store it with its server-set metadata."""
        if kind not in SUPPORTED_KINDS:
            raise KubeError(f"the local cluster does not support {api_version}/{kind} "
                            f"(supported: {', '.join(SUPPORTED_KINDS)})")
        key = self.key_of(kind, obj)
        pattern = _DNS_LABEL if kind in ("Namespace", "Service") else _DNS_SUBDOMAIN
        if not pattern.match(key.name):
            raise KubeError(f"{key}: metadata.name {key.name!r} is not a valid name")
        if key.namespace and key.namespace != "default" \
                and ObjectKey("Namespace", "", key.namespace) not in self.objects:
            raise KubeError(f"{key}: namespaces \"{key.namespace}\" not found")
        if key in self.objects:
            raise KubeError(f"{key}: already exists")
        stored = copy.deepcopy(dict(obj))
        stored["apiVersion"] = api_version
        stored["kind"] = kind
        metadata = dict(stored.get("metadata") or {})
        self._version += 1
        metadata.update({"uid": _uid(f"{self.name}/{key}/{self._version}"),
                         "resourceVersion": str(self._version), "generation": 1,
                         "creationTimestamp": _now()})
        if key.namespace:
            metadata["namespace"] = key.namespace
        stored["metadata"] = metadata
        self.objects[key] = stored
        return stored

    def remove(self, key: ObjectKey) -> None:
        self.objects.pop(key, None)

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get(ObjectKey(kind, "" if kind in CLUSTER_SCOPED else namespace, name))

    def in_namespace(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        return [obj for key, obj in self.objects.items()
                if key.kind == kind and key.namespace == namespace]


def labels_match(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def deployment_selector(deployment: Mapping[str, Any]) -> dict[str, str]:
    spec = deployment.get("spec") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not selector:
        raise KubeError("Deployment: spec.selector.matchLabels is required")
    if not labels_match(selector, labels):
        raise KubeError("Deployment: spec.selector does not match the template's labels "
                        "(`selector` does not match template `labels`)")
    return dict(selector)


def pod_template_hash(template: Mapping[str, Any]) -> str:
    """A stable 10-character hash of the pod template, like the ReplicaSet's."""
    import json

    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[int(digest[i:i + 2], 16) % len(alphabet)] for i in range(0, 20, 2))


# ------------------------------------------------------------------------------------------
# The pod identity webhook
# ------------------------------------------------------------------------------------------

def _has_env(container: Mapping[str, Any], name: str) -> bool:
    return any(item.get("name") == name for item in container.get("env") or [])


def irsa_mutation(pod_spec: Mapping[str, Any], service_account: Mapping[str, Any] | None,
                  region: str) -> dict[str, Any]:
    """The pod spec as EKS's pod identity webhook returns it for ``service_account``."""
    spec = copy.deepcopy(dict(pod_spec))
    annotations = ((service_account or {}).get("metadata") or {}).get("annotations") or {}
    role_arn = annotations.get(ROLE_ANNOTATION)
    if not role_arn:
        return spec
    audience = annotations.get(AUDIENCE_ANNOTATION) or DEFAULT_AUDIENCE
    try:
        expiration = max(MIN_EXPIRATION, int(annotations.get(EXPIRATION_ANNOTATION)
                                              or DEFAULT_EXPIRATION))
    except ValueError:
        expiration = DEFAULT_EXPIRATION
    regional = annotations.get(REGIONAL_STS_ANNOTATION, "true") != "false"
    mutated = False
    for container in spec.get("containers") or []:
        mounts = container.setdefault("volumeMounts", [])
        if any(mount.get("mountPath") == TOKEN_MOUNT_PATH for mount in mounts):
            continue
        env = container.setdefault("env", [])
        additions = [("AWS_ROLE_ARN", role_arn),
                     ("AWS_WEB_IDENTITY_TOKEN_FILE", f"{TOKEN_MOUNT_PATH}/{TOKEN_FILE}")]
        if regional:
            additions.append(("AWS_STS_REGIONAL_ENDPOINTS", "regional"))
        for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
            if not _has_env(container, name):
                additions.append((name, region))
        env.extend({"name": name, "value": value} for name, value in additions
                   if not _has_env(container, name))
        mounts.append({"name": TOKEN_VOLUME, "mountPath": TOKEN_MOUNT_PATH, "readOnly": True})
        mutated = True
    if mutated and not any(v.get("name") == TOKEN_VOLUME for v in spec.get("volumes") or []):
        spec.setdefault("volumes", []).append({"name": TOKEN_VOLUME, "projected": {"sources": [
            {"serviceAccountToken": {"audience": audience, "expirationSeconds": expiration,
                                     "path": TOKEN_FILE}}]}})
    return spec


# ------------------------------------------------------------------------------------------
# Pod plans
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VolumePlan:
    """What a volume holds: ``files`` (relative path -> text), or a service account token the
    kubelet mints (``token_audience``), or nothing (emptyDir)."""

    name: str
    files: Mapping[str, str] = field(default_factory=dict)
    token_path: str | None = None
    token_audience: str | None = None
    token_expiration: int | None = None


@dataclass(frozen=True)
class ContainerPlan:
    name: str
    image: LocalImage
    argv: tuple[str, ...]              # before localisation: "python" and $(VAR) resolved
    env: Mapping[str, str]             # image ENV, then the spec's env, then the webhook's
    mounts: tuple[tuple[str, str, str], ...]   # (mount path, volume name, subPath)
    ports: Mapping[str, int]           # port name -> containerPort ("8080" -> 8080 as well)
    readiness: Mapping[str, Any] | None
    liveness: Mapping[str, Any] | None


@dataclass(frozen=True)
class PodPlan:
    namespace: str
    name: str
    service_account: str
    labels: Mapping[str, str]
    containers: tuple[ContainerPlan, ...]
    volumes: Mapping[str, VolumePlan]
    spec: Mapping[str, Any]            # the admitted (mutated) pod spec


def _config_data(model: ClusterModel, kind: str, namespace: str, name: str,
                 optional: bool, where: str) -> dict[str, str] | None:
    obj = model.get(kind, namespace, name)
    if obj is None:
        if optional:
            return None
        raise KubeError(f"{where}: {kind.lower()} \"{name}\" not found in namespace "
                        f"{namespace!r}")
    if kind == "Secret":
        import base64

        data = {key: base64.b64decode(value).decode("utf-8")
                for key, value in (obj.get("data") or {}).items()}
        data.update(obj.get("stringData") or {})
        return data
    return {str(key): str(value) for key, value in (obj.get("data") or {}).items()}


def _volume_plan(model: ClusterModel, namespace: str, volume: Mapping[str, Any]) -> VolumePlan:
    name = volume.get("name") or ""
    where = f"volume {name!r}"
    if "emptyDir" in volume:
        return VolumePlan(name)
    for kind, field_name, name_key in (("ConfigMap", "configMap", "name"),
                                       ("Secret", "secret", "secretName")):
        if field_name in volume:
            source = volume[field_name] or {}
            data = _config_data(model, kind, namespace, source.get(name_key) or "",
                                bool(source.get("optional")), where) or {}
            items = source.get("items")
            if items:
                files = {item["path"]: data[item["key"]] for item in items if item["key"] in data}
            else:
                files = dict(data)
            return VolumePlan(name, files=files)
    if "projected" in volume:
        sources = (volume["projected"] or {}).get("sources") or []
        tokens = [source["serviceAccountToken"] for source in sources
                  if "serviceAccountToken" in source]
        if len(tokens) == 1 and len(sources) == 1:
            token = tokens[0]
            return VolumePlan(name, token_path=token.get("path") or TOKEN_FILE,
                              token_audience=token.get("audience") or "",
                              token_expiration=int(token.get("expirationSeconds") or 3600))
    kinds = sorted(set(volume) - {"name"})
    raise KubeError(f"{where}: the local cluster cannot mount {', '.join(kinds) or 'it'} "
                    "(supported: emptyDir, configMap, secret, a projected service account token)")


def expand_references(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: a defined variable is substituted, ``$$`` is a literal
    ``$``, an undefined reference stays as written."""
    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))
    return _ENV_REF.sub(substitute, text)


def _container_env(model: ClusterModel, namespace: str, pod_name: str, service_account: str,
                   container: Mapping[str, Any], image: LocalImage) -> dict[str, str]:
    env: dict[str, str] = dict(image.env)
    cname = container.get("name") or "?"
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or ""
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in source:
                ref = source[key] or {}
                data = _config_data(model, kind, namespace, ref.get("name") or "",
                                    bool(ref.get("optional")), f"container {cname} envFrom") or {}
                env.update({prefix + name: value for name, value in data.items()})
    fields = {"metadata.name": pod_name, "metadata.namespace": namespace,
              "spec.serviceAccountName": service_account}
    for item in container.get("env") or []:
        name = item.get("name")
        if not name:
            raise KubeError(f"container {cname}: an env entry has no name")
        if "valueFrom" in item and item["valueFrom"]:
            source = item["valueFrom"]
            where = f"container {cname} env {name}"
            if "fieldRef" in source:
                path = (source["fieldRef"] or {}).get("fieldPath", "")
                if path not in fields:
                    raise KubeError(f"{where}: fieldRef {path!r} is not supported locally")
                env[name] = fields[path]
                continue
            for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                if key in source:
                    ref = source[key] or {}
                    data = _config_data(model, kind, namespace, ref.get("name") or "",
                                        bool(ref.get("optional")), where)
                    if data is None:
                        break
                    if ref.get("key") not in data:
                        if ref.get("optional"):
                            break
                        raise KubeError(f"{where}: key {ref.get('key')!r} not found in "
                                        f"{kind.lower()} {ref.get('name')!r}")
                    env[name] = data[ref["key"]]
                    break
            else:
                raise KubeError(f"{where}: valueFrom {sorted(source)} is not supported locally")
            continue
        value = item.get("value")
        env[name] = expand_references("" if value is None else str(value), env)
    return env


def port_key(value: Any) -> str:
    """A Kubernetes IntOrString port (``containerPort``, ``targetPort``, a probe's ``port``) as
    the key the kubelet looks it up by: a number as its decimal digits, a name as itself.

    Pulumi hands numbers over as JSON numbers, which arrive here as floats (``8080.0``); an
    integral float is the integer it stands for, anything else is refused as the API server
    refuses it."""
    if isinstance(value, bool):
        raise KubeError(f"port {value!r} is neither a number nor a name")
    if isinstance(value, float):
        if not value.is_integer():
            raise KubeError(f"port {value!r} is not a whole number")
        value = int(value)
    if isinstance(value, int):
        if not 0 < value < 65536:
            raise KubeError(f"port {value} is out of range 1-65535")
        return str(value)
    return str(value)


def _container_ports(container: Mapping[str, Any]) -> dict[str, int]:
    ports: dict[str, int] = {}
    for port in container.get("ports") or []:
        number = int(port_key(port["containerPort"]))
        ports[str(number)] = number
        if port.get("name"):
            ports[port["name"]] = number
    return ports


def plan_pod(model: ClusterModel, namespace: str, pod_name: str,
             template: Mapping[str, Any]) -> PodPlan:
    """What the kubelet runs for a pod made from ``template`` (``{metadata, spec}``), after
    the service account admission and the pod identity webhook. :class:`KubeError` for what a
    real cluster would refuse (a missing service account, config map or secret) or what this one
    cannot run (another image, an unsupported volume)."""
    spec = dict(template.get("spec") or {})
    labels = dict(((template.get("metadata") or {}).get("labels")) or {})
    account_name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    account = model.get("ServiceAccount", namespace, account_name)
    if account is None and account_name != "default":
        raise KubeError(f"pods \"{pod_name}\" is forbidden: error looking up service account "
                        f"{namespace}/{account_name}: serviceaccount \"{account_name}\" not found")
    spec = irsa_mutation(spec, account, model.region)
    spec = pod_identity_mutation(spec, model.pod_identity.get((namespace, account_name)),
                                 model.region)
    volumes = {volume["name"]: _volume_plan(model, namespace, volume)
               for volume in spec.get("volumes") or []}
    containers = []
    if not spec.get("containers"):
        raise KubeError(f"pod {pod_name}: spec.containers is empty")
    for container in spec["containers"]:
        image = local_image(container.get("image") or "", model.images)
        env = _container_env(model, namespace, pod_name, account_name, container, image)
        command = [expand_references(str(part), env) for part in container.get("command") or []]
        args = [expand_references(str(part), env) for part in container.get("args") or []]
        if command:
            argv = command + args
        else:
            argv = list(image.entrypoint) + (args or list(image.cmd))
        if not argv:
            raise KubeError(f"container {container.get('name')}: no command to run")
        mounts = []
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") not in volumes:
                raise KubeError(f"container {container.get('name')}: volumeMount "
                                f"{mount.get('name')!r} names no volume of the pod")
            mounts.append((mount["mountPath"], mount["name"], mount.get("subPath") or ""))
        containers.append(ContainerPlan(
            name=container.get("name") or "container", image=image, argv=tuple(argv), env=env,
            mounts=tuple(mounts), ports=_container_ports(container),
            readiness=container.get("readinessProbe"), liveness=container.get("livenessProbe")))
    return PodPlan(namespace=namespace, name=pod_name, service_account=account_name,
                   labels=labels, containers=tuple(containers), volumes=volumes, spec=spec)


def local_path(path: str, mounts: tuple[tuple[str, str, str], ...],
               volume_dirs: Mapping[str, str]) -> str | None:
    """Where a container path lives on this machine, when it is inside a mounted volume
    (the longest mount path wins); None otherwise."""
    target = PurePosixPath(path)
    best: tuple[int, str] | None = None
    for mount_path, volume, sub_path in mounts:
        base = PurePosixPath(mount_path)
        if target == base or base in target.parents:
            depth = len(base.parts)
            if best is None or depth > best[0]:
                local = PurePosixPath(volume_dirs[volume]) / sub_path if sub_path else \
                    PurePosixPath(volume_dirs[volume])
                best = (depth, str(local / target.relative_to(base)))
    return best[1] if best else None


def python_argv(argv: tuple[str, ...]) -> list[str]:
    """``python``/``python3`` stand for this interpreter (the image's Python is the venv's)."""
    if argv and argv[0] in ("python", "python3", "python3.11", "/usr/local/bin/python"):
        return [sys.executable, *argv[1:]]
    return list(argv)
