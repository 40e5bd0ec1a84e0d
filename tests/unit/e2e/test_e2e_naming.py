"""Stack names: unique, sortable by time, parsed back for --sweep."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pgiam.e2e.naming import new_stack_name, parse_stack_name
from pgiam.errors import PgiamError

WHEN = datetime(2026, 11, 29, 1, 18, 0, tzinfo=timezone.utc)


def test_name_is_prefix_time_and_random_suffix():
    name = str(new_stack_name("e2e", WHEN))
    assert name.startswith("e2e-20261129t011800-")
    assert len(name.rsplit("-", 1)[1]) == 6


def test_two_names_made_in_the_same_second_differ():
    assert len({str(new_stack_name("e2e", WHEN)) for _ in range(20)}) == 20


def test_a_made_name_parses_back_with_its_time():
    parsed = parse_stack_name(str(new_stack_name("nightly", WHEN)), "nightly")
    assert parsed is not None and parsed.created == WHEN
    assert parsed.age_hours(datetime(2026, 11, 29, 3, 18, tzinfo=timezone.utc)) == 2.0


@pytest.mark.parametrize("text", ["e2e", "e2e-20261129t011800", "other-20261129t011800-abcdef",
                                  "e2e-20261129t011800-abcdef-x", "e2e-2026112t011800-abcdef"])
def test_names_not_made_with_the_prefix_are_not_ours(text):
    assert parse_stack_name(text, "e2e") is None


@pytest.mark.parametrize("prefix", ["", "E2E", "1e2e", "e2e_x", "a" * 25, "e2e/x"])
def test_bad_prefixes_are_refused_with_the_option_named(prefix):
    with pytest.raises(PgiamError, match="--stack-prefix"):
        new_stack_name(prefix, WHEN)


class _Project:
    name = "iam-postgres"

    def full_key(self, key: str) -> str:
        return key if ":" in key else f"{self.name}:{key}"


def test_config_is_taken_with_the_projects_namespace_and_run_keys_are_refused():
    from pgiam.e2e.cli import _user_config
    from pgiam.errors import PgiamError

    assert _user_config(_Project(), ["namespace=payments", "aws:profile=x"], "local") == {
        "iam-postgres:namespace": "payments", "aws:profile": "x"}
    for key, target in (("masterPassword", "local"), ("aws:region", "aws"),
                        ("dbAllowedCidrs", "aws"), ("dbCaBundle", "local")):
        with pytest.raises(PgiamError, match="set by the e2e run itself"):
            _user_config(_Project(), [f"{key}=v"], target)
