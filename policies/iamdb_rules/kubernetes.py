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
  file; in any other object (a Helm release's ``values``, a custom resource) a credential
  variable or ``secretAccessKey`` set to a literal. IRSA gives pods short-lived credentials; a
  static key is what it replaces.
* TLS: ``PGSSLMODE`` and its equivalents (``DB_SSLMODE``, ``DATABASE_SSLMODE``, ``*_SSL_MODE``)
  and every sslmode in a connection string or config text (``postgres://...?sslmode=``,
  ``postgresql+psycopg2://``, a DSN, JDBC and its ``ssl=false``, ``sslmode: disable`` in YAML,
  Npgsql's ``SSL Mode=``) are never ``disable``, ``allow`` or ``prefer``; a container configured
  for libpq (``PGHOST`` or a postgres URL) without any sslmode gets libpq's default, ``prefer``,
  and is reported too. An advisory policy reports ``require``/``verify-ca``/``no-verify``, which
  do not verify the server. Workloads' containers, Secrets and ConfigMaps, and every named
  setting of any other object are read.

Objects a ``yaml/v2:ConfigGroup`` carries in its inputs are checked as themselves. Credential
values are never repeated in a message (an access key id is shown masked).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
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
# sslmode=..., "sslmode": "...", sslmode: ... (YAML config files), Npgsql's "SSL Mode=..."
SSLMODE_SETTING = re.compile(r"ssl[ _-]?mode['\"]?\s*[=:]\s*['\"]?(?P<mode>[A-Za-z_-]+)",
                             re.IGNORECASE)
# postgres://, postgresql://, SQLAlchemy's postgresql+psycopg2://, jdbc:postgresql://
POSTGRES_URL = re.compile(r"\bpostgres(?:ql)?(?:\+[a-z0-9_]+)?://", re.IGNORECASE)
WEAK_SSLMODES = frozenset({"disable", "allow", "prefer"})
SECRET_KINDS = frozenset({"Secret", "ConfigMap"})


def is_kubernetes(resource: Resource) -> bool:
    return resource.type.startswith("kubernetes:")


# Components whose manifests are among their inputs (pulumi-kubernetes' yaml/v2 ConfigGroup:
# ``yaml`` text, ``objs`` objects). Their objects exist only inside the component where the
# program cannot expand them (a remote component under mocks); files are not readable here.
MANIFEST_COMPONENTS = frozenset({"kubernetes:yaml/v2:ConfigGroup"})


def _object_type(document: Mapping[str, Any]) -> str:
    api_version = str(document.get("apiVersion") or "v1")
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{document.get('kind') or 'Unknown'}"


def embedded_objects(resource: Resource) -> list[Resource]:
    """The Kubernetes objects a manifest component carries in its inputs, as resources with the
    component's URN (``name``: ``<kind>/<name>``)."""
    if resource.type not in MANIFEST_COMPONENTS:
        return []
    import yaml

    documents: list[Any] = []
    texts = resource.props.get("yaml")
    for text in texts if isinstance(texts, list) else [texts]:
        if isinstance(text, str) and not is_unknown(text):
            try:
                documents.extend(yaml.safe_load_all(text))
            except yaml.YAMLError:
                continue    # the provider refuses it: nothing is deployed
    objects = resource.props.get("objs")
    documents.extend(objects if isinstance(objects, list) else [])
    return [Resource(_object_type(document), resource.urn,
                     f"{document.get('kind')}/{get(document, 'metadata', 'name')}", document)
            for document in documents if isinstance(document, Mapping)]


def _within(finding: Finding, inner: Resource) -> Finding:
    """A finding on an embedded object, its location naming the object."""
    if isinstance(finding, Violation):
        return Violation(finding.urn, finding.message.replace(
            f"Where: {inner.urn} ", f"Where: {inner.urn} {inner.name} ", 1))
    return Deferred(finding.urn, f"{inner.name}: {finding.reason}")


def _per_object(check: Any) -> Any:
    """``check`` applied to each object a manifest component carries, or to the resource."""
    def run(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
        if resource.type in MANIFEST_COMPONENTS:
            for inner in embedded_objects(resource):
                yield from (_within(finding, inner) for finding in check(inner, ctx))
            return
        yield from check(resource, ctx)
    run.__doc__ = check.__doc__
    return run


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
        for index, container in enumerate(entries if isinstance(entries, list) else []):
            yield (*base, list_name, index), container


def mask(text: str) -> str:
    """An access key id with its middle hidden (``AKIA************MPLE``)."""
    return ACCESS_KEY_ID.sub(lambda m: m.group(0)[:4] + "*" * 12 + m.group(0)[-4:], text)


def string_leaves(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from string_leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_leaves(item, (*path, index))


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


# Keys that hold a secret key in Helm values and custom resources (``aws.secretAccessKey``).
# (Not ``secretKey``: an ExternalSecret names the key of the Secret it writes with it.)
_NAMED_CREDENTIAL_KEYS = _CREDENTIAL_KEYS | {"secretaccesskey"}
_TEMPLATE = re.compile(r"\$\{|\{\{|\$\(")


def _named_credentials(resource: Resource, reported: set[str]) -> Iterator[Finding]:
    """A named credential with a literal value anywhere in another Kubernetes object (a Helm
    release's values, a custom resource): ``AWS_SECRET_ACCESS_KEY: ...``,
    ``{"name": "AWS_SECRET_ACCESS_KEY", "value": ...}``, ``secretAccessKey: ...``."""
    for path, name, value in _named_strings(resource.props, ()):
        where = describe_path(path)
        if where in reported or not isinstance(value, str) or not value.strip() \
                or is_unknown(value) or _TEMPLATE.search(value):
            continue
        if name.lower().replace("_", "").replace("-", "") in _NAMED_CREDENTIAL_KEYS:
            reported.add(where)
            yield Violation(resource.urn, message(
                f"The object sets the AWS credential {name!r} to a literal value.",
                f"{resource.urn} {where}", FIX_CREDENTIALS))


FIX_CREDENTIALS = ("remove the static key: annotate the pod's service account with "
                   "eks.amazonaws.com/role-arn (IRSA) and let the SDK use the web identity token")


def _static_credentials(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
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
            for index, variable in enumerate(env if isinstance(env, list) else []):
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
    for path, value in string_leaves(resource.props, ()):
        where = describe_path(path)
        if any(where.startswith(done) for done in reported):
            continue
        found = _credential_in(value)
        if found:
            reported.add(where)
            yield Violation(resource.urn, message(
                f"An AWS credential is written into the object: {found}.",
                f"{resource.urn} {where}", FIX_CREDENTIALS))
    kind = type_kind(resource.type)
    if kind not in SECRET_KINDS and kind not in POD_SPEC_PATHS:
        yield from _named_credentials(resource, reported)
    if kind in SECRET_KINDS:
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

# node-postgres' ``no-verify`` is TLS without verification, like ``require``.
UNVERIFIED_SSLMODES = frozenset({"require", "verify-ca", "no-verify"})
# ``ssl=false`` in a connection URL (pgjdbc, node-postgres, SQLAlchemy's asyncpg) turns TLS off;
# pgjdbc's ``ssl=true`` without ``sslmode`` means verify-full.
SSL_PARAMETER = re.compile(r"[?&;]ssl\s*=\s*(?P<value>[A-Za-z0-9-]+)", re.IGNORECASE)
_SSL_OFF = frozenset({"false", "0", "off", "no", "disable"})


_MODE_SPELLINGS = {"verifyca": "verify-ca", "verifyfull": "verify-full", "noverify": "no-verify"}


def sslmode_name(text: str) -> str:
    """An sslmode as libpq spells it, from any client's spelling (``VerifyCA``, ``Prefer``)."""
    compact = re.sub(r"[\s_'\"-]", "", text).lower()
    return _MODE_SPELLINGS.get(compact, compact)


def connection_sslmodes(value: str) -> list[str]:
    """The sslmodes (libpq's spelling) a setting or connection string asks for: each
    ``sslmode=``, and ``disable`` for a URL's ``ssl=false``."""
    modes = [sslmode_name(match.group("mode")) for match in SSLMODE_SETTING.finditer(value)]
    if POSTGRES_URL.search(value):
        modes.extend("disable" for match in SSL_PARAMETER.finditer(value)
                     if match.group("value").lower() in _SSL_OFF)
    return modes


def sets_tls(value: str) -> bool:
    """Whether a connection string says anything about TLS (else libpq's default applies)."""
    return bool(SSLMODE_SETTING.search(value) or SSL_PARAMETER.search(value))


@dataclass(frozen=True)
class SslmodeLevel:
    """Which sslmodes a policy reports: the mandatory one ``disable``/``allow``/``prefer`` (and
    libpq's default, ``prefer``), the advisory one those that encrypt but do not verify the
    server."""

    modes: frozenset[str]
    what: str
    libpq_default: bool


MANDATORY_LEVEL = SslmodeLevel(WEAK_SSLMODES, "lets the PostgreSQL client connect without "
                                              "verified TLS (or without TLS)", True)
ADVISORY_LEVEL = SslmodeLevel(UNVERIFIED_SSLMODES, "encrypts but does not verify the server's "
                                                   "certificate and host name, so a "
                                                   "man-in-the-middle can read the token", False)

FIX_SSLMODE = ("use sslmode=verify-full (PGSSLMODE=verify-full) with the RDS CA bundle "
               "(PGSSLROOTCERT): a token sent without verified TLS can be captured and replayed "
               "for 15 minutes")


LIBPQ_HOST_VARIABLES = ("PGHOST", "PGHOSTADDR", "PGSERVICE")  # what makes a container a libpq client


def _container_sslmode(container: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The PGSSLMODE-like setting of a container (lower case), and whether it cannot be known
    here: an unknown entry, or ``envFrom`` (a ConfigMap or Secret may set it; those objects are
    checked themselves)."""
    if container.get("envFrom"):
        return None, True
    env = container.get("env")
    for variable in env if isinstance(env, list) else []:
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


def _setting_findings(resource: Resource, name: str, value: str, where: str,
                      level: SslmodeLevel) -> Iterator[Finding]:
    """A named setting (env variable, ConfigMap/Secret key, Helm value) with an sslmode, or a
    connection string naming one."""
    if SSLMODE_VARIABLE.search(name) and sslmode_name(value) in level.modes:
        yield Violation(resource.urn, message(f"{name}={value.strip()} {level.what}.", where,
                                              FIX_SSLMODE))
    for mode in connection_sslmodes(value):
        if mode in level.modes:
            yield Violation(resource.urn, message(
                f"The connection string in {name} asks for sslmode={mode}, which "
                f"{level.what}.", where, FIX_SSLMODE))


def _check_container_tls(resource: Resource, path: tuple[Any, ...],
                         container: Mapping[str, Any], level: SslmodeLevel) -> Iterator[Finding]:
    env = container.get("env")
    if is_unknown(env):
        yield Deferred(resource.urn, f"{describe_path((*path, 'env'))} is not known yet")
        return
    mode, mode_unknown = _container_sslmode(container)
    libpq = False
    for index, variable in enumerate(env if isinstance(env, list) else []):
        if not isinstance(variable, Mapping) or not isinstance(variable.get("name"), str):
            continue
        name, value = variable["name"], variable.get("value")
        if name.upper() in LIBPQ_HOST_VARIABLES:
            libpq = True
        if is_unknown(value):
            if SSLMODE_VARIABLE.search(name):
                yield Deferred(resource.urn, f"{describe_path((*path, 'env', index))} ({name}) "
                                             "is not known yet")
            continue
        if not isinstance(value, str):
            continue
        yield from _setting_findings(resource, name, value,
                                     f"{resource.urn} {describe_path((*path, 'env', index))}",
                                     level)
        if POSTGRES_URL.search(value) and not sets_tls(value):
            libpq = True
    for key in ("command", "args"):
        entries = container.get(key)
        for index, value in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(value, str):
                for weak in connection_sslmodes(value):
                    if weak in level.modes:
                        yield Violation(resource.urn, message(
                            f"The container's {key} asks for sslmode={weak}, which "
                            f"{level.what}.",
                            f"{resource.urn} {describe_path((*path, key, index))}", FIX_SSLMODE))
    if level.libpq_default and libpq and mode is None and not mode_unknown:
        yield Violation(resource.urn, message(
            "The container is configured for libpq (PGHOST or a postgres:// URL without "
            "sslmode) but sets no PGSSLMODE: libpq's default is prefer, which accepts an "
            "unencrypted or unverified server.",
            f"{resource.urn} {describe_path((*path, 'env'))}", FIX_SSLMODE))


def _named_strings(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str,
                                                                         Any]]:
    """(path, name, value) of every named setting inside any object: a mapping's key and its
    value, and a ``{"name": ..., "value": ...}`` pair (env lists in Helm values, CRDs)."""
    if isinstance(value, Mapping):
        name, item = value.get("name"), value.get("value")
        pair = isinstance(name, str) and "value" in value
        if pair:
            yield (*path, "value"), name, item
        for key, child in value.items():
            if pair and key == "value":
                continue
            if isinstance(child, (str, bytes)) or is_unknown(child):
                yield (*path, key), str(key), child
            else:
                yield from _named_strings(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            if isinstance(child, str):
                yield (*path, index), "", child
            else:
                yield from _named_strings(child, (*path, index))


def _check_object_tls(resource: Resource, level: SslmodeLevel) -> Iterator[Finding]:
    """Any other Kubernetes object (a Helm release's values, a custom resource)."""
    for path, name, value in _named_strings(resource.props, ()):
        where = f"{resource.urn} {describe_path(path)}"
        if is_unknown(value):
            if SSLMODE_VARIABLE.search(name):
                yield Deferred(resource.urn, f"{describe_path(path)} ({name}) is not known yet")
        elif isinstance(value, str):
            yield from _setting_findings(resource, name or "a value", value, where, level)


def sslmode_findings(resource: Resource, level: SslmodeLevel) -> Iterator[Finding]:
    if not is_kubernetes(resource):
        return
    kind = type_kind(resource.type)
    if kind in POD_SPEC_PATHS:
        for spec_path, spec in pod_specs(resource):
            if is_unknown(spec):
                yield Deferred(resource.urn, f"{describe_path(spec_path)} (the pod spec) is not "
                                             "known yet")
                continue
            for path, container in containers(spec, spec_path):
                if is_unknown(container) or not isinstance(container, Mapping):
                    if is_unknown(container):
                        yield Deferred(resource.urn, f"{describe_path(path)} is not known yet")
                    continue
                yield from _check_container_tls(resource, path, container, level)
        return
    if kind in SECRET_KINDS:
        for where, key, value in _data_entries(resource):
            if is_unknown(value):
                if key == "*" or SSLMODE_VARIABLE.search(key):
                    yield Deferred(resource.urn, f"{where} is not known yet")
                continue
            if isinstance(value, str):
                yield from _setting_findings(resource, key, value, f"{resource.urn} {where}",
                                             level)
        return
    yield from _check_object_tls(resource, level)


def _sslmode(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    """Never disable/allow/prefer, nor libpq's default (prefer)."""
    return sslmode_findings(resource, MANDATORY_LEVEL)


def _sslmode_verifies(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    """Not require/verify-ca/no-verify either: the server's certificate and host are verified."""
    return sslmode_findings(resource, ADVISORY_LEVEL)


check_static_credentials = _per_object(_static_credentials)
check_sslmode = _per_object(_sslmode)
check_sslmode_verifies = _per_object(_sslmode_verifies)


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


def workload_accounts(resources: Sequence[Resource]
                      ) -> Iterator[tuple[Resource, tuple[str, ...], Any, Any] | Deferred]:
    """(workload, path of its service account, namespace, service account name) of every
    workload among ``resources``; a
    :class:`Deferred` for one whose service account or namespace is not known yet."""
    for workload in resources:
        found = pod_service_account(workload)
        if found is None:
            continue
        path, account_name = found
        namespace = namespace_of(workload)
        if is_unknown(account_name) or is_unknown(namespace):
            yield Deferred(workload.urn, f"{describe_path(path)} or the namespace is not known "
                                         "yet")
            continue
        yield workload, path, namespace, account_name


_AWS_OR_DATABASE = re.compile(r"^(AWS_(REGION|DEFAULT_REGION|ROLE_ARN|WEB_IDENTITY_TOKEN_FILE)|"
                              r"PG[A-Z]+|DB_[A-Z_]+|DATABASE_URL|POSTGRES[A-Z_]*)$")
_DATABASE = re.compile(r"^(PG[A-Z]+|DB_[A-Z_]+|DATABASE_[A-Z_]+|POSTGRES[A-Z_]*)$")


def uses_aws_or_database(resource: Resource, objects: Sequence[Resource] = ()) -> bool:
    """Whether the workload's containers are configured for AWS or a database (env names, and
    the keys of the stack's ConfigMaps and Secrets they load with ``envFrom``)."""
    return _env_matches(resource, _AWS_OR_DATABASE, objects)


def uses_database(resource: Resource, objects: Sequence[Resource] = ()) -> bool:
    """Whether the workload's containers are configured for a database (env names, and the keys
    of the stack's ConfigMaps and Secrets they load with ``envFrom``)."""
    return _env_matches(resource, _DATABASE, objects)


_ENV_FROM_REFS = (("configMapRef", "ConfigMap"), ("secretRef", "Secret"))


def _referenced_objects(kind: str, name: Any, workload: Resource,
                        objects: Sequence[Resource]) -> list[Resource]:
    """The stack's ConfigMaps/Secrets an ``envFrom`` reference loads: by name in the workload's
    namespace or, while the name is not known (an auto-named object's ``metadata.name``), those
    the workload's spec depends on."""
    depended = set(workload.property_dependencies.get("spec", ())) | set(workload.dependencies)
    found = []
    for item in objects:
        if type_kind(item.type) != kind or not item.type.startswith("kubernetes:"):
            continue
        if is_unknown(name):
            if item.urn in depended:
                found.append(item)
        elif name_of(item) == name and namespace_of(item) == namespace_of(workload):
            found.append(item)
    return found


def _env_from_sources(container: Mapping[str, Any], workload: Resource,
                      objects: Sequence[Resource]) -> Iterator[tuple[str, list[Resource]]]:
    """(prefix, the stack's objects it names) of each ConfigMap/Secret reference of the
    container's ``envFrom``; an empty list for one outside the stack (or an entry that is not a
    mapping)."""
    sources = container.get("envFrom")
    for source in sources if isinstance(sources, list) else []:
        if not isinstance(source, Mapping):
            yield "", []
            continue
        prefix = source.get("prefix") if isinstance(source.get("prefix"), str) else ""
        for ref_key, kind in _ENV_FROM_REFS:
            ref = source.get(ref_key)
            if isinstance(ref, Mapping):
                yield prefix, _referenced_objects(kind, ref.get("name"), workload, objects)


def _env_from_objects(container: Mapping[str, Any], workload: Resource,
                      objects: Sequence[Resource]) -> Iterator[tuple[str, Resource]]:
    """(prefix, object) of each of the stack's ConfigMaps/Secrets the container's ``envFrom``
    loads."""
    for prefix, found in _env_from_sources(container, workload, objects):
        for item in found:
            yield prefix, item


def env_from_values(workload: Resource, objects: Sequence[Resource]) -> Iterator[str]:
    """The known values the workload's containers load with ``envFrom`` from the stack's
    ConfigMaps and Secrets (base64 decoded)."""
    for path, spec in pod_specs(workload):
        for _, container in containers(spec, path):
            if isinstance(container, Mapping):
                for _, item in _env_from_objects(container, workload, objects):
                    yield from (value for _, _, value in _data_entries(item)
                                if isinstance(value, str))


def _env_from_names(container: Mapping[str, Any], workload: Resource,
                    objects: Sequence[Resource]) -> Iterator[str]:
    for prefix, item in _env_from_objects(container, workload, objects):
        yield from (prefix + key for _, key, _ in _data_entries(item) if key != "*")


def _env_names(container: Mapping[str, Any], workload: Resource,
               objects: Sequence[Resource]) -> Iterator[str]:
    env = container.get("env")
    for variable in env if isinstance(env, list) else []:
        if isinstance(variable, Mapping) and isinstance(variable.get("name"), str):
            yield variable["name"]
    yield from _env_from_names(container, workload, objects)


def _env_matches(resource: Resource, hints: re.Pattern[str],
                 objects: Sequence[Resource] = ()) -> bool:
    for path, spec in pod_specs(resource):
        for _, container in containers(spec, path):
            if isinstance(container, Mapping) and any(
                    hints.match(name.upper()) for name in _env_names(container, resource,
                                                                     objects)):
                return True
    return False


def _libpq_settings(container: Mapping[str, Any], workload: Resource,
                    objects: Sequence[Resource]) -> tuple[list[tuple[str, Any]], bool]:
    """(name, value) of every setting a container gets, from ``env`` and from the stack's
    ConfigMaps/Secrets its ``envFrom`` loads; and whether a source cannot be read here (an
    object outside the stack, or a reference not known yet)."""
    settings: list[tuple[str, Any]] = []
    env = container.get("env")
    unreadable = is_unknown(env)
    for variable in env if isinstance(env, list) else []:
        if isinstance(variable, Mapping) and isinstance(variable.get("name"), str):
            value = variable.get("value")
            settings.append((variable["name"], "(from a reference)" if value is None and
                             variable.get("valueFrom") is not None else value))
    for prefix, found in _env_from_sources(container, workload, objects):
        unreadable = unreadable or not found
        for item in found:
            for _, key, value in _data_entries(item):
                if key == "*":
                    unreadable = True
                else:
                    settings.append((prefix + key, value))
    return settings, unreadable


_CONNECTION_NAME = re.compile(r"URL|URI|DSN|CONN", re.IGNORECASE)


def _may_configure_libpq(name: str) -> bool:
    """Whether a setting's value could decide the check (a host, an sslmode, a connection
    string): only such a setting's unknown value defers it."""
    return bool(name.upper() in LIBPQ_HOST_VARIABLES or SSLMODE_VARIABLE.search(name)
                or _CONNECTION_NAME.search(name))


def check_sslmode_env_from(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[Finding]:
    """A container configured for libpq through ``envFrom`` (``PGHOST`` or a ``postgres://``
    URL without sslmode, in a ConfigMap or Secret of the stack) with no sslmode anywhere in
    what it loads: libpq's default, ``prefer``. The resource rule cannot see the objects an
    ``envFrom`` loads; a weak sslmode written in one is reported on that object by it."""
    objects = [item for item in resources if type_kind(item.type) in ("ConfigMap", "Secret")]
    for workload in resources:
        if not is_kubernetes(workload):
            continue
        for path, spec in pod_specs(workload):
            for container_path, container in containers(spec, path):
                if not isinstance(container, Mapping) or not container.get("envFrom"):
                    continue
                settings, unreadable = _libpq_settings(container, workload, objects)
                if any(is_unknown(value) and _may_configure_libpq(name) for name, value in settings):
                    yield Deferred(workload.urn, f"{describe_path((*container_path, 'envFrom'))}: "
                                                 "a setting it loads is not known yet")
                    continue
                if unreadable:
                    continue
                libpq = any(name.upper() in LIBPQ_HOST_VARIABLES or
                            (isinstance(value, str) and POSTGRES_URL.search(value) and not sets_tls(value))
                            for name, value in settings)
                sslmode = any(SSLMODE_VARIABLE.search(name) for name, _ in settings)
                if libpq and not sslmode:
                    yield Violation(workload.urn, message(
                        "The container is configured for libpq through envFrom (PGHOST or a "
                        "postgres:// URL without sslmode, in a ConfigMap or Secret it loads) but "
                        "nothing it loads sets PGSSLMODE: libpq's default is prefer, which accepts "
                        "an unencrypted or unverified server.",
                        f"{workload.urn} {describe_path((*container_path, 'envFrom'))}", FIX_SSLMODE))
