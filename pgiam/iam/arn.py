"""ARNs: parsing, the ``Resource`` element's matching, and the ``Arn*`` condition operators.

``arn:partition:service:region:account-id:resource`` is split on its first five colons; the
resource part keeps any further colons (``dbuser:cluster-ABC/app_user``).

policyuniverse's ``ARN`` class is not used here, on purpose: its regular expression accepts only
an empty, ``*``, 12-digit, ``aws`` or ``cloudfront`` account field (so it refuses the patterns
policies hold, such as ``12345678901?``), it does not split the resource into type and id, and
importing it loads its whole action database (about 170 ms, measured). The split below is the
ARN grammar itself; the two wildcard semantics are written from the IAM User Guide because no
library implements them exactly (parliament's ``is_arn_match`` treats empty fields as wildcards).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from pgiam.iam.wildcard import Token, Wildcard, compile_tokens, tokenize

ARN_FIELDS = 6


class ArnError(ValueError):
    """Text that is not an ARN."""


@dataclass(frozen=True)
class Arn:
    """The five fields of an ARN after ``arn:``."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @property
    def resource_type(self) -> str:
        """The resource part up to its first ``/`` or ``:`` (``role``, ``dbuser``, ...)."""
        return re.split(r"[/:]", self.resource, maxsplit=1)[0]

    @property
    def resource_id(self) -> str:
        """The resource part after its type and separator ('' when it has none)."""
        parts = re.split(r"[/:]", self.resource, maxsplit=1)
        return parts[1] if len(parts) == 2 else ""

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


@functools.lru_cache(maxsize=4096)
def parse_arn(arn: str) -> Arn:
    """Split an ARN into its fields; :class:`ArnError` if it is not ``arn:`` + five fields."""
    if not isinstance(arn, str):
        raise ArnError(f"an ARN must be a string, not {type(arn).__name__}")
    fields = arn.split(":", ARN_FIELDS - 1)
    if len(fields) != ARN_FIELDS or fields[0] != "arn":
        raise ArnError(f"{arn!r} is not an ARN (arn:partition:service:region:account:resource)")
    _, partition, service, region, account, resource = fields
    if not partition or not service or not resource:
        raise ArnError(f"{arn!r} is not an ARN: partition, service and resource must be set")
    return Arn(partition, service, region, account, resource)


def is_arn(text: str) -> bool:
    """Whether ``text`` parses as an ARN."""
    try:
        parse_arn(text)
    except ArnError:
        return False
    return True


def split_arn_tokens(tokens: tuple[Token, ...]) -> list[tuple[Token, ...]] | None:
    """Split a token pattern on its first five literal colons (``None``: fewer than five)."""
    fields: list[list[Token]] = [[]]
    for token in tokens:
        if isinstance(token, Wildcard) or len(fields) == ARN_FIELDS:
            fields[-1].append(token)
            continue
        pieces = token.split(":", ARN_FIELDS - len(fields))
        for index, piece in enumerate(pieces):
            if index:
                fields.append([])
            if piece:
                fields[-1].append(piece)
    if len(fields) != ARN_FIELDS:
        return None
    return [tuple(field) for field in fields]


def arn_like_tokens(tokens: tuple[Token, ...], arn: str) -> bool:
    """``ArnLike``/``ArnEquals``: each of the six colon-delimited components is compared on its
    own, with ``*`` and ``?`` wildcards, case-sensitively (IAM User Guide, "Condition operators",
    ARN condition operators). A value or pattern without six components does not match."""
    pattern_fields = split_arn_tokens(tokens)
    value_fields = arn.split(":", ARN_FIELDS - 1)
    if pattern_fields is None or len(value_fields) != ARN_FIELDS:
        return False
    return all(
        compile_tokens(field).fullmatch(value) is not None
        for field, value in zip(pattern_fields, value_fields, strict=False)
    )


def arn_matches(pattern: str, arn: str) -> bool:
    """``ArnLike`` semantics for a plain pattern (no policy variables)."""
    return arn_like_tokens(tokenize(pattern), arn)


@functools.lru_cache(maxsize=8192)
def _resource_regex(tokens: tuple[Token, ...]) -> re.Pattern[str]:
    parts: list[str] = []
    for index, token in enumerate(tokens):
        if token is Wildcard.ANY_RUN:
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            ends_segment = following is None or (isinstance(following, str) and following.startswith(":"))
            parts.append(".*" if ends_segment else "[^:]*")
        elif token is Wildcard.ANY_CHAR:
            parts.append("[^:]")
        else:
            parts.append(re.escape(token))
    return re.compile("".join(parts), re.DOTALL)


def resource_tokens_match(tokens: tuple[Token, ...], resource: str) -> bool:
    """The ``Resource``/``NotResource`` element's matching (IAM User Guide, "IAM JSON policy
    elements: Resource"): wildcards work within the colon-separated segments; a ``*`` that is the
    last character of a segment "can expand to match beyond the colon boundaries", any other
    ``*`` and every ``?`` stay within their segment. Case-sensitive. ``"*"`` matches anything.
    """
    return _resource_regex(tokens).fullmatch(resource) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    """``Resource`` element semantics for a plain pattern (no policy variables)."""
    return resource_tokens_match(tokenize(pattern), resource)
