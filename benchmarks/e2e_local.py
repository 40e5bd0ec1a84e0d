"""Wall time of the local e2e cycle: ``pgiam e2e --target local --program infra`` (local cloud up,
deploy, rollout, checks in the pod, negative checks, teardown, verification), run N times; prints
each run's total and per-step times and the machine's load average when it started (the
machine is shared: a figure means little without it), then min and median against the 60 s
budget (issue 7).

    .venv/bin/python benchmarks/e2e_local.py [--runs 3] [--program infra] [--config KEY=VALUE]

A run that does not pass stops the benchmark with exit code 1: a failing cycle has no time.
The verdict is printed, not enforced.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 60.0


def one_cycle(program: Path, config: tuple[str, ...] = ()) -> tuple[float, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="pgiam-bench-e2e-") as scratch:
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "pgiam", "e2e", "--target", "local", "--program",
                   str(program), "--work-dir", str(Path(scratch) / "work"), "--report",
                   str(report), "--quiet", *(arg for item in config for arg in ("--config", item))]
        started = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
            print(f"the cycle failed (exit {result.returncode}):\n{tail}", file=sys.stderr)
            raise SystemExit(1)
        data = json.loads(report.read_text())
    return elapsed, {step["name"]: step["duration_s"] for step in data["steps"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--program", type=Path, default=ROOT / "infra")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="stack configuration passed on (e.g. iam-postgres:identityMode="
                             "pod-identity)")
    args = parser.parse_args()
    totals = []
    for index in range(args.runs):
        load = os.getloadavg()[0]
        elapsed, steps = one_cycle(args.program.resolve(), tuple(args.config))
        totals.append(elapsed)
        detail = ", ".join(f"{name} {seconds:.1f}" for name, seconds in steps.items())
        print(f"run {index + 1}: {elapsed:.1f} s, load {load:.1f} at start  ({detail})",
              flush=True)
    best, median = min(totals), statistics.median(totals)
    verdict = "within" if median <= BUDGET_SECONDS else "OVER"
    print(f"local e2e cycle: min {best:.1f} s, median {median:.1f} s over {args.runs} run(s); "
          f"{verdict} the {BUDGET_SECONDS:.0f} s budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
