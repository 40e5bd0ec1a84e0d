"""Starting, finding and stopping the daemon of a state directory: what ``up``, ``down``,
``status`` and ``sa-token`` do, callable from Python as well (the test fixtures and the e2e
engine use it). Light on imports: no moto here, the daemon process pays for it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pgiam
from pgiam.errors import PgiamError
from pgiam.localcloud.processes import ProcessRecord, ProcessRegistry, stop_process
from pgiam.localcloud.statedir import StateDir, StateDirError, read_json, write_json

DEFAULT_REGION = "us-east-1"
START_TIMEOUT = 60.0
DAEMON_GRACE_SECONDS = 15.0  # extensions stop their servers on SIGTERM within this
DAEMON_RECORD = "daemon"

# daemons this process started: kept so the Popen objects are not collected while their daemon
# runs (Python warns of that), and reaped by ``down``
_children: dict[int, subprocess.Popen] = {}


class LocalCloudError(PgiamError):
    """The local cloud could not be started, found or stopped; the message says what to do."""


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def daemon_record(state: StateDir) -> ProcessRecord | None:
    data = read_json(state.daemon_file)
    try:
        return ProcessRecord.from_json(data) if data else None
    except (KeyError, TypeError, ValueError):
        return None


def running_info(state: StateDir) -> dict[str, Any] | None:
    """The ``up`` JSON of the daemon serving ``state``, or None if none is running (a missing
    or dead daemon, or one that no longer answers on its endpoint)."""
    record = daemon_record(state)
    info = read_json(state.state_file)
    if record is None or info is None or not record.is_running() or info.get("pid") != record.pid:
        return None
    endpoint = str(info.get("endpoint_url", ""))
    try:
        port = int(endpoint.rsplit(":", 1)[1].split("/")[0])
    except (IndexError, ValueError):
        return None
    return info if port_open(port) else None


def _check_region(region: str) -> str:
    parts = region.split("-")
    if len(parts) < 3 or not parts[-1].isdigit() or not all(p.isalpha() and p.islower() for p in parts[:-1]):
        raise LocalCloudError(f"--region {region!r} is not an AWS region name like us-east-1")
    return region


def up(state_dir: str | os.PathLike[str], *, region: str | None = None,
       extensions: Sequence[str] = (), timeout: float = START_TIMEOUT,
       accept_unknown_keys: bool = False) -> dict[str, Any]:
    """Start the local cloud of ``state_dir`` (or find it running) and return its ``up`` JSON.
    ``accept_unknown_keys``: moto's way for credentials the cloud never issued (off: AWS's)."""
    state = StateDir(state_dir)
    if region is not None:
        _check_region(region)
    state.prepare()
    with state.locked():
        info = running_info(state)
        if info is not None:
            if region is not None and info.get("region") != region:
                raise LocalCloudError(
                    f"the local cloud at {state.path} is running in region {info.get('region')}, not "
                    f"{region}; run `pgiam localcloud down --state-dir {state.path}` first")
            if bool(info.get("accept_unknown_keys")) != accept_unknown_keys:
                running = "accepts" if info.get("accept_unknown_keys") else "refuses"
                raise LocalCloudError(
                    f"the local cloud at {state.path} is running and {running} unknown access keys; "
                    f"run `pgiam localcloud down --state-dir {state.path}` first to change --accept-unknown-keys")
            return info
        _clean_stale(state)
        return _start(state, region or DEFAULT_REGION, extensions, timeout, accept_unknown_keys)


def _clean_stale(state: StateDir) -> None:
    """A previous daemon died (or hangs): stop what it and its extensions left, start afresh."""
    record = daemon_record(state)
    if record is not None:
        stop_process(record, grace_seconds=DAEMON_GRACE_SECONDS)
        if record.pid in _children:
            _children.pop(record.pid).poll()
    ProcessRegistry(state.processes_dir).stop_all()
    state.clear()


def _start(state: StateDir, region: str, extensions: Sequence[str], timeout: float,
           accept_unknown_keys: bool = False) -> dict[str, Any]:
    read_fd, write_fd = os.pipe()
    argv = [sys.executable, "-m", "pgiam.localcloud.daemon", "--state-dir", str(state.path),
            "--region", region, "--ready-fd", str(write_fd)]
    if accept_unknown_keys:
        argv.append("--accept-unknown-keys")
    for module in extensions:
        argv += ["--extension", module]
    # the daemon runs in the state directory (not wherever `up` ran, which may be removed), with
    # this very pgiam importable whether it is installed or run from a checkout
    source_root = str(Path(pgiam.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH", "")) if p)
    try:
        with open(state.log_file, "ab") as log_file:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                                       pass_fds=(write_fd,), start_new_session=True, close_fds=True,
                                       cwd=state.path, env=env)
    except OSError as exc:
        os.close(read_fd)
        os.close(write_fd)
        raise LocalCloudError(f"cannot start the local cloud daemon: {exc}") from exc
    os.close(write_fd)
    _children[process.pid] = process
    record = ProcessRecord.for_pid(DAEMON_RECORD, process.pid, stop_signal=signal.SIGTERM,
                                   kill_group=True, grace_seconds=DAEMON_GRACE_SECONDS)
    write_json(state.daemon_file, record.to_json())
    try:
        answer = _read_ready(read_fd, process, timeout)
    except BaseException:  # interrupted while waiting: leave nothing half-started behind
        stop_process(record, grace_seconds=DAEMON_GRACE_SECONDS)
        _children.pop(process.pid, None)
        process.wait()
        ProcessRegistry(state.processes_dir).stop_all()
        raise
    finally:
        os.close(read_fd)
    if "error" in answer or process.poll() is not None:
        stop_process(record, grace_seconds=DAEMON_GRACE_SECONDS)
        _children.pop(process.pid, None)
        process.wait()
        ProcessRegistry(state.processes_dir).stop_all()
        raise LocalCloudError(f"the local cloud did not start: {answer.get('error', 'the daemon exited')}; "
                              f"see {state.log_file}", exit_code=1)
    return answer


def _read_ready(fd: int, process: subprocess.Popen, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return {"error": f"no answer within {timeout:.0f} s"}
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    try:
        answer = json.loads(data.decode("utf-8")) if data else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        answer = {}
    if not isinstance(answer, dict) or not answer:
        code = process.wait(timeout=5) if process.poll() is None else process.returncode
        return {"error": f"the daemon exited with status {code} before it was ready"}
    return answer


def down(state_dir: str | os.PathLike[str]) -> list[str]:
    """Stop the daemon and everything recorded in ``state_dir``, then remove the directory.
    Returns the names of the processes stopped. Nothing to stop is not an error."""
    state = StateDir(state_dir)
    if not state.exists():
        return []
    if not state.is_state_dir():
        raise StateDirError(f"{state.path} is not a local cloud state directory (no {state.marker.name}); "
                            "not removing it")
    state.check_owner()
    stopped: list[str] = []
    with state.locked():
        record = daemon_record(state)
        watchdog = (read_json(state.state_file) or {}).get("watchdog_pid")
        if record is not None and record.is_running():
            stop_process(record, grace_seconds=DAEMON_GRACE_SECONDS)
            stopped.append(record.name)
        if record is not None and record.pid in _children:
            _children.pop(record.pid).poll()
        if isinstance(watchdog, int):
            _wait_for_watchdog(watchdog, state)
        for leftover in ProcessRegistry(state.processes_dir).stop_all():
            stopped.append(leftover.name)
        state.remove()
    return stopped


def _is_our_watchdog(pid: int, state: StateDir) -> bool:
    """``pid`` runs this state directory's watchdog (not a process that reused the pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as stream:
            argv = stream.read().split(b"\0")
    except OSError:
        return False
    return b"pgiam.localcloud.watchdog" in argv and os.fsencode(str(state.path)) in argv


def _wait_for_watchdog(pid: int, state: StateDir, timeout: float = 5.0) -> bool:
    """After the daemon stopped, its watchdog sees the pipe close and exits; ``down`` returns
    only once it has (a caller that checks that nothing of the cloud runs must not find it),
    stopping it after ``timeout``. True when it had to be stopped."""
    deadline = time.monotonic() + timeout
    while _is_our_watchdog(pid, state):
        if time.monotonic() >= deadline:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            return True
        time.sleep(0.02)
    return False


def require_running(state_dir: str | os.PathLike[str]) -> dict[str, Any]:
    state = StateDir(state_dir)
    if not state.exists():
        raise LocalCloudError(f"no local cloud at {state.path} (no such directory); "
                              f"run `pgiam localcloud up --state-dir {state.path}`")
    if not state.is_state_dir():
        raise LocalCloudError(f"{state.path} is not a local cloud state directory")
    info = running_info(state)
    if info is None:
        orphans = left_running(state)
        if orphans:
            raise LocalCloudError(
                f"the local cloud at {state.path} is not running, and its daemon left running: "
                f"{', '.join(f'{record.name} (pid {record.pid})' for record in orphans)}; "
                f"`pgiam localcloud up --state-dir {state.path}` stops them and starts afresh, "
                f"`pgiam localcloud down --state-dir {state.path}` stops them")
        raise LocalCloudError(f"the local cloud at {state.path} is not running; "
                              f"run `pgiam localcloud up --state-dir {state.path}`")
    return info


def left_running(state: StateDir) -> list[ProcessRecord]:
    """Recorded processes (database servers) still running while no daemon serves ``state``."""
    return [record for record in ProcessRegistry(state.processes_dir).records() if record.is_running()]

