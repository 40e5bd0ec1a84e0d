"""New logins per second to a local RDS cluster: IAM-authenticated (a fresh boto3 token per login,
checked by the local cloud through PostgreSQL's ldap method) against SCRAM password logins to
the same server, both over TLS with ``sslmode=verify-full``, from the same number of concurrent
client processes. A third run reuses one token for every login (still valid for 15 minutes): the
server-side cost of an IAM login (TLS, ldap, token check) without the client's minting. The target: the IAM rate at least 0.9 of the password rate.

Beside each rate, the CPU each login cost the servers (read from /proc: the local cloud's daemon,
whose checker runs the token check, and the PostgreSQL server with every backend it forked):
unlike a rate on a shared two-core machine, that figure hardly moves with what else runs.

Also printed: the token check alone (in process, no I/O) and how long creating and deleting
clusters takes (the first create includes building the server template: ``initdb``).

Run: .venv/bin/python benchmarks/iam_logins.py [--clients 8] [--seconds 10] [--rounds 2]
(figures go to docs/localcloud-rds.md). It starts its own local cloud under /tmp and stops it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

MASTER = "pgadmin"
DATABASE = "appdb"
IAM_USER = "app_user"
PASSWORD_USER = "pw_user"


def client_loop(mode: str, target: dict[str, Any], start_at: float, seconds: float) -> tuple[int, int]:
    """One client process: log in and out as fast as it can between ``start_at`` and the end."""
    import boto3
    import psycopg2

    minter = None
    if mode in ("iam", "iam-reused"):
        credentials = target["credentials"]
        minter = boto3.session.Session().client(
            "rds", region_name=target["region"], aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"])
    logins = failures = 0
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + seconds
    reused = None
    if mode == "iam-reused":  # one token for every login: the server side alone, no minting per login
        reused = minter.generate_db_auth_token(DBHostname=target["host"], Port=target["port"],
                                               DBUsername=IAM_USER)
        minter = None
    while time.time() < end:
        if reused is not None:
            user, password = IAM_USER, reused
        elif minter is not None:
            user = IAM_USER
            password = minter.generate_db_auth_token(DBHostname=target["host"], Port=target["port"],
                                                     DBUsername=IAM_USER)
        else:
            user, password = PASSWORD_USER, target["password"]
        try:
            psycopg2.connect(host=target["host"], hostaddr=target["address"], port=target["port"], user=user,
                             password=password, dbname=DATABASE, sslmode="verify-full",
                             sslrootcert=target["ca_bundle"], connect_timeout=10).close()
            logins += 1
        except psycopg2.OperationalError:
            failures += 1
    return logins, failures


def cpu_seconds(pid: int) -> float:
    """User and system CPU of ``pid`` and of its children it has reaped (a postmaster reaps every
    backend), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def server_pids(cloud: Any) -> dict[str, int]:
    """The daemon's pid and the bench cluster's postmaster's (from the cloud's process records)."""
    records = [json.loads(path.read_text()) for path in (cloud.state_dir / "processes").glob("*.json")]
    postmaster = next(record["pid"] for record in records if record["name"].endswith("bench"))
    return {"daemon": cloud.pid, "postgres": postmaster}


def measure(mode: str, target: dict[str, Any], clients: int, seconds: float,
            pids: dict[str, int]) -> tuple[float, int, dict[str, float]]:
    """Logins per second over all clients, the number of failed logins, and the milliseconds of
    CPU per login of each server process in ``pids``."""
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        start_at = time.time() + 3.0  # every client has imported and built its minter by then
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        results = pool.starmap(client_loop, [(mode, target, start_at, seconds)] * clients)
        after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    logins = sum(r[0] for r in results)
    failures = sum(r[1] for r in results)
    cpu = {name: (after[name] - before[name]) * 1000 / max(logins, 1) for name in pids}
    return logins / seconds, failures, cpu


def token_check_microseconds(calls: int = 2000) -> float:
    """Mean time of one accepted ``check_token`` (parse, botocore signature, policy), in process."""
    from datetime import datetime, timezone

    import boto3

    from pgiam.iam import NamedPolicy, evaluate_identity_policies, parse_policy
    from pgiam.localcloud.rds.token import ConnectTarget, SigningKey, check_token

    key = SigningKey("ASIABENCHMARKKEY0001", "secret", "session-token", None,
                     "arn:aws:iam::123456789012:role/app", "123456789012")
    policy = NamedPolicy("inline:connect", parse_policy({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rds-db:connect",
        "Resource": "arn:aws:rds-db:us-east-1:123456789012:dbuser:cluster-BENCH/app_user"}]}))

    class Keys:
        def resolve(self, access_key_id: str) -> SigningKey | None:
            return key if access_key_id == key.access_key_id else None

        def authorize(self, signing_key: SigningKey, request: Any) -> Any:
            return evaluate_identity_policies([policy], request)

    target = ConnectTarget("us-east-1", "123456789012", "aws", "cluster-BENCH", frozenset({"localhost"}),
                           5432, True)
    token = boto3.session.Session().client(
        "rds", region_name="us-east-1", aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key, aws_session_token=key.session_token,
    ).generate_db_auth_token(DBHostname="localhost", Port=5432, DBUsername="app_user")
    keys, now = Keys(), datetime.now(timezone.utc)
    assert check_token(token, user="app_user", target=target, keys=keys, now=now).accepted
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(calls):
            check_token(token, user="app_user", target=target, keys=keys, now=now)
        best = min(best, (time.perf_counter() - start) / calls * 1e6)
    return best


def lifecycle_seconds(cloud: Any) -> dict[str, float]:
    """Creating (first and second) and deleting an Aurora PostgreSQL cluster, as clients see it."""
    rds = cloud.client("rds")
    figures: dict[str, float] = {}
    for name in ("life-1", "life-2"):
        start = time.perf_counter()
        rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-postgresql", MasterUsername=MASTER,
                              MasterUserPassword="password-123", DatabaseName=DATABASE)
        figures[f"create {name}"] = time.perf_counter() - start
    for name in ("life-1", "life-2"):
        start = time.perf_counter()
        rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)
        figures[f"delete {name}"] = time.perf_counter() - start
    return figures


def prepare(cloud: Any) -> dict[str, Any]:
    """A cluster with an IAM user and a password user, and pod-like role credentials."""
    import psycopg2

    from pgiam.localcloud.rds.resolver import connect_address

    rds, iam = cloud.client("rds"), cloud.client("iam")
    password = f"pw-{uuid.uuid4().hex}"
    rds.create_db_cluster(DBClusterIdentifier="bench", Engine="aurora-postgresql", MasterUsername=MASTER,
                          MasterUserPassword=password, DatabaseName=DATABASE,
                          EnableIAMDatabaseAuthentication=True)
    cluster = rds.describe_db_clusters(DBClusterIdentifier="bench")["DBClusters"][0]
    host, port = cluster["Endpoint"], cluster["Port"]
    # this process is not under nss_wrapper: libpq gets the endpoint's address as hostaddr
    address = connect_address(cloud.info["extensions"]["rds"]["hosts_file"], host)
    connection = psycopg2.connect(host=host, hostaddr=address, port=port, user=MASTER, password=password, dbname=DATABASE,
                                  sslmode="verify-full", sslrootcert=str(cloud.ca_bundle))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {IAM_USER} LOGIN IN ROLE rds_iam")
        cursor.execute(f"CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD %s", (password,))
    connection.close()

    provider = iam.create_open_id_connect_provider(
        Url=cloud.issuer, ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=[cloud.info["oidc"]["thumbprint"]])["OpenIDConnectProviderArn"]
    key = cloud.issuer_host_path
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{key}:sub": "system:serviceaccount:demo:bench",
                                       f"{key}:aud": "sts.amazonaws.com"}}}]}
    role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="bench", PolicyName="connect", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "rds-db:connect",
            "Resource": f"arn:aws:rds-db:{cloud.region}:{cloud.account_id}:dbuser:"
                        f"{cluster['DbClusterResourceId']}/{IAM_USER}"}]}))
    credentials = cloud.client("sts", unsigned=True).assume_role_with_web_identity(
        RoleArn=role, RoleSessionName="bench",
        WebIdentityToken=cloud.mint_token("demo", "bench"))["Credentials"]
    return {"host": host, "address": address, "port": port, "password": password, "ca_bundle": str(cloud.ca_bundle),
            "region": cloud.region,
            "credentials": {k: credentials[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2, help="IAM and password runs, alternated")
    args = parser.parse_args()

    from pgiam.localcloud.client import LocalCloud

    print(f"token check alone (accepted, in process): {token_check_microseconds():.0f} us")
    base = Path(tempfile.mkdtemp(prefix="pgiam-bench-", dir="/tmp"))
    os.chmod(base, 0o711)
    cloud = LocalCloud.up(base / "cloud")
    try:
        for what, seconds in lifecycle_seconds(cloud).items():
            note = " (includes building the template)" if what == "create life-1" else ""
            print(f"{what}: {seconds:.2f} s{note}")
        target = prepare(cloud)
        pids = server_pids(cloud)
        modes = ("iam", "iam-reused", "password")
        rates: dict[str, list[float]] = {mode: [] for mode in modes}
        server_cpu: dict[str, list[float]] = {mode: [] for mode in modes}
        failed = {mode: 0 for mode in modes}
        for _ in range(args.rounds):
            for mode in modes:
                rate, failures, cpu = measure(mode, target, args.clients, args.seconds, pids)
                rates[mode].append(rate)
                server_cpu[mode].append(sum(cpu.values()))
                failed[mode] += failures
                print(f"  {mode:10s} {rate:7.1f} logins/s ({failures} failed); server CPU per login: "
                      + ", ".join(f"{name} {ms:.2f} ms" for name, ms in cpu.items()), flush=True)
        iam_rate, password_rate = statistics.median(rates["iam"]), statistics.median(rates["password"])
        reused_rate = statistics.median(rates["iam-reused"])
        pairs = [i / p for i, p in zip(rates["iam"], rates["password"], strict=True)]
        print(f"clients: {args.clients}, {args.seconds:.0f} s per run, {args.rounds} runs each, medians:")
        print(f"IAM token logins (TLS, ldap -> token check): {iam_rate:7.1f} /s")
        print(f"IAM, one token reused (server side alone):   {reused_rate:7.1f} /s")
        print(f"SCRAM password logins (TLS):                 {password_rate:7.1f} /s")
        print(f"ratio IAM / password:                        {iam_rate / password_rate:7.2f} (target >= 0.9)")
        print(f"ratio of each back-to-back pair:             {', '.join(f'{r:.2f}' for r in pairs)}")
        iam_cpu, reused_cpu, password_cpu = (statistics.median(server_cpu[mode]) for mode in modes)
        print(f"server CPU per login (daemon + PostgreSQL), medians: IAM {iam_cpu:.2f} ms, "
              f"reused token {reused_cpu:.2f} ms, SCRAM {password_cpu:.2f} ms; "
              f"SCRAM / IAM {password_cpu / iam_cpu:.2f}")
        return 0 if not any(failed.values()) else 1
    finally:
        cloud.down()
        import shutil

        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
