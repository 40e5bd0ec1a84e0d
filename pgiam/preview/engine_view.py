"""A program run as the Pulumi engine hands it to an analyzer (a policy pack).

* Properties travel as a protobuf ``Struct`` the way the engine marshals them for analyzers
  (``plugin.MarshalProperties`` with unknowns and secrets kept, resources not): an unknown is the
  sentinel string ``04da6b54-...``, a secret the ``{"4dabf1...": "1b4706...", "value": ...}``
  object, and a resource reference is downgraded to its id (custom resources) or URN.
* ``Analyze`` sees a resource's inputs, with its options and its provider (type, URN, name and
  the provider's inputs); ``AnalyzeStack`` sees every resource's outputs with its parent,
  dependencies and property dependencies.
* Resources that name no provider use the package's *default provider*, which the engine
  registers itself from the stack's configuration (``aws:region`` -> ``region``): it is added
  here, ``pulumi:providers:<package>::default[_<version>]``, so providers are analysed as the
  CLI analyses them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pgiam.program.sdk_types import is_invented
from pgiam.program.runner import (
    RESOURCE_REF_SIG,
    SIG_KEY,
    STACK_TYPE,
    UNKNOWN,
    ProgramRun,
    RegisteredResource,
)

PROVIDER_PREFIX = "pulumi:providers:"


def analyzer_value(value: Any) -> Any:
    """``value`` in the form analyzers receive: resource references downgraded; text built from a
    string a data source was given without knowing it (:func:`pgiam.program.sdk_types.is_invented`)
    unknown, so the pack defers the rules that would read it rather than judge an invented value."""
    if is_invented(value):
        return UNKNOWN
    if isinstance(value, Mapping):
        if value.get(SIG_KEY) == RESOURCE_REF_SIG:
            if "id" in value:
                return value["id"] or UNKNOWN
            return value.get("urn", UNKNOWN)
        return {key: analyzer_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [analyzer_value(item) for item in value]
    return value


def to_struct(properties: Mapping[str, Any]) -> Any:
    from google.protobuf import struct_pb2

    struct = struct_pb2.Struct()
    struct.update(analyzer_value(dict(properties)))
    return struct


@dataclass
class EngineResource:
    """A resource of the engine's view: the registration plus the provider it is managed by."""

    resource: RegisteredResource
    provider: RegisteredResource | None = None
    synthetic: bool = False          # a default provider the engine would have registered

    @property
    def urn(self) -> str:
        return self.resource.urn


@dataclass
class EngineView:
    """Every resource of the run in registration order, default providers first of their
    users."""

    project: str
    stack: str
    resources: list[EngineResource] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.resources)


def _package(type_: str) -> str:
    return type_.split(":", 1)[0]


def _default_provider(package: str, version: str, view: EngineView,
                      config: Mapping[str, str]) -> RegisteredResource:
    name = "default" + (f"_{version.replace('.', '_').replace('-', '_')}" if version else "")
    type_ = f"{PROVIDER_PREFIX}{package}"
    inputs: dict[str, Any] = {key.split(":", 1)[1]: value for key, value in config.items()
                              if key.startswith(f"{package}:")}
    if version:
        inputs["version"] = version
    urn = f"urn:pulumi:{view.stack}::{view.project}::{type_}::{name}"
    return RegisteredResource(urn=urn, type=type_, name=name, custom=True, id=UNKNOWN,
                              inputs=inputs, outputs=dict(inputs), version=version)


def _needs_default_provider(resource: RegisteredResource) -> bool:
    if resource.provider or resource.is_provider or resource.type == STACK_TYPE:
        return False
    if _package(resource.type) == "pulumi":
        return False
    return resource.custom or resource.remote


class EngineViewBuilder:
    """Builds the engine's view one registration at a time (in registration order), adding each
    package's default provider before its first user."""

    def __init__(self, project: str, stack: str, config: Mapping[str, str]) -> None:
        self.view = EngineView(project, stack)
        self._config = dict(config)
        self._by_urn: dict[str, RegisteredResource] = {}
        self._defaults: dict[str, RegisteredResource] = {}

    def add(self, resource: RegisteredResource) -> list[EngineResource]:
        """The engine resources ``resource`` brings: a new default provider first, if any."""
        added: list[EngineResource] = []
        provider: RegisteredResource | None = None
        if resource.provider:
            provider = self._by_urn.get(resource.provider_urn)
        elif _needs_default_provider(resource):
            key = f"{_package(resource.type)}@{resource.version}"
            if key not in self._defaults:
                self._defaults[key] = _default_provider(
                    _package(resource.type), resource.version, self.view, self._config)
                added.append(EngineResource(self._defaults[key], synthetic=True))
            provider = self._defaults[key]
        self._by_urn[resource.urn] = resource
        added.append(EngineResource(resource, provider))
        self.view.resources.extend(added)
        return added


def engine_view(run: ProgramRun, config: Mapping[str, str]) -> EngineView:
    """The engine's view of a whole run; ``config`` is the stack configuration (for default
    providers)."""
    builder = EngineViewBuilder(run.project, run.stack, config)
    for resource in run.resources:
        builder.add(resource)
    return builder.view


def _options_message(resource: RegisteredResource) -> Any:
    from pulumi.runtime.proto import analyzer_pb2

    options = resource.options
    message = analyzer_pb2.AnalyzerResourceOptions(
        protect=options.protect,
        ignoreChanges=list(options.ignore_changes),
        deleteBeforeReplace=bool(options.delete_before_replace),
        deleteBeforeReplaceDefined=options.delete_before_replace is not None,
        additionalSecretOutputs=list(options.additional_secret_outputs),
        aliases=list(options.aliases),
        parent=resource.parent)
    if options.custom_timeouts is not None:
        create, update, delete = options.custom_timeouts
        message.customTimeouts.CopyFrom(analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(
            create=create, update=update, delete=delete))
    return message


def _provider_message(provider: RegisteredResource | None) -> Any:
    from pulumi.runtime.proto import analyzer_pb2

    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type, properties=to_struct(provider.inputs), urn=provider.urn,
        name=provider.name)


def analyze_request(item: EngineResource) -> Any:
    """The ``Analyze`` request of one resource: its inputs, options and provider."""
    from pulumi.runtime.proto import analyzer_pb2

    resource = item.resource
    request = analyzer_pb2.AnalyzeRequest(
        type=resource.type, properties=to_struct(resource.inputs), urn=resource.urn,
        name=resource.name, options=_options_message(resource))
    provider = _provider_message(item.provider)
    if provider is not None:
        request.provider.CopyFrom(provider)
    return request


def stack_resource(item: EngineResource) -> Any:
    """One ``AnalyzerResource`` of ``AnalyzeStack``: outputs, parent, dependencies."""
    from pulumi.runtime.proto import analyzer_pb2

    resource = item.resource
    message = analyzer_pb2.AnalyzerResource(
        type=resource.type, properties=to_struct(resource.outputs or resource.inputs),
        urn=resource.urn, name=resource.name, options=_options_message(resource),
        parent=resource.parent, dependencies=list(resource.dependencies))
    for key, urns in resource.property_dependencies.items():
        message.propertyDependencies[key].urns.extend(urns)
    provider = _provider_message(item.provider)
    if provider is not None:
        message.provider.CopyFrom(provider)
    return message


def analyze_stack_request(items: Iterable[EngineResource]) -> Any:
    from pulumi.runtime.proto import analyzer_pb2

    return analyzer_pb2.AnalyzeStackRequest(resources=[stack_resource(item) for item in items])
