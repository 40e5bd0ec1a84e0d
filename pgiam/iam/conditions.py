"""The ``Condition`` element: operators, set qualifiers, ``...IfExists`` and ``Null``.

Semantics (IAM User Guide, "IAM JSON policy elements: Condition operators", "Condition with
multiple context keys or values", "Set operators for multivalued context keys"):

* Operators in a block, and keys under one operator, are ANDed. The values listed for one key
  are ORed; for a negated operator (``StringNotEquals``, ``ArnNotLike``, ``NotIpAddress``, ...)
  they are NORed: "not equal to any of them".
* Condition keys are case-insensitive; values compare case-sensitively unless the operator says
  otherwise (``...IgnoreCase``, ``Bool``).
* A key missing from the request context: the condition is false, except for a negated operator
  (true), ``...IfExists`` (true), ``ForAllValues:`` (true) and ``Null`` (which tests exactly
  that). ``ForAnyValue:`` with a missing key or an empty set is false; ``ForAllValues:`` with an
  empty set is true.
* ``ForAnyValue:`` is true when at least one request value satisfies the operator,
  ``ForAllValues:`` when every one does. An operator without a qualifier on a key the request
  holds several values of is ambiguous (AWS: "multivalued context keys require a condition set
  operator", and documents no reading without one): :func:`evaluate_condition` reads it as the
  caller says (``reading``, any value or every value), and :func:`is_ambiguous` tells the
  evaluation when both readings must be tried.
* Policy variables are substituted in String, Arn and Bool operator values only (the User
  Guide lists these; Numeric, Date, Binary, IP and Null take none).

Operator values are validated when the policy is parsed (numbers, dates, IP ranges, booleans,
base64), so a typo is a :class:`PolicyDocumentError`, never a silent non-match.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pgiam.iam.arn import arn_like_tokens
from pgiam.iam.errors import PolicyDocumentError
from pgiam.iam.variables import (
    MISSING,
    Part,
    parse_template,
    resolve_text,
    resolve_tokens,
)
from pgiam.iam.wildcard import tokens_match

QUALIFIERS = ("ForAnyValue", "ForAllValues")
Reading = Literal["any", "all"]
"""How an unqualified operator reads several request values: satisfied by any, or by every one."""

# base operator -> (family, negated)
OPERATORS: dict[str, tuple[str, bool]] = {
    "StringEquals": ("string", False),
    "StringNotEquals": ("string", True),
    "StringEqualsIgnoreCase": ("string-ci", False),
    "StringNotEqualsIgnoreCase": ("string-ci", True),
    "StringLike": ("string-like", False),
    "StringNotLike": ("string-like", True),
    "NumericEquals": ("numeric-eq", False),
    "NumericNotEquals": ("numeric-eq", True),
    "NumericLessThan": ("numeric-lt", False),
    "NumericLessThanEquals": ("numeric-le", False),
    "NumericGreaterThan": ("numeric-gt", False),
    "NumericGreaterThanEquals": ("numeric-ge", False),
    "DateEquals": ("date-eq", False),
    "DateNotEquals": ("date-eq", True),
    "DateLessThan": ("date-lt", False),
    "DateLessThanEquals": ("date-le", False),
    "DateGreaterThan": ("date-gt", False),
    "DateGreaterThanEquals": ("date-ge", False),
    "Bool": ("bool", False),
    "BinaryEquals": ("binary", False),
    "IpAddress": ("ip", False),
    "NotIpAddress": ("ip", True),
    "ArnEquals": ("arn", False),
    "ArnLike": ("arn", False),
    "ArnNotEquals": ("arn", True),
    "ArnNotLike": ("arn", True),
    "Null": ("null", False),
}
VARIABLE_FAMILIES = {"string", "string-ci", "string-like", "arn", "bool"}
IF_EXISTS = "IfExists"


@dataclass(frozen=True)
class OperatorSpec:
    """An operator as written, split: ``ForAllValues:StringLikeIfExists`` ->
    qualifier ``ForAllValues``, base ``StringLike``, if_exists ``True``."""

    text: str
    qualifier: str | None
    base: str
    if_exists: bool

    @property
    def family(self) -> str:
        return OPERATORS[self.base][0]

    @property
    def negated(self) -> bool:
        return OPERATORS[self.base][1]


def parse_operator(text: str, where: str = "Condition") -> OperatorSpec:
    """Read a condition operator; :class:`PolicyDocumentError` for one IAM does not know."""
    if not isinstance(text, str):
        raise PolicyDocumentError(where, "a condition operator must be a string")
    qualifier: str | None = None
    rest = text
    if ":" in text:
        qualifier, rest = text.split(":", 1)
        if qualifier not in QUALIFIERS:
            raise PolicyDocumentError(
                where,
                f"unknown set qualifier {qualifier!r} in {text!r} "
                "(ForAnyValue or ForAllValues; case-sensitive)",
            )
    if_exists = False
    base = rest
    if rest.endswith(IF_EXISTS) and rest[: -len(IF_EXISTS)] in OPERATORS:
        base, if_exists = rest[: -len(IF_EXISTS)], True
    if base not in OPERATORS:
        raise PolicyDocumentError(where, f"unknown condition operator {text!r}")
    if base == "Null" and if_exists:
        raise PolicyDocumentError(where, "Null has no IfExists form")
    return OperatorSpec(text, qualifier, base, if_exists)


@dataclass(frozen=True)
class Condition:
    """One ``operator: {key: values}`` test. ``values`` are the policy's values as text
    (JSON ``true`` is ``"true"``, ``10`` is ``"10"``)."""

    operator: str
    key: str
    values: tuple[str, ...]
    spec: OperatorSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spec", parse_operator(self.operator))
        where = f"Condition.{self.operator}.{self.key}"
        for value in self.values:
            validate_value(self.spec, value, where)


def _parse_decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None
    return number if number.is_finite() else None


def parse_date(value: Any) -> datetime | None:
    """A date/time from ISO 8601 text (``2019-08-16T12:00:00Z``, ``2019-08-16``) or epoch
    seconds (number or digits); naive times are UTC. ``None`` if unreadable."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    number = _parse_decimal(text) if text[:1].isdigit() or text[:1] == "-" else None
    if number is not None and "T" not in text and ":" not in text and text.count("-") <= 1:
        return _from_epoch(float(number))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _from_epoch(seconds: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _parse_binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def validate_value(spec: OperatorSpec, value: str, where: str) -> None:
    """Refuse a policy value the operator cannot compare with anything."""
    family = spec.family
    problem = None
    if family.startswith("numeric") and _parse_decimal(value) is None:
        problem = f"{value!r} is not a number"
    elif family.startswith("date") and parse_date(value) is None:
        problem = f"{value!r} is not an ISO 8601 date/time or epoch seconds"
    elif family == "bool" and "${" not in value and value.lower() not in ("true", "false"):
        problem = f"{value!r} is not true or false"
    elif family == "null" and value.lower() not in ("true", "false"):
        problem = f"{value!r} is not true or false"
    elif family == "ip" and _parse_network(value) is None:
        problem = f"{value!r} is not an IP address or CIDR range"
    elif family == "binary" and _parse_binary(value) is None:
        problem = f"{value!r} is not base64"
    if problem:
        raise PolicyDocumentError(where, f"{problem} ({spec.base})")


# -- evaluation -------------------------------------------------------------------------------

Lookup = Callable[[str], Any]


def _as_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float, Decimal)):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return None


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        return _parse_decimal(value)
    return None


def _as_ip(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip() if isinstance(value, str) else value)
    except ValueError:
        return None


def _as_bytes(value: Any) -> bytes | None:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return _parse_binary(value)
    return None


ORDERS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def _compare(order: str, left: Any, right: Any) -> bool:
    return bool(ORDERS[order](left, right))


def _positive_match(
    family: str, policy_value: str, parts: tuple[Part, ...], context_value: Any, lookup: Lookup
) -> bool:
    """Whether one context value satisfies one policy value under the operator's positive form."""
    if family in ("string", "string-ci"):
        text = _as_text(context_value)
        if text is None:
            return False
        expected = resolve_text(parts, lookup)
        return text == expected if family == "string" else text.lower() == expected.lower()
    if family == "string-like":
        text = _as_text(context_value)
        return text is not None and tokens_match(resolve_tokens(parts, lookup), text)
    if family == "arn":
        text = _as_text(context_value)
        return text is not None and arn_like_tokens(resolve_tokens(parts, lookup), text)
    if family.startswith("numeric"):
        number = _as_decimal(context_value)
        expected_number = _parse_decimal(policy_value)
        return number is not None and _compare(family[8:], number, expected_number)
    if family.startswith("date"):
        moment = parse_date(context_value)
        expected_moment = parse_date(policy_value)
        return moment is not None and _compare(family[5:], moment, expected_moment)
    if family == "bool":
        text = _as_text(context_value)
        return text is not None and text.lower() == resolve_text(parts, lookup).lower()
    if family == "ip":
        address = _as_ip(context_value)
        network = _parse_network(policy_value)
        return address is not None and network is not None and address in network
    if family == "binary":
        data = _as_bytes(context_value)
        return data is not None and data == _parse_binary(policy_value)
    raise AssertionError(f"no matcher for {family}")


def _value_satisfies(
    condition: Condition, context_value: Any, lookup: Lookup, variables_enabled: bool
) -> bool:
    """One context value against all the policy values: OR, or NOR for a negated operator."""
    family = condition.spec.family
    templates = variables_enabled and family in VARIABLE_FAMILIES
    # Every value is resolved (a list, not a generator): a variable without a value invalidates
    # the statement even when an earlier value would have matched.
    matched = any(
        [
            _positive_match(family, value, parse_template(value, templates), context_value, lookup)
            for value in condition.values
        ]
    )
    return not matched if condition.spec.negated else matched


def _context_values(raw: Any, qualified: bool) -> tuple[Any, ...] | None:
    """A context value as a tuple of values (``None``: the key is absent or null). For a set
    operator an empty string is the empty set ("If the key values in the request resolve to an
    empty data set (for example, an empty string)", IAM User Guide)."""
    if raw is MISSING or raw is None:
        return None
    if isinstance(raw, (list, tuple, set, frozenset)):
        return tuple(raw)
    if qualified and raw == "":
        return ()
    return (raw,)


def is_ambiguous(condition: Condition, lookup: Lookup) -> bool:
    """An operator without ``ForAnyValue:``/``ForAllValues:`` (``Null`` aside) on a key the
    request holds more than one value of."""
    if condition.spec.qualifier is not None or condition.spec.base == "Null":
        return False
    values = _context_values(lookup(condition.key), False)
    return values is not None and len(values) > 1


def evaluate_condition(condition: Condition, lookup: Lookup, variables_enabled: bool = True,
                       reading: Reading = "any") -> bool:
    """Whether one condition holds for a request whose context ``lookup`` reads (case-insensitive
    key, ``MISSING`` when absent); ``reading`` decides an unqualified operator on several values
    (:func:`is_ambiguous`)."""
    spec = condition.spec
    values = _context_values(lookup(condition.key), spec.qualifier is not None)
    if spec.base == "Null":
        absent = values is None or len(values) == 0
        return any((value.lower() == "true") == absent for value in condition.values)
    if values is None or (len(values) == 0 and spec.qualifier is None):
        if spec.qualifier == "ForAllValues" or spec.if_exists:
            return True
        if spec.qualifier == "ForAnyValue":
            return False
        return spec.negated
    if spec.qualifier == "ForAllValues" or (spec.qualifier is None and reading == "all"):
        return all(_value_satisfies(condition, v, lookup, variables_enabled) for v in values)
    return any(_value_satisfies(condition, v, lookup, variables_enabled) for v in values)
