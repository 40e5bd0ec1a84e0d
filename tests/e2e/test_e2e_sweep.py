"""``pgiam e2e --sweep --older-than HOURS`` removes leftover local runs (their processes, their
local cloud, their directory) older than HOURS whose run is gone, and nothing else; a stack kept
with ``--keep`` is one such leftover, and runs side by side keep out of each other's way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import urllib.request

import pytest
from e2e_harness import INFRA, ROOT, E2eRun, assert_no_secrets, e2e_command, e2e_env

from pgiam.e2e.engine.processes import is_running, spawn, start_ticks, wait_gone
from pgiam.e2e.engine.state import EngineState, ProcessEntry

pytestmark = pytest.mark.timeout(180)


def _leftover(work_dir: Path, age: timedelta, with_cloud: bool) -> tuple[Path, dict]:
    created = datetime.now(timezone.utc) - age
    run_dir = work_dir / f"e2e-{created:%Y%m%dt%H%M%S}-{'abcdef' if with_cloud else 'young1'}"
    run_dir.mkdir(parents=True)
    # The run that made it died: a pid above pid_max (2**22 at most) never runs.
    (run_dir / "run.json").write_text(json.dumps({"pid": 1 << 22, "pid_start_ticks": 0,
                                                  "stack": run_dir.name}))
    facts: dict = {}
    if with_cloud:
        up = subprocess.run([sys.executable, "-m", "pgiam", "localcloud", "up", "--state-dir",
                             str(run_dir / "localcloud")], capture_output=True, text=True,
                            timeout=120, check=True)
        facts["cloud_pid"] = json.loads(up.stdout)["pid"]
        state = EngineState.create(run_dir / "engine", run_dir.name)
        _, pod = spawn(["sleep", "300"], env={"PATH": "/usr/bin:/bin"}, cwd=run_dir,
                       log_path=run_dir / "engine" / "pod.log", role="pod",
                       owner="kubernetes:apps/v1:Deployment::demo", description="a left pod")
        state.add_process(pod)
        facts["pod"] = pod
    return run_dir, facts


def test_sweep_removes_old_leftovers_and_keeps_young_ones(tmp_path):
    work_dir = tmp_path / "work"
    old, facts = _leftover(work_dir, timedelta(hours=3), with_cloud=True)
    young, _ = _leftover(work_dir, timedelta(minutes=10), with_cloud=False)
    (work_dir / "not-ours").mkdir()
    result = subprocess.run([sys.executable, "-m", "pgiam", "e2e", "--sweep", "--older-than", "1",
                             "--work-dir", str(work_dir)], cwd=ROOT, env=e2e_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{old.name} (3.0 h): swept" in result.stdout
    assert f"{young.name} (0.2 h): skipped" in result.stdout
    assert not old.exists() and young.exists() and (work_dir / "not-ours").exists()
    assert not is_running(facts["pod"])
    assert wait_gone(facts["cloud_pid"], 5.0), "the local cloud daemon still runs"


def test_sweep_leaves_a_run_that_is_still_going(tmp_path):
    work_dir = tmp_path / "work"
    run_dir, _ = _leftover(work_dir, timedelta(hours=5), with_cloud=False)
    (run_dir / "run.json").write_text(json.dumps({"pid": os.getpid(),
                                                  "pid_start_ticks": start_ticks(os.getpid())}))
    result = subprocess.run([sys.executable, "-m", "pgiam", "e2e", "--sweep", "--older-than", "1",
                             "--work-dir", str(work_dir)], cwd=ROOT, env=e2e_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "its run is still going" in result.stdout and run_dir.exists()


def _start(work_dir: Path, report: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(e2e_command(INFRA, work_dir, report, *extra), cwd=ROOT, env=e2e_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finished(process: subprocess.Popen, work_dir: Path, report: Path) -> E2eRun:
    stdout, stderr = process.communicate(timeout=300)
    return E2eRun(process.returncode, stdout, stderr, json.loads(report.read_text()), work_dir,
                  report)


def _what_it_runs(run_dir: Path) -> tuple[list[ProcessEntry], list[Path]]:
    """A kept run's pods and Services, and its local cloud's database data directories."""
    paths = [Path(path) for record in (run_dir / "localcloud" / "processes").glob("*.json")
             for path in json.loads(record.read_text()).get("paths") or []]
    return EngineState.load(run_dir / "engine").processes(), paths


@pytest.mark.timeout(400)
def test_two_runs_side_by_side_and_a_kept_one_swept_later(tmp_path):
    """Two runs in one work directory at once (two CI jobs, two terminals): each keeps to its
    own stack. The one run with --keep leaves its stack serving; `--sweep --older-than 0`
    then removes everything of it."""
    work_dir = tmp_path / "work"
    kept_report, other_report = tmp_path / "kept.json", tmp_path / "other.json"
    kept_process = _start(work_dir, kept_report, "--keep")
    other_process = _start(work_dir, other_report)
    kept = _finished(kept_process, work_dir, kept_report)
    other = _finished(other_process, work_dir, other_report)

    assert other.returncode == 0, other.explain()
    assert set(other.outcomes().values()) == {"passed"}, other.outcomes()
    assert kept.returncode == 0, kept.explain()
    assert kept.report["kept"] is True and kept.report["outcome"] == "passed"
    assert {kept.step(name)["outcome"] for name in ("destroy", "localcloud-down",
                                                    "verify-clean")} == {"skipped"}
    assert "kept: the stack" in kept.stdout and "--sweep --older-than 0" in kept.stdout
    for run in (kept, other):
        assert_no_secrets(run)
    (run_dir,) = list(work_dir.iterdir())
    assert run_dir.name == kept.report["stack"]
    with urllib.request.urlopen(kept.report["outputs"]["appUrl"] + "/healthz", timeout=10) as ok:
        assert ok.status == 200                       # the kept stack still serves

    pods, data_dirs = _what_it_runs(run_dir)
    cloud_pid = kept.step("stack")["details"]["localcloud_pid"]
    assert pods and data_dirs
    result = subprocess.run([sys.executable, "-m", "pgiam", "e2e", "--sweep", "--older-than", "0",
                             "--work-dir", str(work_dir)], cwd=ROOT, env=e2e_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{run_dir.name} (0.0 h): swept" in result.stdout
    assert list(work_dir.iterdir()) == []
    assert not any(is_running(pod) for pod in pods)
    assert wait_gone(cloud_pid, 5.0), "the kept run's local cloud daemon still runs"
    assert not any(path.exists() for path in data_dirs)
