"""The pack's catalogue: every policy documented in the README's table with its default level,
names unique. (The pack as pulumi-policy serves it is tested in
tests/integration/test_preview_protocol.py: importing pulumi-policy costs a unit worker half a
second.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

from iamdb_rules.catalog import RULES

ROOT = Path(__file__).resolve().parents[2]


def test_readme_table_lists_every_policy_with_its_default_level():
    readme = (ROOT / "policies" / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z0-9-]+)` \|.*\| (mandatory|advisory) \|", readme, re.MULTILINE)
    assert sorted(rows) == sorted((rule.name, rule.enforcement) for rule in RULES)


def test_catalogue_policy_names_are_unique_and_documented():
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert all(rule.description and rule.kind in ("resource", "stack") for rule in RULES)
    json.dumps({rule.name: dict(rule.config) for rule in RULES})
