"""Starting a Python policy pack as its own process, the way the Pulumi CLI does, and talking to
it over the Analyzer gRPC protocol.

The CLI (through its ``pulumi-analyzer-policy-python`` shim) runs
``python -u -m pulumi.policy <engine address> <pack directory>`` with the pack directory as
working directory and ``PULUMI_PROJECT``, ``PULUMI_STACK``, ``PULUMI_DRY_RUN``,
``PULUMI_ORGANIZATION`` and ``PULUMI_CONFIG`` (the stack's configuration) in its environment;
``PolicyPack(...)`` then serves the Analyzer service on a free loopback port and prints the port
alone on stdout. The interpreter is the one of the pack's virtualenv when ``PulumiPolicy.yaml``
names one (``runtime.options.virtualenv``, relative to the pack), as the CLI uses it.

The engine address is a real Engine service served here (:class:`EngineLogServer`): it keeps
what is logged to it, so nothing the pack might send is lost.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgiam.errors import PgiamError

PACK_FILES = ("PulumiPolicy.yaml", "PulumiPolicy.yml")
START_TIMEOUT_SECONDS = 60.0
CALL_TIMEOUT_SECONDS = 120.0
_MAX_MESSAGE = 1024 * 1024 * 400      # as pulumi-policy and the CLI allow
_CHANNEL_OPTIONS = [("grpc.max_receive_message_length", _MAX_MESSAGE),
                    ("grpc.max_send_message_length", _MAX_MESSAGE)]


class PackError(PgiamError):
    """The policy pack cannot be found, started or talked to."""


@dataclass(frozen=True)
class PolicyPackProject:
    """A policy pack directory as read from its ``PulumiPolicy.yaml``."""

    directory: Path
    python: Path
    version: str | None
    description: str | None


def load_pack(directory: str | os.PathLike[str]) -> PolicyPackProject:
    """Read the pack's ``PulumiPolicy.yaml``: only Python packs with a ``__main__.py``."""
    import yaml

    directory = Path(directory).resolve()
    if not directory.exists():
        raise PackError(f"policy pack directory {directory} does not exist")
    if not directory.is_dir():
        raise PackError(f"policy pack directory {directory} is not a directory")
    path = next((directory / name for name in PACK_FILES if (directory / name).is_file()), None)
    if path is None:
        raise PackError(f"{directory} is not a policy pack: no PulumiPolicy.yaml in it")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise PackError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(raw, Mapping):
        raise PackError(f"{path}: expected a mapping with runtime")
    runtime = raw.get("runtime")
    name = runtime if isinstance(runtime, str) else (runtime or {}).get("name")
    options = (runtime or {}).get("options") or {} if isinstance(runtime, Mapping) else {}
    if name != "python":
        raise PackError(f"{path}: runtime is {name!r}; only Python policy packs can be run")
    if not (directory / "__main__.py").is_file():
        raise PackError(f"{directory} has no __main__.py to run")
    python = Path(sys.executable)
    if options.get("virtualenv"):
        venv = (directory / str(options["virtualenv"])).resolve()
        python = venv / "bin" / "python"
        if not python.exists():
            raise PackError(f"{path}: the pack's virtualenv {venv} has no bin/python "
                            "(create it, or remove runtime.options.virtualenv)")
    version = raw.get("version")
    return PolicyPackProject(directory=directory, python=python,
                             version=str(version) if version is not None else None,
                             description=raw.get("description"))


@dataclass(frozen=True)
class EngineLog:
    severity: str
    message: str
    urn: str = ""


class EngineLogServer:
    """A minimal Engine gRPC service (``Log``) on a free loopback port."""

    def __init__(self) -> None:
        import grpc
        from concurrent import futures
        from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc
        from google.protobuf import empty_pb2

        self.entries: list[EngineLog] = []
        lock = threading.Lock()
        entries = self.entries
        names = {engine_pb2.DEBUG: "debug", engine_pb2.INFO: "info",
                 engine_pb2.WARNING: "warning", engine_pb2.ERROR: "error"}

        class Servicer(engine_pb2_grpc.EngineServicer):
            def Log(self, request: Any, context: Any) -> Any:  # noqa: N802
                with lock:
                    entries.append(EngineLog(names.get(request.severity, "info"),
                                             request.message, request.urn))
                return empty_pb2.Empty()

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        engine_pb2_grpc.add_EngineServicer_to_server(Servicer(), self._server)
        port = self._server.add_insecure_port("127.0.0.1:0")
        if not port:
            raise PackError("cannot listen on a loopback port for the engine service")
        self.address = f"127.0.0.1:{port}"
        self._server.start()

    def stop(self) -> None:
        self._server.stop(grace=None)


@dataclass
class PackProcess:
    """A running policy pack: its process, its Analyzer client and what it wrote to stderr."""

    pack: PolicyPackProject
    process: subprocess.Popen[bytes]
    stderr_lines: list[str] = field(default_factory=list)
    port: int | None = None
    stub: Any = None
    channel: Any = None
    stderr_thread: threading.Thread | None = None

    def call(self, method: str, request: Any) -> Any:
        """Call ``method`` on the pack; :class:`PackError` naming the pack's error otherwise."""
        import grpc

        try:
            return getattr(self.stub, method)(request, timeout=CALL_TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            detail = error.details() if hasattr(error, "details") else str(error)
            raise PackError(f"the policy pack failed in {method}: {detail}"
                            f"{self._stderr_hint()}") from None

    def _stderr_hint(self) -> str:
        lines = [line for line in self.stderr_lines if line.strip()]
        return f" (pack stderr: {lines[-1].strip()})" if lines else ""

    def stop(self) -> None:
        if self.channel is not None:
            self.channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.stderr_thread is not None:
            self.stderr_thread.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def pack_environment(project: str, stack: str, *, dry_run: bool, organization: str,
                     config_env: Mapping[str, str]) -> dict[str, str]:
    """The environment the CLI gives a policy pack."""
    env = dict(os.environ)
    env.update({"PULUMI_PROJECT": project, "PULUMI_STACK": stack,
                "PULUMI_DRY_RUN": "true" if dry_run else "false",
                "PULUMI_ORGANIZATION": organization, **config_env})
    return env


def _drain(stream: Any, sink: list[str]) -> None:
    for raw in iter(stream.readline, b""):
        sink.append(raw.decode("utf-8", "replace"))


def _pack_failure(lines: list[str]) -> str:
    """The pack's own error, from what it wrote to stderr: the last line of a traceback."""
    meaningful = [line.strip() for line in lines if line.strip()]
    if not meaningful:
        return "it exited without a message"
    return meaningful[-1]


def start_pack(pack: PolicyPackProject, engine_address: str, env: Mapping[str, str]) -> PackProcess:
    """Launch the pack (:func:`wait_for_port` then connects to it); :class:`PackError` when it
    cannot be started. The caller must ``stop()`` it."""
    command = [str(pack.python), "-u", "-m", "pulumi.policy", engine_address, str(pack.directory)]
    try:
        process = subprocess.Popen(command, cwd=pack.directory, env=dict(env),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   stdin=subprocess.DEVNULL)
    except OSError as error:
        raise PackError(f"cannot start the policy pack with {pack.python}: {error}") from None
    running = PackProcess(pack, process)
    running.stderr_thread = threading.Thread(target=_drain, args=(process.stderr,
                                                                  running.stderr_lines),
                                             daemon=True)
    running.stderr_thread.start()
    return running


def _failure(running: PackProcess, printed: str) -> PackError:
    """The error of a pack that did not come up: its own last stderr line once it has exited."""
    try:
        running.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        return PackError(f"the policy pack {running.pack.directory} did not print its port "
                         f"(it printed {printed!r}; a pack prints nothing but its port)")
    if running.stderr_thread is not None:
        running.stderr_thread.join(timeout=5)
    return PackError(f"the policy pack {running.pack.directory} failed to start: "
                     f"{_pack_failure(running.stderr_lines)}")


def wait_for_port(running: PackProcess) -> None:
    """Read the port the pack prints and connect to it; :class:`PackError` when the pack exits
    or prints something else."""
    import grpc
    from pulumi.runtime.proto import analyzer_pb2_grpc

    assert running.process.stdout is not None
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(running.process.stdout.readline()),
                              daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_SECONDS)
    if reader.is_alive():
        raise PackError(f"the policy pack {running.pack.directory} did not print its port "
                        f"within {START_TIMEOUT_SECONDS:.0f} s")
    text = lines[0].decode("utf-8", "replace").strip() if lines else ""
    if not text.isdigit():
        raise _failure(running, text)
    running.port = int(text)
    running.channel = grpc.insecure_channel(f"127.0.0.1:{running.port}", options=_CHANNEL_OPTIONS)
    running.stub = analyzer_pb2_grpc.AnalyzerStub(running.channel)
