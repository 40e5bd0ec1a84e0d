"""The aws target: it stops at once, naming what is missing, when the Pulumi CLI or AWS
credentials are not there; with them (nightly CI) a full run must pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from e2e_harness import INFRA, ROOT


def test_without_the_pulumi_cli_and_credentials_it_stops_at_once_naming_them(tmp_path):
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    report = tmp_path / "report.json"
    result = subprocess.run([sys.executable, "-m", "pgiam", "e2e", "--target", "aws",
                             "--program", str(INFRA), "--report", str(report)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "the aws target cannot run here" in result.stderr
    for missing in ("Pulumi CLI", "AWS credentials", "kubectl", "AWS region"):
        assert missing in result.stderr
    assert "Traceback" not in result.stderr
    assert not report.exists()


@pytest.fixture
def aws_prerequisites() -> None:
    from pgiam.e2e.targets.aws import missing_prerequisites

    missing = missing_prerequisites()
    if missing:
        pytest.skip("aws target prerequisites missing: " + "; ".join(missing))


@pytest.mark.timeout(3600)
def test_aws_full_run_passes(aws_prerequisites, tmp_path):
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pgiam", "e2e", "--target", "aws", "--program", str(INFRA),
               "--report", str(report)]
    if os.environ.get("PGIAM_APP_IMAGE"):
        command += ["--app-image", os.environ["PGIAM_APP_IMAGE"]]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3500)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    data = json.loads(report.read_text())
    assert {step["outcome"] for step in data["steps"]} == {"passed"}
