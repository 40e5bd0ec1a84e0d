"""What the local cloud keeps about RDS databases beyond moto, and RDS's naming rules."""

from __future__ import annotations

import re

import pytest

from pgiam.localcloud.rds.endpoints import AddressBlock
from pgiam.localcloud.rds.model import (
    InvalidParameter,
    RdsModel,
    check_database_name,
    check_master_username,
    new_dbi_resource_id,
)


@pytest.fixture
def model() -> RdsModel:
    return RdsModel("us-east-1", "123456789012", "aws")


def test_instances_of_a_cluster_share_its_server_and_get_their_own_resource_ids(model):
    cluster = model.add_cluster("Db1", "cluster-ABC", iam_enabled=True, port=5555, block=AddressBlock(0x7F020000))
    first, second = model.add_instance("Db1-A", cluster="DB1"), model.add_instance("db1-b", cluster="db1")
    assert first.dbi_resource_id != second.dbi_resource_id
    assert model.database_of_instance("DB1-a") is cluster
    assert cluster.members == {"db1-a": 0, "db1-b": 1}
    target = model.target("cluster-ABC")
    domain = model.names.domain
    assert (target.port, target.iam_enabled) == (5555, True)
    assert target.hosts == frozenset({f"db1.cluster-{domain}", f"db1.cluster-ro-{domain}", f"db1-a.{domain}",
                                      f"db1-b.{domain}"})
    assert target.dbuser_arn("app") == "arn:aws:rds-db:us-east-1:123456789012:dbuser:cluster-ABC/app"


def test_standalone_instance_is_named_by_its_dbi_resource_id(model):
    instance = model.add_instance("solo")
    database = model.add_standalone(instance, iam_enabled=False, port=6000)
    assert model.target(instance.dbi_resource_id).resource_id == database.resource_id
    assert model.remove_instance("SOLO") is database
    assert model.target(instance.dbi_resource_id) is None


def test_iam_switch_and_renames_apply_to_the_next_lookup(model):
    cluster = model.add_cluster("old", "cluster-X", iam_enabled=True, port=1)
    model.add_instance("old-1", cluster="old")
    model.set_iam(cluster, False)
    assert model.target("cluster-X").iam_enabled is False
    model.rename_cluster("old", "new")
    model.rename_instance("old-1", "new-1")
    assert model.cluster("new") is cluster and model.cluster("old") is None
    assert model.database_of_instance("new-1") is cluster and cluster.members == {"new-1": 0}


def test_iam_switch_on_an_aurora_instance_is_the_clusters(model):
    model.add_cluster("db1", "cluster-X", iam_enabled=True, port=1)
    model.add_instance("db1-1", cluster="db1")
    with pytest.raises(InvalidParameter) as refused:
        model.check_instance_iam_switch("db1-1")
    assert refused.value.code == "InvalidParameterCombination"
    model.add_instance("solo")
    model.check_instance_iam_switch("solo")


@pytest.mark.parametrize("name", ["", "1admin", "pg_admin", "rdsadmin", "RDS_IAM", "postgres", "a" * 64,
                                  "app-user", None])
def test_master_user_names_rds_refuses(name):
    with pytest.raises(InvalidParameter):
        check_master_username(name)


@pytest.mark.parametrize("name", ["template1", "postgres", "1db", "app-db"])
def test_database_names_rds_refuses(name):
    with pytest.raises(InvalidParameter):
        check_database_name(name)


def test_names_rds_accepts():
    assert check_master_username("pgadmin") == "pgadmin"
    assert check_database_name("appdb") == "appdb" and check_database_name(None) is None


def test_dbi_resource_ids_look_like_rds_ones():
    assert re.fullmatch(r"db-[A-Z0-9]{26}", new_dbi_resource_id())
