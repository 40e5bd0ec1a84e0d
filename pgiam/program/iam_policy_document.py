"""``aws.iam.get_policy_document`` rendered to JSON the way pulumi-aws renders it.

pulumi-aws answers this data source with the Terraform AWS provider's
``aws_iam_policy_document`` (internal/service/iam/policy_document_data_source.go and
policy_model.go). No Python library reproduces that rendering, so it is written here, rule for
rule, so that programs see under mocks the very documents they get from the real provider:

* keys in the order Version, Id, Statement; Sid, Effect, Action, NotAction, Resource,
  NotResource, Principal, NotPrincipal, Condition; empty ones left out;
* actions, resources and principal identifiers are sets: one value renders as a string, several
  as a list sorted in *reverse* order; condition values keep their order, one value as a string;
* principals and conditions are JSON objects with sorted keys (Go maps); ``{"*": ["*"]}``
  renders as ``"*"``;
* ``&{var}`` becomes ``${var}`` in resources, principals and condition values;
* ``source_policy_documents`` are merged first (duplicate Sids are an error), then the
  statements, then ``override_policy_documents`` (a statement replaces the one with its Sid);
* ``json`` is indented by two spaces, ``minifiedJson`` compact, both with Go's HTML escaping of
  ``<``, ``>`` and ``&``; the id is the CRC-32 of ``json``.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_VERSION = "2012-10-17"
VERSIONS = ("2008-10-17", "2012-10-17")
_SID = re.compile(r"^[a-zA-Z0-9]*$")
_STATEMENT_KEYS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
                   "Principal", "NotPrincipal", "Condition")


class PolicyDocumentArgsError(ValueError):
    """The data source's arguments are invalid, as the provider would report it."""


def _replace_vars(value: str, version: str) -> str:
    if version == "2008-10-17" and "&{" in value:
        raise PolicyDocumentArgsError(
            f"found &{{ sequence in ({value}), which is not supported in document version "
            "2008-10-17")
    return value.replace("&{", "${")


def _string_set(values: Sequence[str]) -> str | list[str]:
    unique = sorted(set(values), reverse=True)
    return unique[0] if len(unique) == 1 else unique


def _principals(entries: Sequence[Mapping[str, Any]], version: str) -> dict[str, Any] | str:
    if len(entries) == 1 and entries[0].get("type") == "*" and \
            list(entries[0].get("identifiers") or []) == ["*"]:
        return "*"
    rendered: dict[str, Any] = {}
    for entry in entries:
        kind = entry["type"]
        identifiers = _string_set([_replace_vars(i, version) for i in entry.get("identifiers") or []])
        previous = rendered.get(kind)
        if previous is None:
            rendered[kind] = identifiers
        else:
            merged = [previous] if isinstance(previous, str) else list(previous)
            merged.extend([identifiers] if isinstance(identifiers, str) else identifiers)
            rendered[kind] = merged
    return {kind: rendered[kind] for kind in sorted(rendered)}


def _conditions(entries: Sequence[Mapping[str, Any]], version: str) -> dict[str, Any]:
    raw: dict[str, dict[str, list[str]]] = {}
    for entry in entries:
        values = [_replace_vars(str(v), version) for v in entry.get("values") or []]
        raw.setdefault(entry["test"], {}).setdefault(entry["variable"], []).extend(values)
    return {test: {variable: (values[0] if len(values) == 1 else values)
                   for variable, values in sorted(raw[test].items())}
            for test in sorted(raw)}


def _statement(config: Mapping[str, Any], version: str) -> dict[str, Any]:
    sid = config.get("sid") or ""
    if not _SID.match(sid):
        raise PolicyDocumentArgsError(f"statement sid {sid!r} must only include alphanumeric "
                                      "characters")
    effect = config.get("effect") or "Allow"
    if effect not in ("Allow", "Deny"):
        raise PolicyDocumentArgsError(f"statement effect must be Allow or Deny, got {effect!r}")
    statement: dict[str, Any] = {"Sid": sid, "Effect": effect}
    for source, target in (("actions", "Action"), ("notActions", "NotAction")):
        if config.get(source):
            statement[target] = _string_set(config[source])
    for source, target in (("resources", "Resource"), ("notResources", "NotResource")):
        if config.get(source):
            statement[target] = _string_set([_replace_vars(r, version) for r in config[source]])
    for source, target in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
        if config.get(source):
            statement[target] = _principals(config[source], version)
    if config.get("conditions"):
        statement["Condition"] = _conditions(config["conditions"], version)
    return statement


def _normalised_json_statement(statement: Mapping[str, Any]) -> dict[str, Any]:
    """A statement read from a JSON document, as the provider's Go model re-marshals it."""
    out: dict[str, Any] = {}
    for key in _STATEMENT_KEYS:
        value = statement.get(key)
        if value in (None, "", [], {}):
            continue
        if key in ("Principal", "NotPrincipal"):
            value = _principals_from_json(value)
        elif key == "Condition":
            value = _conditions_from_json(value)
        out[key] = value
    return out


def _principals_from_json(value: Any) -> dict[str, Any] | str:
    if isinstance(value, str):
        return "*"
    rendered: dict[str, Any] = {}
    for kind in sorted(value):
        identifiers = value[kind]
        rendered[kind] = identifiers if isinstance(identifiers, str) else \
            sorted(identifiers, reverse=True)
    return rendered


def _conditions_from_json(value: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    entries = []
    for test, variables in value.items():
        for variable, values in variables.items():
            # The provider's model reads strings, booleans and lists of strings; anything else
            # (a JSON number) is dropped, as it is there.
            if isinstance(values, bool):
                values = ["true" if values else "false"]
            elif isinstance(values, str):
                values = [values]
            elif not isinstance(values, list):
                continue
            entries.append({"test": test, "variable": variable, "values": [str(v) for v in values]})
    return _conditions(entries, "2012-10-17")


def _merge(document: dict[str, Any], other: Mapping[str, Any]) -> None:
    if other.get("Id"):
        document["Id"] = other["Id"]
    if (other.get("Version") or "") > (document.get("Version") or ""):
        document["Version"] = other["Version"]
    statements = document.setdefault("Statement", [])
    for statement in other.get("Statement") or []:
        sid = statement.get("Sid") or ""
        index = next((i for i, s in enumerate(statements) if sid and s.get("Sid") == sid), None)
        if index is None:
            statements.append(statement)
        else:
            statements[index] = statement


def _parse_json_document(text: str, what: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except (TypeError, json.JSONDecodeError) as error:
        raise PolicyDocumentArgsError(f"writing IAM Policy Document: merging {what}: {error}") \
            from None
    statements = parsed.get("Statement") or []
    if isinstance(statements, Mapping):
        statements = [statements]
    return {"Version": parsed.get("Version") or "", "Id": parsed.get("Id") or "",
            "Statement": [_normalised_json_statement(s) for s in statements]}


def _go_json(value: Any, *, indent: int | None) -> str:
    separators = (",", ": ") if indent else (",", ":")
    text = json.dumps(value, indent=indent, separators=separators, ensure_ascii=False)
    # encoding/json escapes these by default (HTML safety); so does the provider's output.
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def _ordered(document: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if document.get("Version"):
        out["Version"] = document["Version"]
    if document.get("Id"):
        out["Id"] = document["Id"]
    statements = [{key: s[key] for key in _STATEMENT_KEYS if s.get(key) not in (None, "", [], {})}
                  for s in document.get("Statement") or []]
    if statements:
        out["Statement"] = statements
    return out


def render_policy_document(args: Mapping[str, Any]) -> dict[str, Any]:
    """The data source's result (``json``, ``minifiedJson``, ``id`` and the echoed arguments)
    for the engine-named arguments of ``aws:iam/getPolicyDocument:getPolicyDocument``."""
    version = args.get("version") or DEFAULT_VERSION
    if version not in VERSIONS:
        raise PolicyDocumentArgsError(f"version must be one of {', '.join(VERSIONS)}, got "
                                      f"{version!r}")
    merged: dict[str, Any] = {"Version": "", "Id": "", "Statement": []}
    seen_sids: set[str] = set()
    for index, text in enumerate(args.get("sourcePolicyDocuments") or []):
        if text is None:
            continue
        source = _parse_json_document(text, f"source document {index}")
        for statement_index, statement in enumerate(source["Statement"]):
            sid = statement.get("Sid") or ""
            if sid and sid in seen_sids:
                raise PolicyDocumentArgsError(
                    f"writing IAM Policy Document: merging source document {index}: duplicate "
                    f"Sid ({sid}) in source_policy_documents (statement {statement_index}). "
                    "Remove the Sid or ensure Sids are unique.")
            if sid:
                seen_sids.add(sid)
        _merge(merged, source)

    own: dict[str, Any] = {"Version": version, "Id": args.get("policyId") or "", "Statement": []}
    own_sids: set[str] = set()
    for config in args.get("statements") or []:
        statement = _statement(config, version)
        sid = statement["Sid"]
        if sid and sid in own_sids:
            raise PolicyDocumentArgsError(f"writing IAM Policy Document: duplicate Sid ({sid}). "
                                          "Remove the Sid or ensure the Sid is unique.")
        if sid:
            own_sids.add(sid)
        own["Statement"].append(statement)
    _merge(merged, own)

    for index, text in enumerate(args.get("overridePolicyDocuments") or []):
        if text is not None:
            _merge(merged, _parse_json_document(text, f"override document {index}"))

    document = _ordered(merged)
    pretty = _go_json(document, indent=2)
    return {
        **{key: value for key, value in args.items()},
        "version": version,
        "json": pretty,
        "minifiedJson": _go_json(document, indent=None),
        "id": str(zlib.crc32(pretty.encode("utf-8"))),
    }
