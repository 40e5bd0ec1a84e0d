"""``pgiam preview`` with exemptions (``exemptions`` in the pack configuration, the
``pgiam:exempt`` tag), in both modes, on ``programs/exemptions_mistakes``: an exempted resource
loses only the policy it is exempted from; everything else is still reported."""

from __future__ import annotations

import json

import pytest

from preview_runner import PROGRAMS, preview

PROGRAM = PROGRAMS / "exemptions_mistakes"
INSTANCE, CLUSTER = "aws:rds/instance:Instance", "aws:rds/cluster:Cluster"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:dev::exemptions-mistakes::{type_}::{name}"


NOT_EXEMPT = {
    ("rds-iam-auth-enabled", urn(CLUSTER, "wiki-tag-without-reason")),
    ("rds-iam-auth-enabled", urn(CLUSTER, "shop-other-rule-tag")),
    ("rds-not-publicly-accessible", urn(INSTANCE, "forum-public-db")),
}
WORDPRESS = ("rds-iam-auth-enabled", urn(INSTANCE, "wordpress-db"))


@pytest.fixture
def policy_config(tmp_path):
    def write(config: dict) -> str:
        path = tmp_path / "policy-config.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        return str(path)
    return write


@pytest.mark.parametrize("mode", ["preview", "up"])
def test_exempted_resources_lose_only_the_named_policy(mode, policy_config):
    config = policy_config({"rds-iam-auth-enabled": {"exemptions": [
        {"resources": ["wordpress-*"], "reason": "WordPress logs in with a password"}]}})
    result = preview(PROGRAM, "--mode", mode, "--policy-config", config)
    assert result.returncode == 1, result.stderr
    assert result.violations("mandatory") == NOT_EXEMPT
    advisory = result.violations("advisory")
    assert ("rds-force-ssl", urn(INSTANCE, "wordpress-db")) in advisory
    assert ("rds-force-ssl", urn(CLUSTER, "shop-other-rule-tag")) not in advisory
    assert not any(u.rsplit("::", 1)[1].startswith("good-") for _, u in result.violations())
    [wiki] = [v for v in result.report["violations"]
              if v["urn"] == urn(CLUSTER, "wiki-tag-without-reason")
              and v["policy"] == "rds-iam-auth-enabled"]
    assert "gives no reason" in wiki["message"]


@pytest.mark.parametrize("mode", ["preview", "up"])
def test_without_configured_exemption_the_password_only_database_is_reported(mode):
    result = preview(PROGRAM, "--mode", mode)
    assert result.violations("mandatory") == NOT_EXEMPT | {WORDPRESS}


def test_a_stack_exemption_covers_the_stack_and_no_other(policy_config):
    on_dev = policy_config({"rds-iam-auth-enabled": {"exemptions": [
        {"stacks": ["dev"], "reason": "the blog platform's stack"}]}})
    result = preview(PROGRAM, "--mode", "up", "--policy-config", on_dev)
    assert {policy for policy, _ in result.violations("mandatory")} == {
        "rds-not-publicly-accessible"}
    elsewhere = policy_config({"rds-iam-auth-enabled": {"exemptions": [
        {"stacks": ["blog-*"], "reason": "the blog platform's stacks"}]}})
    result = preview(PROGRAM, "--mode", "up", "--policy-config", elsewhere)
    assert WORDPRESS in result.violations("mandatory")


def test_an_exemption_without_reason_is_refused_as_bad_configuration(policy_config):
    config = policy_config({"rds-iam-auth-enabled": {"exemptions": [
        {"resources": ["wordpress-*"]}]}})
    result = preview(PROGRAM, "--policy-config", config)
    assert result.returncode == 2
    assert "reason" in result.stderr and "Traceback" not in result.stderr
