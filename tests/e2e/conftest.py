"""Fixtures of the e2e layer (the helpers are in e2e_harness.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from e2e_harness import ROOT, RUN_TIMEOUT, E2eRun, Overlay, apply_overlay, e2e_command, e2e_env


@pytest.fixture
def run_e2e(tmp_path: Path):
    """Run ``pgiam e2e --target local`` on a program to completion."""
    def run(program: Path, *extra: str) -> E2eRun:
        work_dir = tmp_path / "work"
        report = tmp_path / "report.json"
        result = subprocess.run(e2e_command(program, work_dir, report, *extra), cwd=ROOT,
                                env=e2e_env(), capture_output=True, text=True,
                                timeout=RUN_TIMEOUT)
        data = json.loads(report.read_text()) if report.is_file() else {}
        return E2eRun(result.returncode, result.stdout, result.stderr, data, work_dir, report)
    return run


@pytest.fixture
def overlay_program(tmp_path: Path):
    """A copy of ``infra/`` with an overlay of ``programs/`` applied."""
    def build(name: str) -> Overlay:
        return apply_overlay(name, tmp_path / f"program-{name}")
    return build
