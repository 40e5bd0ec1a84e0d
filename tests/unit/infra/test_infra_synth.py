"""pgiam.program.synth and RecordingMocks: realistic computed values, faithful data sources."""

from __future__ import annotations

import json
import re
import zlib

import pytest

from pgiam.program.iam_policy_document import PolicyDocumentArgsError, render_policy_document
from pgiam.program.sdk_types import is_invented
from pgiam.program.synth import (
    CALL_SYNTHS,
    RESOURCE_SYNTHS,
    ChildResource,
    CloudContext,
    UnknownCallError,
    synthesize_call,
    synthesize_resource,
)

AWS = CloudContext()
CN = CloudContext(partition="aws-cn", region="cn-northwest-1", account_id="000011112222")
GOV = CloudContext(partition="aws-us-gov", region="us-gov-east-1", account_id="333344445555")


def test_rds_cluster_has_a_resource_id_and_an_endpoint_as_aws_forms_them():
    resource_id, state = synthesize_resource(AWS, "aws:rds/cluster:Cluster", "db", {
        "engine": "aurora-postgresql", "iamDatabaseAuthenticationEnabled": True})
    assert re.fullmatch(r"db-[0-9a-f]{7}", resource_id) and state["clusterIdentifier"] == resource_id
    assert re.fullmatch(r"cluster-[A-Z0-9]{26}", state["clusterResourceId"])
    assert re.fullmatch(rf"{resource_id}\.cluster-[a-z0-9]{{12}}\.us-east-1\.rds\.amazonaws\.com",
                        state["endpoint"])
    assert state["readerEndpoint"].startswith(f"{resource_id}.cluster-ro-")
    assert state["port"] == 5432
    assert state["arn"] == f"arn:aws:rds:us-east-1:123456789012:cluster:{resource_id}"
    assert state["iamDatabaseAuthenticationEnabled"] is True


def test_cluster_instances_get_distinct_dbi_resource_ids():
    ids = {synthesize_resource(AWS, "aws:rds/clusterInstance:ClusterInstance", name,
                               {"engine": "aurora-postgresql"})[1]["dbiResourceId"]
           for name in ("writer", "reader-1", "reader-2")}
    assert len(ids) == 3 and all(re.fullmatch(r"db-[A-Z0-9]{26}", i) for i in ids)


@pytest.mark.parametrize("context, suffix", [(AWS, "amazonaws.com"), (CN, "amazonaws.com.cn"),
                                             (GOV, "amazonaws.com")])
def test_partition_shapes_arns_and_host_names(context, suffix):
    _, cluster = synthesize_resource(context, "aws:rds/cluster:Cluster", "db",
                                     {"engine": "aurora-postgresql"})
    assert cluster["arn"].startswith(f"arn:{context.partition}:rds:{context.region}:"
                                     f"{context.account_id}:cluster:")
    assert cluster["endpoint"].endswith(f".{context.region}.rds.{suffix}")
    _, role = synthesize_resource(context, "aws:iam/role:Role", "r", {"name": "app"})
    assert role["arn"] == f"arn:{context.partition}:iam::{context.account_id}:role/app"
    assert synthesize_call(context, "aws:index/getPartition:getPartition", {}) == {
        "partition": context.partition, "dnsSuffix": suffix,
        "reverseDnsPrefix": ".".join(reversed(suffix.split("."))), "id": context.partition}


def test_pulumi_eks_cluster_outputs_follow_pulumi_eks():
    _, state = synthesize_resource(AWS, "eks:index:Cluster", "eks", {"createOidcProvider": True},
                                   custom=False)
    issuer = state["oidcIssuer"]
    assert re.fullmatch(r"oidc\.eks\.us-east-1\.amazonaws\.com/id/[0-9A-F]{32}", issuer)
    assert state["oidcProviderUrl"] == f"https://{issuer}"
    assert state["oidcProviderArn"] == f"arn:aws:iam::123456789012:oidc-provider/{issuer}"
    assert json.loads(state["kubeconfigJson"]) == state["kubeconfig"]
    assert state["kubeconfig"]["users"][0]["user"]["exec"]["command"] == "aws"
    _, without = synthesize_resource(AWS, "eks:index:Cluster", "eks", {}, custom=False)
    assert without["oidcProviderArn"] == ""
    assert "oidcProvider" not in without["core"]


def test_pulumi_eks_core_references_the_oidc_provider_and_cluster_it_created():
    _, state = synthesize_resource(AWS, "eks:index:Cluster", "eks",
                                   {"createOidcProvider": True, "vpcId": "vpc-1", "subnetIds": ["s-1"]},
                                   custom=False)
    provider = state["core"]["oidcProvider"]
    assert isinstance(provider, ChildResource)
    assert provider.type == "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
    assert provider.id == provider.state["arn"] == state["oidcProviderArn"]
    assert provider.state["url"] == state["oidcProviderUrl"]
    assert provider.state["clientIdLists"] == ["sts.amazonaws.com"]
    assert state["eksCluster"] is state["core"]["cluster"]
    assert state["eksCluster"].state["endpoint"] == state["core"]["endpoint"]
    assert (state["core"]["vpcId"], state["core"]["subnetIds"]) == ("vpc-1", ["s-1"])


def test_oidc_provider_arn_is_its_url_without_scheme():
    arn, state = synthesize_resource(AWS, "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
                                     "oidc", {"url": "https://oidc.example.com/id/XYZ"})
    assert arn == state["arn"] == "arn:aws:iam::123456789012:oidc-provider/oidc.example.com/id/XYZ"


def test_kubernetes_objects_are_completed_as_the_api_server_does():
    service_id, service = synthesize_resource(AWS, "kubernetes:core/v1:Service", "svc", {
        "kind": "Service", "metadata": {"name": "web", "namespace": "demo"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}})
    assert service_id == "demo/web"
    hostname = service["status"]["loadBalancer"]["ingress"][0]["hostname"]
    assert re.fullmatch(r"[0-9a-f]{32}-[0-9]{10}\.us-east-1\.elb\.amazonaws\.com", hostname)
    assert 30000 <= service["spec"]["ports"][0]["nodePort"] <= 32767
    config_id, config_map = synthesize_resource(AWS, "kubernetes:core/v1:ConfigMap", "cm",
                                                {"kind": "ConfigMap", "metadata": {}})
    assert config_map["metadata"]["namespace"] == "default"
    assert config_id == f"default/{config_map['metadata']['name']}"
    namespace_id, namespace = synthesize_resource(AWS, "kubernetes:core/v1:Namespace", "ns", {
        "kind": "Namespace", "metadata": {"name": "demo"}})
    assert namespace_id == "demo" and "namespace" not in namespace["metadata"]


def test_values_are_deterministic_per_seed():
    first = synthesize_resource(AWS, "aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"})
    again = synthesize_resource(AWS, "aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"})
    other = synthesize_resource(CloudContext(seed="other"), "aws:ec2/vpc:Vpc", "vpc",
                                {"cidrBlock": "10.0.0.0/16"})
    assert first == again and first[0] != other[0]
    assert re.fullmatch(r"vpc-[0-9a-f]{17}", first[0])


def test_unknown_resource_types_get_an_id_inputs_and_a_plausible_arn():
    resource_id, state = synthesize_resource(AWS, "aws:sqs/queue:Queue", "jobs", {"fifoQueue": True})
    assert state["fifoQueue"] is True
    assert state["arn"] == f"arn:aws:sqs:us-east-1:123456789012:queue/{resource_id}"
    assert synthesize_resource(AWS, "acme:index:Widget", "w", {}, custom=False) == ("", {})


def test_data_sources_no_installed_package_declares_are_an_error_naming_them():
    with pytest.raises(UnknownCallError, match="nosuchcloud:index/getThing:getThing"):
        synthesize_call(AWS, "nosuchcloud:index/getThing:getThing", {})
    with pytest.raises(UnknownCallError, match="aws:ec2/getNoSuchThing:getNoSuchThing"):
        synthesize_call(AWS, "aws:ec2/getNoSuchThing:getNoSuchThing", {})


def test_any_data_source_an_installed_sdk_declares_gets_a_typed_answer():
    vpc = synthesize_call(AWS, "aws:ec2/getVpc:getVpc", {"default": True})
    assert vpc["id"].startswith("vpc-") or vpc["id"]
    assert vpc["arn"].startswith("arn:aws:ec2:us-east-1:123456789012:")
    assert vpc["default"] is True                                   # the argument echoed
    assert synthesize_call(AWS, "aws:ec2/getVpc:getVpc", {"default": True}) == vpc
    token = synthesize_call(AWS, "aws:ecr/getAuthorizationToken:getAuthorizationToken", {})
    assert token["proxyEndpoint"].endswith(".amazonaws.com")
    policy = synthesize_call(AWS, "aws:iam/getPolicy:getPolicy", {"name": "AdministratorAccess"})
    # a looked-up document parses, but is marked so the pack never judges it (deferred)
    assert json.loads(policy["policy"])["Statement"] == [] and is_invented(policy["policy"])


def test_registries_hold_the_types_the_program_and_common_programs_use():
    assert {"aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance",
            "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy",
            "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "eks:index:Cluster",
            "aws:ec2/vpc:Vpc", "postgresql:index/grantRole:GrantRole",
            "random:index/randomPassword:RandomPassword"} <= set(RESOURCE_SYNTHS)
    assert {"aws:index/getCallerIdentity:getCallerIdentity", "aws:index/getRegion:getRegion",
            "aws:index/getPartition:getPartition",
            "aws:index/getAvailabilityZones:getAvailabilityZones",
            "aws:iam/getPolicyDocument:getPolicyDocument"} <= set(CALL_SYNTHS)


def test_region_and_zones_answer_for_the_context():
    region = synthesize_call(GOV, "aws:index/getRegion:getRegion", {})
    assert region["region"] == region["name"] == "us-gov-east-1"
    zones = synthesize_call(GOV, "aws:index/getAvailabilityZones:getAvailabilityZones",
                            {"excludeNames": ["us-gov-east-1b"]})
    assert zones["names"] == ["us-gov-east-1a", "us-gov-east-1c"]
    assert zones["zoneIds"] == ["usge1-az1", "usge1-az3"]


def test_tls_private_key_is_a_real_key():
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    _, state = synthesize_resource(AWS, "tls:index/privateKey:PrivateKey", "key",
                                   {"algorithm": "ECDSA", "ecdsaCurve": "P256"})
    assert load_pem_private_key(state["privateKeyPem"].encode(), None).key_size == 256


def test_context_refuses_an_unknown_partition():
    with pytest.raises(ValueError, match="partition"):
        CloudContext(partition="aws-moon")


# ---------------------------------------------------------------------------------------------
# aws.iam.get_policy_document, as the provider renders it
# ---------------------------------------------------------------------------------------------

def test_policy_document_renders_like_the_provider():
    result = render_policy_document({"statements": [{
        "sid": "1", "actions": ["s3:ListAllMyBuckets", "s3:GetBucketLocation"],
        "resources": ["arn:aws:s3:::*"]}]})
    assert result["json"] == """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "1",
      "Effect": "Allow",
      "Action": [
        "s3:ListAllMyBuckets",
        "s3:GetBucketLocation"
      ],
      "Resource": "arn:aws:s3:::*"
    }
  ]
}"""
    assert result["minifiedJson"] == json.dumps(json.loads(result["json"]), separators=(",", ":"))
    assert result["id"] == str(zlib.crc32(result["json"].encode()))


def test_policy_document_principals_conditions_and_variables():
    result = render_policy_document({"statements": [{
        "effect": "Deny",
        "actions": ["s3:GetObject"],
        "resources": ["arn:aws:s3:::b/&{aws:username}/*"],
        "principals": [{"type": "Service", "identifiers": ["ec2.amazonaws.com"]},
                       {"type": "AWS", "identifiers": ["arn:aws:iam::1:root", "arn:aws:iam::2:root"]}],
        "conditions": [{"test": "StringLike", "variable": "s3:prefix", "values": ["a&b"]},
                       {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
    }]})
    statement = json.loads(result["json"])["Statement"][0]
    assert list(statement) == ["Effect", "Action", "Resource", "Principal", "Condition"]
    assert statement["Resource"] == "arn:aws:s3:::b/${aws:username}/*"
    assert statement["Principal"] == {"AWS": ["arn:aws:iam::2:root", "arn:aws:iam::1:root"],
                                      "Service": "ec2.amazonaws.com"}
    assert list(statement["Principal"]) == ["AWS", "Service"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"},
                                      "StringLike": {"s3:prefix": "a&b"}}
    assert "a\\u0026b" in result["json"]  # Go's encoding/json escapes &, < and >


def test_policy_document_star_principal_and_merging():
    source = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Keep", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Sid": "Replace", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    override = json.dumps({"Statement": [
        {"Sid": "Replace", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]})
    result = render_policy_document({
        "sourcePolicyDocuments": [source], "overridePolicyDocuments": [override],
        "statements": [{"actions": ["sts:AssumeRole"],
                        "principals": [{"type": "*", "identifiers": ["*"]}]}]})
    statements = json.loads(result["json"])["Statement"]
    assert [(s.get("Sid"), s["Effect"], s["Action"]) for s in statements] == [
        ("Keep", "Allow", "s3:GetObject"), ("Replace", "Deny", "s3:DeleteObject"),
        (None, "Allow", "sts:AssumeRole")]
    assert statements[2]["Principal"] == "*"


def test_policy_document_refuses_duplicate_sids_and_bad_versions():
    with pytest.raises(PolicyDocumentArgsError, match="duplicate Sid"):
        render_policy_document({"statements": [{"sid": "A", "actions": ["s3:*"]},
                                               {"sid": "A", "actions": ["s3:*"]}]})
    with pytest.raises(PolicyDocumentArgsError, match="version"):
        render_policy_document({"version": "2020-01-01"})


def test_programs_get_policy_documents_and_data_sources_through_the_runtime(mock_runtime):
    import pulumi_aws as aws

    run_program = mock_runtime

    def program():
        document = aws.iam.get_policy_document(statements=[{
            "actions": ["rds-db:connect"],
            "resources": ["arn:aws:rds-db:cn-northwest-1:000011112222:dbuser:cluster-A/app"]}])
        caller = aws.get_caller_identity()
        return {"json": document.json, "account": caller.account_id,
                "region": aws.get_region().region}

    run = run_program(program, context=CN)
    assert json.loads(run.outputs["json"])["Statement"][0]["Action"] == "rds-db:connect"
    assert (run.outputs["account"], run.outputs["region"]) == ("000011112222", "cn-northwest-1")


def test_a_data_source_without_a_synthesizer_answers_from_the_sdk(mock_runtime):
    import pulumi
    import pulumi_aws as aws

    run = mock_runtime(lambda: {
        "ami": aws.ec2.get_ami(most_recent=True, owners=["amazon"]).id,
        "lb": pulumi.Output.concat("http://", aws.lb.LoadBalancer("web").dns_name)})
    assert run.outputs["ami"]
    assert run.outputs["lb"].startswith("http://web-")
    assert run.outputs["lb"].endswith(".us-east-1.lb.amazonaws.com") or \
        run.outputs["lb"].endswith(".elb.amazonaws.com")


def test_recording_mocks_preview_mode_computes_nothing(pulumi_sdk):
    from pulumi.runtime.mocks import MockResourceArgs

    from pgiam.program.mocks import RecordingMocks

    mocks = RecordingMocks(computed=False)
    resource_id, state = mocks.new_resource(MockResourceArgs(
        typ="aws:rds/cluster:Cluster", name="db", inputs={"engine": "aurora-postgresql"},
        custom=True))
    assert (resource_id, state) == ("", {"engine": "aurora-postgresql"})
    assert mocks.one("aws:rds/cluster:Cluster").outputs == {"engine": "aurora-postgresql"}


def test_secret_envelopes_are_unwrapped_and_remembered(pulumi_sdk):
    from pulumi.runtime.rpc import _special_secret_sig, _special_sig_key

    from pgiam.program.mocks import unwrap_secrets

    wrapped = {"password": {_special_sig_key: _special_secret_sig, "value": "s3cret"},
               "nested": [{"token": {_special_sig_key: _special_secret_sig, "value": "t"}}],
               "plain": "x"}
    plain, found = unwrap_secrets(wrapped)
    assert found and plain == {"password": "s3cret", "nested": [{"token": "t"}], "plain": "x"}
