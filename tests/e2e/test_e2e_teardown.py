"""A run killed mid-way tears down: SIGTERM right after the deploy (and, harder, in the middle
of it), and Ctrl-C at a terminal (SIGINT to the whole process group, during the negative checks
and again during teardown) leave no process, listening port, data directory or engine state."""

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
    processes and addresses, the local cloud's pid and endpoints, and what the cloud recorded
    starting (its database servers, whose data directories live outside the run directory)."""
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
    paths = []
    for record in (run_dir / "localcloud" / "processes").glob("*.json"):
        cloud = json.loads(record.read_text())
        processes.append((cloud["pid"], cloud["start_time"], f"local cloud's {cloud['name']}"))
        paths += [Path(path) for path in cloud.get("paths") or []]
    return {"run_dir": run_dir, "addresses": addresses, "processes": processes, "paths": paths,
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
    """Start a run (in a process group of its own, as a shell starts a job) and read its
    progress until ``ready(line, work_dir)``; then snapshot what it started."""
    work_dir, report = tmp_path / "work", tmp_path / "report.json"
    process = subprocess.Popen(e2e_command(INFRA, work_dir, report), cwd=ROOT, env=e2e_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
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
    for path in snapshot["paths"]:
        assert not path.exists(), f"{path} is left"
    assert not snapshot["run_dir"].exists()
    assert list(work_dir.iterdir()) == []


def _finish(process: subprocess.Popen, lines: list[str], tmp_path: Path,
            signum: int = signal.SIGTERM) -> dict[str, Any]:
    process.send_signal(signum)
    rest, _ = process.communicate(timeout=300)
    lines.append(rest)
    return _assert_interrupted(process, "".join(lines), tmp_path, signum)


def _assert_interrupted(process: subprocess.Popen, output: str, tmp_path: Path,
                        signum: int) -> dict[str, Any]:
    name = signal.Signals(signum).name
    assert process.returncode == 128 + signum, output
    report = json.loads((tmp_path / "report.json").read_text())
    outcomes = {step["name"]: step["outcome"] for step in report["steps"]}
    for step in TEARDOWN:
        assert outcomes[step] == "passed", output
    assert report["outcome"] == "interrupted" and report["signal"] == name
    assert f"{name} received" in output
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


def test_ctrl_c_during_the_checks_and_again_during_teardown_leaves_nothing(tmp_path):
    """A terminal's Ctrl-C is SIGINT to the whole foreground process group: the run and every
    child that shares its group. The first one stops the checks; the second, sent while the
    run's local cloud is being taken down, must not stop that (a `localcloud down` killed
    half-way left the cloud's daemon running)."""
    process, lines, snapshot = _run_until(
        tmp_path, lambda line, _: line.startswith("==> [5] password-login"))
    os.killpg(process.pid, signal.SIGINT)
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if line.startswith("==> [7] localcloud-down"):
            os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=300)
    output = "".join(lines)
    outcomes = _assert_interrupted(process, output, tmp_path, signal.SIGINT)
    assert outcomes["password-login"] == "interrupted", outcomes
    assert {outcomes[name] for name in ("expired-token", "other-db-user")} == {"skipped"}
    assert "SIGINT received: teardown is running and will finish first" in output
    _assert_nothing_left(snapshot, tmp_path / "work")
