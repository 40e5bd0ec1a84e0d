"""IAM wildcard patterns: ``*`` matches any run of characters (also none), ``?`` exactly one.

Hand-written on purpose: ``fnmatch`` gives ``[...]`` a meaning IAM does not have, and the matchers
other libraries ship (moto's) build an unescaped regular expression, so a ``.`` or ``+`` in a
policy changes what matches. Here every character but ``*`` and ``?`` is literal.

A pattern is compiled to a tuple of tokens: a plain ``str`` is literal text, a :class:`Wildcard`
member is a wildcard. Policy variables and their escapes (``${*}`` is a literal star) are
substituted at the token level, so a substituted value is never re-read as a wildcard.
"""

from __future__ import annotations

import enum
import functools
import re


class Wildcard(enum.Enum):
    """A wildcard token (as opposed to a literal ``"*"`` string token)."""

    ANY_RUN = "*"
    ANY_CHAR = "?"


Token = str | Wildcard
WILDCARD_CHARS = {"*": Wildcard.ANY_RUN, "?": Wildcard.ANY_CHAR}


def tokenize(pattern: str) -> tuple[Token, ...]:
    """Split a plain wildcard pattern (no policy variables) into tokens."""
    tokens: list[Token] = []
    literal: list[str] = []
    for char in pattern:
        wildcard = WILDCARD_CHARS.get(char)
        if wildcard is None:
            literal.append(char)
            continue
        if literal:
            tokens.append("".join(literal))
            literal.clear()
        tokens.append(wildcard)
    if literal:
        tokens.append("".join(literal))
    return tuple(tokens)


@functools.lru_cache(maxsize=8192)
def compile_tokens(tokens: tuple[Token, ...], case_sensitive: bool = True) -> re.Pattern[str]:
    """A regular expression that fully matches what ``tokens`` match (every literal escaped)."""
    parts = []
    for token in tokens:
        if token is Wildcard.ANY_RUN:
            parts.append(".*")
        elif token is Wildcard.ANY_CHAR:
            parts.append(".")
        else:
            parts.append(re.escape(token))
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    return re.compile("".join(parts), flags)


def tokens_match(tokens: tuple[Token, ...], value: str, *, case_sensitive: bool = True) -> bool:
    """Whether ``value`` as a whole matches the token pattern."""
    return compile_tokens(tokens, case_sensitive).fullmatch(value) is not None


def tokens_text(tokens: tuple[Token, ...]) -> str:
    """The tokens as literal text (wildcards as their characters): for exact comparisons."""
    return "".join(t.value if isinstance(t, Wildcard) else t for t in tokens)


@functools.lru_cache(maxsize=8192)
def _compile_pattern(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    return compile_tokens(tokenize(pattern), case_sensitive)


def wildcard_match(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """Whether ``value`` matches the IAM wildcard ``pattern`` (``*`` any run, ``?`` one char).

    Every other character is literal, including regex metacharacters and ``[``.
    """
    return _compile_pattern(pattern, case_sensitive).fullmatch(value) is not None


def has_wildcard(text: str) -> bool:
    """Whether ``text`` contains an IAM wildcard character."""
    return "*" in text or "?" in text


def action_matches(pattern: str, action: str) -> bool:
    """Whether the ``Action`` entry ``pattern`` covers ``action`` (``service:Name``).

    IAM compares actions case-insensitively: ``S3:getobject`` is ``s3:GetObject``.
    """
    return wildcard_match(pattern, action, case_sensitive=False)
