"""Unique stack names: ``<prefix>-<UTC time>-<random>``, e.g. ``e2e-20261129t011800-k3x9qa``.

The time makes leftovers sortable and lets ``--sweep --older-than`` judge a stack's age from its
name alone (on AWS there is nothing else to go by before selecting it); the random part keeps
runs started in the same second (CI matrix, xdist) apart. Lower-case only: the name ends up in
tags, directory names and Kubernetes-style labels.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from pgiam.errors import PgiamError

# The tag every AWS resource of an e2e stack carries (through aws:defaultTags), by which teardown
# finds leftovers.
STACK_TAG = "pgiam-e2e-stack"
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,23}$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_TIME_FORMAT = "%Y%m%dt%H%M%S"
SUFFIX_LENGTH = 6


@dataclass(frozen=True)
class StackName:
    prefix: str
    created: datetime
    suffix: str

    def __str__(self) -> str:
        return f"{self.prefix}-{self.created.strftime(_TIME_FORMAT)}-{self.suffix}"

    def age_hours(self, now: datetime | None = None) -> float:
        now = now or datetime.now(timezone.utc)
        return (now - self.created).total_seconds() / 3600.0


def check_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise PgiamError(f"--stack-prefix {prefix!r}: use 1 to 24 lower-case letters, digits or "
                         "'-', starting with a letter")
    return prefix


def new_stack_name(prefix: str, now: datetime | None = None) -> StackName:
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(SUFFIX_LENGTH))
    return StackName(check_prefix(prefix), now, suffix)


def parse_stack_name(text: str, prefix: str) -> StackName | None:
    """The parts of a name this module made with ``prefix``; None for any other name."""
    match = re.fullmatch(re.escape(prefix) + r"-(\d{8}t\d{6})-([a-z0-9]{%d})" % SUFFIX_LENGTH,
                         text)
    if match is None:
        return None
    created = datetime.strptime(match.group(1), _TIME_FORMAT).replace(tzinfo=timezone.utc)
    return StackName(prefix, created, match.group(2))
