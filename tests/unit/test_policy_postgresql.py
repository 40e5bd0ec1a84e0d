"""pulumi-postgresql roles holding rds_iam: never privileged, never the master user; granted
through Role.roles or GrantRole, with explicit or default providers."""

from __future__ import annotations

import pytest

from iamdb_rules.catalog import BY_NAME
from iamdb_rules.model import ProviderInfo, Resource
from iamdb_rules.props import UNKNOWN

PG_PROVIDER = ProviderInfo("pulumi:providers:postgresql",
                           "urn:pulumi:dev::p::pulumi:providers:postgresql::pg", "pg",
                           {"username": "pgadmin", "host": "db.example"})


def res(type_: str, name: str, props: dict, provider: ProviderInfo | None = PG_PROVIDER,
        deps: dict | None = None) -> Resource:
    return Resource(type_, f"urn:pulumi:dev::p::{type_}::{name}", name, props, provider=provider,
                    property_dependencies=deps or {})


def pg_role(name: str, **props) -> Resource:
    return res("postgresql:index/role:Role", name, {"name": name, "login": True, **props})


def grant(member, group="rds_iam", name="grant", **kwargs) -> Resource:
    return res("postgresql:index/grantRole:GrantRole", name,
               {"role": member, "grantRole": group}, **kwargs)


def cluster(master="pgadmin") -> Resource:
    return res("aws:rds/cluster:Cluster", "db", {"engine": "aurora-postgresql",
                                                 "masterUsername": master}, provider=None)


def run(rule: str, resources):
    policy = BY_NAME[rule]
    return policy.run(resources, policy.context(stack="dev"))


@pytest.mark.parametrize("resources, offenders", [
    ([pg_role("app_user", roles=["rds_iam"])], []),
    ([pg_role("etl", roles=["rds_iam"], superuser=True)], ["etl"]),
    ([pg_role("etl", roles=["rds_iam"], superuser="true")], ["etl"]),
    ([pg_role("deployer", createRole=True), grant("deployer")], ["deployer"]),
    ([pg_role("support", roles=["rds_iam", "rds_superuser"])], ["support"]),
    ([pg_role("support", roles=["rds_iam"]), grant("support", "rds_superuser", name="g2")],
     ["support"]),
    ([pg_role("admin", superuser=True)], []),
], ids=["plain-login", "superuser", "superuser-string", "createrole-via-grantrole",
        "rds-superuser-member", "rds-superuser-by-grant", "privileged-but-no-rds-iam"])
def test_rds_iam_holders_are_not_privileged(resources, offenders):
    violations, _ = run("postgresql-rds-iam-role-privileges", resources)
    assert sorted(v.urn.rsplit("::", 1)[1] for v in violations) == offenders


def group(name: str, **props) -> Resource:
    return res("postgresql:index/role:Role", name, {"name": name, "login": False, **props})


@pytest.mark.parametrize("resources, offenders", [
    ([group("admins", roles=["rds_superuser"]), pg_role("app", roles=["rds_iam", "admins"])],
     ["app"]),
    ([group("admins"), grant("admins", "rds_superuser", name="g1"),
      pg_role("app", roles=["rds_iam"]), grant("app", "admins", name="g2")], ["app"]),
    ([group("ops", roles=["rds_superuser"]), group("team", roles=["ops"]),
      pg_role("app", roles=["rds_iam", "team"])], ["app"]),
    ([group("owners", superuser=True), pg_role("app", roles=["rds_iam", "owners"])], ["app"]),
    ([group("provisioners", createRole=True), pg_role("app", roles=["rds_iam"]),
      grant("app", "provisioners", name="g3")], ["app"]),
    ([group("readers"), pg_role("app", roles=["rds_iam", "readers"])], []),
    ([group("a", roles=["b"]), group("b", roles=["a"]), pg_role("app", roles=["rds_iam", "a"])],
     []),
], ids=["group-in-rds-superuser", "group-granted-rds-superuser", "two-levels-down",
        "superuser-group", "createrole-group", "plain-group", "membership-cycle"])
def test_rds_iam_holders_do_not_reach_admin_rights_through_groups(resources, offenders):
    violations, _ = run("postgresql-rds-iam-role-privileges", resources)
    assert sorted(v.urn.rsplit("::", 1)[1] for v in violations) == offenders
    assert all("SET ROLE" in v.message or "rds_superuser" in v.message for v in violations)


def test_grant_linked_to_its_role_by_dependency_while_the_name_is_unknown():
    target = pg_role("deployer", createRole=True)
    linked = grant(UNKNOWN, deps={"role": (target.urn,)})
    violations, _ = run("postgresql-rds-iam-role-privileges", [target, linked])
    assert [v.urn for v in violations] == [target.urn]


def test_unknown_privilege_flag_is_deferred():
    violations, deferred = run("postgresql-rds-iam-role-privileges",
                               [pg_role("etl", roles=["rds_iam"], superuser=UNKNOWN)])
    assert violations == [] and deferred


@pytest.mark.parametrize("resources, expected", [
    ([cluster(), pg_role("app_user", roles=["rds_iam"])], 0),
    ([cluster(), grant("pgadmin")], 1),
    ([cluster("root_admin"), grant("root_admin")], 1),
    ([cluster(), pg_role("pgadmin", roles=["rds_iam"])], 1),
    ([grant("pgadmin")], 1),
    ([grant("pgadmin", provider=ProviderInfo(
        "pulumi:providers:postgresql", "urn:pulumi:dev::p::pulumi:providers:postgresql::default",
        "default", {"username": "pgadmin"}))], 1),
    ([grant("pgadmin", provider=None)], 0),
], ids=["other-user", "master-via-provider-and-cluster", "cluster-master-name",
        "role-resource-named-master", "provider-username-only", "default-provider",
        "no-master-known"])
def test_rds_iam_is_never_granted_to_the_master_user(resources, expected):
    violations, _ = run("postgresql-rds-iam-not-master", resources)
    assert len(violations) == expected
    if expected:
        assert "locked out" in violations[0].message


def test_provider_host_dependencies_pick_the_cluster_it_connects_to():
    own = cluster("owner")
    other = res("aws:rds/cluster:Cluster", "other", {"engine": "aurora-postgresql",
                                                      "masterUsername": "appsvc"}, provider=None)
    provider_resource = res("pulumi:providers:postgresql", "pg", {"username": UNKNOWN},
                            provider=None, deps={"host": (own.urn,)})
    anonymous = ProviderInfo(PG_PROVIDER.type, provider_resource.urn, "pg", {})
    grant_to_other_master = grant("appsvc", provider=anonymous)
    resources = [own, other, provider_resource, grant_to_other_master]
    assert run("postgresql-rds-iam-not-master", resources) == ([], [])
    grant_to_own_master = grant("owner", provider=anonymous, name="g2")
    violations, _ = run("postgresql-rds-iam-not-master", [*resources, grant_to_own_master])
    assert [v.urn for v in violations] == [grant_to_own_master.urn]


def test_unknown_master_is_deferred():
    violations, deferred = run("postgresql-rds-iam-not-master",
                               [cluster(UNKNOWN), grant("app_user", provider=None)])
    assert violations == [] and deferred
