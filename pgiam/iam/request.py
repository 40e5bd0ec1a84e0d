"""A request as the engine sees it: action, resource, principal and context keys."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from pgiam.iam.principals import Principal
from pgiam.iam.variables import MISSING

ContextValue = str | bool | int | float | datetime | bytes | Sequence[Any]


@dataclass(frozen=True)
class Request:
    """``action`` (``service:Name``), ``resource`` (an ARN, or ``"*"`` when the action has none),
    the calling ``principal`` (``None``: anonymous), and the ``context`` keys with their values
    (a list or tuple for a multivalued key). Context key names are case-insensitive."""

    action: str
    resource: str
    principal: Principal | None = None
    context: Mapping[str, ContextValue] = field(default_factory=lambda: MappingProxyType({}))

    @functools.cached_property
    def _folded_context(self) -> dict[str, Any]:
        return {str(key).lower(): value for key, value in self.context.items()}

    def context_value(self, key: str) -> Any:
        """The context value of ``key`` (case-insensitive); ``MISSING`` when absent."""
        return self._folded_context.get(key.lower(), MISSING)
