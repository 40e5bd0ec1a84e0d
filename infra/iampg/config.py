"""The stack configuration: every key, its default, and its validation (docs/infra.md lists them).

A bad value stops the program with one line naming the key (``pulumi.RunError``: no stack trace
in the Pulumi CLI's output), before any resource is registered.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

import pulumi

from .policy_documents import (
    PolicyInputError,
    validate_db_user,
    validate_namespace,
    validate_service_account_name,
)

PROJECT = "iam-postgres"
ENVIRONMENTS = ("dev", "prod")
# How the demo app's pods get their role: IRSA (OIDC web identity) or EKS Pod Identity.
IDENTITY_MODES = ("irsa", "pod-identity")
# The demo app's image, as `docker build -t pgiam-demo-app:0.1.0 app/` tags it (app/Dockerfile).
# An EKS cluster must be able to pull it: push it to a registry (ECR) and set appImage.
DEFAULT_APP_IMAGE = "pgiam-demo-app:0.1.0"
DEFAULT_VPC_CIDR = "10.0.0.0/16"

_DB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
_ENGINE_VERSION = re.compile(r"^[0-9]{2}\.[0-9]+$")
_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


@dataclass(frozen=True)
class StackSettings:
    environment: str
    db_name: str
    master_username: str
    master_password: pulumi.Output[str]
    iam_db_user: str
    namespace: str
    service_account: str
    instance_class: str
    engine_version: str
    app_image: str
    db_ca_bundle: str | None
    db_ca_bundle_file: str | None
    db_allowed_cidrs: tuple[str, ...]
    vpc_cidr: str
    identity_mode: str = "irsa"

    @property
    def is_dev(self) -> bool:
        return self.environment == "dev"

    @property
    def uses_pod_identity(self) -> bool:
        return self.identity_mode == "pod-identity"


def _fail(key: str, problem: str) -> pulumi.RunError:
    return pulumi.RunError(f"{PROJECT}:{key}: {problem}")


def _checked(key: str, value: str, validator: Callable[[str, str], str]) -> str:
    try:
        return validator(value, key)
    except PolicyInputError as error:
        raise _fail(key, f"{error.reason} (got {value!r})") from None


def _matching(key: str, value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.match(value):
        raise _fail(key, f"{what} (got {value!r})")
    return value


def _cidrs(key: str, raw: object, vpc_cidr: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise _fail(key, "must be a list of CIDR blocks")
    blocks = []
    for item in raw:
        try:
            network = ipaddress.ip_network(item, strict=True)
        except ValueError as error:
            raise _fail(key, f"{item!r} is not a CIDR block: {error}") from None
        if network.prefixlen == 0:
            raise _fail(key, f"{item!r} opens the database port to the whole internet")
        blocks.append(str(network))
    return tuple(block for block in blocks if block != vpc_cidr)


def load_settings(config: pulumi.Config | None = None) -> StackSettings:
    """Read and validate the project's configuration; raise ``pulumi.RunError`` naming a bad key."""
    config = config or pulumi.Config(PROJECT)
    environment = config.get("environment") or "prod"
    if environment not in ENVIRONMENTS:
        raise _fail("environment", f"must be one of {', '.join(ENVIRONMENTS)} (got {environment!r})")
    master_username = _checked("masterUsername", config.get("masterUsername") or "pgadmin",
                               validate_db_user)
    iam_db_user = _checked("iamDbUser", config.get("iamDbUser") or "app_user", validate_db_user)
    if iam_db_user == master_username:
        raise _fail("iamDbUser", f"must not be the master user {master_username!r}: granting "
                                 "rds_iam to the master user locks it out of password login")
    vpc_cidr = config.get("vpcCidr") or DEFAULT_VPC_CIDR
    try:
        vpc_network = ipaddress.ip_network(vpc_cidr, strict=True)
    except ValueError as error:
        raise _fail("vpcCidr", f"{vpc_cidr!r} is not a CIDR block: {error}") from None
    if vpc_network.version != 4 or not 16 <= vpc_network.prefixlen <= 20:
        raise _fail("vpcCidr", f"must be an IPv4 block between /16 and /20 (got {vpc_cidr!r})")
    allowed = _cidrs("dbAllowedCidrs", config.get_object("dbAllowedCidrs"), vpc_cidr)
    if allowed and environment != "dev":
        raise _fail("dbAllowedCidrs", "is only accepted on a dev stack; a prod cluster is "
                                      "reachable from its VPC only")
    identity_mode = config.get("identityMode") or "irsa"
    if identity_mode not in IDENTITY_MODES:
        raise _fail("identityMode", f"must be one of {', '.join(IDENTITY_MODES)} "
                                    f"(got {identity_mode!r})")
    ca_bundle = config.get("dbCaBundle")
    if ca_bundle is not None and not _PEM_CERTIFICATE.search(ca_bundle):
        raise _fail("dbCaBundle", "must be the PEM text of at least one CA certificate")
    return StackSettings(
        environment=environment,
        db_name=_matching("dbName", config.get("dbName") or "appdb", _DB_NAME,
                          "must start with a letter, then letters, digits or '_', at most 63"),
        master_username=master_username,
        master_password=config.require_secret("masterPassword"),
        iam_db_user=iam_db_user,
        namespace=_checked("namespace", config.get("namespace") or "demo", validate_namespace),
        service_account=_checked("serviceAccount", config.get("serviceAccount") or "demo-app",
                                 validate_service_account_name),
        instance_class=_matching("instanceClass", config.get("instanceClass") or "db.t4g.medium",
                                 _INSTANCE_CLASS, "must be an RDS instance class like db.t4g.medium"),
        engine_version=_matching("engineVersion", config.get("engineVersion") or "16.4",
                                 _ENGINE_VERSION, "must be an Aurora PostgreSQL version like 16.4"),
        app_image=config.get("appImage") or DEFAULT_APP_IMAGE,
        db_ca_bundle=ca_bundle,
        db_ca_bundle_file=config.get("dbCaBundleFile") or None,
        db_allowed_cidrs=allowed,
        vpc_cidr=str(vpc_network),
        identity_mode=identity_mode,
    )
