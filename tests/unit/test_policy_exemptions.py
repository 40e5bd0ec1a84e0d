"""Exempting a stack or a resource from one policy, with a reason (pack config ``exemptions`` or
the ``pgiam:exempt`` tag): only that policy is lifted, only there; without a reason nothing is."""

from __future__ import annotations

import pytest

from iamdb_rules.catalog import RULES
from iamdb_rules.model import Resource
from iamdb_rules.props import UNKNOWN

CLUSTER = "aws:rds/cluster:Cluster"
RULE = next(rule for rule in RULES if rule.name == "rds-iam-auth-enabled")
ENCRYPTED = next(rule for rule in RULES if rule.name == "rds-storage-encrypted")


def cluster(name: str = "wordpress-db", tags: dict | None = None, project: str = "blog",
            stack: str = "prod") -> Resource:
    props = {"engine": "aurora-mysql", "iamDatabaseAuthenticationEnabled": False,
             "storageEncrypted": False}
    if tags is not None:
        props["tags"] = tags
    return Resource(CLUSTER, f"urn:pulumi:{stack}::{project}::{CLUSTER}::{name}", name, props)


def violations(rule, resource: Resource, config=None, stack: str = "prod") -> list:
    found, _ = rule.run(resource, rule.context(config, stack=stack))
    return found


def test_without_exemption_the_password_only_database_is_reported():
    assert len(violations(RULE, cluster())) == 1


@pytest.mark.parametrize("entry", [
    {"resources": ["wordpress-db"], "reason": "WordPress logs in with a password"},
    {"resources": ["wordpress-*"], "stacks": ["prod"], "reason": "password-only app"},
    {"stacks": ["pr*"], "reason": "the blog stack"},
    {"resources": [f"urn:pulumi:prod::blog::{CLUSTER}::wordpress-db"], "reason": "by URN"},
], ids=["name", "name-pattern-and-stack", "stack", "urn"])
def test_a_configured_exemption_lifts_only_that_policy_there(entry):
    config = {"exemptions": [entry]}
    assert violations(RULE, cluster(), config) == []
    assert len(violations(ENCRYPTED, cluster())) == 1


@pytest.mark.parametrize("entry, stack", [
    ({"resources": ["wordpress-db"], "reason": "x"}, "prod"),
    ({"stacks": ["dev-*"], "reason": "x"}, "prod"),
    ({"resources": ["wordpress-db"], "stacks": ["dev"], "reason": "x"}, "prod"),
    ({"resources": ["wordpress-db"]}, "prod"),
], ids=["other-resource", "other-stack", "resource-on-other-stack", "no-reason"])
def test_an_exemption_that_does_not_cover_the_resource_lifts_nothing(entry, stack):
    resource = cluster(name="orders-db") if entry.get("reason") and "stacks" not in entry \
        else cluster()
    assert len(violations(RULE, resource, {"exemptions": [entry]}, stack)) == 1


@pytest.mark.parametrize("tag", [
    "rds-iam-auth-enabled: WordPress logs in with a password",
    "rds-force-ssl rds-iam-auth-enabled:legacy app",
    "rds-force-ssl,rds-iam-auth-enabled: annotation style",
])
def test_the_resource_tag_exempts_the_policies_it_names(tag):
    resource = cluster(tags={"pgiam:exempt": tag, "team": "blog"})
    assert violations(RULE, resource) == []
    assert len(violations(ENCRYPTED, resource)) == 1


def test_a_tag_without_reason_exempts_nothing_and_says_so():
    [violation] = violations(RULE, cluster(tags={"pgiam:exempt": "rds-iam-auth-enabled"}))
    assert "Not exempt: its pgiam:exempt tag names rds-iam-auth-enabled but gives no reason" \
        in violation.message


def test_the_kubernetes_annotation_exempts_a_workload():
    rule = next(rule for rule in RULES if rule.name == "kubernetes-no-static-aws-credentials")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "legacy", "annotations": {
        "pgiam/exempt": "kubernetes-no-static-aws-credentials: vendor agent, keys rotated"}},
        "spec": {"containers": [{"name": "a", "image": "a", "env": [
            {"name": "AWS_SECRET_ACCESS_KEY", "value": "abc"},
            {"name": "AWS_ACCESS_KEY_ID", "value": "AKIAABCDEFGHIJKLMNOP"}]}]}}
    urn = "urn:pulumi:prod::blog::kubernetes:core/v1:Pod::legacy"
    tagged = Resource("kubernetes:core/v1:Pod", urn, "legacy", pod)
    untagged = Resource("kubernetes:core/v1:Pod", urn, "legacy",
                        {**pod, "metadata": {"name": "legacy"}})
    assert violations(rule, tagged) == []
    assert violations(rule, untagged)


def test_every_policy_accepts_exemptions_in_its_schema():
    assert all("exemptions" in rule.schema and rule.defaults()["exemptions"] == []
               for rule in RULES)


def test_an_exempt_resource_has_no_deferred_check_either():
    unknown = Resource(CLUSTER, f"urn:pulumi:prod::blog::{CLUSTER}::wordpress-db", "wordpress-db",
                       {"engine": "aurora-mysql", "iamDatabaseAuthenticationEnabled": UNKNOWN})
    _, deferred = RULE.run(unknown, RULE.context(stack="prod"))
    assert deferred
    config = {"exemptions": [{"resources": ["wordpress-db"], "reason": "password-only app"}]}
    assert RULE.run(unknown, RULE.context(config, stack="prod")) == ([], [])
