"""pulumi-aws inputs as the EC2 API wants them (the handlers' pure translations)."""

from __future__ import annotations

from pgiam.e2e.engine.aws_api import truthy
from pgiam.e2e.engine.aws_ec2 import _permissions, _route_params


def test_security_group_blocks_become_ip_permissions():
    [tcp, everything] = _permissions([
        {"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "description": "pg",
         "cidrBlocks": ["10.0.0.0/16", "203.0.113.7/32"], "securityGroups": ["sg-1"]},
        {"protocol": "-1", "fromPort": 0, "toPort": 0, "ipv6CidrBlocks": ["::/0"]}])
    assert tcp == {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                   "IpRanges": [{"CidrIp": "10.0.0.0/16", "Description": "pg"},
                                {"CidrIp": "203.0.113.7/32", "Description": "pg"}],
                   "Ipv6Ranges": [], "UserIdGroupPairs": [{"GroupId": "sg-1"}],
                   "PrefixListIds": []}
    assert everything["IpProtocol"] == "-1" and "FromPort" not in everything
    assert everything["Ipv6Ranges"] == [{"CidrIpv6": "::/0"}]


def test_routes_keep_only_the_targets_they_name():
    assert _route_params({"cidrBlock": "0.0.0.0/0", "natGatewayId": "nat-1", "gatewayId": ""}) \
        == {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1"}


def test_provider_strings_are_booleans():
    assert truthy("true") and truthy(True) and not truthy("false") and not truthy("") \
        and not truthy(None)
