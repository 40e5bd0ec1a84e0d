"""``pgiam e2e --sweep --older-than HOURS`` removes leftover local runs (their processes, their
local cloud, their directory) older than HOURS whose run is gone, and nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from e2e_harness import ROOT, e2e_env

from pgiam.e2e.engine.processes import is_running, spawn, start_ticks, wait_gone
from pgiam.e2e.engine.state import EngineState

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
