"""The engine state: crash-safe file, secrets kept out, destroy order."""

from __future__ import annotations

import json

from pgiam.e2e.engine.state import REDACTED, EngineState, ResourceEntry, destroy_order, redact
from pgiam.program.runner import SECRET_SIG, SIG_KEY


def _entry(seq: int, name: str, deps: tuple[str, ...] = ()) -> ResourceEntry:
    return ResourceEntry(seq=seq, type="t:m:T", name=name, status="created",
                         dependencies=[f"t:m:T::{d}" for d in deps])


def test_every_change_is_on_disk_at_once(tmp_path):
    state = EngineState.create(tmp_path, "stack")
    entry = state.begin("aws:ec2/vpc:Vpc", "vpc")
    assert json.loads(state.path.read_text())["resources"][0]["status"] == "creating"
    state.created(entry, "vpc-1", {"id": "vpc-1"}, {"region": "us-east-1"})
    loaded = EngineState.load(tmp_path)
    assert [(e.key, e.status, e.id) for e in loaded.resources()] == [
        ("aws:ec2/vpc:Vpc::vpc", "created", "vpc-1")]
    state.forget(entry)
    assert EngineState.load(tmp_path).is_empty()


def test_secret_outputs_never_reach_the_file(tmp_path):
    state = EngineState.create(tmp_path, "stack")
    entry = state.begin("aws:rds/cluster:Cluster", "db")
    secret = {SIG_KEY: SECRET_SIG, "value": "hunter2-password"}
    state.created(entry, "db", {"masterPassword": secret, "port": 5432}, {})
    text = state.path.read_text()
    assert "hunter2-password" not in text
    assert json.loads(text)["resources"][0]["outputs"]["masterPassword"] == REDACTED


def test_redact_reaches_nested_envelopes():
    value = {"a": [{"b": {SIG_KEY: SECRET_SIG, "value": "x"}}], "c": 1}
    assert redact(value) == {"a": [{"b": REDACTED}], "c": 1}


def test_destroy_order_puts_dependents_first_whatever_the_creation_order():
    entries = [_entry(1, "vpc"), _entry(2, "role"), _entry(3, "subnet", ("vpc",)),
               _entry(4, "policy", ("role",)), _entry(5, "cluster", ("subnet", "role"))]
    order = [entry.name for entry in destroy_order(entries)]
    for dependent, dependency in (("subnet", "vpc"), ("policy", "role"), ("cluster", "subnet"),
                                  ("cluster", "role")):
        assert order.index(dependent) < order.index(dependency)


def test_destroy_order_without_dependencies_is_reverse_creation_order():
    entries = [_entry(i, f"r{i}") for i in range(1, 6)]
    assert [entry.seq for entry in destroy_order(entries)] == [5, 4, 3, 2, 1]


def test_destroy_order_respects_a_dependency_on_a_later_created_resource():
    entries = [_entry(1, "early", ("late",)), _entry(2, "late")]
    assert [entry.name for entry in destroy_order(entries)] == ["early", "late"]


def test_outputs_named_secret_are_redacted_too(tmp_path):
    state = EngineState.create(tmp_path, "stack")
    entry = state.begin("kubernetes:core/v1:Secret", "s")
    state.created(entry, "ns/s", {"data": {"password": "aHVudGVyMg=="}, "type": "Opaque"}, {},
                  frozenset({"data"}))
    assert "aHVudGVyMg" not in state.path.read_text()
    assert EngineState.load(tmp_path).resources()[0].outputs["type"] == "Opaque"
