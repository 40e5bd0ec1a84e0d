"""``pgiam e2e --sweep --older-than HOURS`` for the local target: remove what runs left behind
(killed with SIGKILL, the machine rebooted, ``--keep``).

Every local run lives in ``<work dir>/<stack>/``. A leftover there is swept when its name has
the prefix, it is older than HOURS (the time in its name), and the run that made it is not alive
any more (its pid and start time from ``run.json``). Sweeping stops the processes its engine
state records (pods, service proxies), takes its local cloud down (which removes every AWS
resource and database server of the stack with it, as the cloud belonged to that run alone),
and removes the directory.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pgiam.e2e.engine import processes
from pgiam.e2e.engine.state import EngineState, ProcessEntry
from pgiam.e2e.naming import parse_stack_name


@dataclass
class SweepResult:
    stack: str
    age_hours: float
    action: str                       # swept | skipped | failed
    details: list[str] = field(default_factory=list)


def _run_alive(run_dir: Path) -> int | None:
    try:
        meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pid, ticks = meta.get("pid"), meta.get("pid_start_ticks")
    if not pid or ticks is None:
        return None
    probe = ProcessEntry(pid=int(pid), start_ticks=int(ticks), role="run", owner="")
    return int(pid) if processes.is_running(probe) else None


def sweep_one(run_dir: Path) -> list[str]:
    """Remove one leftover run; the lines say what was done (raises nothing it can survive)."""
    from pgiam.e2e.targets import localcloud

    done: list[str] = []
    engine_dir = run_dir / "engine"
    if EngineState.exists(engine_dir):
        state = EngineState.load(engine_dir)
        for entry in state.processes():
            if processes.is_running(entry):
                processes.stop(entry)
                done.append(f"stopped {entry.description} (pid {entry.pid})")
        done.append(f"{len(state.resources())} engine resources go with the local cloud")
    cloud_dir = run_dir / "localcloud"
    if cloud_dir.exists():
        result = localcloud.down(cloud_dir)
        done.append(f"localcloud down: exit {result.returncode}")
        if result.returncode != 0:
            done.append(result.stderr.strip()[-300:])
    shutil.rmtree(run_dir, ignore_errors=True)
    done.append("removed" if not run_dir.exists() else f"could not remove {run_dir}")
    return done


def sweep(work_root: Path, prefix: str, older_than_hours: float,
          now: datetime | None = None) -> list[SweepResult]:
    now = now or datetime.now(timezone.utc)
    results: list[SweepResult] = []
    if not work_root.is_dir():
        return results
    for run_dir in sorted(work_root.iterdir()):
        name = parse_stack_name(run_dir.name, prefix)
        if name is None or not run_dir.is_dir():
            continue
        age = name.age_hours(now)
        if age < older_than_hours:
            results.append(SweepResult(run_dir.name, age, "skipped",
                                       [f"younger than {older_than_hours:g} h"]))
            continue
        alive = _run_alive(run_dir)
        if alive is not None:
            results.append(SweepResult(run_dir.name, age, "skipped",
                                       [f"its run is still going (pid {alive})"]))
            continue
        try:
            details = sweep_one(run_dir)
        except Exception as error:  # noqa: BLE001 - reported, the sweep goes on
            results.append(SweepResult(run_dir.name, age, "failed",
                                       [f"{type(error).__name__}: {error}"]))
            continue
        results.append(SweepResult(run_dir.name, age,
                                   "swept" if not run_dir.exists() else "failed", details))
    return results
