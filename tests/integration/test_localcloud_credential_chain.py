"""boto3's own credential chain, untouched, in a process with a clean environment: exactly what EKS's
pod identity webhook gives a pod (``AWS_ROLE_ARN`` + ``AWS_WEB_IDENTITY_TOKEN_FILE``) plus the
local endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pgiam.localcloud.client import LocalCloud

POD_CODE = """
import boto3
print(boto3.client("sts").get_caller_identity()["Arn"])
"""


@pytest.fixture
def irsa_role(localcloud: LocalCloud, localcloud_oidc_provider: str, unique_name) -> str:
    key = localcloud.issuer_host_path
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": localcloud_oidc_provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{key}:sub": "system:serviceaccount:demo:demo-app",
                                       f"{key}:aud": "sts.amazonaws.com"}}}]}
    return localcloud.client("iam").create_role(
        RoleName=unique_name("pod"), AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def run_pod(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8",
             "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
             "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
             "AWS_EC2_METADATA_DISABLED": "true", **env}
    return subprocess.run([sys.executable, "-c", POD_CODE], env=clean, capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)


def webhook_env(cloud: LocalCloud, role_arn: str, token_file: Path) -> dict[str, str]:
    return {"AWS_ROLE_ARN": role_arn, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
            "AWS_REGION": cloud.region, "AWS_DEFAULT_REGION": cloud.region,
            "AWS_STS_REGIONAL_ENDPOINTS": "regional"}


@pytest.mark.parametrize("endpoint_variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"])
def test_boto3_assumes_the_role_from_the_projected_token(localcloud: LocalCloud, irsa_role: str,
                                                         tmp_path: Path, endpoint_variable: str) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(localcloud.mint_token("demo", "demo-app"))
    result = run_pod(tmp_path, {**webhook_env(localcloud, irsa_role, token_file),
                                endpoint_variable: localcloud.endpoint_url})
    assert result.returncode == 0, result.stderr
    role_name = irsa_role.rsplit("/", 1)[1]
    assert result.stdout.startswith(f"arn:aws:sts::{localcloud.account_id}:assumed-role/{role_name}/")


def test_boto3_in_a_pod_of_another_service_account_is_refused(localcloud: LocalCloud, irsa_role: str,
                                                              tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(localcloud.mint_token("demo", "intruder"))
    result = run_pod(tmp_path, {**webhook_env(localcloud, irsa_role, token_file),
                                "AWS_ENDPOINT_URL": localcloud.endpoint_url})
    assert result.returncode != 0
    assert "AccessDenied" in result.stderr and "Not authorized to perform sts:AssumeRoleWithWebIdentity" in result.stderr


def sa_token_cli(cloud: LocalCloud, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pgiam", "localcloud", "sa-token", "--state-dir",
                           str(cloud.state_dir), "--namespace", "demo", "--service-account", "demo-app", *args],
                          capture_output=True, text=True, timeout=60)


def test_sa_token_output_file_is_the_bare_token_boto3_sends(localcloud: LocalCloud, irsa_role: str,
                                                            tmp_path: Path) -> None:
    redirected, written = tmp_path / "redirected", tmp_path / "written"
    printed = sa_token_cli(localcloud)
    assert printed.returncode == 0
    redirected.write_text(printed.stdout)  # what `sa-token > FILE` leaves: the token and a newline
    result = run_pod(tmp_path, {**webhook_env(localcloud, irsa_role, redirected),
                                "AWS_ENDPOINT_URL": localcloud.endpoint_url})
    assert result.returncode != 0 and "InvalidIdentityToken" in result.stderr  # a JWT holds no white space
    assert sa_token_cli(localcloud, "--output", str(written)).returncode == 0
    assert "\n" not in written.read_text() and written.read_text().count(".") == 2
    assert oct(written.stat().st_mode & 0o777) == "0o600"
    result = run_pod(tmp_path, {**webhook_env(localcloud, irsa_role, written),
                                "AWS_ENDPOINT_URL": localcloud.endpoint_url})
    assert result.returncode == 0, result.stderr
    assert ":assumed-role/" in result.stdout


def test_sa_token_output_to_a_missing_directory_is_one_clear_error(localcloud: LocalCloud, tmp_path: Path) -> None:
    result = sa_token_cli(localcloud, "--output", str(tmp_path / "missing" / "token"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("pgiam localcloud: error: --output ") and "No such file" in result.stderr
