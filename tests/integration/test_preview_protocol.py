"""The pack as pulumi-policy serves it, in-process: the real ``_PolicyAnalyzerServicer`` with the
pack's policies, called with the engine's protobuf messages (unknown sentinels, secret envelopes,
property dependencies, configuration); and the preview's side of the protocol (the CLI's policy
configuration rules, the findings of a response). In this layer because the Pulumi SDK's import
costs a unit worker half a second; the rules themselves are unit-tested on plain data."""

from __future__ import annotations


import pytest

from iamdb_rules.catalog import RULES
from iamdb_rules.props import UNKNOWN

from pgiam.errors import PgiamError

SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def servicer(monkeypatch_module):
    """The analyzer servicer the pack's __main__ serves, for stack dev of project p."""
    from pulumi_policy import EnforcementLevel
    from pulumi_policy.policy import _PolicyAnalyzerServicer

    from iamdb_rules.pack import PACK_NAME, build_policies

    for key, value in (("PULUMI_PROJECT", "p"), ("PULUMI_STACK", "dev"),
                       ("PULUMI_DRY_RUN", "true")):
        monkeypatch_module.setenv(key, value)
    return _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", build_policies(),
                                   EnforcementLevel.MANDATORY)


def struct(props: dict):
    from google.protobuf import struct_pb2

    message = struct_pb2.Struct()
    message.update(props)
    return message


def analyze(servicer, type_: str, props: dict, name: str = "r"):
    from pulumi.runtime import proto

    request = proto.AnalyzeRequest(type=type_, properties=struct(props), name=name,
                                   urn=f"urn:pulumi:dev::p::{type_}::{name}")
    return servicer.Analyze(request, None)


def test_analyzer_info_lists_every_rule_with_its_level_and_config_defaults(servicer):
    from google.protobuf import json_format
    from pulumi.runtime import proto

    info = servicer.GetAnalyzerInfo(None, None)
    levels = {p.name: proto.EnforcementLevel.Name(p.enforcementLevel).lower()
              for p in info.policies}
    assert levels == {rule.name: rule.enforcement for rule in RULES}
    schemas = {p.name: json_format.MessageToDict(p.configSchema) for p in info.policies}
    assert schemas["irsa-trust-audience"]["properties"]["allowedAudiences"]["default"] == \
        ["sts.amazonaws.com"]
    assert schemas["rds-not-publicly-accessible"]["properties"]["allowedStacks"]["default"] == []


def test_violation_carries_the_policy_the_level_and_the_resource_urn(servicer):
    from pulumi.runtime import proto

    response = analyze(servicer, "aws:rds/cluster:Cluster", {
        "engine": "aurora-postgresql", "storageEncrypted": True,
        "masterPassword": {**SECRET, "value": "s3cr3t-Passw0rd"}}, name="db")
    [diagnostic] = response.diagnostics
    assert diagnostic.policyName == "rds-iam-auth-enabled"
    assert diagnostic.enforcementLevel == proto.MANDATORY
    assert diagnostic.urn == "urn:pulumi:dev::p::aws:rds/cluster:Cluster::db"
    assert "Fix:" in diagnostic.message and "s3cr3t" not in diagnostic.message


def test_unknown_inputs_become_deferred_checks_not_violations(servicer):
    from pgiam.preview.analysis import findings

    response = analyze(servicer, "aws:iam/role:Role", {"assumeRolePolicy": UNKNOWN}, name="app")
    violations, deferred = findings(response, "urn:pulumi:dev::p::aws:iam/role:Role::app")
    assert violations == []
    assert {f.policy for f in deferred} == {
        "iam-policy-document-valid", "irsa-trust-federated-provider",
        "irsa-trust-condition-keys", "irsa-trust-subject", "irsa-trust-audience",
        "irsa-trust-audience-present", "irsa-trust-default-service-account"}
    assert all(f.urn.endswith("::app") and "assumeRolePolicy" in f.message for f in deferred)


def test_stack_rules_see_outputs_and_property_dependencies(servicer):
    from pulumi.runtime import proto

    from pgiam.preview.analysis import findings

    group = proto.AnalyzerResource(
        type="aws:rds/clusterParameterGroup:ClusterParameterGroup", name="params",
        urn="urn:pulumi:dev::p::aws:rds/clusterParameterGroup:ClusterParameterGroup::params",
        properties=struct({"name": UNKNOWN, "parameters": [{"name": "rds.force_ssl",
                                                            "value": "0"}]}))
    cluster = proto.AnalyzerResource(
        type="aws:rds/cluster:Cluster", name="db",
        urn="urn:pulumi:dev::p::aws:rds/cluster:Cluster::db",
        properties=struct({"engine": "aurora-postgresql", "dbClusterParameterGroupName": UNKNOWN}))
    cluster.propertyDependencies["dbClusterParameterGroupName"].urns.append(group.urn)
    response = servicer.AnalyzeStack(proto.AnalyzeStackRequest(resources=[group, cluster]), None)
    violations, deferred = findings(response, "")
    assert [(v.policy, v.enforcement, v.urn) for v in violations] == [
        ("rds-force-ssl", "advisory", group.urn)]


def test_configured_levels_and_properties_reach_the_rules(servicer):
    from pulumi.runtime import proto

    def configure(entries):
        request = proto.ConfigureAnalyzerRequest()
        for name, (level, props) in entries.items():
            config = proto.PolicyConfig(enforcementLevel=level)
            config.properties.update(props)
            request.policyConfig[name].CopyFrom(config)
        servicer.Configure(request, None)

    public = {"engine": "postgres", "publiclyAccessible": True, "storageEncrypted": True,
              "iamDatabaseAuthenticationEnabled": True}
    try:
        configure({"rds-not-publicly-accessible": (proto.MANDATORY, {"allowedStacks": ["dev"]})})
        assert not analyze(servicer, "aws:rds/instance:Instance", public).diagnostics
        configure({"rds-not-publicly-accessible": (proto.DISABLED, {})})
        assert not analyze(servicer, "aws:rds/instance:Instance", public).diagnostics
        configure({"rds-not-publicly-accessible": (proto.ADVISORY, {"allowedStacks": ["prod"]})})
        [diagnostic] = analyze(servicer, "aws:rds/instance:Instance", public).diagnostics
        assert diagnostic.enforcementLevel == proto.ADVISORY
    finally:
        configure({})


def _info():
    from pulumi.runtime import proto

    info = proto.AnalyzerInfo(name="pack", version="0.0.1")
    for name, level, schema in (
            ("a", proto.MANDATORY, {}),
            ("b", proto.ADVISORY, {"properties": {"allowed": {"type": "array",
                                                              "default": ["x"]}}})):
        policy = proto.PolicyInfo(name=name, enforcementLevel=level)
        policy.configSchema.properties.update(schema.get("properties", {}))
        info.policies.append(policy)
    return info


def test_policy_config_levels_and_schema_defaults():
    from google.protobuf import json_format
    from pulumi.runtime import proto

    from pgiam.preview.policy_config import configure_request

    request = configure_request(_info(), {})
    assert request.policyConfig["a"].enforcementLevel == proto.MANDATORY
    assert json_format.MessageToDict(request.policyConfig["b"].properties) == {"allowed": ["x"]}
    request = configure_request(_info(), {"all": "disabled", "b": {"enforcementLevel": "mandatory",
                                                                   "allowed": ["y"]}})
    assert request.policyConfig["a"].enforcementLevel == proto.DISABLED
    assert request.policyConfig["b"].enforcementLevel == proto.MANDATORY
    assert json_format.MessageToDict(request.policyConfig["b"].properties) == {"allowed": ["y"]}


@pytest.mark.parametrize("config, message", [
    ({"nope": "advisory"}, "does not have: nope"),
    ({"a": "loud"}, "not one of"),
    ({"b": {"allowed": "x"}}, "is not of type 'array'"),
])
def test_policy_config_errors_name_the_policy(config, message):
    from pgiam.preview.policy_config import configure_request

    with pytest.raises(PgiamError, match=message):
        configure_request(_info(), config)


def test_findings_split_violations_from_deferred_checks_per_urn():
    from pulumi.runtime import proto

    from pgiam.preview.analysis import findings

    response = proto.AnalyzeResponse(diagnostics=[
        proto.AnalyzeDiagnostic(policyName="p1", description="Desc.", message="Desc.\nWhat.",
                                enforcementLevel=proto.MANDATORY),
        proto.AnalyzeDiagnostic(
            policyName="p2", enforcementLevel=proto.ADVISORY,
            message="can't run policy 'p2' from policy pack 'x@v1' during preview: "
                    "urn:pulumi:s::p::t::a: waits for A\nurn:pulumi:s::p::t::b: waits for B"),
        proto.AnalyzeDiagnostic(
            policyName="p3", enforcementLevel=proto.ADVISORY,
            message="can't run policy 'p3' from policy pack 'x@v1' during preview: "
                    "string value at .policy can't be known during preview"),
    ])
    violations, deferred = findings(response, "urn:pulumi:s::p::t::r")
    assert [(v.policy, v.enforcement, v.urn, v.message) for v in violations] == [
        ("p1", "mandatory", "urn:pulumi:s::p::t::r", "What.")]
    assert [(d.policy, d.urn, d.message) for d in deferred] == [
        ("p2", "urn:pulumi:s::p::t::a", "waits for A"),
        ("p2", "urn:pulumi:s::p::t::b", "waits for B"),
        ("p3", "urn:pulumi:s::p::t::r", "string value at .policy can't be known during preview")]


