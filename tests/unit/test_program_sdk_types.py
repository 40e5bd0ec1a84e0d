"""Values for resources and data sources nobody wrote a synthesizer for, from the installed SDKs'
own classes: typed, deterministic, shaped like AWS's, and never an invented value a rule could
judge."""

from __future__ import annotations

import base64
import json

import pytest

from pgiam.program.sdk_types import (
    UNKNOWN_WIRE,
    is_invented,
    resource_class,
    result_class,
)
from pgiam.program.synth import CloudContext, UnknownCallError, synthesize_call, synthesize_resource

pytestmark = pytest.mark.unit

CONTEXT = CloudContext(region="eu-west-1")


def test_function_tokens_map_to_the_sdk_result_class():
    assert result_class("aws:ec2/getAmi:getAmi").__name__ == "GetAmiResult"
    assert result_class("aws:index/getRegion:getRegion").__name__ == "GetRegionResult"
    assert result_class("kubernetes:nope/getNothing:getNothing") is None
    assert resource_class("aws:lb/loadBalancer:LoadBalancer").__name__ == "LoadBalancer"


def test_a_data_source_without_synthesizer_gets_every_field_typed_and_deterministic():
    args = {"mostRecent": True, "owners": ["amazon"]}
    first = synthesize_call(CONTEXT, "aws:ec2/getAmi:getAmi", args)
    assert first == synthesize_call(CONTEXT, "aws:ec2/getAmi:getAmi", args)
    assert first["owners"] == ["amazon"] and first["mostRecent"] is True
    assert isinstance(first["blockDeviceMappings"], list)
    assert first["arn"].startswith("arn:aws:ec2:eu-west-1:")
    assert isinstance(first["imageId"], str) and first["imageId"]


def test_an_ecr_token_decodes_to_a_user_and_an_unjudgeable_password():
    result = synthesize_call(CONTEXT, "aws:ecr/getAuthorizationToken:getAuthorizationToken", {})
    user, password = base64.b64decode(result["authorizationToken"]).decode().split(":", 1)
    assert user == "AWS" and is_invented(password)


def test_a_looked_up_document_parses_but_is_marked_invented():
    result = synthesize_call(CONTEXT, "aws:iam/getPolicy:getPolicy", {"name": "base"})
    assert json.loads(result["policy"])["Statement"] == []
    assert is_invented(result["policy"])
    secret = synthesize_call(CONTEXT, "aws:secretsmanager/getSecretVersion:getSecretVersion",
                             {"secretId": "app"})
    assert is_invented(secret["secretString"])


def test_a_hand_written_lookup_gains_the_fields_it_left_out():
    result = synthesize_call(CONTEXT, "aws:eks/getCluster:getCluster", {"name": "platform"})
    assert result["certificateAuthorities"] and result["endpoint"].startswith("https://")


def test_a_resource_gets_shaped_identifiers_and_unknown_blocks():
    _, state = synthesize_resource(CONTEXT, "aws:lb/loadBalancer:LoadBalancer", "web",
                                   {"subnets": ["subnet-1"]})
    assert state["dnsName"].endswith(".amazonaws.com") and "web" in state["dnsName"]
    assert state["arn"].startswith("arn:aws:elasticloadbalancing:eu-west-1:")
    _, cert = synthesize_resource(CONTEXT, "aws:acm/certificate:Certificate", "web",
                                  {"domainName": "www.example.com"})
    assert cert["domainValidationOptions"] == UNKNOWN_WIRE


def test_a_function_no_installed_package_declares_is_refused_by_name():
    with pytest.raises(UnknownCallError, match="nowhere:index/getThing:getThing"):
        synthesize_call(CONTEXT, "nowhere:index/getThing:getThing", {})


def test_a_resource_map_output_is_unknown_but_tags_all_follows_the_tags():
    _, api = synthesize_resource(CONTEXT, "aws:appsync/graphQLApi:GraphQLApi", "api",
                                 {"authenticationType": "API_KEY", "tags": {"team": "web"}})
    assert api["uris"] == UNKNOWN_WIRE          # never {} that the program's code indexes
    assert api["tagsAll"] == {"team": "web"}


def test_a_looked_up_string_nobody_can_know_is_marked_but_identifiers_are_shaped():
    result = synthesize_call(CONTEXT, "aws:ssm/getParameter:getParameter", {"name": "/app/flag"})
    assert is_invented(result["value"])
    assert result["arn"].startswith("arn:aws:ssm:eu-west-1:") and not is_invented(result["arn"])


def test_a_resource_nested_output_is_an_object_of_marked_strings():
    _, release = synthesize_resource(CONTEXT, "kubernetes:helm.sh/v3:Release", "cache",
                                     {"chart": "redis"})
    assert is_invented(release["status"]["name"]) and is_invented(release["status"]["namespace"])
    assert release["status"]["revision"] == UNKNOWN_WIRE     # a number is never invented


def test_outputs_that_are_resources_stay_unknown_and_no_input_of_another_shape_is_echoed():
    # awsx's Vpc: the natGateways input is a strategy; the output is the NAT gateways made
    inputs = {"natGateways": {"strategy": "Single"}, "numberOfAvailabilityZones": 2}
    for read in (False, True):
        _, state = synthesize_resource(CONTEXT, "awsx:ec2:Vpc", "net", inputs, custom=False, read=read)
        assert state["natGateways"] == UNKNOWN_WIRE
        assert state["vpc"] == UNKNOWN_WIRE and state["subnets"] == UNKNOWN_WIRE
        assert state["vpcId"].startswith("vpc-")           # a plain output still gets its shape
        assert state["numberOfAvailabilityZones"] == 2      # and a plain input is echoed


def test_an_enum_output_is_one_of_the_sdks_values_for_a_lookup_and_unknown_for_a_resource():
    from pgiam.program import sdk_types

    class Mode(str, __import__("enum").Enum):
        FAST = "fast"
        SLOW = "slow"

    lookup = sdk_types._Values(CONTEXT, "x:y/z:Z", "n", lookup=True)
    resource = sdk_types._Values(CONTEXT, "x:y/z:Z", "n", lookup=False)
    assert lookup.of("mode", Mode) == "fast"
    assert resource.of("mode", Mode) == UNKNOWN_WIRE


def test_an_echoed_input_takes_the_container_shape_of_the_output_or_becomes_unknown():
    from collections.abc import Mapping, Sequence
    from typing import Optional

    from pgiam.program.sdk_types import conform

    class Identity:  # an output class as the SDKs declare them: getters with engine names
        pass

    import pulumi

    @pulumi.getter(name="userAssignedIdentities")
    def user_assigned(self) -> Optional[Mapping[str, str]]:
        ...

    @pulumi.getter(name="type")
    def kind(self) -> str:
        ...

    user_assigned.__annotations__ = {"return": Optional[Mapping[str, str]]}  # not a string
    kind.__annotations__ = {"return": str}
    Identity.user_assigned_identities = property(user_assigned)
    Identity.type = property(kind)
    # azure-native: a list of ids going in, a map coming out; the scalar next to it is kept
    echoed = conform({"type": "UserAssigned", "userAssignedIdentities": ["/id/1"]}, Identity)
    assert echoed == {"type": "UserAssigned", "userAssignedIdentities": UNKNOWN_WIRE}
    # the right shapes pass through, nested
    assert conform({"userAssignedIdentities": {"/id/1": "x"}}, Identity) == {"userAssignedIdentities": {"/id/1": "x"}}
    assert conform(["a", "b"], Sequence[str]) == ["a", "b"]
    assert conform({"strategy": "Single"}, Sequence[str]) == UNKNOWN_WIRE
    assert conform("5432", int) == "5432"            # scalars are never judged
    assert conform(UNKNOWN_WIRE, Sequence[str]) == UNKNOWN_WIRE


def test_azure_resources_get_resource_manager_ids():
    _, group = synthesize_resource(CONTEXT, "azure-native:resources:ResourceGroup", "rg",
                                   {"resourceGroupName": "shop"})
    assert group["id"].split("/")[1:3][0] == "subscriptions" and group["id"].endswith("/resourceGroups/shop")
    _, account = synthesize_resource(CONTEXT, "azure-native:storage:StorageAccount", "sa",
                                     {"resourceGroupName": "shop", "accountName": "shopdata"})
    parts = account["id"].split("/")
    assert parts[3:5] == ["resourceGroups", "shop"] and parts[5:7] == ["providers", "Microsoft.Storage"]
    assert parts[7] == "storageAccounts"


def test_a_lookups_arguments_are_echoed_in_the_type_its_result_declares():
    # get_ami(most_recent="true"): the provider converts; the SDK's result checks for a bool
    result = synthesize_call(CONTEXT, "aws:ec2/getAmi:getAmi",
                             {"mostRecent": "true", "owners": ["amazon"], "nameRegex": "^amzn2"})
    assert result["mostRecent"] is True
    assert result["owners"] == ["amazon"] and result["nameRegex"] == "^amzn2"
    # an argument that cannot be the declared type keeps the generated value
    assert isinstance(synthesize_call(CONTEXT, "aws:ec2/getAmi:getAmi", {"mostRecent": "soon"})["mostRecent"], bool)
