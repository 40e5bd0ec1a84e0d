"""No database password reaches a pod in a passwordless design.

Pods log in with IAM auth tokens; a password that reaches them is a standing secret the design
removes, and often the master password. Reported wherever a Kubernetes object of the stack (also
inside a ``yaml/v2:ConfigGroup``, a Helm ``Release``/``Chart``'s ``values``) carries one:

* a password variable or key (``PGPASSWORD``, ``DB_PASSWORD``, ``DATABASE_PASSWORD``,
  ``POSTGRES_PASSWORD``, ``*_DB_PASS``...) set literally or from a Secret (``secretKeyRef``) in a
  container's ``env``, as a key of a Secret/ConfigMap (``data`` decoded, ``stringData``), or as a
  named setting of Helm values (``password`` under a ``postgresql``/``database``/``db`` key
  included);
* a connection string with a password: ``postgres://user:secret@host``, a libpq DSN with
  ``password=``;
* the RDS master password of a database of the stack (``masterPassword`` of a ``Cluster`` or
  ``Instance``) anywhere in the object, however it flowed there (``Output.apply``, f-strings).

Values are never repeated in a message.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .kubernetes import MANIFEST_COMPONENTS, embedded_objects, is_kubernetes, pod_specs
from .model import Deferred, Finding, Resource, RuleContext, Violation, message
from .props import describe_path, is_unknown, text, type_kind
from .rds import CLUSTER, INSTANCE

PASSWORD_NAME = re.compile(
    r"^(?:[A-Z0-9]+[_-])?(?:PG|POSTGRES(?:QL)?|DB|DATABASE|RDS|SQL|DATASOURCE|JDBC|TYPEORM"
    r"|SEQUELIZE|KNEX|FLYWAY|LIQUIBASE)[_-]?(?:[A-Z0-9]+[_-])?"
    r"(?:PASS|PASSWD|PASSWORD)$",
    re.IGNORECASE)
# a key, or a Secret/ConfigMap name, that is about a database: ``postgresql``, ``externalDatabase``,
# ``db``, ``orders-db-credentials``, ``pg_auth``
DATABASE_CONTEXT = re.compile(r"postgres|database|datasource|jdbc|(?:^|[-_.])(?:db|pg|rds)(?:$|[-_.])",
                              re.IGNORECASE)
URL_PASSWORD = re.compile(r"\bpostgres(?:ql)?(?:\+[a-z0-9_]+)?://[^/@\s:]*:[^/@\s]+@",
                          re.IGNORECASE)
DSN_PASSWORD = re.compile(r"(?:^|\s|;)password\s*=\s*(?!\s|;|$)", re.IGNORECASE)
DSN_HINT = re.compile(r"\b(?:host|dbname|server)\s*=", re.IGNORECASE)
CONNECTION_NAME = re.compile(r"(?:URL|URI|DSN|CONN(?:ECTION)?(?:_?STRING)?)$", re.IGNORECASE)
SECRET_KINDS = ("Secret", "ConfigMap")
# Whole maps a preview may not know (a Secret's stringData holding an Output): deferred.
WHOLE_ENTRIES = {"Secret": ("data", "stringData"), "ConfigMap": ("data",),
                 "Release": ("values",), "Chart": ("values",)}
FIX = ("log in with an IAM auth token (boto3 generate_db_auth_token, or a token-minting "
       "sidecar) and remove the password from the pod, its Secrets/ConfigMaps and Helm values")


def master_passwords(resources: Sequence[Resource]) -> set[str]:
    found: set[str] = set()
    for resource in resources:
        if resource.type in (CLUSTER, INSTANCE):
            value = text(resource.props.get("masterPassword"))
            if value and len(value) >= 4:
                found.add(value)
    return found


def _is_password_name(name: str, path: tuple[Any, ...]) -> bool:
    if PASSWORD_NAME.match(name):
        return True
    return name.lower() in ("password", "pass", "passwd") and any(
        isinstance(part, str) and DATABASE_CONTEXT.search(part) for part in path)


def _leaf_problem(value: str, masters: set[str]) -> str | None:
    if any(master in value for master in masters):
        return "the database's master password"
    if URL_PASSWORD.search(value):
        return "a postgres:// connection string with a password"
    if DSN_HINT.search(value) and DSN_PASSWORD.search(value):
        return "a connection string with password="
    return _config_text_password(value)


# key=value / key: value lines of a mounted configuration file (application.properties, .env,
# YAML); a placeholder (${DB_PASSWORD}, {{ .Values... }}) is not itself a password
CONFIG_LINE = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][\w.\-\[\]]*)\s*[=:][ \t]*"
                         r"(?P<value>\S[^\n]*?)\s*$", re.MULTILINE)
PLACEHOLDER = re.compile(r"^['\"]?(?:\$\{|\$\(|\{\{|<|$)")


def _config_text_password(value: str) -> str | None:
    """A database password set in configuration text (a file a ConfigMap or Secret mounts):
    ``spring.datasource.password=...``, ``DB_PASSWORD=...`` in a .env file, ``password:`` under
    a ``database:``/``db:`` key of a YAML file."""
    if "\n" not in value.strip():
        return None
    for match in CONFIG_LINE.finditer(value):
        parts = [part for part in re.split(r"[.\[\]]+", match["key"]) if part]
        if parts and _is_password_name(parts[-1], tuple(parts[:-1])) and \
                not PLACEHOLDER.match(match["value"]):
            return f"a database password in configuration text ({match['key']})"
    import yaml

    try:
        document = yaml.safe_load(value)
    except yaml.YAMLError:
        return None
    if not isinstance(document, Mapping):
        return None
    for path, name, setting in _named(document, ()):
        if isinstance(setting, str) and setting and not PLACEHOLDER.match(setting) and \
                _is_password_name(name, path[:-1]):
            return f"a database password in configuration text ({describe_path(path)})"
    return None


def _named(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str, Any]]:
    """(path, setting name, value) of named settings: mapping keys and ``{name, value[From]}``
    pairs (env lists)."""
    if isinstance(value, Mapping):
        name = value.get("name")
        if isinstance(name, str) and ("value" in value or "valueFrom" in value):
            yield (*path, "value"), name, value.get("value") or value.get("valueFrom")
        for key, child in value.items():
            if isinstance(child, (str, Mapping, list)) or is_unknown(child):
                if not isinstance(child, str) and not is_unknown(child):
                    yield from _named(child, (*path, key))
                else:
                    yield (*path, key), str(key), child
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _named(child, (*path, index))


def _decoded_entries(resource: Resource) -> dict[str, Any]:
    props = dict(resource.props)
    if type_kind(resource.type) == "Secret" and isinstance(props.get("data"), Mapping):
        decoded = {}
        for key, value in props["data"].items():
            try:
                decoded[key] = base64.b64decode(value, validate=True).decode("utf-8") \
                    if isinstance(value, str) else value
            except (binascii.Error, ValueError, UnicodeDecodeError):
                decoded[key] = value
        props["data"] = decoded
    return props


def object_findings(resource: Resource, masters: set[str], label: str) -> Iterator[Finding]:
    """The passwords ``resource`` carries; ``label`` says where (its URN, and the object's
    name inside a manifest component)."""
    urn = resource.urn
    props = _decoded_entries(resource)
    reported: set[str] = set()
    # a Secret/ConfigMap named for a database: its plain ``password`` key is the database's
    context = (resource.name, str(props.get("metadata", {}).get("name") or "")) \
        if type_kind(resource.type) in SECRET_KINDS and isinstance(props.get("metadata", {}),
                                                                    Mapping) else ()
    entries = {key: props[key] for key in WHOLE_ENTRIES.get(type_kind(resource.type), ())
               if props.get(key) is not None}
    unknown = [f".{key}" for key, value in entries.items() if is_unknown(value)]
    # a Secret's computed ``data`` may be unknown next to a known ``stringData``: judged on that
    if unknown and len(unknown) == len(entries):
        yield Deferred(urn, f"{label} {' and '.join(unknown)} not known yet; it may carry a "
                            "password")
    for path, name, value in _named(props, ()):
        if value is None or value == "" or path[:1] == ("metadata",):
            continue
        if is_unknown(value) and not _is_password_name(name, (*context, *path[:-1])):
            if CONNECTION_NAME.search(name):
                # a connection string built from values not known yet (Output.concat with an
                # endpoint) may carry a password: judged once known, never passed unseen
                yield Deferred(urn, f"{label} {describe_path(path)} ({name}) is not known yet; "
                                    "it may carry a password")
            continue
        if _is_password_name(name, (*context, *path[:-1])):
            where = describe_path(path)
            reported.add(where)
            origin = ("from a value not known yet" if is_unknown(value) else
                      "from a Secret" if isinstance(value, Mapping) else "literally")
            yield Violation(urn, message(
                f"A database password reaches the pods: {name} is set ({origin}) in a "
                "passwordless design.", f"{label} {where}", FIX))
    for path, value in _leaves(props, ()):
        where = describe_path(path)
        if any(where.startswith(done) for done in reported) or path[:1] == ("metadata",):
            continue
        problem = _leaf_problem(value, masters)
        if problem:
            reported.add(where)
            yield Violation(urn, message(
                f"A database password reaches the pods: {problem}.", f"{label} {where}", FIX))


def _leaves(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))


def _judged(resource: Resource) -> bool:
    kind = type_kind(resource.type)
    return is_kubernetes(resource) and (kind in SECRET_KINDS or bool(pod_specs(resource)) or
                                        kind in ("Release", "Chart"))


def check_no_database_password(resources: Sequence[Resource],
                               ctx: RuleContext) -> Iterator[Finding]:
    masters = master_passwords(resources)
    for resource in resources:
        if resource.type in MANIFEST_COMPONENTS:
            for inner in embedded_objects(resource):
                if _judged(inner):
                    yield from object_findings(inner, masters, f"{inner.urn} {inner.name}")
        elif _judged(resource):
            yield from object_findings(resource, masters, resource.urn)

