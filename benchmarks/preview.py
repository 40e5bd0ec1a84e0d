"""Wall time of the offline preview of ``infra/`` with the real policy pack:
``python -m pgiam preview --program infra --policy-pack policies`` in both modes, each run N
times (after one warm-up run); prints min and median.

    .venv/bin/python benchmarks/preview.py [--runs 5] [--program infra] [--mode preview --mode up]

The budget (issue 3) is 3 s wall on the 2-core reference machine; the verdict is printed, not
enforced. A run that does not exit 0 or 1 (the program or the pack could not run) stops the
benchmark with exit code 1: a broken preview has no time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 3.0
INFRA_CONFIG = ["--config", "iam-postgres:masterPassword=benchmark-Passw0rd"]


def timed_run(program: str, mode: str) -> float:
    command = [sys.executable, "-m", "pgiam", "preview", "--program", program,
               "--policy-pack", "policies", "--mode", mode, "--json"]
    if Path(program).resolve() == ROOT / "infra":
        command += INFRA_CONFIG
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        print(f"pgiam preview --mode {mode} failed (exit {result.returncode}):\n"
              f"{result.stderr.strip()}", file=sys.stderr)
        raise SystemExit(1)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per mode (default 5)")
    parser.add_argument("--program", default="infra", help="program directory (default infra)")
    parser.add_argument("--mode", action="append", choices=("preview", "up"),
                        help="mode(s) to time (default: both)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    modes = args.mode or ["preview", "up"]
    print(f"pgiam preview of {args.program}, {args.runs} runs per mode, {os.cpu_count()} CPUs")
    timed_run(args.program, modes[0])   # warm-up: file caches
    worst = 0.0
    for mode in modes:
        times = [timed_run(args.program, mode) for _ in range(args.runs)]
        median = statistics.median(times)
        worst = max(worst, median)
        print(f"--mode {mode:<8} min {min(times):5.2f} s   median {median:5.2f} s   "
              f"({', '.join(f'{t:.2f}' for t in times)})")
    verdict = "within" if worst < BUDGET_SECONDS else "OVER"
    print(f"slowest median {worst:.2f} s: {verdict} the {BUDGET_SECONDS:.0f} s budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
