"""Who the app is on AWS: boto3 clients built from the default credential chain, the caller
identity from STS, and one-line explanations of credential failures.

In a pod, the chain's web-identity provider reads AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE
(set by EKS's pod identity webhook) and calls sts:AssumeRoleWithWebIdentity; botocore refreshes
those credentials before they expire. AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL_RDS (or
AWS_ENDPOINT_URL) point the clients at a local cloud; botocore reads them itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import boto3
import botocore.config
import botocore.exceptions

from app.errors import CredentialsUnavailable
from app.settings import Settings

# What boto3 raises when credentials cannot be had or used: its own errors, STS refusals, and a
# web identity token file that cannot be read.
AWS_FAILURES = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, OSError)

_CLIENT_CONFIG = botocore.config.Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2})

NO_CREDENTIALS_HINT = ("no AWS credentials in boto3's default chain; in a pod, annotate the service "
                       "account with eks.amazonaws.com/role-arn so that AWS_ROLE_ARN and "
                       "AWS_WEB_IDENTITY_TOKEN_FILE are set")


@dataclass(frozen=True)
class AwsClients:
    rds: object
    sts: object


@dataclass(frozen=True)
class CallerIdentity:
    arn: str
    account: str
    user_id: str

    @property
    def role_name(self) -> str | None:
        return assumed_role_name(self.arn)

    def as_json(self) -> dict[str, object]:
        return {"arn": self.arn, "account": self.account, "role": self.role_name}


def make_clients(settings: Settings) -> AwsClients:
    session = boto3.session.Session(region_name=settings.region)
    return AwsClients(rds=session.client("rds", config=_CLIENT_CONFIG),
                      sts=session.client("sts", config=_CLIENT_CONFIG))


def caller_identity(sts_client) -> CallerIdentity:
    try:
        answer = sts_client.get_caller_identity()
    except AWS_FAILURES as exc:
        raise CredentialsUnavailable(describe_aws_failure(exc)) from None
    return CallerIdentity(arn=answer["Arn"], account=answer["Account"], user_id=answer["UserId"])


def assumed_role_name(arn: str) -> str | None:
    """``role`` from ``arn:<partition>:sts::<account>:assumed-role/<role>/<session>``."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "sts":
        return None
    kind, _, rest = parts[5].partition("/")
    if kind != "assumed-role" or "/" not in rest:
        return None
    return rest.split("/", 1)[0]


def describe_aws_failure(exc: BaseException) -> str:
    """One line saying why boto3 could not get or use credentials."""
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return NO_CREDENTIALS_HINT
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "AWS call")
        return f"{operation} refused: {error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    if isinstance(exc, FileNotFoundError):
        return f"web identity token file not found: {exc.filename}"
    return f"{type(exc).__name__}: {exc}"


def rds_token_minter(rds_client, host: str, port: int, user: str, region: str) -> Callable[[], str]:
    """A ``mint`` callable over boto3's ``generate_db_auth_token``. Signing is local; getting the
    credentials may call STS (web identity), and its failures become CredentialsUnavailable."""

    def mint() -> str:
        try:
            return rds_client.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=region)
        except AWS_FAILURES as exc:
            raise CredentialsUnavailable(describe_aws_failure(exc)) from None

    return mint
