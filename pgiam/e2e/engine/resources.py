"""The registry of what the local engine can create: resource type token -> a handler with
``create`` (make it for real, return its id, outputs and what delete needs), ``delete`` and
``exists`` (used to verify teardown), and data source token -> an answer function.

Handlers live in modules named for their service (``aws_ec2``, ``aws_iam``, ``aws_rds``,
``eks``, ``postgresql``, ``kubernetes``) and register with :func:`handles` / :func:`answers`;
this module is the contract below them and imports none of them (``catalog`` loads them and
answers look-ups). A type nobody registered is refused by :class:`UnknownResourceType`, naming it: a program that
needs something the engine cannot make must fail at deploy, never pass by skipping it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pgiam.errors import PgiamError

if TYPE_CHECKING:
    from pgiam.e2e.engine.context import EngineContext
    from pgiam.e2e.engine.state import ResourceEntry


class EngineError(PgiamError):
    """The engine could not create or delete a resource (the message names it)."""


class DeferredToServer(EngineError):
    """A delete that cannot run in this process (it needs a secret only the deploying process
    held); the resource lives inside a server that is removed as a whole later."""


class UnknownResourceType(EngineError):
    def __init__(self, type_: str, name: str) -> None:
        known = ", ".join(sorted(HANDLERS))
        super().__init__(f"the local engine cannot create {name!r}: resource type {type_!r} is "
                         f"not supported (it knows: {known})")
        self.type = type_


class UnknownDataSource(EngineError):
    def __init__(self, token: str) -> None:
        super().__init__(f"the local engine cannot answer the data source {token!r} (it knows: "
                         f"{', '.join(sorted(DATA_SOURCES))})")
        self.token = token


@dataclass
class CreateRequest:
    """One registration as a handler sees it."""

    type: str
    name: str                              # the logical name
    inputs: dict[str, Any]                 # secrets unwrapped
    secret_inputs: frozenset[str]          # top-level keys that were secret
    provider: Mapping[str, Any] | None     # the explicit provider's inputs (unwrapped), if any
    provider_id: str = ""

    def autoname(self, key: str = "name", *, lower: bool = False, max_length: int = 255,
                 separator: str = "-") -> str:
        """The input ``key`` when the program set it, else Pulumi's auto-name
        ``<logical name>-<7 random hex>`` (lower-cased where AWS wants it)."""
        value = self.inputs.get(key)
        if isinstance(value, str) and value:
            return value
        prefix = self.inputs.get(f"{key}Prefix")
        base = prefix if isinstance(prefix, str) and prefix else f"{self.name}{separator}"
        name = f"{base}{secrets.token_hex(4)[:7]}"[:max_length]
        return name.lower() if lower else name


@dataclass
class Created:
    id: str
    outputs: dict[str, Any]                # computed outputs (engine names); inputs are added
    data: dict[str, Any] = field(default_factory=dict)   # what delete/exists need; no secrets
    # Top-level outputs that are secrets although the program did not wrap them (a Kubernetes
    # Secret's data): the state file shows them redacted.
    secret_outputs: frozenset[str] = frozenset()


class Handler(Protocol):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created: ...

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None: ...

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool: ...


DataSource = Callable[["EngineContext", Mapping[str, Any], "Mapping[str, Any] | None"],
                      dict[str, Any]]

HANDLERS: dict[str, Handler] = {}
DATA_SOURCES: dict[str, DataSource] = {}


def handles(*types: str) -> Callable[[type], type]:
    """Class decorator: register an instance of the handler class for ``types``."""
    def register(cls: type) -> type:
        instance = cls()
        for type_ in types:
            HANDLERS[type_] = instance
        return cls
    return register


def answers(*tokens: str) -> Callable[[DataSource], DataSource]:
    def register(fn: DataSource) -> DataSource:
        for token in tokens:
            DATA_SOURCES[token] = fn
        return fn
    return register


def provider_id(reference: str) -> str:
    """A provider reference ``urn:...::name::<id>`` -> ``<id>``."""
    return reference.rsplit("::", 1)[-1] if reference else ""
