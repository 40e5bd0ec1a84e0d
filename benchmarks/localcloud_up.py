"""Measure the local cloud: ``up`` (cold start), ``up`` on a running cloud, ``down``, ``sa-token``,
and ``AssumeRoleWithWebIdentity`` through boto3 (first call fetches the JWKS, later ones use the
cache).

Run: .venv/bin/python benchmarks/localcloud_up.py [--runs 5]   (figures go to docs/localcloud.md)
Every CLI figure is a fresh ``python -m pgiam localcloud ...`` process, as a user runs it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(argv: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, result.stdout


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pgiam", "localcloud", *args]


def summary(name: str, seconds: list[float]) -> None:
    print(f"{name:<44} median {statistics.median(seconds) * 1000:7.0f} ms   "
          f"min {min(seconds) * 1000:7.0f}   max {max(seconds) * 1000:7.0f}   (n={len(seconds)})")


def web_identity_calls(info: dict, state_dir: Path, calls: int) -> list[float]:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    from pgiam.localcloud.tokens import mint_token

    options = {"endpoint_url": info["endpoint_url"], "region_name": info["region"]}
    iam = boto3.client("iam", aws_access_key_id=info["admin"]["access_key_id"],
                       aws_secret_access_key=info["admin"]["secret_access_key"], **options)
    provider = iam.create_open_id_connect_provider(Url=info["oidc"]["issuer"], ClientIDList=["sts.amazonaws.com"],
                                                   ThumbprintList=[info["oidc"]["thumbprint"]])
    key = info["oidc"]["issuer_host_path"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider["OpenIDConnectProviderArn"]},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{key}:sub": "system:serviceaccount:demo:demo-app",
                                       f"{key}:aud": "sts.amazonaws.com"}}}]}
    role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    sts = boto3.client("sts", config=Config(signature_version=UNSIGNED), **options)
    token = mint_token(state_dir, "demo", "demo-app")
    seconds = []
    for _ in range(calls):
        started = time.perf_counter()
        sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="bench", WebIdentityToken=token)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pgiam-lc-bench-", dir="/tmp"))
    try:
        cold, warm, downs, tokens = [], [], [], []
        info: dict = {}
        for run in range(args.runs):
            state_dir = base / f"run{run}"
            elapsed, out = timed(cli("up", "--state-dir", str(state_dir)))
            cold.append(elapsed)
            info = json.loads(out)
            warm.append(timed(cli("up", "--state-dir", str(state_dir)))[0])
            tokens.append(timed(cli("sa-token", "--state-dir", str(state_dir), "--namespace", "demo",
                                    "--service-account", "demo-app"))[0])
            if run < args.runs - 1:
                downs.append(timed(cli("down", "--state-dir", str(state_dir)))[0])
        last = base / f"run{args.runs - 1}"
        calls = web_identity_calls(info, last, 50)
        downs.append(timed(cli("down", "--state-dir", str(last)))[0])
        summary("up (cold: new state dir, daemon start)", cold)
        summary("up (already running)", warm)
        summary("sa-token", tokens)
        summary("down", downs)
        summary("AssumeRoleWithWebIdentity, first (JWKS fetch)", calls[:1])
        summary("AssumeRoleWithWebIdentity, cached JWKS", calls[1:])
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
