"""Failures of what the app depends on (AWS credentials, the database). Each carries ``reason``:
what the client saw, on one line, safe to show to a user (never a token or a secret). The web
layer answers them with 503, ``check`` with a non-zero exit."""


class DependencyError(Exception):
    stage = "dependency"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CredentialsUnavailable(DependencyError):
    """boto3's default chain gave no usable AWS credentials (or STS refused the web identity)."""

    stage = "credentials"


class LoginRefused(DependencyError):
    """The database answered and refused the login, also after one retry with a new token."""

    stage = "login"


class DatabaseUnreachable(DependencyError):
    """No usable connection: network, DNS, TLS handshake or certificate verification failed."""

    stage = "connect"


class PoolExhausted(DependencyError):
    """Every pooled connection stayed busy for too long."""

    stage = "pool"


class QueryFailed(DependencyError):
    """The server refused a statement (a missing grant, a constraint): its message, as is."""

    stage = "query"
