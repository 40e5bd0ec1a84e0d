"""What the e2e tests share: ``pgiam e2e`` run in a subprocess (as a user runs it, and so a
signal can be sent to it), each run with its own work directory, report and local cloud; the
miswired programs built from ``infra/`` and an overlay in ``programs/``. (A module of its own,
not conftest.py: test modules import it by a name no other test directory uses.)"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
OVERLAYS = Path(__file__).resolve().parent / "programs"
RUN_TIMEOUT = 300


@dataclass
class E2eRun:
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any]
    work_dir: Path

    def step(self, name: str) -> dict[str, Any]:
        return next(step for step in self.report["steps"] if step["name"] == name)

    def outcomes(self) -> dict[str, str]:
        return {step["name"]: step["outcome"] for step in self.report["steps"]}

    def explain(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout[-6000:]}\n--- stderr\n" \
               f"{self.stderr[-3000:]}"


def e2e_command(program: Path, work_dir: Path, report: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pgiam", "e2e", "--target", "local", "--program", str(program),
            "--work-dir", str(work_dir), "--report", str(report), *extra]


def e2e_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PGIAM_E2E_HOME", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _copy_program(destination: Path) -> Path:
    """``infra/`` without its stack files and caches."""
    shutil.copytree(INFRA, destination, ignore=shutil.ignore_patterns(
        "__pycache__", "Pulumi.*.yaml", "Pulumi.*.yml"))
    return destination


def apply_overlay(name: str, destination: Path) -> tuple[Path, dict[str, Any]]:
    """``infra/`` copied to ``destination`` with the overlay ``programs/<name>.yaml`` applied."""
    overlay = yaml.safe_load((OVERLAYS / f"{name}.yaml").read_text())
    program = _copy_program(destination)
    for patch in overlay["patches"]:
        path = program / patch["file"]
        text = path.read_text()
        count = text.count(patch["old"])
        if count != 1:
            raise AssertionError(f"overlay {name}: {patch['old']!r} occurs {count} times in "
                                 f"{patch['file']} (expected once): the overlay no longer fits "
                                 "infra/")
        path.write_text(text.replace(patch["old"], patch["new"]))
    return program, overlay["expect"]
