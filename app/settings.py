"""Settings from the environment, validated before anything starts.

The names are the pod environment the infra program sets (docs/architecture.md, "Pod
environment"). A missing or invalid value raises :class:`SettingsError` naming the variable, so
start-up stops with one line the operator can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SSLMODE = "verify-full"
DEFAULT_PORT = 8080
DEFAULT_DB_PORT = 5432
DEFAULT_CA_BUNDLE = "/etc/ssl/certs/rds-global-bundle.pem"

# A token must never travel in clear text: libpq sends the password before it knows whether the
# server is the right one, and an IAM token is a bearer credential for 15 minutes.
REFUSED_SSLMODES = frozenset({"disable", "allow", "prefer"})
# Encrypted, but the server is not (fully) verified: a man in the middle can replay the token.
WEAK_SSLMODES = frozenset({"require", "verify-ca"})
SSLMODES = REFUSED_SSLMODES | WEAK_SSLMODES | {"verify-full"}

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_REGION = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$")
# PostgreSQL identifiers as RDS accepts them for users and databases: a letter or underscore,
# then letters, digits, underscores or dollars, at most 63 bytes.
_PG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


class SettingsError(ValueError):
    """A setting is missing or invalid. ``name`` is the environment variable at fault."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


@dataclass(frozen=True)
class Settings:
    db_host: str
    db_port: int
    db_name: str
    db_user: str
    region: str
    sslmode: str
    sslrootcert: str | None
    port: int

    @property
    def tls_warning(self) -> str | None:
        """Why the TLS mode is weaker than verify-full, or None when it is verify-full."""
        if self.sslmode == "require":
            return ("PGSSLMODE=require encrypts but does not verify the server: anyone on the path "
                    "can impersonate the database and replay the IAM token for 15 minutes; "
                    "use verify-full")
        if self.sslmode == "verify-ca":
            return ("PGSSLMODE=verify-ca does not check the server's host name: any server with a "
                    "certificate from the same CA can receive the IAM token; use verify-full")
        return None

    @property
    def endpoint(self) -> str:
        return f"{self.db_host}:{self.db_port}"


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and validate every setting; raise :class:`SettingsError` at the first bad one."""
    sslmode = _sslmode(environ)
    return Settings(
        db_host=_db_host(environ),
        db_port=_port(environ, "DB_PORT", DEFAULT_DB_PORT),
        db_name=_pg_name(environ, "DB_NAME"),
        db_user=_pg_name(environ, "DB_USER"),
        region=_region(environ),
        sslmode=sslmode,
        sslrootcert=_sslrootcert(environ, sslmode),
        port=_port(environ, "PORT", DEFAULT_PORT),
    )


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise SettingsError(name, "is not set")
    return value


def _db_host(environ: Mapping[str, str]) -> str:
    value = _required(environ, "DB_HOST")
    if "://" in value or "/" in value or ":" in value:
        raise SettingsError("DB_HOST", f"must be a bare host name (no scheme, port or path), got {value!r}")
    if not (_HOSTNAME.match(value) or _IPV4.match(value)):
        raise SettingsError("DB_HOST", f"is not a valid host name: {value!r}")
    return value


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]{1,5}", raw) or not 1 <= int(raw) <= 65535:
        raise SettingsError(name, f"must be a port number between 1 and 65535, got {raw!r}")
    return int(raw)


def _pg_name(environ: Mapping[str, str], name: str) -> str:
    value = _required(environ, name)
    if not _PG_NAME.match(value):
        raise SettingsError(name, f"is not a valid PostgreSQL name (letters, digits, _ and $, "
                                  f"starting with a letter or _, at most 63 characters): {value!r}")
    return value


def _region(environ: Mapping[str, str]) -> str:
    # The pod identity webhook sets AWS_DEFAULT_REGION too; AWS_REGION wins, as in boto3.
    value = environ.get("AWS_REGION", "").strip() or environ.get("AWS_DEFAULT_REGION", "").strip()
    if not value:
        raise SettingsError("AWS_REGION", "is not set (nor AWS_DEFAULT_REGION)")
    if not _REGION.match(value):
        raise SettingsError("AWS_REGION", f"is not an AWS region name: {value!r}")
    return value


def _sslmode(environ: Mapping[str, str]) -> str:
    value = environ.get("PGSSLMODE", "").strip() or DEFAULT_SSLMODE
    if value not in SSLMODES:
        raise SettingsError("PGSSLMODE", f"unknown mode {value!r} (use verify-full)")
    if value in REFUSED_SSLMODES:
        raise SettingsError("PGSSLMODE", f"{value!r} can send the IAM token without TLS; "
                                         "refused (use verify-full)")
    return value


def _sslrootcert(environ: Mapping[str, str], sslmode: str) -> str | None:
    raw = environ.get("PGSSLROOTCERT", "").strip()
    if not raw and sslmode == "require":
        return None
    path = Path(raw or DEFAULT_CA_BUNDLE)
    where = f"{str(path)!r}" + ("" if raw else " (the default; PGSSLROOTCERT is not set)")
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        raise SettingsError("PGSSLROOTCERT", f"CA bundle {where} does not exist") from None
    except (IsADirectoryError, PermissionError, OSError) as exc:
        raise SettingsError("PGSSLROOTCERT", f"CA bundle {where} cannot be read: {exc.strerror}") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise SettingsError("PGSSLROOTCERT", f"CA bundle {where} holds no PEM certificate")
    return str(path)
