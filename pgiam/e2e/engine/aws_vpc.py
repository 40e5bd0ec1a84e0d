"""pulumi-aws's ``aws.vpc`` security group rules (one rule per resource, the provider's current
recommendation over inline rules and ``aws.ec2.SecurityGroupRule``): each becomes one EC2
``IpPermission`` of its group, exactly as AWS stores it, so the network check
(:mod:`pgiam.e2e.engine.network`) sees it like any other rule."""

from __future__ import annotations

import zlib
from typing import Any

from pgiam.e2e.engine.aws_api import client_for, delete_quietly, region_for
from pgiam.e2e.engine.context import EngineContext
from pgiam.e2e.engine.resources import Created, CreateRequest, EngineError, handles
from pgiam.e2e.engine.state import ResourceEntry


def rule_permission(inputs: dict[str, Any], what: str) -> dict[str, Any]:
    """``ipProtocol``, ``fromPort``/``toPort`` and exactly one of ``cidrIpv4``, ``cidrIpv6``,
    ``referencedSecurityGroupId``, ``prefixListId`` (as the provider requires) -> an
    ``IpPermission``."""
    protocol = str(inputs.get("ipProtocol", ""))
    if not protocol:
        raise EngineError(f"{what}: ipProtocol is required")
    sources = [key for key in ("cidrIpv4", "cidrIpv6", "referencedSecurityGroupId", "prefixListId")
               if inputs.get(key)]
    if len(sources) != 1:
        raise EngineError(f"{what}: exactly one of cidrIpv4, cidrIpv6, referencedSecurityGroupId, "
                          f"prefixListId is required (got {', '.join(sources) or 'none'})")
    permission: dict[str, Any] = {"IpProtocol": "-1" if protocol in ("-1", "all") else protocol}
    if permission["IpProtocol"] != "-1":
        permission["FromPort"] = int(inputs.get("fromPort", 0))
        permission["ToPort"] = int(inputs.get("toPort", 0))
    described = {"Description": inputs["description"]} if inputs.get("description") else {}
    source = sources[0]
    permission["IpRanges"] = [{"CidrIp": inputs[source], **described}] if source == "cidrIpv4" else []
    permission["Ipv6Ranges"] = [{"CidrIpv6": inputs[source], **described}] if source == "cidrIpv6" else []
    permission["UserIdGroupPairs"] = ([{"GroupId": inputs[source], **described}]
                                      if source == "referencedSecurityGroupId" else [])
    permission["PrefixListIds"] = ([{"PrefixListId": inputs[source], **described}]
                                   if source == "prefixListId" else [])
    return permission


class _Rule:
    kind = "ingress"

    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        ec2 = ctx.client("ec2", region)
        group_id = request.inputs.get("securityGroupId")
        if not group_id:
            raise EngineError(f"{request.name!r}: securityGroupId is required")
        permission = rule_permission(dict(request.inputs), repr(request.name))
        authorize = ec2.authorize_security_group_ingress if self.kind == "ingress" \
            else ec2.authorize_security_group_egress
        answer = authorize(GroupId=group_id, IpPermissions=[permission])
        rules = answer.get("SecurityGroupRules") or []
        rule_id = rules[0].get("SecurityGroupRuleId") if rules else None
        rule_id = rule_id or f"sgr-{zlib.crc32(repr((group_id, self.kind, permission)).encode()):017x}"
        return Created(rule_id, {"id": rule_id, "securityGroupRuleId": rule_id,
                                 "arn": f"arn:aws:ec2:{region}:{ctx.cloud.account_id}:security-group-rule/{rule_id}"},
                       {"region": region, "groupId": group_id, "kind": self.kind, "permission": permission})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        ec2 = client_for(ctx, entry, "ec2")
        revoke = ec2.revoke_security_group_ingress if entry.data["kind"] == "ingress" \
            else ec2.revoke_security_group_egress
        delete_quietly(lambda: revoke(GroupId=entry.data["groupId"], IpPermissions=[entry.data["permission"]]))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return False  # a rule goes with its group; the group is checked on its own


@handles("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
class SecurityGroupIngressRule(_Rule):
    kind = "ingress"


@handles("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
class SecurityGroupEgressRule(_Rule):
    kind = "egress"
