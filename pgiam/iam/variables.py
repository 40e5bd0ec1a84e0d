"""IAM policy variables: ``${aws:username}``, ``${key, 'default'}`` and the ``${*}``, ``${?}``,
``${$}`` escapes (IAM User Guide, "IAM policy elements: Variables and tags").

Variables are read only in policies whose ``Version`` is ``2012-10-17``; in older policies the
text is literal. A template is parsed once into parts and resolved per request into wildcard
tokens (see :mod:`pgiam.iam.wildcard`), so a substituted value and an escaped ``${*}`` are
literal text, never wildcards. No library implements this; it is written here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pgiam.iam.wildcard import Token, tokenize

ESCAPES = {"*": "*", "?": "?", "$": "$"}
MISSING: Any = object()  # what a context lookup returns for a key the request does not carry

# ${name} or ${name, 'default'}; a quote inside the default is written twice ('').
_VARIABLE = re.compile(r"\$\{\s*(?P<name>[^,}'\s][^,}']*?)\s*(?:,\s*'(?P<default>(?:[^']|'')*)'\s*)?\}")


@dataclass(frozen=True)
class Variable:
    """A ``${name}`` reference, optionally with a default used when the key has no value."""

    name: str
    default: str | None = None


@dataclass(frozen=True)
class Escaped:
    """A character written as ``${*}``, ``${?}`` or ``${$}``: always literal."""

    char: str


Part = str | Variable | Escaped  # str: pattern text in which * and ? are wildcards


class UnresolvedVariable(LookupError):
    """A variable with no value in the request context and no default.

    AWS: "any attempt to match it fails and causes the statement to be invalid", so the
    statement that holds it does not apply.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@functools.lru_cache(maxsize=8192)
def parse_template(text: str, variables_enabled: bool) -> tuple[Part, ...]:
    """Split ``text`` into literal pattern text, variables and escapes."""
    if not variables_enabled or "${" not in text:
        return (text,)
    parts: list[Part] = []
    position = 0
    for match in _VARIABLE.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        name = match.group("name")
        default = match.group("default")
        if default is None and name in ESCAPES:
            parts.append(Escaped(ESCAPES[name]))
        else:
            parts.append(Variable(name, None if default is None else default.replace("''", "'")))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return tuple(parts)


def template_variables(parts: tuple[Part, ...]) -> tuple[Variable, ...]:
    """The variables a template refers to (for linting and documentation)."""
    return tuple(part for part in parts if isinstance(part, Variable))


def variable_text(value: Any) -> str | None:
    """A context value as the text IAM substitutes; ``None`` when it cannot be one.

    Multivalued keys cannot be policy variables (IAM User Guide, "Single-valued vs. multivalued
    context keys").
    """
    if value is MISSING or value is None or isinstance(value, (list, tuple, set, frozenset)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def resolve_tokens(parts: tuple[Part, ...], lookup: Callable[[str], Any]) -> tuple[Token, ...]:
    """Wildcard tokens for a template under a request; raises :class:`UnresolvedVariable`."""
    tokens: list[Token] = []
    for part in parts:
        if isinstance(part, str):
            tokens.extend(tokenize(part))
        elif isinstance(part, Escaped):
            tokens.append(part.char)
        else:
            text = variable_text(lookup(part.name))
            if text is None:
                if part.default is None:
                    raise UnresolvedVariable(part.name)
                text = part.default
            tokens.append(text)
    return _merge_literals(tokens)


def resolve_text(parts: tuple[Part, ...], lookup: Callable[[str], Any]) -> str:
    """The template as plain text (wildcard characters kept as characters)."""
    return "".join(
        token if isinstance(token, str) else token.value for token in resolve_tokens(parts, lookup)
    )


def _merge_literals(tokens: list[Token]) -> tuple[Token, ...]:
    merged: list[Token] = []
    for token in tokens:
        if isinstance(token, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + token
        elif not (isinstance(token, str) and token == ""):
            merged.append(token)
    return tuple(merged)
