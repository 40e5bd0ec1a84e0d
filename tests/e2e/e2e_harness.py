"""What the e2e tests share: ``pgiam e2e`` run in a subprocess (as a user runs it, and so a
signal can be sent to it), each run with its own work directory, report and local cloud; the
miswired programs built from ``infra/`` and an overlay in ``programs/``. (A module of its own,
not conftest.py: test modules import it by a name no other test directory uses.)"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
OVERLAYS = Path(__file__).resolve().parent / "programs"
BYOP = Path(__file__).resolve().parent / "byop"
RUN_TIMEOUT = 300


@dataclass
class E2eRun:
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any]
    work_dir: Path
    report_path: Path | None = None

    @property
    def junit_path(self) -> Path:
        assert self.report_path is not None
        return self.report_path.with_suffix(".xml")

    def step(self, name: str) -> dict[str, Any]:
        return next(step for step in self.report["steps"] if step["name"] == name)

    def outcomes(self) -> dict[str, str]:
        return {step["name"]: step["outcome"] for step in self.report["steps"]}

    def explain(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout[-6000:]}\n--- stderr\n" \
               f"{self.stderr[-3000:]}"


# What must never reach a report or the terminal: a web identity token (a JWT), an IAM database
# auth token (a SigV4 presigned query), AWS secret keys, private keys, the kubeconfig's contents,
# and a password of the run (secrets.token_urlsafe(24): 32 URL-safe characters, both cases).
SECRET_PATTERNS = {
    "a JWT": re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\."),
    "an IAM auth token": re.compile(r"X-Amz-Signature=|X-Amz-Credential=|X-Amz-Security-Token="),
    "an AWS secret key": re.compile(r"SecretAccessKey|aws_secret_access_key", re.IGNORECASE),
    "a private key": re.compile(r"PRIVATE KEY-----"),
    "a kubeconfig": re.compile(r"certificate-authority-data|client.authentication.k8s.io"),
    "a generated password": re.compile(
        r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*[A-Z])[A-Za-z0-9_-]{32}"
        r"(?![A-Za-z0-9_-])"),
}


def assert_no_secrets(run: E2eRun) -> None:
    texts = {"stdout": run.stdout, "stderr": run.stderr}
    if run.report_path is not None:
        texts["report"] = run.report_path.read_text() if run.report_path.exists() else ""
        junit = run.report_path.with_suffix(".xml")
        texts["junit"] = junit.read_text() if junit.exists() else ""
    for where, text in texts.items():
        for what, pattern in SECRET_PATTERNS.items():
            found = pattern.search(text)
            if found is not None:
                context = text[max(0, found.start() - 80):found.end() + 20]
                raise AssertionError(f"{what} in the {where}: ...{context}...")


def e2e_command(program: Path, work_dir: Path, report: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pgiam", "e2e", "--target", "local", "--program", str(program),
            "--work-dir", str(work_dir), "--report", str(report), *extra]


def e2e_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PGIAM_E2E_HOME", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _copy_program(destination: Path, base: Path = INFRA) -> Path:
    """A program (``infra/`` unless told otherwise) without its stack files and caches."""
    shutil.copytree(base, destination, ignore=shutil.ignore_patterns(
        "__pycache__", "Pulumi.*.yaml", "Pulumi.*.yml"))
    return destination


def byop_programs() -> list[Path]:
    """The team-written programs of ``byop/``: shaped unlike ``infra/``, run unchanged."""
    return sorted(path.parent for path in BYOP.glob("*/Pulumi.yaml"))


@dataclass(frozen=True)
class Overlay:
    """A program built from ``infra/`` and an overlay of ``programs/``: where it is, the
    ``pgiam e2e`` arguments it needs (its ``config`` as ``--config``), what the run must show."""

    name: str
    program: Path
    args: tuple[str, ...]
    expect: dict[str, Any]


def apply_overlay(name: str, destination: Path) -> Overlay:
    """``infra/`` (or the ``byop/`` program the overlay names as ``base``) copied to
    ``destination`` with the overlay ``programs/<name>.yaml`` applied:
    its ``files`` added (each must be new), its ``patches`` made (each ``old`` text must occur
    exactly once, so an overlay that no longer fits the program fails loudly instead of testing
    nothing)."""
    overlay = yaml.safe_load((OVERLAYS / f"{name}.yaml").read_text())
    base = BYOP / overlay["base"] if overlay.get("base") else INFRA
    program = _copy_program(destination, base)
    for relative, text in (overlay.get("files") or {}).items():
        path = program / relative
        if path.exists():
            raise AssertionError(f"overlay {name}: {relative} already exists in infra/; patch it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for patch in overlay.get("patches") or []:
        path = program / patch["file"]
        text = path.read_text()
        count = text.count(patch["old"])
        if count != 1:
            raise AssertionError(f"overlay {name}: {patch['old']!r} occurs {count} times in "
                                 f"{patch['file']} (expected once): the overlay no longer fits "
                                 "infra/")
        path.write_text(text.replace(patch["old"], patch["new"]))
    args = tuple(f"--config={key}={value}" for key, value in (overlay.get("config") or {}).items())
    return Overlay(name, program, args, overlay["expect"])
