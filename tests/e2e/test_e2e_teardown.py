"""A run killed mid-way tears down: SIGTERM right after the deploy (and, harder, in the middle
of it) leaves no process, listening port, data directory or engine state."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import INFRA, ROOT, e2e_command, e2e_env

pytestmark = pytest.mark.timeout(400)

TEARDOWN = ("destroy", "localcloud-down", "verify-clean")


def _start_ticks(pid: int) -> int | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2:].split()
    return int(fields[19]) if fields[0] not in ("Z", "X") else None


def _listening(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def _snapshot(work_dir: Path, report_path: Path) -> dict[str, Any]:
    """Everything the run has started so far, read from its own files: the engine state's
    processes and addresses, the local cloud's pid and endpoints."""
    (run_dir,) = list(work_dir.iterdir())
    state = json.loads((run_dir / "engine" / "state.json").read_text()) \
        if (run_dir / "engine" / "state.json").is_file() else {"processes": []}
    report = json.loads(report_path.read_text())
    stack = next(step for step in report["steps"] if step["name"] == "stack")["details"]
    addresses = {address for process in state["processes"] for address in process["addresses"]}
    for url in (stack["endpoint_url"], stack["issuer"]):
        host_port = url.split("://", 1)[1].split("/", 1)[0]
        addresses.add(host_port if ":" in host_port else f"{host_port}:443")
    processes = [(p["pid"], p["start_ticks"], p["description"]) for p in state["processes"]]
    processes.append((stack["localcloud_pid"], _start_ticks(stack["localcloud_pid"]),
                      "local cloud daemon"))
    return {"run_dir": run_dir, "addresses": addresses, "processes": processes,
            "resources": len(state.get("resources", []))}


def _using(path: Path) -> list[str]:
    """Live processes whose command line mentions ``path`` or whose working directory is in it
    (a pod runs in its image directory under the run directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or _start_ticks(int(entry.name)) is None:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if str(path) in cmdline or cwd.startswith(str(path)):
            found.append(f"{entry.name}: {cmdline[:120]} (in {cwd})")
    return found


def _run_until(tmp_path: Path, ready) -> tuple[subprocess.Popen, list[str], dict[str, Any]]:
    work_dir, report = tmp_path / "work", tmp_path / "report.json"
    process = subprocess.Popen(e2e_command(INFRA, work_dir, report), cwd=ROOT, env=e2e_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if ready(line, work_dir):
            return process, lines, _snapshot(work_dir, report)
        if line.startswith("<== [2] deploy:") and "passed" not in line:
            process.kill()
            pytest.fail("the deploy failed before the signal:\n" + "".join(lines))
    pytest.fail("the run ended before the signal:\n" + "".join(lines))


def _assert_nothing_left(snapshot: dict[str, Any], work_dir: Path) -> None:
    for pid, ticks, description in snapshot["processes"]:
        assert ticks is None or _start_ticks(pid) != ticks, f"{description} (pid {pid}) is alive"
    for address in snapshot["addresses"]:
        assert not _listening(address), f"{address} still listens"
    assert _using(snapshot["run_dir"]) == []
    assert not snapshot["run_dir"].exists()
    assert list(work_dir.iterdir()) == []


def _finish(process: subprocess.Popen, lines: list[str], tmp_path: Path) -> dict[str, Any]:
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=300)
    lines.append(rest)
    output = "".join(lines)
    assert process.returncode == 128 + signal.SIGTERM, output
    report = json.loads((tmp_path / "report.json").read_text())
    outcomes = {step["name"]: step["outcome"] for step in report["steps"]}
    for name in TEARDOWN:
        assert outcomes[name] == "passed", output
    assert report["outcome"] == "interrupted" and report["signal"] == "SIGTERM"
    assert "SIGTERM received" in output
    return outcomes


def test_sigterm_right_after_deploy_tears_everything_down(tmp_path):
    process, lines, snapshot = _run_until(
        tmp_path, lambda line, _: line.startswith("<== [2] deploy: passed"))
    assert snapshot["resources"] > 20 and snapshot["processes"]
    outcomes = _finish(process, lines, tmp_path)
    assert outcomes["deploy"] == "passed"
    checks = [name for name in outcomes if name not in TEARDOWN + ("stack", "deploy")]
    assert {outcomes[name] for name in checks} <= {"interrupted", "skipped"}, outcomes
    _assert_nothing_left(snapshot, tmp_path / "work")


def _deploy_half_done(line: str, work_dir: Path) -> bool:
    if not line.startswith("==> [2] deploy"):
        return False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        states = list(work_dir.glob("*/engine/state.json"))
        if states:
            try:
                created = [r for r in json.loads(states[0].read_text())["resources"]
                           if r["status"] == "created"]
            except ValueError:
                created = []
            if len(created) >= 8:
                return True
        time.sleep(0.05)
    return False


def test_sigterm_in_the_middle_of_the_deploy_tears_down_what_was_created(tmp_path):
    process, lines, snapshot = _run_until(tmp_path, _deploy_half_done)
    outcomes = _finish(process, lines, tmp_path)
    assert outcomes["deploy"] == "interrupted"
    _assert_nothing_left(snapshot, tmp_path / "work")
