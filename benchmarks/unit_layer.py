"""Wall time of the unit layer: ``pytest -m unit -n auto`` (what pull requests run) and
``pytest -m unit`` in one process, each run N times; prints min and median.

    .venv/bin/python benchmarks/unit_layer.py [--runs 5] [--no-serial] [--pytest-args "..."]

The budget (issue 2) is 10 s wall for ``-n auto`` on the 2-core reference machine; the verdict is
printed, not enforced. A run that fails, or collects no test (pytest exit 5), stops the benchmark
with exit code 1: a broken layer has no time.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 10.0


def timed_run(pytest_args: list[str]) -> float:
    """Seconds of wall time of one pytest run; SystemExit(1) when it does not pass."""
    command = [sys.executable, "-m", "pytest", "-q", *pytest_args]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        print(f"pytest {' '.join(pytest_args)} failed (exit {result.returncode}):\n{tail}",
              file=sys.stderr)
        raise SystemExit(1)
    return elapsed


def measure(label: str, pytest_args: list[str], runs: int) -> tuple[float, float]:
    times = [timed_run(pytest_args) for _ in range(runs)]
    best, median = min(times), statistics.median(times)
    print(f"{label:<28} min {best:6.2f} s   median {median:6.2f} s   "
          f"({', '.join(f'{t:.2f}' for t in times)})")
    return best, median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per mode (default 5)")
    parser.add_argument("--no-serial", action="store_true", help="skip the one-process runs")
    parser.add_argument("--pytest-args", default="", help="extra pytest arguments, quoted")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    extra = shlex.split(args.pytest_args)

    print(f"unit layer, {args.runs} runs per mode, {os.cpu_count()} CPUs, "
          f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '(unset)')}")
    timed_run(["-m", "unit", "-n", "auto", *extra])  # warm-up: file caches, bytecode
    _, median = measure("pytest -m unit -n auto", ["-m", "unit", "-n", "auto", *extra], args.runs)
    if not args.no_serial:
        measure("pytest -m unit", ["-m", "unit", *extra], args.runs)
    verdict = "within" if median < BUDGET_SECONDS else "OVER"
    print(f"-n auto median {median:.2f} s: {verdict} the {BUDGET_SECONDS:.0f} s budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
