"""What the e2e run finds from resources, and the configuration it must set or ask for."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgiam.e2e.discovery import (
    DatabaseRecord,
    ServiceRecord,
    app_url,
    database_for_host,
    master_login,
    master_user,
)
from pgiam.e2e.stack_config import (
    check_required_config,
    missing_plain_config,
    throwaway_secrets,
)
from pgiam.errors import PgiamError
from pgiam.program.config_reads import required_keys
from pgiam.program.loader import load_project

CLUSTER = DatabaseRecord("aws:rds/cluster:Cluster::orders", {
    "endpoint": "orders.cluster-abc.eu-west-1.rds.amazonaws.com",
    "readerEndpoint": "orders.cluster-ro-abc.eu-west-1.rds.amazonaws.com",
    "masterUsername": "orders_admin"})
INSTANCE = DatabaseRecord("aws:rds/instance:Instance::billing", {
    "address": "billing.abc.eu-west-1.rds.amazonaws.com",
    "endpoint": "billing.abc.eu-west-1.rds.amazonaws.com:5432", "username": "billing_root"})


def test_the_database_is_the_one_the_pod_names_by_any_endpoint() -> None:
    both = [CLUSTER, INSTANCE]
    assert database_for_host(both, "billing.abc.eu-west-1.rds.amazonaws.com") == INSTANCE
    assert database_for_host(both, "orders.cluster-ro-abc.eu-west-1.rds.amazonaws.com") == CLUSTER


def test_without_a_host_only_a_single_candidate_is_chosen() -> None:
    assert database_for_host([INSTANCE], None) == INSTANCE
    assert database_for_host([CLUSTER, INSTANCE], None) == CLUSTER   # a cluster over instances
    other = DatabaseRecord("aws:rds/cluster:Cluster::audit", {})
    assert database_for_host([CLUSTER, other], "elsewhere.example") is None


def test_master_user_comes_from_the_database_resource() -> None:
    assert master_user(CLUSTER) == "orders_admin"
    assert master_user(INSTANCE) == "billing_root"
    assert master_user(None) is None


def test_master_login_is_the_one_given_to_that_database() -> None:
    logins = {CLUSTER.key: ("orders_admin", "p1"), INSTANCE.key: ("billing_root", "p2")}
    assert master_login(INSTANCE, logins) == ("billing_root", "p2")
    assert master_login(CLUSTER, {CLUSTER.key: ("a", "b")}) == ("a", "b")
    assert master_login(DatabaseRecord("x::y", {}), logins) is None


def test_app_url_is_the_service_that_selects_the_pod() -> None:
    services = [ServiceRecord("shop", "other", "127.0.0.9", {"app": "other"}, {80: 80}),
                ServiceRecord("shop", "web", "127.0.0.10", {"app": "web"}, {80: 80, 443: 443}),
                ServiceRecord("shop", "api", "127.0.0.11", {"app": "api"}, {8080: 40123})]
    assert app_url(services, "shop", {"app": "web", "tier": "front"}) == "http://127.0.0.10"
    assert app_url(services, "shop", {"app": "api"}) == "http://127.0.0.11:40123"
    assert app_url(services, "elsewhere", {"app": "web"}) is None


def write_program(directory: Path, main: str, yaml_config: str = "") -> Path:
    directory.mkdir(parents=True)
    (directory / "Pulumi.yaml").write_text(f"name: shop\nruntime: python\n{yaml_config}")
    (directory / "__main__.py").write_text(main)
    return directory


PROGRAM = '''import pulumi
cfg = pulumi.Config()
db = pulumi.Config("db")
admin = cfg.require_secret("adminPassword")
name = db.require("name")
region = pulumi.Config("aws").require("region")
optional = cfg.get("tier")
token = pulumi.Config().require_secret("apiToken")
'''


def test_required_keys_come_from_the_code_and_pulumi_yaml(tmp_path: Path) -> None:
    project = load_project(write_program(
        tmp_path / "p", PROGRAM, "config:\n  replicas:\n    type: integer\n"
        "  signingKey:\n    type: string\n    secret: true\n"))
    required = required_keys(project)
    assert {key: read.secret for key, read in required.items()} == {
        "shop:replicas": False, "shop:signingKey": True, "shop:adminPassword": True,
        "db:name": False, "aws:region": False, "shop:apiToken": True}
    assert required["db:name"].where == "__main__.py:5"


def test_required_secrets_get_throwaway_values_and_plain_keys_are_asked_for(
        tmp_path: Path) -> None:
    project = load_project(write_program(tmp_path / "p", PROGRAM))
    generated = throwaway_secrets(project, ["aws:region"])
    assert set(generated) == {"shop:adminPassword", "shop:apiToken"}
    assert all(len(value) >= 24 for value in generated.values())
    assert generated != throwaway_secrets(project, ["aws:region"])    # fresh every run
    assert [read.key for read in missing_plain_config(project, ["aws:region"])] == ["db:name"]
    with pytest.raises(PgiamError, match=r"db:name \(__main__\.py:5\).*--config db:name=VALUE"):
        check_required_config(project, [], "local")
    check_required_config(project, ["db:name"], "local")      # the control: given, accepted
