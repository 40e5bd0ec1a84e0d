"""The local cluster's node: runs pods as local processes, probes them, execs into them, and
serves Services (:mod:`pgiam.e2e.engine.proxy`).

A pod gets its own loopback address (``127.x.y.z``: a container's network namespace, here) and
its containers listen on their declared ports there, so the pod spec's ``PORT=8080`` and its
probes on port ``http`` mean what they mean in a cluster. Its volumes are directories under the
pod's directory: a ConfigMap or Secret is written out key by key, the pod identity webhook's
projected token is minted by the local cloud for the pod's service account, an emptyDir is an
empty directory; any environment value or argument that is a path inside a mount is rewritten to
the local directory (``PGSSLROOTCERT=/etc/pgiam/db-ca/ca.pem`` -> ``<pod>/volumes/db-ca/ca.pem``).
The image's packages are linked into the pod's image directory (its WORKDIR, on PYTHONPATH), so
the process imports exactly what the image holds. The environment starts empty: nothing of the
deployer's (its AWS keys above all) leaks into a pod; only PATH, HOME, LANG, HOSTNAME, the
image's ENV, the spec's env, the webhook's additions and the local cloud's endpoint.

Differences from a kubelet, on purpose: containers are not restarted (an exit is reported with
its code and log, as CrashLoopBackOff would be); probes run when asked (the e2e run polls)
rather than every ``periodSeconds``; ``runAsUser`` and ``readOnlyRootFilesystem`` are not
enforced.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgiam.e2e.engine import processes
from pgiam.e2e.engine.kube import (
    ClusterModel,
    ContainerPlan,
    KubeError,
    PodPlan,
    labels_match,
    local_path,
    port_key,
    python_argv,
)
from pgiam.e2e.engine.rds_ca import LIBPQ_DEFAULT_ROOT, names_rds_bundle
from pgiam.e2e.engine.state import EngineState, ProcessEntry

# (namespace, service account, audience, expiration seconds, pod name) -> a signed JWT
TokenMinter = Callable[[str, str, str, int, str], str]
STOP_GRACE_SECONDS = 5.0


@dataclass
class ExecResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class ProbeResult:
    ok: bool
    answered: bool       # the container answered at all (an HTTP status, a connect, an exit code)
    message: str
    status: int | None = None
    body: str = ""


@dataclass
class RunningContainer:
    plan: ContainerPlan
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log: Path
    popen: subprocess.Popen | None = None
    entry: ProcessEntry | None = None

    def exit_code(self) -> int | None:
        if self.popen is None:
            return None
        return self.popen.poll()


@dataclass
class RunningPod:
    plan: PodPlan
    owner: str
    ip: str
    directory: Path
    containers: list[RunningContainer] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.plan.namespace, self.plan.name)

    def event(self, reason: str, message: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.events.append(f"{stamp} {reason}: {message}")


@dataclass
class ServiceProxy:
    namespace: str
    name: str
    owner: str
    ip: str
    selector: dict[str, str]
    # service port -> (target port as written, local listen port, endpoints file)
    ports: dict[int, tuple[str, int, Path]] = field(default_factory=dict)
    entries: list[ProcessEntry] = field(default_factory=list)
    popens: list[subprocess.Popen] = field(default_factory=list)


@dataclass
class Workload:
    """A Deployment as its controller sees it: the pods it made, and why it could not make
    the others (the ReplicaSet's FailedCreate event)."""

    namespace: str
    name: str
    owner: str
    replicas: int
    pods: list[RunningPod] = field(default_factory=list)
    failed_create: str | None = None


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise KubeError(f"the image's package {package!r} is not importable here")
    return Path(list(spec.submodule_search_locations)[0])


def _can_bind(ip: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((ip, port))
        except OSError:
            return False
        return True


def allocate_ip(ports: Sequence[int], rng: random.Random | None = None) -> str:
    """A loopback address (127.16.0.1 - 127.254.255.254) where every port of ``ports`` is free."""
    rng = rng or random.SystemRandom()
    for _ in range(64):
        ip = f"127.{rng.randint(16, 254)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        if all(_can_bind(ip, port) for port in ports):
            return ip
    raise KubeError("no free loopback address found for a pod")


class Kubelet:
    """Runs the pods and Services of one local cluster. Thread-safe."""

    def __init__(self, model: ClusterModel, state: EngineState, root: Path,
                 mint_token: TokenMinter, network_env: Mapping[str, str]) -> None:
        self.model = model
        self.state = state
        self.root = root
        self.mint_token = mint_token
        self.network_env = dict(network_env)
        # (pod env, pod directory) -> variables to add: the network check's say on what a pod
        # reaches (pgiam.e2e.engine.network.pod_network_env); None: nothing is judged.
        self.pod_network: Callable[[Mapping[str, str], Path], Mapping[str, str]] | None = None
        # the local CA, standing where a pod expects Amazon's RDS bundle (engine.rds_ca)
        self.rds_ca_bundle: str | None = None
        self.pods: dict[tuple[str, str], RunningPod] = {}
        self.services: dict[tuple[str, str], ServiceProxy] = {}
        self.workloads: dict[tuple[str, str], Workload] = {}
        self._lock = threading.RLock()

    # -- pods ---------------------------------------------------------------------------

    def _materialise_volumes(self, plan: PodPlan, directory: Path) -> dict[str, str]:
        volume_dirs: dict[str, str] = {}
        for name, volume in plan.volumes.items():
            target = directory / "volumes" / name
            target.mkdir(parents=True, exist_ok=True)
            for relative, text in volume.files.items():
                path = target / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                path.chmod(0o644)
            if volume.token_path is not None:
                token = self.mint_token(plan.namespace, plan.service_account,
                                        volume.token_audience or "",
                                        volume.token_expiration or 3600, plan.name)
                path = target / volume.token_path
                path.write_text(token, encoding="ascii")
                path.chmod(0o600)
            volume_dirs[name] = str(target)
        return volume_dirs

    def _image_dir(self, container: ContainerPlan, directory: Path) -> Path:
        image_dir = directory / "image" / container.name
        image_dir.mkdir(parents=True, exist_ok=True)
        for package in container.image.packages:
            link = image_dir / package
            if not link.exists():
                link.symlink_to(_package_dir(package), target_is_directory=True)
        return image_dir

    def _localise(self, value: str, container: ContainerPlan, volume_dirs: Mapping[str, str]
                  ) -> str:
        if value.startswith("/"):
            local = local_path(value, container.mounts, volume_dirs)
            if local is not None:
                return local
            if self.rds_ca_bundle and names_rds_bundle(value):
                return self.rds_ca_bundle
        return value

    def _container(self, plan: PodPlan, container: ContainerPlan, directory: Path, ip: str,
                   volume_dirs: Mapping[str, str], argv: Sequence[str] | None = None
                   ) -> RunningContainer:
        image_dir = self._image_dir(container, directory)
        env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
               "HOME": str(directory), "LANG": "C.UTF-8", "HOSTNAME": plan.name,
               "PYTHONPATH": str(image_dir), **self.network_env}
        env.update({name: self._localise(value, container, volume_dirs)
                    for name, value in container.env.items()})
        if self.rds_ca_bundle:   # libpq's default root certificate, for verify-* without one
            default_root = directory / LIBPQ_DEFAULT_ROOT
            default_root.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.rds_ca_bundle, default_root)
        for mount_path, volume, _ in container.mounts:
            if mount_path.rstrip("/") == "/tmp":
                env["TMPDIR"] = volume_dirs[volume]
        if self.pod_network is not None:
            env.update(self.pod_network(env, directory))
        if argv is None:
            argv = [self._localise(part.replace("{pod_ip}", ip), container, volume_dirs)
                    for part in container.argv]
            if tuple(container.argv) == tuple(container.image.entrypoint + container.image.cmd):
                argv += [part.format(pod_ip=ip) for part in container.image.bind_args]
        return RunningContainer(plan=container, argv=python_argv(tuple(argv)), env=env,
                                cwd=image_dir, log=directory / "logs" / f"{container.name}.log")

    def _prepare(self, plan: PodPlan, owner: str) -> RunningPod:
        ports = sorted({port for container in plan.containers for port in container.ports.values()})
        ip = allocate_ip(ports)
        directory = self.root / "pods" / plan.namespace / plan.name
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        self.state.add_directory(directory)
        return RunningPod(plan=plan, owner=owner, ip=ip, directory=directory)

    def start_pod(self, plan: PodPlan, owner: str) -> RunningPod:
        pod = self._prepare(plan, owner)
        with self._lock:
            self.pods[pod.key] = pod
        pod.event("Scheduled", f"assigned to the local node, IP {pod.ip}")
        volume_dirs = self._materialise_volumes(plan, pod.directory)
        for container_plan in plan.containers:
            container = self._container(plan, container_plan, pod.directory, pod.ip, volume_dirs)
            popen, entry = processes.spawn(
                container.argv, env=container.env, cwd=container.cwd, log_path=container.log,
                role="pod", owner=owner,
                description=f"pod {plan.namespace}/{plan.name} container {container_plan.name}",
                addresses=[f"{pod.ip}:{port}"
                           for port in sorted(set(container_plan.ports.values()))])
            self.state.add_process(entry)
            container.popen, container.entry = popen, entry
            pod.containers.append(container)
            pod.event("Started", f"container {container_plan.name}: "
                                 f"{' '.join(container_plan.argv)} (pid {popen.pid})")
        self.refresh_endpoints()
        return pod

    def stop_pod(self, pod: RunningPod) -> None:
        for container in pod.containers:
            if container.entry is not None:
                processes.stop(container.entry, grace_seconds=STOP_GRACE_SECONDS,
                               popen=container.popen)
                self.state.remove_process(container.entry.pid)
        with self._lock:
            self.pods.pop(pod.key, None)
        shutil.rmtree(pod.directory, ignore_errors=True)
        self.state.remove_directory(pod.directory)
        self.refresh_endpoints()

    def pods_of(self, owner: str) -> list[RunningPod]:
        with self._lock:
            return [pod for pod in self.pods.values() if pod.owner == owner]

    def find_pod(self, namespace: str, name: str) -> RunningPod | None:
        with self._lock:
            return self.pods.get((namespace, name))

    # -- probes -------------------------------------------------------------------------

    def probe(self, pod: RunningPod, container: RunningContainer,
              probe: Mapping[str, Any] | None) -> ProbeResult:
        """One run of ``probe`` against a container (no probe: ready once running)."""
        code = container.exit_code()
        if code is not None:
            return ProbeResult(False, False, f"container {container.plan.name} exited with "
                                             f"code {code}")
        if not probe:
            return ProbeResult(True, True, "running (no probe)")
        timeout = float(probe.get("timeoutSeconds") or 1)
        if "httpGet" in probe:
            return self._http_probe(pod, container, probe["httpGet"] or {}, timeout)
        if "tcpSocket" in probe:
            port = self._port(container, (probe["tcpSocket"] or {}).get("port"))
            listening = processes.port_listening(port, pod.ip)
            return ProbeResult(listening, listening, f"tcp {pod.ip}:{port} "
                                                     f"{'open' if listening else 'refused'}")
        if "exec" in probe:
            result = self.exec(pod, list((probe["exec"] or {}).get("command") or []),
                               timeout=timeout, container=container.plan.name)
            return ProbeResult(result.ok, True, f"exec exit code {result.returncode}")
        raise KubeError(f"probe {sorted(probe)} is not supported by the local kubelet")

    @staticmethod
    def _port(container: RunningContainer, port: Any) -> int:
        key = port_key(port)
        if key in container.plan.ports:
            return container.plan.ports[key]
        if key.isdigit():
            return int(key)
        raise KubeError(f"container {container.plan.name}: probe port {port!r} is not a declared "
                        "port")

    def _http_probe(self, pod: RunningPod, container: RunningContainer,
                    http: Mapping[str, Any], timeout: float) -> ProbeResult:
        port = self._port(container, http.get("port"))
        scheme = (http.get("scheme") or "HTTP").lower()
        url = f"{scheme}://{http.get('host') or pod.ip}:{port}{http.get('path') or '/'}"
        request = urllib.request.Request(url, headers={
            header["name"]: header["value"] for header in http.get("httpHeaders") or []})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return ProbeResult(True, True, f"GET {url}: {answer.status}", answer.status,
                                   answer.read(4096).decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:
            body = error.read(4096).decode("utf-8", "replace")
            return ProbeResult(200 <= error.code < 400, True,
                               f"GET {url}: {error.code} {body.strip()}", error.code, body)
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            return ProbeResult(False, False, f"GET {url}: {reason}")

    # -- exec and one-off pods ----------------------------------------------------------

    def exec(self, pod: RunningPod, argv: Sequence[str], *, timeout: float,
             container: str | None = None, extra_env: Mapping[str, str] | None = None
             ) -> ExecResult:
        """``kubectl exec``: ``argv`` with the container's environment and working directory."""
        target = next((c for c in pod.containers if container in (None, c.plan.name)), None)
        if target is None:
            raise KubeError(f"pod {pod.plan.name} has no container {container!r}")
        return _run(python_argv(tuple(argv)), {**target.env, **(extra_env or {})}, target.cwd,
                    timeout)

    def run_once(self, plan: PodPlan, argv: Sequence[str], *, timeout: float,
                 owner: str, extra_env: Mapping[str, str] | None = None) -> ExecResult:
        """``kubectl run --rm``: a pod from ``plan`` whose first container runs ``argv`` to
        completion; its directory is gone afterwards."""
        pod = self._prepare(plan, owner)
        try:
            volume_dirs = self._materialise_volumes(plan, pod.directory)
            container = self._container(plan, plan.containers[0], pod.directory, pod.ip,
                                        volume_dirs, argv=list(argv))
            return _run(container.argv, {**container.env, **(extra_env or {})}, container.cwd,
                        timeout)
        finally:
            shutil.rmtree(pod.directory, ignore_errors=True)
            self.state.remove_directory(pod.directory)

    def logs(self, pod: RunningPod, tail: int = 60) -> list[str]:
        lines: list[str] = []
        for container in pod.containers:
            try:
                text = container.log.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for line in text.splitlines()[-tail:]:
                lines.append(f"[{container.plan.name}] {line}")
        return lines

    # -- services -----------------------------------------------------------------------

    def _endpoints(self, proxy: ServiceProxy, target_port: str) -> list[str]:
        endpoints = []
        with self._lock:
            pods = [pod for pod in self.pods.values() if pod.plan.namespace == proxy.namespace
                    and labels_match(proxy.selector, pod.plan.labels)]
        for pod in pods:
            for container in pod.containers:
                if target_port in container.plan.ports:
                    endpoints.append(f"{pod.ip}:{container.plan.ports[target_port]}")
                    break
        return sorted(endpoints)

    def refresh_endpoints(self) -> None:
        with self._lock:
            proxies = list(self.services.values())
        for proxy in proxies:
            for target_port, _, path in proxy.ports.values():
                _write_json(path, self._endpoints(proxy, target_port))

    def start_service(self, namespace: str, name: str, spec: Mapping[str, Any], owner: str
                      ) -> ServiceProxy:
        ports = [dict(port) for port in spec.get("ports") or []]
        if not ports:
            raise KubeError(f"Service {namespace}/{name}: spec.ports is empty")
        wanted = [int(port_key(port["port"])) for port in ports]
        try:
            ip = allocate_ip(wanted)
            listen = {port: port for port in wanted}
        except KubeError:  # not allowed to bind a low port (not root): any free port instead
            ip = allocate_ip([])
            listen = {port: processes.free_port() for port in wanted}
        proxy = ServiceProxy(namespace, name, owner, ip, dict(spec.get("selector") or {}))
        directory = self.root / "services" / namespace / name
        directory.mkdir(parents=True, exist_ok=True)
        self.state.add_directory(directory)
        with self._lock:
            self.services[(namespace, name)] = proxy
        for port in ports:
            number = int(port_key(port["port"]))
            target = port_key(port.get("targetPort") or number)
            endpoints_file = directory / f"endpoints-{number}.json"
            proxy.ports[number] = (target, listen[number], endpoints_file)
            _write_json(endpoints_file, self._endpoints(proxy, target))
            popen, entry = processes.spawn(
                [sys.executable, "-m", "pgiam.e2e.engine.proxy", "--listen",
                 f"{ip}:{listen[number]}", "--endpoints", str(endpoints_file)],
                env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": _repo_root()},
                cwd=directory, log_path=directory / f"proxy-{number}.log", role="service-proxy",
                owner=owner, description=f"service {namespace}/{name} port {number}",
                addresses=[f"{ip}:{listen[number]}"])
            self.state.add_process(entry)
            proxy.entries.append(entry)
            proxy.popens.append(popen)
            if not processes.wait_listening(listen[number], 10.0, host=ip,
                                            alive=lambda popen=popen: popen.poll() is None):
                raise KubeError(f"Service {namespace}/{name}: the proxy for port {number} did "
                                f"not start (see {directory}/proxy-{number}.log)")
        return proxy

    def stop_service(self, namespace: str, name: str) -> None:
        with self._lock:
            proxy = self.services.pop((namespace, name), None)
        if proxy is None:
            return
        for entry, popen in zip(proxy.entries, proxy.popens, strict=True):
            processes.stop(entry, grace_seconds=STOP_GRACE_SECONDS, popen=popen)
            self.state.remove_process(entry.pid)
        directory = self.root / "services" / namespace / name
        shutil.rmtree(directory, ignore_errors=True)
        self.state.remove_directory(directory)


def _repo_root() -> str:
    return str(Path(__file__).resolve().parents[3])


def _write_json(path: Path, value: Any) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(value), encoding="utf-8")
    os.replace(temporary, path)


def _run(argv: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float) -> ExecResult:
    started = time.monotonic()
    try:
        completed = subprocess.run(list(argv), env=dict(env), cwd=str(cwd), capture_output=True,
                                   text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout.decode() if isinstance(expired.stdout, bytes) \
            else (expired.stdout or "")
        return ExecResult(list(argv), 124, out, f"timed out after {timeout:.0f}s",
                          time.monotonic() - started)
    return ExecResult(list(argv), completed.returncode, completed.stdout, completed.stderr,
                      time.monotonic() - started)
