"""Wall time of the unit layer: ``pytest -m unit -n auto`` (what pull requests run) and
``pytest -m unit`` in one process, each run N times; prints min and median, and the CPU time
the run's processes used (this machine's CPUs are shared: the same work takes 15-21 s of CPU
from one run to the next, so a wall figure means little without it).

    .venv/bin/python benchmarks/unit_layer.py [--runs 5] [--no-serial] [--no-cold] [--pytest-args "..."]

Runs as ``make unit`` does: bytecode written (PYTHONDONTWRITEBYTECODE dropped), after one warm-up
run. The cold figure is one run with no bytecode of the repository's own modules at all (the
first run after a clone, or a machine where nothing may be written): the repository's
``__pycache__`` dirs are removed first, and the run writes none.

The budget (issue 2) is 10 s wall for ``-n auto`` on the 2-core reference machine; the verdict is
printed, not enforced. A run that fails, or collects no test (pytest exit 5), stops the benchmark
with exit code 1: a broken layer has no time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 10.0
SOURCE_DIRS = ("tests", "pgiam", "app", "infra", "policies", "benchmarks")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(pytest_args: list[str], *, write_bytecode: bool = True) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one pytest run; SystemExit(1) when it does not pass."""
    command = [sys.executable, "-m", "pytest", "-q", *pytest_args]
    env = dict(os.environ)
    if write_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    cpu_before = children_cpu()
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        print(f"pytest {' '.join(pytest_args)} failed (exit {result.returncode}):\n{tail}",
              file=sys.stderr)
        raise SystemExit(1)
    return elapsed, children_cpu() - cpu_before


def remove_repository_bytecode() -> None:
    for directory in SOURCE_DIRS:
        for cache in (ROOT / directory).rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)


def measure(label: str, pytest_args: list[str], runs: int) -> tuple[float, float]:
    results = [timed_run(pytest_args) for _ in range(runs)]
    times = [wall for wall, _ in results]
    best, median = min(times), statistics.median(times)
    cpu = statistics.median(cpu for _, cpu in results)
    print(f"{label:<28} min {best:6.2f} s   median {median:6.2f} s   CPU median {cpu:5.1f} s   "
          f"({', '.join(f'{t:.2f}' for t in times)})")
    return best, median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per mode (default 5)")
    parser.add_argument("--no-serial", action="store_true", help="skip the one-process runs")
    parser.add_argument("--no-cold", action="store_true", help="skip the run without bytecode")
    parser.add_argument("--pytest-args", default="", help="extra pytest arguments, quoted")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    extra = shlex.split(args.pytest_args)
    parallel = ["-m", "unit", "-n", "auto", *extra]

    print(f"unit layer, {args.runs} runs per mode, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f} at the start")
    if not args.no_cold:
        remove_repository_bytecode()
        wall, cpu = timed_run(parallel, write_bytecode=False)
        print(f"{'cold, no bytecode, -n auto':<28} {wall:6.2f} s   CPU {cpu:5.1f} s")
    timed_run(parallel)  # warm-up: file caches, bytecode
    _, median = measure("pytest -m unit -n auto", parallel, args.runs)
    if not args.no_serial:
        measure("pytest -m unit", ["-m", "unit", *extra], args.runs)
    verdict = "within" if median < BUDGET_SECONDS else "OVER"
    print(f"-n auto median {median:.2f} s: {verdict} the {BUDGET_SECONDS:.0f} s budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
