"""Processes a local cloud started, recorded on disk so they can be stopped even after the daemon
that started them died.

A record names a pid and the process's start time (from ``/proc/<pid>/stat``), so a pid the kernel
has since given to an unrelated process is never signalled. ``stop`` sends the record's signal,
waits a bounded time, then SIGKILLs (the process group too when asked), and removes the record's
paths.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pgiam.localcloud.statedir import read_json, write_json

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
DEFAULT_GRACE_SECONDS = 10.0


def process_start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot, or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command name (field 2) is in parentheses and may itself contain spaces or ')'
    fields = stat[stat.rfind(")") + 2:].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def process_state(pid: int) -> str | None:
    """The one-letter state of ``pid`` (``Z`` for a zombie), or None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return stat[stat.rfind(")") + 2:].split()[0]


@dataclass(frozen=True)
class ProcessRecord:
    name: str
    pid: int
    start_time: int
    stop_signal: int = signal.SIGTERM
    kill_group: bool = False
    paths: tuple[str, ...] = ()
    grace_seconds: float = DEFAULT_GRACE_SECONDS
    extra: dict = field(default_factory=dict)

    @classmethod
    def for_pid(cls, name: str, pid: int, **options) -> ProcessRecord:
        start_time = process_start_time(pid)
        if start_time is None:
            raise ProcessLookupError(f"no process {pid} to record as {name!r}")
        return cls(name=name, pid=pid, start_time=start_time, **options)

    def to_json(self) -> dict:
        return {"name": self.name, "pid": self.pid, "start_time": self.start_time,
                "stop_signal": int(self.stop_signal), "kill_group": self.kill_group,
                "paths": list(self.paths), "grace_seconds": self.grace_seconds, "extra": self.extra}

    @classmethod
    def from_json(cls, data: dict) -> ProcessRecord:
        return cls(name=str(data["name"]), pid=int(data["pid"]), start_time=int(data["start_time"]),
                   stop_signal=int(data.get("stop_signal", signal.SIGTERM)),
                   kill_group=bool(data.get("kill_group", False)),
                   paths=tuple(str(p) for p in data.get("paths", ())),
                   grace_seconds=float(data.get("grace_seconds", DEFAULT_GRACE_SECONDS)),
                   extra=dict(data.get("extra") or {}))

    def is_running(self) -> bool:
        """The recorded process (not a later one with the same pid) exists and is not a zombie."""
        return (process_start_time(self.pid) == self.start_time
                and process_state(self.pid) not in (None, "Z"))


def signal_record(record: ProcessRecord, signum: int) -> None:
    """Send ``signum`` to the recorded process (its group with ``kill_group``) if it is still the
    recorded one."""
    if not record.is_running():
        return
    _signal(record, signum)


def _signal(record: ProcessRecord, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if record.kill_group:
            os.killpg(record.pid, signum)
        else:
            os.kill(record.pid, signum)


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is our child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def wait_gone(record: ProcessRecord, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        _reap(record.pid)
        if not record.is_running():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def stop_process(record: ProcessRecord, *, grace_seconds: float | None = None) -> bool:
    """Stop the recorded process: its stop signal, then SIGKILL after the grace period.

    Returns True if it had to be killed. Removes the record's paths afterwards."""
    killed = False
    was_running = record.is_running()
    if was_running:
        _signal(record, record.stop_signal)
        grace = record.grace_seconds if grace_seconds is None else grace_seconds
        if not wait_gone(record, grace):
            killed = True
            _signal(record, signal.SIGKILL)
            wait_gone(record, 5.0)
    if record.kill_group and was_running:
        # members of the group that outlived their leader; only right after we stopped the leader,
        # so the group id cannot have been reused by an unrelated process since
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.pid, signal.SIGKILL)
    for path in record.paths:
        remove_path(Path(path))
    return killed


def remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


class ProcessRegistry:
    """Records in ``directory`` (one JSON file per name). Thread-safe within a process."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()

    def _path(self, name: str) -> Path:
        if not NAME_PATTERN.match(name):
            raise ValueError(f"process record name {name!r} must match {NAME_PATTERN.pattern}")
        return self.directory / f"{name}.json"

    def register(self, name: str, pid: int, *, stop_signal: int = signal.SIGTERM,
                 kill_group: bool = False, paths: Sequence[str | os.PathLike[str]] = (),
                 grace_seconds: float = DEFAULT_GRACE_SECONDS, extra: dict | None = None,
                 ) -> ProcessRecord:
        """Record ``pid`` under ``name`` (replacing a record of that name)."""
        record = ProcessRecord.for_pid(name, pid, stop_signal=int(stop_signal), kill_group=kill_group,
                                       paths=tuple(os.fspath(p) for p in paths),
                                       grace_seconds=grace_seconds, extra=dict(extra or {}))
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_json(self._path(name), record.to_json())
        return record

    def unregister(self, name: str) -> None:
        with self._lock, contextlib.suppress(FileNotFoundError):
            self._path(name).unlink()

    def get(self, name: str) -> ProcessRecord | None:
        data = read_json(self._path(name))
        return ProcessRecord.from_json(data) if data else None

    def records(self) -> list[ProcessRecord]:
        found = []
        for path in sorted(self.directory.glob("*.json")) if self.directory.is_dir() else ():
            data = read_json(path)
            with contextlib.suppress(KeyError, TypeError, ValueError):
                if data:
                    found.append(ProcessRecord.from_json(data))
        return found

    def stop(self, name: str, *, grace_seconds: float | None = None) -> bool:
        """Stop the process recorded as ``name`` and forget it. False if there was no record."""
        record = self.get(name)
        if record is None:
            return False
        stop_process(record, grace_seconds=grace_seconds)
        self.unregister(name)
        return True

    def stop_all(self, *, exclude: Iterable[str] = ()) -> list[ProcessRecord]:
        skipped = set(exclude)
        stopped = []
        for record in self.records():
            if record.name in skipped:
                continue
            stop_process(record)
            self.unregister(record.name)
            stopped.append(record)
        return stopped
