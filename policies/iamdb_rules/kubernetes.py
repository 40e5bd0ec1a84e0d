"""Kubernetes: no static AWS credentials, and PostgreSQL clients that always verify TLS.

Pod specs are found in every workload kind, whatever its API version and also as a ``*Patch``:
``Pod`` (``spec``), ``Deployment``/``StatefulSet``/``DaemonSet``/``ReplicaSet``/
``ReplicationController``/``Job`` (``spec.template.spec``), ``CronJob``
(``spec.jobTemplate.spec.template.spec``), ``PodTemplate`` (``template.spec``); every container,
init container and ephemeral container is read.

* Static credentials: an AWS credential variable (``AWS_ACCESS_KEY_ID``,
  ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ...) set in a container, literally or from a
  Secret; any value (env, command, args, a Secret's ``data``/``stringData``, a ConfigMap, any
  other Kubernetes object) holding an access key id (``AKIA...``/``ASIA...``) or a credentials
  file. IRSA gives pods short-lived credentials; a static key is what it replaces.
* TLS: ``PGSSLMODE`` and its equivalents (``DB_SSLMODE``, ``DATABASE_SSLMODE``, ``*_SSL_MODE``)
  and every ``sslmode=`` in a connection string (``postgres://...?sslmode=``, a DSN, JDBC) are
  never ``disable``, ``allow`` or ``prefer``; a container configured for libpq (``PGHOST`` or a
  ``postgres://`` URL) without any sslmode gets libpq's default, ``prefer``, and is reported too.

Credential values are never repeated in a message (an access key id is shown masked).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from typing import Any

from .model import Deferred, Finding, Resource, RuleContext, Violation, message
from .props import describe_path, get, is_unknown, type_kind

POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
}
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
CREDENTIAL_VARIABLES = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                  "AWS_SECURITY_TOKEN", "AWS_ACCESS_KEY", "AWS_SECRET_KEY"})
_CREDENTIAL_KEYS = frozenset(name.lower().replace("_", "") for name in CREDENTIAL_VARIABLES)
ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
CREDENTIALS_FILE = re.compile(r"aws_secret_access_key\s*[=:]", re.IGNORECASE)
SSLMODE_VARIABLE = re.compile(r"(?:^|_|PG)SSL_?MODE$", re.IGNORECASE)
SSLMODE_SETTING = re.compile(r"sslmode\s*=\s*['\"]?(?P<mode>[A-Za-z-]+)", re.IGNORECASE)
POSTGRES_URL = re.compile(r"\bpostgres(?:ql)?://", re.IGNORECASE)
WEAK_SSLMODES = frozenset({"disable", "allow", "prefer"})
SECRET_KINDS = frozenset({"Secret", "ConfigMap"})


def is_kubernetes(resource: Resource) -> bool:
    return resource.type.startswith("kubernetes:")


def pod_specs(resource: Resource) -> list[tuple[tuple[str, ...], Any]]:
    """(path, pod spec) of a workload (empty for other kinds)."""
    if not is_kubernetes(resource):
        return []
    path = POD_SPEC_PATHS.get(type_kind(resource.type))
    if path is None:
        return []
    spec = get(resource.props, *path)
    return [(path, spec)] if spec is not None else []


def containers(spec: Any, base: tuple[str, ...]) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, container) of every container list of a pod spec; unknown entries included."""
    if not isinstance(spec, Mapping):
        return
    for list_name in CONTAINER_LISTS:
        entries = spec.get(list_name)
        if is_unknown(entries):
            yield (*base, list_name), entries
            continue
        for index, container in enumerate(entries or []):
            yield (*base, list_name, index), container


def mask(text: str) -> str:
    """An access key id with its middle hidden (``AKIA************MPLE``)."""
    return ACCESS_KEY_ID.sub(lambda m: m.group(0)[:4] + "*" * 12 + m.group(0)[-4:], text)


def _string_leaves(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _string_leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_leaves(item, (*path, index))


def _credential_in(value: str) -> str | None:
    """What credential ``value`` holds, described without revealing it."""
    key_id = ACCESS_KEY_ID.search(value)
    if key_id:
        return f"the access key id {mask(key_id.group(0))}"
    if CREDENTIALS_FILE.search(value):
        return "a credentials file with aws_secret_access_key"
    return None


def _decoded(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _data_entries(resource: Resource) -> Iterator[tuple[str, str, Any]]:
    """(path, key, text or unknown) of a Secret's/ConfigMap's entries, base64 decoded."""
    for field_name, encoded in (("stringData", False), ("data", type_kind(resource.type) ==
                                                         "Secret"), ("binaryData", True)):
        block = resource.props.get(field_name)
        if is_unknown(block):
            yield f".{field_name}", "*", block
            continue
        if not isinstance(block, Mapping):
            continue
        for key, value in block.items():
            if is_unknown(value):
                yield f".{field_name}.{key}", key, value
            elif isinstance(value, str):
                yield f".{field_name}.{key}", key, (_decoded(value) or value) if encoded else value


FIX_CREDENTIALS = ("remove the static key: annotate the pod's service account with "
                   "eks.amazonaws.com/role-arn (IRSA) and let the SDK use the web identity token")


def check_static_credentials(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    if not is_kubernetes(resource):
        return
    reported: set[str] = set()
    for spec_path, spec in pod_specs(resource):
        if is_unknown(spec):
            yield Deferred(resource.urn, f"{describe_path(spec_path)} (the pod spec) is not known "
                                         "yet")
            continue
        for path, container in containers(spec, spec_path):
            if is_unknown(container):
                yield Deferred(resource.urn, f"{describe_path(path)} is not known yet")
                continue
            env = get(container, "env")
            if is_unknown(env):
                yield Deferred(resource.urn, f"{describe_path((*path, 'env'))} is not known yet")
                continue
            for index, variable in enumerate(env or []):
                if not isinstance(variable, Mapping):
                    continue
                name = variable.get("name")
                where = describe_path((*path, "env", index))
                if isinstance(name, str) and name.upper() in CREDENTIAL_VARIABLES:
                    value, source = variable.get("value"), variable.get("valueFrom")
                    if is_unknown(value):
                        yield Deferred(resource.urn, f"{where} ({name}) is not known yet")
                    elif value or source:
                        origin = ("from " + ", ".join(source) if isinstance(source, Mapping)
                                  else "literally")
                        reported.add(where)
                        yield Violation(resource.urn, message(
                            f"The container sets {name} ({origin}): the pod runs with a static "
                            "AWS credential instead of IRSA.", f"{resource.urn} {where}",
                            FIX_CREDENTIALS))
    for path, value in _string_leaves(resource.props, ()):
        where = describe_path(path)
        if any(where.startswith(done) for done in reported):
            continue
        found = _credential_in(value)
        if found:
            reported.add(where)
            yield Violation(resource.urn, message(
                f"An AWS credential is written into the object: {found}.",
                f"{resource.urn} {where}", FIX_CREDENTIALS))
    if type_kind(resource.type) in SECRET_KINDS:
        for where, key, value in _data_entries(resource):
            if is_unknown(value) or where in reported:
                continue
            normalized = key.lower().replace("_", "").replace("-", "")
            decoded_hit = isinstance(value, str) and _credential_in(value)
            if normalized in _CREDENTIAL_KEYS and value:
                yield Violation(resource.urn, message(
                    f"The {type_kind(resource.type)} stores an AWS credential under {key!r}.",
                    f"{resource.urn} {where}", FIX_CREDENTIALS))
            elif decoded_hit and where.startswith(".data"):
                yield Violation(resource.urn, message(
                    f"The {type_kind(resource.type)} stores an AWS access key or credentials "
                    f"file (base64) under {key!r}.", f"{resource.urn} {where}", FIX_CREDENTIALS))


# ------------------------------------------------------------------------------------------
# sslmode
# ------------------------------------------------------------------------------------------

def _weak_settings(value: str) -> list[str]:
    return [match.group("mode").lower() for match in SSLMODE_SETTING.finditer(value)
            if match.group("mode").lower() in WEAK_SSLMODES]


FIX_SSLMODE = ("use sslmode=verify-full (PGSSLMODE=verify-full) with the RDS CA bundle "
               "(PGSSLROOTCERT): a token sent without verified TLS can be captured and replayed "
               "for 15 minutes")


def _container_sslmode(container: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The PGSSLMODE-like setting of a container (lower case), and whether it cannot be known
    here: an unknown entry, or ``envFrom`` (a ConfigMap or Secret may set it; those objects are
    checked themselves)."""
    if container.get("envFrom"):
        return None, True
    for variable in container.get("env") or []:
        if is_unknown(variable):
            return None, True
        if isinstance(variable, Mapping) and isinstance(variable.get("name"), str) and \
                SSLMODE_VARIABLE.search(variable["name"]):
            value = variable.get("value")
            if is_unknown(value):
                return None, True
            if isinstance(value, str):
                return value.strip().lower(), False
            if variable.get("valueFrom") is not None:
                return "(from a reference)", False
    return None, False


def _check_container_tls(resource: Resource, path: tuple[Any, ...],
                         container: Mapping[str, Any]) -> Iterator[Finding]:
    env = container.get("env")
    if is_unknown(env):
        yield Deferred(resource.urn, f"{describe_path((*path, 'env'))} is not known yet")
        return
    mode, mode_unknown = _container_sslmode(container)
    libpq = False
    for index, variable in enumerate(env or []):
        if not isinstance(variable, Mapping) or not isinstance(variable.get("name"), str):
            continue
        name, value = variable["name"], variable.get("value")
        where = f"{resource.urn} {describe_path((*path, 'env', index))}"
        if name.upper() in ("PGHOST", "PGHOSTADDR", "PGSERVICE"):
            libpq = True
        if is_unknown(value):
            if SSLMODE_VARIABLE.search(name):
                yield Deferred(resource.urn, f"{describe_path((*path, 'env', index))} ({name}) "
                                             "is not known yet")
            continue
        if not isinstance(value, str):
            continue
        if SSLMODE_VARIABLE.search(name) and value.strip().lower() in WEAK_SSLMODES:
            yield Violation(resource.urn, message(
                f"{name}={value} lets the PostgreSQL client connect without verified TLS.",
                where, FIX_SSLMODE))
        for weak in _weak_settings(value):
            yield Violation(resource.urn, message(
                f"The connection string in {name} sets sslmode={weak}, which does not verify "
                "the server (or skips TLS).", where, FIX_SSLMODE))
        if POSTGRES_URL.search(value) and not SSLMODE_SETTING.search(value):
            libpq = True
    for key in ("command", "args"):
        for index, value in enumerate(container.get(key) or []):
            if isinstance(value, str):
                for weak in _weak_settings(value):
                    yield Violation(resource.urn, message(
                        f"The container's {key} sets sslmode={weak}.",
                        f"{resource.urn} {describe_path((*path, key, index))}", FIX_SSLMODE))
    if libpq and mode is None and not mode_unknown:
        yield Violation(resource.urn, message(
            "The container is configured for libpq (PGHOST or a postgres:// URL without "
            "sslmode) but sets no PGSSLMODE: libpq's default is prefer, which accepts an "
            "unencrypted or unverified server.",
            f"{resource.urn} {describe_path((*path, 'env'))}", FIX_SSLMODE))


def check_sslmode(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    if not is_kubernetes(resource):
        return
    for spec_path, spec in pod_specs(resource):
        if is_unknown(spec):
            yield Deferred(resource.urn, f"{describe_path(spec_path)} (the pod spec) is not known "
                                         "yet")
            continue
        for path, container in containers(spec, spec_path):
            if is_unknown(container) or not isinstance(container, Mapping):
                if is_unknown(container):
                    yield Deferred(resource.urn, f"{describe_path(path)} is not known yet")
                continue
            yield from _check_container_tls(resource, path, container)
    if type_kind(resource.type) in SECRET_KINDS:
        for where, key, value in _data_entries(resource):
            if is_unknown(value):
                if key == "*" or SSLMODE_VARIABLE.search(key):
                    yield Deferred(resource.urn, f"{where} is not known yet")
                continue
            if not isinstance(value, str):
                continue
            if SSLMODE_VARIABLE.search(key) and value.strip().lower() in WEAK_SSLMODES:
                yield Violation(resource.urn, message(
                    f"{key}={value} (consumed as the pod's environment) lets the PostgreSQL "
                    "client connect without verified TLS.", f"{resource.urn} {where}",
                    FIX_SSLMODE))
            for weak in _weak_settings(value):
                yield Violation(resource.urn, message(
                    f"The connection string under {key!r} sets sslmode={weak}.",
                    f"{resource.urn} {where}", FIX_SSLMODE))


# ------------------------------------------------------------------------------------------
# Service accounts and workloads (for the stack rules)
# ------------------------------------------------------------------------------------------

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


def namespace_of(resource: Resource) -> Any:
    """The object's namespace (``default`` when unset); unknown stays unknown."""
    value = get(resource.props, "metadata", "namespace")
    return "default" if value is None else value


def name_of(resource: Resource) -> Any:
    return get(resource.props, "metadata", "name")


def pod_service_account(resource: Resource) -> tuple[tuple[str, ...], Any] | None:
    """(path, service account name) the workload's pods run as (``default`` when unset)."""
    for path, spec in pod_specs(resource):
        if is_unknown(spec):
            return path, spec
        if isinstance(spec, Mapping):
            name = spec.get("serviceAccountName", spec.get("serviceAccount"))
            return (*path, "serviceAccountName"), "default" if name is None else name
    return None


def uses_aws_or_database(resource: Resource) -> bool:
    """Whether the workload's containers are configured for AWS or a database (env names)."""
    hints = re.compile(r"^(AWS_(REGION|DEFAULT_REGION|ROLE_ARN|WEB_IDENTITY_TOKEN_FILE)|PG[A-Z]+|"
                       r"DB_[A-Z_]+|DATABASE_URL|POSTGRES[A-Z_]*)$")
    for path, spec in pod_specs(resource):
        for _, container in containers(spec, path):
            if not isinstance(container, Mapping):
                continue
            for variable in container.get("env") or []:
                if isinstance(variable, Mapping) and isinstance(variable.get("name"), str) and \
                        hints.match(variable["name"].upper()):
                    return True
    return False
