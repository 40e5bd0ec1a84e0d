"""The engine's state: every resource it created, in creation order, with its id, outputs and
what its delete handler needs; every process it started; every directory it made.

It is written (atomically: temporary file, fsync, rename) before a resource is created (status
``creating``), after it is created (``created``) and after it is deleted (removed), and right
after a process starts, so a run killed at any point leaves a state that says what may exist.
Secret values never reach the file: they are replaced by :data:`REDACTED` (the engine keeps the
real values in memory for the run's own teardown).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"
REDACTED = "[secret]"
FORMAT_VERSION = 1


@dataclass
class ResourceEntry:
    seq: int
    type: str
    name: str
    status: str = "creating"          # creating | created
    id: str = ""
    provider: str = ""
    dependencies: list[str] = field(default_factory=list)   # keys of other entries
    outputs: dict[str, Any] = field(default_factory=dict)
    # What the delete handler needs (physical ids, the cluster it lives in, ...); no secrets.
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.type}::{self.name}"


@dataclass
class ProcessEntry:
    pid: int
    start_ticks: int          # /proc/<pid>/stat field 22: tells a reused pid apart
    role: str                 # pod | service-proxy | ...
    owner: str                # key of the resource it belongs to
    description: str = ""
    addresses: list[str] = field(default_factory=list)   # "ip:port" it listens on
    log: str = ""


@dataclass
class EngineStateData:
    stack: str
    version: int = FORMAT_VERSION
    resources: list[ResourceEntry] = field(default_factory=list)
    processes: list[ProcessEntry] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)
    next_seq: int = 1


def redact(value: Any, secret_paths: frozenset[str] = frozenset(), _path: str = "") -> Any:
    """``value`` with Pulumi secret envelopes (and the given top-level keys) replaced by
    :data:`REDACTED`."""
    from pgiam.program.runner import SECRET_SIG, SIG_KEY

    if isinstance(value, Mapping):
        if value.get(SIG_KEY) == SECRET_SIG:
            return REDACTED
        return {key: (REDACTED if not _path and key in secret_paths
                      else redact(item, secret_paths, f"{_path}.{key}"))
                for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item, secret_paths, _path + "[]") for item in value]
    return value


class EngineState:
    """Thread-safe: the mock runtime creates independent resources from several threads."""

    def __init__(self, directory: Path, data: EngineStateData) -> None:
        self.directory = directory
        self.data = data
        # Every process ever recorded in this process's lifetime (the state keeps only the live
        # ones): what teardown verification checks is gone.
        self.history: list[ProcessEntry] = list(data.processes)
        self._lock = threading.RLock()

    @property
    def path(self) -> Path:
        return self.directory / STATE_FILE

    # -- persistence --------------------------------------------------------------------

    @classmethod
    def create(cls, directory: Path, stack: str) -> EngineState:
        directory.mkdir(parents=True, exist_ok=True)
        state = cls(directory, EngineStateData(stack=stack))
        state.save()
        return state

    @classmethod
    def load(cls, directory: Path) -> EngineState:
        raw = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
        data = EngineStateData(
            stack=raw["stack"], version=raw.get("version", FORMAT_VERSION),
            resources=[ResourceEntry(**entry) for entry in raw.get("resources", [])],
            processes=[ProcessEntry(**entry) for entry in raw.get("processes", [])],
            directories=list(raw.get("directories", [])),
            next_seq=raw.get("next_seq", 1))
        return cls(directory, data)

    @staticmethod
    def exists(directory: Path) -> bool:
        return (directory / STATE_FILE).is_file()

    def save(self) -> None:
        with self._lock:
            text = json.dumps(asdict(self.data), indent=1, sort_keys=True)
            handle, temporary = tempfile.mkstemp(prefix=".state.", dir=self.directory)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    stream.write(text)
                    stream.flush()
                    os.fsync(stream.fileno())
                os.replace(temporary, self.path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise

    # -- resources ----------------------------------------------------------------------

    def begin(self, type_: str, name: str, provider: str = "") -> ResourceEntry:
        with self._lock:
            entry = ResourceEntry(seq=self.data.next_seq, type=type_, name=name,
                                  provider=provider)
            self.data.next_seq += 1
            self.data.resources.append(entry)
            self.save()
            return entry

    def update(self, entry: ResourceEntry, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(entry, key, value)
            self.save()

    def created(self, entry: ResourceEntry, resource_id: str, outputs: Mapping[str, Any],
                data: Mapping[str, Any], secret_outputs: frozenset[str] = frozenset()) -> None:
        with self._lock:
            entry.id = resource_id
            entry.outputs = redact(dict(outputs), secret_outputs)
            entry.data = dict(data)
            entry.status = "created"
            self.save()

    def forget(self, entry: ResourceEntry) -> None:
        with self._lock:
            self.data.resources = [item for item in self.data.resources if item is not entry]
            self.save()

    def find(self, key: str) -> ResourceEntry | None:
        with self._lock:
            return next((entry for entry in self.data.resources if entry.key == key), None)

    def resources(self) -> list[ResourceEntry]:
        with self._lock:
            return list(self.data.resources)

    def set_dependencies(self, dependencies: Mapping[str, list[str]]) -> None:
        """Record, after the program ran, which entries each entry depends on (by key)."""
        with self._lock:
            for entry in self.data.resources:
                if entry.key in dependencies:
                    entry.dependencies = sorted(set(dependencies[entry.key]))
            self.save()

    # -- processes and directories ------------------------------------------------------

    def add_process(self, process: ProcessEntry) -> None:
        with self._lock:
            self.data.processes.append(process)
            self.history.append(process)
            self.save()

    def remove_process(self, pid: int) -> None:
        with self._lock:
            self.data.processes = [p for p in self.data.processes if p.pid != pid]
            self.save()

    def processes(self, owner: str | None = None) -> list[ProcessEntry]:
        with self._lock:
            return [p for p in self.data.processes if owner is None or p.owner == owner]

    def add_directory(self, path: Path) -> None:
        with self._lock:
            if str(path) not in self.data.directories:
                self.data.directories.append(str(path))
                self.save()

    def remove_directory(self, path: Path) -> None:
        with self._lock:
            self.data.directories = [d for d in self.data.directories if d != str(path)]
            self.save()

    def is_empty(self) -> bool:
        with self._lock:
            return not (self.data.resources or self.data.processes or self.data.directories)


def destroy_order(entries: list[ResourceEntry]) -> Iterator[ResourceEntry]:
    """Entries in an order where each comes before everything it depends on: a reverse
    topological order of the recorded dependencies, ties broken by reverse creation order.

    Creation order alone is already a topological order (the SDK registers a resource only once
    everything it depends on exists), so entries without recorded dependencies (a run killed
    mid-deploy) still come out right."""
    remaining = {entry.key: entry for entry in entries}
    dependents: dict[str, set[str]] = {key: set() for key in remaining}
    for entry in entries:
        for dependency in entry.dependencies:
            if dependency in dependents:
                dependents[dependency].add(entry.key)
    while remaining:
        ready = [entry for entry in remaining.values()
                 if not (dependents[entry.key] & remaining.keys())]
        if not ready:  # a cycle cannot come from the SDK; fall back to creation order
            ready = list(remaining.values())
        chosen = max(ready, key=lambda entry: entry.seq)
        del remaining[chosen.key]
        yield chosen
