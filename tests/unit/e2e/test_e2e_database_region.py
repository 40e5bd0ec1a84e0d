"""A database whose explicit aws.Provider puts it in another region than the local cloud's is
refused at deploy, naming the resource and both regions (the local RDS serves one region; a
database served under the wrong one would fail later at login for no reason of the program's)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pgiam.e2e.engine.aws_rds import database_region
from pgiam.e2e.engine.context import EngineContext
from pgiam.e2e.engine.resources import CreateRequest, EngineError

pytestmark = pytest.mark.unit


def context(region: str) -> EngineContext:
    ctx = EngineContext.__new__(EngineContext)
    ctx.cloud = SimpleNamespace(region=region)
    ctx.config = {"aws:region": region}
    return ctx


def request(provider: dict | None) -> CreateRequest:
    return CreateRequest(type="aws:rds/cluster:Cluster", name="ledger-db", inputs={},
                         secret_inputs=frozenset(), provider=provider)


def test_a_database_in_the_clouds_region_goes_there() -> None:
    assert database_region(context("us-east-1"), request(None)) == "us-east-1"
    assert database_region(context("us-east-1"), request({"region": "us-east-1"})) == "us-east-1"


def test_a_provider_pinned_to_another_region_is_refused_naming_both() -> None:
    with pytest.raises(EngineError, match=r"Cluster 'ledger-db': its provider puts it in "
                                          r"eu-central-1; the local cloud serves databases in "
                                          r"us-east-1 only"):
        database_region(context("us-east-1"), request({"region": "eu-central-1"}))
