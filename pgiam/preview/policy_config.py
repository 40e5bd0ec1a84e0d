"""Policy pack configuration, as the CLI computes it before ``Configure``.

The file is the CLI's ``--policy-pack-config`` JSON: ``{"all": "mandatory", "<policy>":
"advisory" | {"enforcementLevel": "...", "<property>": ...}}``. For every policy the pack
declares, the enforcement level is the file's entry for it, else ``all``, else the pack's
``initialConfig``, else the policy's own default; the properties are the schema's defaults
overlaid with ``initialConfig`` and then the file's, and are validated against the policy's
config schema (JSON Schema), as the CLI validates them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pgiam.errors import PgiamError

LEVELS = ("advisory", "mandatory", "remediate", "disabled")


class PolicyConfigError(PgiamError):
    """The policy configuration is malformed or does not fit the pack's schemas."""


def read_policy_config(path: str | Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyConfigError(f"cannot read the policy config {path}: {error.strerror}") from None
    except ValueError as error:
        raise PolicyConfigError(f"the policy config {path} is not JSON: {error}") from None
    if not isinstance(raw, dict):
        raise PolicyConfigError(f"the policy config {path} must be a JSON object keyed by policy")
    return raw


def _level_name(value: int) -> str:
    from pulumi.runtime.proto import analyzer_pb2

    return analyzer_pb2.EnforcementLevel.Name(value).lower()


def _level_value(name: str, where: str) -> int:
    from pulumi.runtime.proto import analyzer_pb2

    if name not in LEVELS:
        raise PolicyConfigError(f"{where}: enforcement level {name!r} is not one of "
                                f"{', '.join(LEVELS)}")
    return analyzer_pb2.EnforcementLevel.Value(name.upper())


def _split(entry: Any, where: str) -> tuple[str | None, dict[str, Any]]:
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, Mapping):
        props = {key: value for key, value in entry.items() if key != "enforcementLevel"}
        level = entry.get("enforcementLevel")
        if level is not None and not isinstance(level, str):
            raise PolicyConfigError(f"{where}.enforcementLevel must be a string")
        return level, props
    raise PolicyConfigError(f"{where} must be an enforcement level or an object")


def configure_request(info: Any, user_config: Mapping[str, Any]) -> Any:
    """The ``ConfigureAnalyzerRequest`` for a pack described by ``info`` (``AnalyzerInfo``)."""
    from google.protobuf import json_format
    from pulumi.runtime.proto import analyzer_pb2

    known = {policy.name for policy in info.policies}
    unknown = sorted(set(user_config) - known - {"all"})
    if unknown:
        raise PolicyConfigError(f"the policy config names policies the pack {info.name!r} does "
                                f"not have: {', '.join(unknown)}")
    all_level, _ = _split(user_config["all"], "all") if "all" in user_config else (None, {})
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for policy in info.policies:
        schema = json_format.MessageToDict(policy.configSchema)
        properties = schema.get("properties", {})
        props: dict[str, Any] = {key: spec["default"] for key, spec in properties.items()
                                 if isinstance(spec, Mapping) and "default" in spec}
        level = _level_name(policy.enforcementLevel)
        if policy.name in info.initialConfig:
            initial = info.initialConfig[policy.name]
            props.update(json_format.MessageToDict(initial.properties))
            if initial.enforcementLevel:
                level = _level_name(initial.enforcementLevel)
        if all_level:
            level = all_level
        if policy.name in user_config:
            entry_level, entry_props = _split(user_config[policy.name], policy.name)
            level = entry_level or level
            props.update(entry_props)
        _validate(policy.name, props, schema)
        config = analyzer_pb2.PolicyConfig(enforcementLevel=_level_value(level, policy.name))
        config.properties.update(props)
        request.policyConfig[policy.name].CopyFrom(config)
    return request


def _validate(name: str, props: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    if not schema.get("properties") and not props:
        return
    import jsonschema

    full = {"type": "object", "properties": schema.get("properties", {}),
            "required": list(schema.get("required", []))}
    try:
        jsonschema.validate(dict(props), full)
    except jsonschema.ValidationError as error:
        path = ".".join(str(part) for part in error.absolute_path)
        raise PolicyConfigError(f"policy config of {name}{'.' + path if path else ''}: "
                                f"{error.message}") from None
