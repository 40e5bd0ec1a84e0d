"""Shapes of the SDK-derived values on inputs the first tests were not written around: a module
named like a Python keyword (``aws:lambda`` is ``pulumi_aws.lambda_``), ARNs of looked-up things,
providers other than AWS, and the program-facing types every installed provider declares."""

from __future__ import annotations

import re

import pytest

from pgiam.program.sdk_types import UNKNOWN_WIRE, is_invented, result_class
from pgiam.program.synth import CloudContext, synthesize_call, synthesize_resource

pytestmark = pytest.mark.unit

CONTEXT = CloudContext(region="ap-southeast-2")


@pytest.mark.parametrize("token", ["aws:lambda/getFunction:getFunction",
                                   "aws:lambda/getLayerVersion:getLayerVersion"])
def test_a_function_of_a_keyword_named_module_maps_to_its_result_class(token):
    assert result_class(token) is not None
    result = synthesize_call(CONTEXT, token, {})
    assert result["arn"].startswith("arn:aws:lambda:ap-southeast-2:")


@pytest.mark.parametrize(("token", "args", "prefix"), [
    ("aws:ssm/getParameter:getParameter", {"name": "/app/flag"}, ":parameter/"),
    ("aws:lambda/getFunction:getFunction", {"functionName": "worker"}, ":function/"),
    ("aws:elasticache/getCluster:getCluster", {"clusterId": "cache"}, ":cluster/"),
])
def test_a_looked_up_arn_names_the_thing_not_the_function(token, args, prefix):
    arn = synthesize_call(CONTEXT, token, args)["arn"]
    assert prefix in arn and ":get-" not in arn


def test_a_lookup_of_another_installed_provider_is_typed():
    result = synthesize_call(CONTEXT, "postgresql:index/getSchemas:getSchemas", {"database": "app"})
    assert result["database"] == "app"
    assert isinstance(result["schemas"], list) and all(is_invented(s) for s in result["schemas"])
    assert isinstance(result["includeSystemSchemas"], bool)


def test_resources_of_unsynthesized_services_get_urls_and_arns_the_code_can_split():
    _, queue = synthesize_resource(CONTEXT, "aws:sqs/queue:Queue", "jobs", {})
    _, api = synthesize_resource(CONTEXT, "aws:apigatewayv2/api:Api", "http", {"protocolType": "HTTP"})
    _, repository = synthesize_resource(CONTEXT, "aws:ecr/repository:Repository", "image", {})
    assert queue["arn"].startswith("arn:aws:sqs:ap-southeast-2:123456789012:")
    assert queue["url"].startswith("https://sqs.ap-southeast-2.amazonaws.com/123456789012/jobs-")
    assert api["apiEndpoint"].startswith("https://") and api["protocolType"] == "HTTP"
    assert api["apiEndpoint"].endswith(".execute-api.ap-southeast-2.amazonaws.com")
    registry, _, name = repository["repositoryUrl"].partition("/")
    assert registry == "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com"
    assert name.startswith("image-")


def test_load_balancer_and_cdn_names_are_shaped_as_aws_gives_them():
    _, lb = synthesize_resource(CONTEXT, "aws:lb/loadBalancer:LoadBalancer", "web", {})
    _, cdn = synthesize_resource(CONTEXT, "aws:cloudfront/distribution:Distribution", "cdn", {})
    looked_up = synthesize_call(CONTEXT, "aws:lb/getLoadBalancer:getLoadBalancer", {"name": "web"})
    for dns_name in (lb["dnsName"], looked_up["dnsName"]):
        assert dns_name.endswith(".ap-southeast-2.elb.amazonaws.com")
    assert cdn["domainName"].startswith("d") and cdn["domainName"].endswith(".cloudfront.net")
    assert lb["dnsName"] == synthesize_resource(CONTEXT, "aws:lb/loadBalancer:LoadBalancer",
                                                "web", {})[1]["dnsName"]


def test_a_resource_flag_or_number_is_never_invented():
    _, queue = synthesize_resource(CONTEXT, "aws:sqs/queue:Queue", "jobs", {})
    assert queue["fifoQueue"] == UNKNOWN_WIRE and queue["delaySeconds"] == UNKNOWN_WIRE


@pytest.mark.parametrize(("type_", "kind"), [("aws:rds/cluster:Cluster", "cluster"),
                                             ("aws:rds/instance:Instance", "db")])
def test_a_master_password_rds_manages_has_its_rds_secret(type_, kind):
    inputs = {"engine": "aurora-postgresql", "manageMasterUserPassword": True}
    _, managed = synthesize_resource(CONTEXT, type_, "orders", inputs)
    _, plain = synthesize_resource(CONTEXT, type_, "orders", {"engine": "aurora-postgresql"})
    [secret] = managed["masterUserSecrets"]
    assert re.fullmatch(rf"arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:rds!{kind}-"
                        r"[0-9a-f-]{36}-[A-Za-z0-9]{6}", secret["secretArn"])
    assert secret["secretStatus"] == "active" and secret["kmsKeyId"].startswith("arn:aws:kms:")
    assert plain["masterUserSecrets"] == []


def test_a_resource_method_token_maps_to_the_method_result_class():
    assert result_class("eks:index:Cluster/getKubeconfig").__name__ == "GetKubeconfigResult"
    assert result_class("eks:index:Nothing/getKubeconfig") is None
    result = synthesize_call(CONTEXT, "eks:index:Cluster/getKubeconfig", {"profileName": "apps"})
    assert isinstance(result["result"], str) and result["result"]
