"""Login and role-assumption attempts run INSIDE a pod (the negative checks of step 5).

Self-contained on purpose (the standard library, boto3 and psycopg2: what the demo app's image
holds), so both targets run the same source: the local target execs it with the pod's
environment, the AWS target runs it as a Kubernetes Job with ``python -c <this file> <spec>``.

    python probes.py '{"attempts": [{"kind": "assume-role"},
                                     {"kind": "login", "user": "app_user", "auth": "token"},
                                     {"kind": "login", "user": "app_user", "auth": "password",
                                      "password_env": "PROBE_PASSWORD"},
                                     {"kind": "login", "user": "app_user", "auth": "token",
                                      "token_age_seconds": 1200}]}'

Everything comes from the pod's environment (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE,
DB_HOST, DB_PORT, DB_NAME, AWS_REGION, PGSSLMODE, PGSSLROOTCERT); a password is read from the
variable ``password_env`` names, never from the command line. One JSON list on stdout, one
result per attempt: ``{"label", "kind", "user", "result": "allowed" | "refused" | "error",
"message", "code", "current_user"}``. ``refused`` means the server (STS, PostgreSQL) answered
no; ``error`` means the attempt never got an answer (network, TLS, credentials), which proves
nothing either way. No token or password is ever printed.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sys
from unittest import mock


def _result(attempt: dict, result: str, message: str, **extra: object) -> dict:
    return {"label": attempt.get("label") or attempt.get("kind"), "kind": attempt.get("kind"),
            "user": attempt.get("user"), "result": result, "message": " ".join(message.split()),
            **extra}


def assume_role(attempt: dict) -> dict:
    import boto3
    import botocore
    import botocore.config
    from botocore.exceptions import BotoCoreError, ClientError

    role_arn = os.environ.get("AWS_ROLE_ARN", "")
    token_file = os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE", "")
    if not role_arn and os.environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        return pod_identity_credentials(attempt)
    if not role_arn or not token_file:
        return _result(attempt, "error", "AWS_ROLE_ARN / AWS_WEB_IDENTITY_TOKEN_FILE are not set "
                                         "(the service account is not annotated)")
    try:
        with open(token_file, encoding="ascii") as stream:
            token = stream.read().strip()
    except OSError as error:
        return _result(attempt, "error", f"cannot read the web identity token: {error}")
    sts = boto3.session.Session(region_name=os.environ.get("AWS_REGION")).client(
        "sts", config=botocore.config.Config(signature_version=botocore.UNSIGNED))
    try:
        answer = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="pgiam-probe",
                                                   WebIdentityToken=token)
    except ClientError as error:
        details = error.response.get("Error", {})
        return _result(attempt, "refused", details.get("Message", ""),
                       code=details.get("Code", ""))
    except BotoCoreError as error:
        return _result(attempt, "error", f"{type(error).__name__}: {error}")
    return _result(attempt, "allowed", "credentials issued",
                   arn=answer["AssumedRoleUser"]["Arn"])


def pod_identity_credentials(attempt: dict) -> dict:
    """EKS Pod Identity: the credentials botocore's container provider gets from the agent
    (``AWS_CONTAINER_CREDENTIALS_FULL_URI`` with the token of
    ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE``), then whose they are (GetCallerIdentity). An
    agent's refusal is ``refused`` with the code it answered (EKS Auth's)."""
    import boto3
    from botocore.credentials import ContainerProvider
    from botocore.exceptions import BotoCoreError, ClientError, CredentialRetrievalError

    from botocore.utils import ContainerMetadataFetcher

    class OneAttempt(ContainerMetadataFetcher):
        """An agent's answer is final for a probe: no retry (botocore sleeps 1 s between its
        three attempts)."""

        RETRY_ATTEMPTS = 1

    try:
        credentials = ContainerProvider(fetcher=OneAttempt()).load()
    except CredentialRetrievalError as error:
        message = str(error)
        code = next((word.strip('",:{}') for word in message.replace("'", '"').split()
                     if word.strip('",:{}').endswith("Exception")), "")
        return _result(attempt, "refused", message, code=code)
    if credentials is None:
        return _result(attempt, "error", "the container credentials provider found nothing")
    try:
        frozen = credentials.get_frozen_credentials()
        sts = boto3.session.Session(
            aws_access_key_id=frozen.access_key, aws_secret_access_key=frozen.secret_key,
            aws_session_token=frozen.token, region_name=os.environ.get("AWS_REGION")).client("sts")
        arn = sts.get_caller_identity()["Arn"]
    except ClientError as error:
        details = error.response.get("Error", {})
        return _result(attempt, "refused", details.get("Message", ""),
                       code=details.get("Code", ""))
    except BotoCoreError as error:
        return _result(attempt, "error", f"{type(error).__name__}: {error}")
    return _result(attempt, "allowed", "credentials issued by the Pod Identity Agent", arn=arn)


def _token(user: str, age_seconds: int) -> str:
    """An IAM auth token for ``user`` from the default chain's credentials, signed as if it were
    ``age_seconds`` old (botocore's own signer; only its clock is moved back)."""
    import boto3

    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION"))
    credentials = session.get_credentials()
    if credentials is None:
        raise LookupError("no AWS credentials in the default chain")
    credentials.get_frozen_credentials()  # fetch them now, with the real clock
    rds = session.client("rds")
    host, port = os.environ["DB_HOST"], int(os.environ.get("DB_PORT") or 5432)
    if age_seconds <= 0:
        return rds.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user)
    signed_at = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - \
        datetime.timedelta(seconds=age_seconds)
    with mock.patch("botocore.auth.get_current_datetime", return_value=signed_at):
        return rds.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user)


def _connect_params(user: str, password: str) -> dict:
    params = {"host": os.environ["DB_HOST"], "port": int(os.environ.get("DB_PORT") or 5432),
              "dbname": os.environ["DB_NAME"], "user": user, "password": password,
              "sslmode": os.environ.get("PGSSLMODE") or "verify-full", "connect_timeout": 10}
    if os.environ.get("PGSSLROOTCERT"):
        params["sslrootcert"] = os.environ["PGSSLROOTCERT"]
    return params


@contextlib.contextmanager
def decoy_user(name: str, decoy: dict):
    """An IAM database user ``name`` (LOGIN, rds_iam, CONNECT on the database) for the length of
    the block, made and dropped by the master user (``decoy["master_user"]``, its password in
    the variable ``decoy["password_env"]``)."""
    import psycopg2
    from psycopg2 import sql

    password = os.environ.get(decoy.get("password_env") or "", "")
    if not password:
        raise LookupError(f"{decoy.get('password_env')} is not set")
    connection = psycopg2.connect(**_connect_params(decoy["master_user"], password))
    connection.autocommit = True
    role, database = sql.Identifier(name), sql.Identifier(os.environ["DB_NAME"])
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))
            cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
            cursor.execute(sql.SQL("GRANT rds_iam TO {}").format(role))
            cursor.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, role))
        yield
    finally:
        with contextlib.suppress(psycopg2.Error), connection.cursor() as cursor:
            cursor.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(database, role))
            cursor.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))
        connection.close()


def login(attempt: dict) -> dict:
    import psycopg2

    if attempt.get("decoy"):
        try:
            with decoy_user(attempt["user"], attempt["decoy"]):
                return _login(attempt)
        except (psycopg2.Error, LookupError) as error:
            return _result(attempt, "error", "could not create the decoy user as "
                           f"{attempt['decoy'].get('master_user')}: {error}")
    return _login(attempt)


def _login(attempt: dict) -> dict:
    import psycopg2
    from botocore.exceptions import BotoCoreError, ClientError

    user = attempt["user"]
    try:
        if attempt.get("auth") == "password":
            password = os.environ.get(attempt.get("password_env") or "", "")
            if not password:
                return _result(attempt, "error", f"{attempt.get('password_env')} is not set")
        else:
            password = _token(user, int(attempt.get("token_age_seconds") or 0))
    except (BotoCoreError, ClientError, LookupError, OSError) as error:
        return _result(attempt, "error", f"no token: {type(error).__name__}: {error}")
    try:
        connection = psycopg2.connect(**_connect_params(user, password))
    except psycopg2.OperationalError as error:
        message = str(error)
        # A FATAL is the server's answer to the login; anything else never reached it.
        return _result(attempt, "refused" if "FATAL" in message else "error", message)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            current = cursor.fetchone()[0]
    finally:
        connection.close()
    return _result(attempt, "allowed", f"logged in as {current}", current_user=current)


ATTEMPTS = {"assume-role": assume_role, "login": login}


def main(argv: list[str]) -> int:
    try:
        spec = json.loads(argv[1])
        attempts = spec["attempts"]
    except (IndexError, ValueError, KeyError, TypeError):
        print("usage: probes.py '{\"attempts\": [...]}'", file=sys.stderr)
        return 2
    results = []
    for attempt in attempts:
        run = ATTEMPTS.get(attempt.get("kind"))
        results.append(run(attempt) if run else
                       _result(attempt, "error", f"unknown attempt kind {attempt.get('kind')!r}"))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
