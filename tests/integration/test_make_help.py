"""`make help` lists every documented target, whatever characters its name has."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_make_help_lists_every_documented_target_including_e2e() -> None:
    documented = re.findall(r"^([A-Za-z0-9_.-]+):.*## ", (ROOT / "Makefile").read_text(),
                            flags=re.MULTILINE)
    listed = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    names = [line.split()[0] for line in listed.splitlines() if line.strip()]
    assert "e2e" in documented
    assert names == documented
