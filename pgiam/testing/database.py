"""An IAM database login as an application makes it: a token from boto3, TLS verified."""

from __future__ import annotations

from typing import Any


def iam_db_login(session: Any, host: str, port: int, user: str, dbname: str, *,
                 region: str | None = None, sslrootcert: str | None = None,
                 endpoint_url: str | None = None, hostaddr: str | None = None,
                 connect_timeout: int = 10) -> Any:
    """Mint an ``rds-db:connect`` token with ``session``'s credentials (botocore's own signer,
    as ``rds.generate_db_auth_token``) and log in with it over ``sslmode=verify-full``.
    Returns the open psycopg2 connection; raises ``psycopg2.OperationalError`` when refused.

    ``hostaddr``: the address to dial when this process does not resolve ``host`` (the local
    cloud's RDS names resolve for the processes it starts; see docs/localcloud-rds.md); TLS is
    still verified against ``host``."""
    import psycopg2

    rds = session.client("rds", region_name=region or session.region_name,
                         endpoint_url=endpoint_url)
    token = rds.generate_db_auth_token(DBHostname=host, Port=int(port), DBUsername=user)
    params: dict[str, Any] = {"host": host, "port": int(port), "user": user, "dbname": dbname,
                              "password": token, "sslmode": "verify-full",
                              "connect_timeout": connect_timeout}
    if sslrootcert:
        params["sslrootcert"] = sslrootcert
    if hostaddr:
        params["hostaddr"] = hostaddr
    return psycopg2.connect(**params)
