"""The stack configuration an e2e run sets itself, per target (docs/e2e.md, step 1). A user's
``--config`` may set any other key (a namespace, a service account, a database user...), never
one of these: the run's value would silently win, or the run would stop working (a password it
does not know, a CA bundle that does not sign its database)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from pgiam.errors import PgiamError
from pgiam.program.config_reads import ConfigRead, required_keys, required_secrets

# Project keys without namespace; provider keys with theirs.
RUN_KEYS: dict[str, tuple[str, ...]] = {
    "local": ("aws:region", "aws:defaultTags", "environment", "masterPassword", "dbCaBundle",
              "dbCaBundleFile"),
    "aws": ("aws:region", "aws:defaultTags", "environment", "masterPassword", "dbCaBundleFile",
            "dbAllowedCidrs"),
}


def run_config_keys(project: Any, target: str) -> set[str]:
    """The full keys (``iam-postgres:masterPassword``) the run sets on ``target``."""
    return {project.full_key(key) for key in RUN_KEYS[target]}


def _given(project: Any, given: Iterable[str]) -> set[str]:
    defaults = {key for key, declaration in project.declarations.items()
                if declaration.has_default}
    return {project.full_key(key) for key in given} | defaults


def throwaway_secrets(project: Any, given: Iterable[str]) -> dict[str, str]:
    """A fresh random value for every secret the program requires and nobody gave: an ephemeral
    stack's passwords are the run's own, used once and dropped with the stack."""
    known = _given(project, given)
    return {key: secrets.token_urlsafe(24) for key in required_secrets(project)
            if key not in known}


def missing_plain_config(project: Any, given: Iterable[str]) -> list[ConfigRead]:
    """Required keys that are not secret and that neither the user nor the run sets."""
    known = _given(project, given)
    return [read for key, read in required_keys(project).items()
            if not read.secret and key not in known]


def check_required_config(project: Any, user_keys: Iterable[str], target: str) -> None:
    """Refuse, in one line, a run whose program requires configuration nobody sets."""
    missing = missing_plain_config(project, [*user_keys, *run_config_keys(project, target)])
    if missing:
        named = ", ".join(f"{read.key} ({read.where})" for read in missing)
        example = missing[0].key
        raise PgiamError(f"the program requires configuration this run does not set: {named}; "
                         f"pass it with --config {example}=VALUE")
