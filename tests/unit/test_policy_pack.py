"""The pack's catalogue: every policy documented in the README's table with its default level,
names unique; a rule that fails on an unexpected shape reports a violation instead of crashing.
(The pack as pulumi-policy serves it is tested in tests/integration/test_preview_protocol.py:
importing pulumi-policy costs a unit worker half a second.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from iamdb_rules.catalog import RULES
from iamdb_rules.model import Resource, Rule

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


def _failing_check(subject, ctx):
    yield from ()
    raise TypeError("'int' object is not iterable")


@pytest.mark.parametrize("kind, subject, urn", [
    ("resource", Resource("aws:iam/role:Role", "urn:pulumi:dev::p::aws:iam/role:Role::r"),
     "urn:pulumi:dev::p::aws:iam/role:Role::r"),
    ("stack", [Resource("aws:iam/role:Role", "urn:pulumi:dev::p::aws:iam/role:Role::r"),
               Resource("pulumi:pulumi:Stack", "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev")],
     "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev"),
], ids=["resource-rule", "stack-rule"])
def test_a_rule_that_fails_is_a_violation_on_its_subject_not_a_crash(kind, subject, urn):
    rule = Rule("always-fails", "fails", kind, "mandatory", _failing_check)
    violations, deferred = rule.run(subject)
    assert deferred == [] and [v.urn for v in violations] == [urn]
    assert "TypeError: 'int' object is not iterable" in violations[0].message
    assert "not known to comply" in violations[0].message
