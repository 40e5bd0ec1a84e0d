"""The stack configuration an e2e run sets itself, per target (docs/e2e.md, step 1). A user's
``--config`` may set any other key (a namespace, a service account, a database user...), never
one of these: the run's value would silently win, or the run would stop working (a password it
does not know, a CA bundle that does not sign its database)."""

from __future__ import annotations

from typing import Any

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
