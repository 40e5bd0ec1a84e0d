"""How other parts of the harness plug into the daemon (the RDS side of issue #5 is one).

An extension is a module named in ``EXTENSION_MODULES`` with a ``create_extension()`` returning an
:class:`Extension`. The daemon calls ``start(cloud)`` on each, in order, after its servers are
bound and before ``up`` reports ready (an exception fails ``up`` with its message), merges
``info()`` into the ``up`` JSON under ``"extensions"``, and calls ``stop()`` in reverse order
on shutdown. What an extension needs from the cloud is the :class:`Cloud` it is given.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pgiam.localcloud.ca import CertificateAuthority
from pgiam.localcloud.gateway import HandlerRegistry
from pgiam.localcloud.identity import IdentityDirectory
from pgiam.localcloud.processes import ProcessRegistry
from pgiam.localcloud.statedir import StateDir

# modules imported by the daemon, in start order (`up --extension MODULE` adds more, for tests)
EXTENSION_MODULES: tuple[str, ...] = ("pgiam.localcloud.rds", "pgiam.localcloud.pod_identity")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
RESERVED_NAMES = frozenset({"processes"})


@runtime_checkable
class Extension(Protocol):
    name: str

    def start(self, cloud: Cloud) -> None: ...
    def stop(self) -> None: ...
    def info(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Cloud:
    """What the daemon offers an extension."""

    region: str
    account_id: str
    partition: str
    endpoint_url: str
    issuer: str
    state: StateDir
    ca: CertificateAuthority
    gateway: HandlerRegistry
    identity: IdentityDirectory
    processes: ProcessRegistry

    @property
    def state_dir(self) -> Path:
        return self.state.path

    @property
    def ca_bundle(self) -> Path:
        return self.state.ca_cert

    def directory(self, name: str) -> Path:
        """``state_dir/<name>``, created if missing (the extension sets modes and owner)."""
        if not NAME_PATTERN.match(name) or name in RESERVED_NAMES:
            raise ValueError(f"directory name {name!r} must match {NAME_PATTERN.pattern}")
        return self.state.directory(name)

    @staticmethod
    def logger(name: str) -> logging.Logger:
        """A logger whose records go to the daemon log. Never log a token or a secret."""
        return logging.getLogger(f"pgiam.localcloud.{name}")


class ExtensionError(Exception):
    """An extension could not be loaded or started; the message says which and why."""


def load_extensions(modules: tuple[str, ...] = EXTENSION_MODULES) -> list[Extension]:
    """Import each module and create its extension. A module that is not installed is an error,
    not a silent skip: a local cloud without its database side would fail later and obscurely."""
    extensions: list[Extension] = []
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ExtensionError(f"extension module {module_name} cannot be imported: {exc}") from exc
        factory = getattr(module, "create_extension", None)
        if not callable(factory):
            raise ExtensionError(f"extension module {module_name} has no create_extension()")
        extension = factory()
        if not isinstance(extension, Extension):
            raise ExtensionError(f"{module_name}.create_extension() returned {type(extension).__name__}, "
                                 "which lacks name/start/stop/info")
        if not NAME_PATTERN.match(extension.name) or extension.name in RESERVED_NAMES:
            raise ExtensionError(f"extension name {extension.name!r} (from {module_name}) must match "
                                 f"{NAME_PATTERN.pattern}")
        if any(other.name == extension.name for other in extensions):
            raise ExtensionError(f"two extensions are named {extension.name!r}")
        extensions.append(extension)
    return extensions
