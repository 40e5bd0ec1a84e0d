"""Exempting a stack or a resource from one policy, with a reason, without turning it off.

Some databases cannot use IAM authentication (a password-only application such as WordPress);
whether one may run without it is a policy decision, taken in one of two places:

* the pack's configuration, per policy: ``{"rds-iam-auth-enabled": {"exemptions": [{"stacks":
  ["blog-*"], "resources": ["wordpress-db"], "reason": "WordPress logs in with a password"}]}}``.
  An entry applies when the stack matches one of its ``stacks`` and the resource one of its
  ``resources`` (a missing list matches everything; at least one is required). A resource
  pattern with ``::`` is matched against the URN, any other against the resource's name.
* the resource itself: the AWS tag ``pgiam:exempt`` (or the Kubernetes annotation
  ``pgiam/exempt``) ``"<policy> [<policy> ...]: <reason>"``. AWS tag values allow no comma, so
  policies are separated by spaces (commas are accepted too, for annotations).

Only the named policies are lifted, only on the resource a violation names. A tag that names a
policy but gives no reason exempts nothing; the violation says why. Hand-written: CrossGuard has
no per-resource exemptions.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from typing import Any

TAG = "pgiam:exempt"
ANNOTATION = "pgiam/exempt"
_SEPARATOR = re.compile(r"[\s,]+")


def _marker(props: Mapping[str, Any]) -> str | None:
    for key in ("tags", "tagsAll"):
        tags = props.get(key)
        if isinstance(tags, Mapping) and isinstance(tags.get(TAG), str):
            return tags[TAG]
    metadata = props.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if isinstance(annotations, Mapping) and isinstance(annotations.get(ANNOTATION), str):
        return annotations[ANNOTATION]
    return None


def tag_exemption(policy: str, props: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether the resource's own tag exempts it from ``policy``: (exempt, reason or problem).
    ``(False, "")`` when the tag does not name the policy."""
    marker = _marker(props)
    if marker is None:
        return False, ""
    names, _, reason = marker.partition(":")
    if policy not in _SEPARATOR.split(names.strip()):
        return False, ""
    if not reason.strip():
        return False, (f"its {TAG} tag names {policy} but gives no reason "
                       f"(\"{policy}: <why this resource is exempt>\"), so it is not exempt")
    return True, reason.strip()


def _matches(patterns: Sequence[str] | None, *values: str) -> bool:
    if patterns is None:
        return True
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns for value in values)


def config_exemption(exemptions: Any, stack: str, urn: str, name: str) -> str | None:
    """The reason of the first configured exemption covering the resource ``urn`` on ``stack``."""
    for entry in exemptions or ():
        if not isinstance(entry, Mapping) or not entry.get("reason"):
            continue
        stacks, patterns = entry.get("stacks"), entry.get("resources")
        if stacks is None and patterns is None:
            continue
        by_urn = [p for p in patterns or () if "::" in p] if patterns is not None else None
        by_name = [p for p in patterns or () if "::" not in p] if patterns is not None else None
        resource_ok = patterns is None or _matches(by_urn, urn) or _matches(
            by_name, name or urn.rsplit("::", 1)[-1])
        if _matches(stacks, stack) and resource_ok:
            return str(entry["reason"])
    return None
