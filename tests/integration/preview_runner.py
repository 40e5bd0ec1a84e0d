"""Runs ``python -m pgiam preview`` as a user does (its own process, the real pack as another),
for the integration tests."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = Path(__file__).resolve().parent / "programs"
PACK = ROOT / "policies"
INFRA_CONFIG = ("--config", "iam-postgres:masterPassword=integration-Passw0rd")


@dataclass
class PreviewResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        return json.loads(self.stdout)

    def violations(self, enforcement: str | None = None) -> set[tuple[str, str]]:
        return {(v["policy"], v["urn"]) for v in self.report["violations"]
                if enforcement is None or v["enforcement"] == enforcement}

    def deferred(self) -> set[tuple[str, str]]:
        return {(d["policy"], d["urn"]) for d in self.report["deferred"]}


def preview(program: str | Path, *args: str, pack: str | Path = PACK, json_output: bool = True,
            env: dict[str, str] | None = None, timeout: float = 180) -> PreviewResult:
    command = [sys.executable, "-m", "pgiam", "preview", "--program", str(program),
               "--policy-pack", str(pack), *args]
    if json_output:
        command.append("--json")
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                               timeout=timeout, env=env)
    return PreviewResult(completed.returncode, completed.stdout, completed.stderr)
