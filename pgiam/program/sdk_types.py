"""Computed values for any resource or data source, from the installed provider SDKs' own types.

A resource type or data source without a hand-written synthesizer (:mod:`pgiam.program.synth`)
still has a shape: its Python SDK declares every output property of a resource class
(``@pulumi.getter(name="dnsName")`` with its return annotation) and the result class of every
function (``GetAmiResult`` with one getter per field). This module finds that class for a type
token or a function token in whatever ``pulumi_*`` package is installed (each package's
``pulumi-plugin.json`` names its provider; its ``_utilities.register`` table maps type tokens to
classes), and builds a well-typed, deterministic value for every property: ARNs, ids, DNS names,
endpoints and URLs shaped like the real ones where the property name says what it is.

No library does this: pulumi's Python SDK only maps tokens to classes for resources it has to
rehydrate, and says nothing about function results. Written by hand, kept small.

Values a policy rule would judge are never invented here: a resource's property that holds an
IAM policy document or another JSON document comes back unknown (:data:`UNKNOWN_WIRE`), so the
pack defers the rules that would read it instead of judging a made-up document. A data source's
result cannot be unknown (the SDK's plain ``get_*`` form type-checks it), so an invented string
there (a document, a secret string, a name) carries :data:`INVENTED_MARK`: the program's own code
can go on with it, and whatever resource property it reaches is handed to the pack as unknown
(:func:`is_invented`, used by :mod:`pgiam.preview.engine_view`).
"""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
import importlib
import importlib.util
import json
import re
import sys
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pgiam.program.runner import SIG_KEY  # marks a secret or a resource reference on the wire

# pulumi's wire sentinel for "unknown" (pulumi.runtime.rpc.UNKNOWN); a mock answering it gives the
# program an unknown Output, as the engine does at preview.
UNKNOWN_WIRE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
# Carried by every string a data source's result is given without knowing it.
INVENTED_MARK = "pgiam-unknown-"
_MAX_DEPTH = 4
# Properties that hold an IAM policy or another JSON document (a rule may read them).
_DOCUMENT_NAMES = re.compile(
    # (outputContent, templateContent: the JSON of azure's ARM template deployments)
    r"^(policy|json|document|minifiedJson|outputContent|templateContent)$|(PolicyDocument|"
    r"PolicyJson|RolePolicy|AccessPolicy|AccessPolicies|ResourcePolicy|BucketPolicy|KeyPolicy|"
    r"InlinePolicy|Json)$")
_GLOBAL_SERVICES = {"iam", "s3", "route53", "cloudfront", "organizations", "waf"}
_NO_ACCOUNT_SERVICES = {"s3"}


# Identifiers whose real shape differs from the generic one: (pulumi-aws module, lowercased
# property) -> template over the account, region, DNS suffix, a name-derived ``ident`` and a short
# hex ``token`` (from AWS's documentation of each identifier).
_KNOWN_SHAPES = {
    ("ecr", "repositoryurl"): "{account}.dkr.ecr.{region}.{suffix}/{ident}",
    ("ecr", "registryid"): "{account}",
    ("sqs", "url"): "https://sqs.{region}.{suffix}/{account}/{ident}",
    ("cloudfront", "domainname"): "d{token}.cloudfront.net",
    ("cloudfront", "hostedzoneid"): "Z2FDTNDATAQYW2",
    ("lb", "dnsname"): "{ident}-1234567890.{region}.elb.{suffix}",
    ("alb", "dnsname"): "{ident}-1234567890.{region}.elb.{suffix}",
    ("elb", "dnsname"): "{ident}-1234567890.{region}.elb.{suffix}",
    ("apigatewayv2", "apiendpoint"): "https://{token}.execute-api.{region}.{suffix}",
    ("apigatewayv2", "invokeurl"): "https://{token}.execute-api.{region}.{suffix}/",
    ("apigateway", "invokeurl"): "https://{token}.execute-api.{region}.{suffix}/stage",
    ("apigateway", "executionarn"): "arn:{partition}:execute-api:{region}:{account}:{token}",
    ("apigatewayv2", "executionarn"): "arn:{partition}:execute-api:{region}:{account}:{token}",
}


def is_invented(value: Any) -> bool:
    """Whether ``value`` is (or is text built from) a string invented for an unknown lookup."""
    return isinstance(value, str) and INVENTED_MARK in value


# pulumi-aws module -> the service name its ARNs carry, where the two differ
_ARN_SERVICES = {"lb": "elasticloadbalancing", "alb": "elasticloadbalancing",
                 "elb": "elasticloadbalancing", "cognito": "cognito-idp", "lambda": "lambda",
                 "cloudwatch": "cloudwatch", "apigateway": "apigateway", "cfg": "config",
                 "directoryservice": "ds", "msk": "kafka", "opensearch": "es",
                 "elasticsearch": "es", "sfn": "states", "appautoscaling": "application-autoscaling"}
# types in pulumi-aws' cloudwatch module whose ARNs belong to another service
_CLOUDWATCH_KINDS = (("Log", "logs"), ("Event", "events"))


def arn_service(type_: str) -> str:
    """The service an ARN of ``type_`` names (``aws:lb/loadBalancer:LoadBalancer`` ->
    ``elasticloadbalancing``, ``aws:cloudwatch/logGroup:LogGroup`` -> ``logs``)."""
    parts = type_.split(":")
    module = parts[1].split("/")[0] if len(parts) == 3 else "service"
    if module == "cloudwatch":
        return next((service for prefix, service in _CLOUDWATCH_KINDS
                     if parts[2].startswith(prefix)), "cloudwatch")
    return _ARN_SERVICES.get(module, module)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


@functools.lru_cache(maxsize=None)
def _provider_packages() -> dict[str, Path]:
    """Provider name (``aws``) -> the installed package directory that implements it."""
    found: dict[str, Path] = {}
    for entry in sys.path:
        base = Path(entry or ".")
        if not base.is_dir():
            continue
        for plugin in base.glob("pulumi_*/pulumi-plugin.json"):
            try:
                name = json.loads(plugin.read_text()).get("name")
            except (OSError, ValueError):
                continue
            if isinstance(name, str) and name not in found:
                found[name] = plugin.parent
    return found


@functools.lru_cache(maxsize=None)
def _resource_classes(provider: str) -> dict[str, tuple[str, str]]:
    """Type token -> (module, class name), from the package's ``_utilities.register`` table."""
    package = _provider_packages().get(provider)
    if package is None:
        return {}
    text = (package / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'resource_modules="""(.*?)"""', text, re.DOTALL)
    if match is None:
        return {}
    table: dict[str, tuple[str, str]] = {}
    for module in json.loads(match.group(1)):
        for token, class_name in (module.get("classes") or {}).items():
            table[token] = (module["fqn"], class_name)
    return table


def resource_class(type_: str) -> type | None:
    """The SDK class of a resource type token, or None when no installed package has it."""
    where = _resource_classes(type_.split(":", 1)[0]).get(type_)
    if where is None:
        return None
    try:
        return getattr(importlib.import_module(where[0]), where[1], None)
    except ImportError:
        return None


def result_class(token: str) -> type | None:
    """The result class of a function token (``aws:ec2/getAmi:getAmi`` -> ``GetAmiResult``)."""
    parts = token.split(":")
    if len(parts) != 3:
        return None
    package = _provider_packages().get(parts[0])
    if package is None:
        return None
    module_path = parts[1].split("/")[0]
    function = parts[2]
    if "/" in function:  # a resource's method (eks:index:Cluster/getKubeconfig)
        owner, method = function.split("/", 1)
        cls = resource_class(f"{parts[0]}:{parts[1]}:{owner}")
        return getattr(cls, f"{method[:1].upper()}{method[1:]}Result", None) if cls else None
    base = package.name if module_path == "index" else f"{package.name}.{module_path}"
    # a module named like a Python keyword gets a trailing underscore (aws:lambda -> lambda_)
    for candidate in (base, f"{base}_"):
        try:
            module = importlib.import_module(f"{candidate}.{_snake(function)}")
        except ImportError:
            continue
        return getattr(module, f"{function[:1].upper()}{function[1:]}Result", None)
    return None


@functools.lru_cache(maxsize=None)
def _output_properties(cls: type) -> dict[str, Any]:
    """Engine name -> return annotation of every ``@pulumi.getter`` property of ``cls``."""
    properties: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for attribute in vars(klass).values():
            if not isinstance(attribute, property) or attribute.fget is None:
                continue
            name = getattr(attribute.fget, "_pulumi_name", None)
            if not name:
                continue
            try:
                hint = typing.get_type_hints(attribute.fget).get("return", Any)
            except Exception:  # noqa: BLE001 - a hint that does not resolve: any value
                hint = Any
            properties[name] = hint
    return properties


@functools.lru_cache(maxsize=None)
def resource_typed(hint: Any) -> bool:
    """Whether a property's type is a resource, or a collection or optional of resources
    (awsx's ``Vpc.nat_gateways``: ``Sequence[aws.ec2.NatGateway]``): its value is a resource
    reference, which no value made here can stand for."""
    import pulumi

    if isinstance(hint, type):
        return issubclass(hint, pulumi.Resource)
    return any(resource_typed(arg) for arg in typing.get_args(hint))


def _named(origin: Any, *names: str) -> bool:
    return origin is not None and getattr(origin, "__name__", "") in names


def conform(value: Any, hint: Any, depth: int = 0) -> Any:
    """``value``, an input echoed as the output of the same name, with every part that lacks the
    container shape the output's declared type has (a list, a map, an object, a resource)
    replaced by unknown. Providers echo most inputs, but not all in the same shape: azure-native's
    ``identity.userAssignedIdentities`` is a list of ids going in and a map coming out, awsx's
    ``natGateways`` a strategy going in and the NAT gateways coming out; the SDK refuses the
    input's shape where it expects the output's. Scalars are left as they are."""
    if value is None or value == UNKNOWN_WIRE or depth > 2 * _MAX_DEPTH:
        return value
    if isinstance(value, dict) and SIG_KEY in value:
        return value  # a secret or a resource reference, as the engine sends them
    if resource_typed(hint):
        return UNKNOWN_WIRE
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        options = [arg for arg in args if arg is not type(None)]
        return conform(value, options[0], depth) if len(options) == 1 else value
    if _named(origin, "Output"):
        return conform(value, args[0], depth) if args else value
    if origin in (list, tuple) or _named(origin, "Sequence", "List"):
        if not isinstance(value, list):
            return UNKNOWN_WIRE
        return [conform(item, args[0] if args else Any, depth + 1) for item in value]
    if origin is dict or _named(origin, "Mapping", "dict", "Dict"):
        if not isinstance(value, dict):
            return UNKNOWN_WIRE
        item = args[1] if len(args) > 1 else Any
        return {key: conform(entry, item, depth + 1) for key, entry in value.items()}
    if isinstance(hint, type) and not issubclass(hint, (str, int, float, bool, enum.Enum)):
        nested = _output_properties(hint)
        if nested:
            if not isinstance(value, dict):
                return UNKNOWN_WIRE
            return {key: conform(entry, nested[key], depth + 1) if key in nested else entry
                    for key, entry in value.items()}
    return value


def echoed_inputs(type_: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``inputs`` as a provider echoes them into its outputs: each in the shape the output of the
    same name has (:func:`conform`). Types no installed SDK declares: as they are."""
    cls = resource_class(type_)
    if cls is None:
        return dict(inputs)
    outputs = _output_properties(cls)
    return {key: conform(value, outputs[key]) if key in outputs else value
            for key, value in inputs.items()}


class _Values:
    """Deterministic values shaped by property names, for one resource or call."""

    def __init__(self, context: Any, type_: str, name: str, *, lookup: bool) -> None:
        self.context, self.type, self.name = context, type_, name
        # A data source (``lookup``) returns existing things: every field gets a value. A
        # resource's outputs that its inputs do not set (only asked for as after ``up``; at
        # preview they are unknown) get a shaped value where the cloud assigns an identifier
        # (ARNs, ids, DNS names, endpoints, URLs, addresses), a marked string or an object of
        # them where the program's code may need one, and stay unknown where a rule could judge
        # an invented value (flags, numbers, lists, maps, documents). Marked strings reach the
        # pack as unknown (``is_invented``).
        self.lookup = lookup
        parts = type_.split(":")
        self.service = parts[1].split("/")[0] if len(parts) == 3 else "service"
        self.kind = _snake(parts[-1]).replace("_", "-") if parts else "resource"

    def text(self, salt: str, length: int = 8, alphabet: str = "abcdef0123456789") -> str:
        digest = hashlib.shake_256(f"{self.type}|{self.name}|{salt}".encode()).digest(length)
        return "".join(alphabet[byte % len(alphabet)] for byte in digest)

    def string(self, key: str) -> str:
        shaped = self.shaped(key)
        if shaped is not None:
            return shaped
        # known to the program's code (``Service.get(..., id=release.status.name)`` needs a
        # string after ``up``), unknown to the pack (``is_invented``)
        return f"{INVENTED_MARK}{self.text(key, 12)}"

    def shaped(self, key: str) -> str | None:
        """A value for ``key`` when its name says what the cloud puts there, else None."""
        lowered = key.lower()
        ident = f"{self.name}-{self.text(key, 7)}"
        region, suffix = self.context.region, self.context.dns_suffix
        known = _KNOWN_SHAPES.get((self.service, lowered))
        if known is not None:
            return known.format(account=self.context.account_id, region=region, suffix=suffix,
                                ident=ident, token=self.text(key, 10, "abcdefghijklmnopqrstuvwxyz0123456789"),
                                partition=self.context.partition)
        if _DOCUMENT_NAMES.search(key):
            if not self.lookup:
                return UNKNOWN_WIRE
            # JSON the program can parse, marked so the pack never judges it
            return json.dumps({"Version": "2012-10-17", "Id": f"{INVENTED_MARK}{self.text(key, 12)}",
                               "Statement": []})
        if lowered.endswith("authorizationtoken"):
            token = f"AWS:{INVENTED_MARK}{self.text(key, 24)}"
            return base64.b64encode(token.encode()).decode()
        if lowered == "arn" or lowered.endswith("arn"):
            return self.context.arn(arn_service(self.type), f"{self.kind}/{ident}",
                                    regional=self.service not in _GLOBAL_SERVICES,
                                    with_account=self.service not in _NO_ACCOUNT_SERVICES)
        if lowered.endswith("ipv6address") or lowered.endswith("ipv6"):
            return "fd00::10"
        if lowered.endswith(("ip", "ipaddress", "ipv4address")):
            return "10.0.0.10"
        if lowered in ("region",):
            return region
        if lowered in ("accountid", "ownerid", "owner"):
            return self.context.account_id
        if lowered == "partition":
            return self.context.partition
        if lowered.endswith(("dnsname", "hostname", "endpoint", "address", "domainname")):
            return f"{ident}.{region}.{self.service}.{suffix}"
        if lowered.endswith(("url", "uri")):
            return f"https://{ident}.{region}.{self.service}.{suffix}/"
        if lowered in ("availabilityzone",):
            return f"{region}a"
        if lowered.endswith("cidrblock") or lowered.endswith("cidr"):
            return "10.0.0.0/16"
        if lowered.endswith(("createdate", "createdat", "creationdate", "lastmodified")):
            return "2026-01-01T00:00:00Z"
        if lowered == "id" or lowered.endswith("id"):
            return f"{self.kind[:3]}-{self.text(key, 17)}"
        return None

    def of(self, key: str, hint: Any, depth: int = 0) -> Any:
        if resource_typed(hint):
            return UNKNOWN_WIRE  # a resource reference: unknown, never a made-up object
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin is typing.Union:
            options = [arg for arg in args if arg is not type(None)]
            return self.of(key, options[0], depth) if options else None
        if origin is not None and getattr(origin, "__name__", "") == "Output":
            return self.of(key, args[0] if args else Any, depth)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            # one of the SDK's declared values for a lookup; a resource's: unknown (a setting)
            members = list(hint)
            return members[0].value if self.lookup and members else UNKNOWN_WIRE
        if hint is str or hint is Any:
            return self.string(key)
        if hint in (bool, int, float):
            if not self.lookup:
                return UNKNOWN_WIRE
            return {bool: False, int: 1, float: 1.0}[hint]
        if origin in (list, tuple, typing.Sequence) or (
                origin is not None and getattr(origin, "__name__", "") in ("Sequence", "List")):
            item = args[0] if args else Any
            if not self.lookup:
                return UNKNOWN_WIRE  # unknown, as at preview: never an empty list to index
            if depth >= _MAX_DEPTH:
                return []
            count = 2 if item is str else 1
            return [self.of(f"{key}{index}", item, depth + 1) for index in range(count)]
        if origin is not None and getattr(origin, "__name__", "") in ("Mapping", "dict", "Dict"):
            return {} if self.lookup else UNKNOWN_WIRE  # a resource's map: unknown, never {}
        if isinstance(hint, type) and depth < _MAX_DEPTH:
            nested = _output_properties(hint)
            if nested:
                return {name: self.of(name, sub, depth + 1) for name, sub in nested.items()}
        return self.string(key)


def resource_outputs(context: Any, type_: str, name: str, inputs: Mapping[str, Any], *,
                     identifiers_only: bool = False, read: bool = False) -> dict[str, Any]:
    """A value for every output property of ``type_`` that ``inputs`` does not set; {} when no
    installed SDK declares the type. ``identifiers_only``: only the string outputs the cloud
    assigns (ARNs, ids, DNS names, ...), for a type whose other outputs a hand-written
    synthesizer owns (an absent output there means the default, not "unknown"). ``read``: an
    existing resource looked up (``Service.get``): every output gets a value, as a lookup's."""
    cls = resource_class(type_)
    if cls is None:
        return {}
    values = _Values(context, type_, name, lookup=read)
    found = {}
    for key, hint in _output_properties(cls).items():
        if key in inputs or key in ("id", "urn"):
            continue
        if identifiers_only:
            shaped = values.shaped(key) if _is_text(hint) else None
            if shaped is not None:
                found[key] = shaped
        else:
            found[key] = values.of(key, hint)
    if found.get("tagsAll") == UNKNOWN_WIRE:
        found["tagsAll"] = inputs.get("tags") or {}  # the provider's default tags aside
    return found


def _is_text(hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        return any(_is_text(arg) for arg in args if arg is not type(None))
    if origin is not None and getattr(origin, "__name__", "") == "Output":
        return bool(args) and _is_text(args[0])
    return hint is str


def call_result(context: Any, token: str, args: Mapping[str, Any]) -> dict[str, Any] | None:
    """A value for every field of ``token``'s result (the arguments echoed where they are
    fields); None when no installed SDK declares the function."""
    cls = result_class(token)
    if cls is None:
        return None
    seed = hashlib.sha256(json.dumps(dict(args), sort_keys=True, default=str).encode())
    function = _snake(token.rsplit(":", 1)[-1]).removeprefix("get_").replace("_", "-")
    values = _Values(context, token, f"{function}-{seed.hexdigest()[:6]}", lookup=True)
    values.kind = function  # an ARN names the thing looked up (parameter/...), not the function
    fields = _output_properties(cls)
    result = {key: values.of(key, hint) for key, hint in fields.items()}
    for key, value in args.items():
        if key in result and value is not None:
            echoed = _as_field(value, fields[key])
            if echoed is not _MISFIT:
                result[key] = echoed
    return result


_MISFIT = object()


def _as_field(value: Any, hint: Any) -> Any:
    """An argument echoed into the result field of the same name, as the provider would return
    it: ``"true"``/``"false"`` and number strings as the bool or number the field declares
    (``get_ami(most_recent="true")``: the provider's schema converts, the SDK's result checks the
    type); ``_MISFIT`` when it cannot be that type, or has another container shape."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        options = [arg for arg in args if arg is not type(None)]
        if len(options) != 1:
            return value
        hint = options[0]
    if hint is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        return {"true": True, "false": False}.get(text, _MISFIT) if isinstance(value, str) else _MISFIT
    if hint in (int, float):
        if isinstance(value, bool):
            return _MISFIT
        try:
            number = float(value)
        except (TypeError, ValueError):
            return _MISFIT
        return int(number) if hint is int and number.is_integer() else number
    if hint is str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else str(value) if isinstance(value, (int, float)) else _MISFIT
    conformed = conform(value, hint)
    return _MISFIT if conformed == UNKNOWN_WIRE else conformed
