"""`pgiam e2e` on a program that cannot load stops at once with the program's error: no local
cloud, no work directory, no report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pgiam.program.loader import load_project
from pgiam.program.preflight import check_program_loads

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def run_e2e(program: Path, work_dir: Path, report: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pgiam", "e2e", "--target", "local",
                           "--program", str(program), "--work-dir", str(work_dir),
                           "--report", str(report)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_a_program_with_a_syntax_error_stops_before_anything_starts(tmp_path: Path) -> None:
    program = tmp_path / "broken"
    program.mkdir()
    (program / "Pulumi.yaml").write_text("name: broken\nruntime: python\n")
    (program / "__main__.py").write_text("import pulumi\n\nbucket = (\n")
    result = run_e2e(program, tmp_path / "work", tmp_path / "report.json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the program does not load: __main__.py:3" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "work").exists()
    assert not (tmp_path / "report.json").exists()


def test_the_check_lets_infra_through() -> None:
    """The control: the program the e2e layer deploys in full passes the same check."""
    check_program_loads(load_project(ROOT / "infra"))
