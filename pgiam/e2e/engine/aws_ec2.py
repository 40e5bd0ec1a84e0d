"""EC2 networking in the local cloud: VPC, subnets, internet and NAT gateways, elastic IPs, route
tables and their associations, security groups and their rules; the inputs and outputs are
pulumi-aws's (engine names), the calls boto3's."""

from __future__ import annotations

import zlib
from typing import Any

from pgiam.e2e.engine.aws_api import (
    arn,
    client_for,
    delete_quietly,
    exists,
    region_for,
    tag_specifications,
    truthy,
)
from pgiam.e2e.engine.context import EngineContext
from pgiam.e2e.engine.resources import Created, CreateRequest, EngineError, handles
from pgiam.e2e.engine.state import ResourceEntry


def _tags(ctx: EngineContext, request: CreateRequest) -> dict[str, str]:
    return ctx.tags_for(request.inputs, request.provider)


@handles("aws:ec2/vpc:Vpc")
class Vpc:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        ec2 = ctx.client("ec2", region)
        tags = _tags(ctx, request)
        if not request.inputs.get("cidrBlock"):
            raise EngineError(f"Vpc {request.name!r}: cidrBlock is required locally (IPAM pools "
                              "are not supported)")
        vpc = ec2.create_vpc(CidrBlock=request.inputs["cidrBlock"],
                             InstanceTenancy=request.inputs.get("instanceTenancy") or "default",
                             TagSpecifications=tag_specifications("vpc", tags))["Vpc"]
        vpc_id = vpc["VpcId"]
        for attribute in ("enableDnsSupport", "enableDnsHostnames"):
            if attribute in request.inputs:
                name = attribute[0].upper() + attribute[1:]
                ec2.modify_vpc_attribute(
                    VpcId=vpc_id, **{name: {"Value": truthy(request.inputs[attribute])}})
        tables = ec2.describe_route_tables(Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
        groups = ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
        acls = ec2.describe_network_acls(Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "default", "Values": ["true"]}])["NetworkAcls"]
        main_table = tables[0]["RouteTableId"] if tables else ""
        return Created(vpc_id, {
            "id": vpc_id, "arn": arn(ctx, "ec2", f"vpc/{vpc_id}", region),
            "cidrBlock": vpc["CidrBlock"], "ownerId": vpc.get("OwnerId", ctx.cloud.account_id),
            "mainRouteTableId": main_table, "defaultRouteTableId": main_table,
            "defaultSecurityGroupId": groups[0]["GroupId"] if groups else "",
            "defaultNetworkAclId": acls[0]["NetworkAclId"] if acls else "",
            "dhcpOptionsId": vpc.get("DhcpOptionsId", ""),
            "instanceTenancy": vpc.get("InstanceTenancy", "default"),
            "enableDnsSupport": truthy(request.inputs.get("enableDnsSupport", True)),
            "enableDnsHostnames": truthy(request.inputs.get("enableDnsHostnames", False)),
            "tagsAll": tags,
        }, {"region": region})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        delete_quietly(lambda: client_for(ctx, entry, "ec2").delete_vpc(VpcId=entry.id))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: client_for(ctx, entry, "ec2").describe_vpcs(VpcIds=[entry.id])
                      ["Vpcs"])


@handles("aws:ec2/subnet:Subnet")
class Subnet:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        ec2 = ctx.client("ec2", region)
        tags = _tags(ctx, request)
        params: dict[str, Any] = {"VpcId": request.inputs["vpcId"],
                                  "CidrBlock": request.inputs["cidrBlock"],
                                  "TagSpecifications": tag_specifications("subnet", tags)}
        if request.inputs.get("availabilityZone"):
            params["AvailabilityZone"] = request.inputs["availabilityZone"]
        elif request.inputs.get("availabilityZoneId"):
            params["AvailabilityZoneId"] = request.inputs["availabilityZoneId"]
        subnet = ec2.create_subnet(**params)["Subnet"]
        subnet_id = subnet["SubnetId"]
        if truthy(request.inputs.get("mapPublicIpOnLaunch", False)):
            ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
        return Created(subnet_id, {
            "id": subnet_id,
            "arn": subnet.get("SubnetArn") or arn(ctx, "ec2", f"subnet/{subnet_id}", region),
            "availabilityZone": subnet["AvailabilityZone"],
            "availabilityZoneId": subnet.get("AvailabilityZoneId", ""),
            "cidrBlock": subnet["CidrBlock"], "vpcId": subnet["VpcId"],
            "ownerId": subnet.get("OwnerId", ctx.cloud.account_id),
            "mapPublicIpOnLaunch": truthy(request.inputs.get("mapPublicIpOnLaunch", False)),
            "tagsAll": tags,
        }, {"region": region})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        delete_quietly(lambda: client_for(ctx, entry, "ec2").delete_subnet(SubnetId=entry.id))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: client_for(ctx, entry, "ec2").describe_subnets(
            SubnetIds=[entry.id])["Subnets"])


@handles("aws:ec2/internetGateway:InternetGateway")
class InternetGateway:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        ec2 = ctx.client("ec2", region)
        tags = _tags(ctx, request)
        gateway = ec2.create_internet_gateway(
            TagSpecifications=tag_specifications("internet-gateway", tags))["InternetGateway"]
        gateway_id = gateway["InternetGatewayId"]
        vpc_id = request.inputs.get("vpcId") or ""
        if vpc_id:
            ec2.attach_internet_gateway(InternetGatewayId=gateway_id, VpcId=vpc_id)
        return Created(gateway_id, {
            "id": gateway_id, "arn": arn(ctx, "ec2", f"internet-gateway/{gateway_id}", region),
            "ownerId": ctx.cloud.account_id, "vpcId": vpc_id, "tagsAll": tags,
        }, {"region": region, "vpcId": vpc_id})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        ec2 = client_for(ctx, entry, "ec2")
        if entry.data.get("vpcId"):
            delete_quietly(lambda: ec2.detach_internet_gateway(
                InternetGatewayId=entry.id, VpcId=entry.data["vpcId"]))
        delete_quietly(lambda: ec2.delete_internet_gateway(InternetGatewayId=entry.id))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: client_for(ctx, entry, "ec2").describe_internet_gateways(
            InternetGatewayIds=[entry.id])["InternetGateways"])


@handles("aws:ec2/eip:Eip")
class Eip:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        ec2 = ctx.client("ec2", region)
        tags = _tags(ctx, request)
        address = ec2.allocate_address(Domain=request.inputs.get("domain") or "vpc",
                                       TagSpecifications=tag_specifications("elastic-ip", tags))
        allocation = address["AllocationId"]
        return Created(allocation, {
            "id": allocation, "allocationId": allocation, "publicIp": address["PublicIp"],
            "domain": address.get("Domain", "vpc"), "publicDns": "",
            "arn": arn(ctx, "ec2", f"elastic-ip/{allocation}", region), "tagsAll": tags,
        }, {"region": region})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        delete_quietly(lambda: client_for(ctx, entry, "ec2").release_address(
            AllocationId=entry.id))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: client_for(ctx, entry, "ec2").describe_addresses(
            AllocationIds=[entry.id])["Addresses"])


@handles("aws:ec2/natGateway:NatGateway")
class NatGateway:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        ec2 = ctx.client("ec2", region)
        tags = _tags(ctx, request)
        params: dict[str, Any] = {"SubnetId": request.inputs["subnetId"],
                                  "TagSpecifications": tag_specifications("natgateway", tags)}
        if request.inputs.get("allocationId"):
            params["AllocationId"] = request.inputs["allocationId"]
        if request.inputs.get("connectivityType"):
            params["ConnectivityType"] = request.inputs["connectivityType"]
        gateway = ec2.create_nat_gateway(**params)["NatGateway"]
        gateway_id = gateway["NatGatewayId"]
        addresses = gateway.get("NatGatewayAddresses") or [{}]
        return Created(gateway_id, {
            "id": gateway_id, "subnetId": gateway["SubnetId"],
            "allocationId": request.inputs.get("allocationId", ""),
            "connectivityType": gateway.get("ConnectivityType", "public"),
            "networkInterfaceId": addresses[0].get("NetworkInterfaceId", ""),
            "privateIp": addresses[0].get("PrivateIp", ""),
            "publicIp": addresses[0].get("PublicIp", ""), "tagsAll": tags,
        }, {"region": region})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        delete_quietly(lambda: client_for(ctx, entry, "ec2").delete_nat_gateway(
            NatGatewayId=entry.id))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(
            lambda: client_for(ctx, entry, "ec2").describe_nat_gateways(
                NatGatewayIds=[entry.id])["NatGateways"],
            lambda gateways: any(g.get("State") not in ("deleted", "deleting") for g in gateways))


def _route_params(route: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, name in (("cidrBlock", "DestinationCidrBlock"),
                      ("ipv6CidrBlock", "DestinationIpv6CidrBlock"),
                      ("destinationPrefixListId", "DestinationPrefixListId"),
                      ("gatewayId", "GatewayId"), ("natGatewayId", "NatGatewayId"),
                      ("networkInterfaceId", "NetworkInterfaceId"),
                      ("transitGatewayId", "TransitGatewayId"),
                      ("vpcPeeringConnectionId", "VpcPeeringConnectionId"),
                      ("vpcEndpointId", "VpcEndpointId"),
                      ("egressOnlyGatewayId", "EgressOnlyInternetGatewayId")):
        if route.get(key):
            params[name] = route[key]
    return params


@handles("aws:ec2/routeTable:RouteTable")
class RouteTable:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        ec2 = ctx.client("ec2", region)
        tags = _tags(ctx, request)
        table = ec2.create_route_table(
            VpcId=request.inputs["vpcId"],
            TagSpecifications=tag_specifications("route-table", tags))["RouteTable"]
        table_id = table["RouteTableId"]
        for route in request.inputs.get("routes") or []:
            ec2.create_route(RouteTableId=table_id, **_route_params(dict(route)))
        return Created(table_id, {
            "id": table_id, "arn": arn(ctx, "ec2", f"route-table/{table_id}", region),
            "ownerId": ctx.cloud.account_id, "routes": request.inputs.get("routes") or [],
            "propagatingVgws": [], "tagsAll": tags,
        }, {"region": region})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        delete_quietly(lambda: client_for(ctx, entry, "ec2").delete_route_table(
            RouteTableId=entry.id))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: client_for(ctx, entry, "ec2").describe_route_tables(
            RouteTableIds=[entry.id])["RouteTables"])


@handles("aws:ec2/route:Route")
class Route:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        route = {key: value for key, value in request.inputs.items()
                 if key not in ("destinationCidrBlock", "destinationIpv6CidrBlock")}
        route["cidrBlock"] = request.inputs.get("destinationCidrBlock")
        route["ipv6CidrBlock"] = request.inputs.get("destinationIpv6CidrBlock")
        params = _route_params(route)
        table_id = request.inputs["routeTableId"]
        ctx.client("ec2", region).create_route(RouteTableId=table_id, **params)
        destination = params.get("DestinationCidrBlock") or params.get(
            "DestinationIpv6CidrBlock") or ""
        # The provider's id: "r-" + the table id + a hash of the destination.
        route_id = f"r-{table_id}{zlib.crc32(destination.encode())}"
        return Created(route_id, {"id": route_id, "state": "active", "origin": "CreateRoute"},
                       {"region": region, "routeTableId": table_id, "destination": destination})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        key = "DestinationIpv6CidrBlock" if ":" in entry.data.get("destination", "") \
            else "DestinationCidrBlock"
        delete_quietly(lambda: client_for(ctx, entry, "ec2").delete_route(
            RouteTableId=entry.data["routeTableId"], **{key: entry.data["destination"]}))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        def has_route(answer: Any) -> bool:
            return any(route.get("DestinationCidrBlock") == entry.data["destination"]
                       or route.get("DestinationIpv6CidrBlock") == entry.data["destination"]
                       for table in answer["RouteTables"] for route in table.get("Routes", []))
        return exists(lambda: client_for(ctx, entry, "ec2").describe_route_tables(
            RouteTableIds=[entry.data["routeTableId"]]), has_route)


@handles("aws:ec2/routeTableAssociation:RouteTableAssociation")
class RouteTableAssociation:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        params = {"RouteTableId": request.inputs["routeTableId"]}
        if request.inputs.get("subnetId"):
            params["SubnetId"] = request.inputs["subnetId"]
        elif request.inputs.get("gatewayId"):
            params["GatewayId"] = request.inputs["gatewayId"]
        else:
            raise EngineError(f"RouteTableAssociation {request.name!r}: subnetId or gatewayId "
                              "is required")
        association = ctx.client("ec2", region).associate_route_table(**params)["AssociationId"]
        return Created(association, {"id": association},
                       {"region": region, "routeTableId": request.inputs["routeTableId"]})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        delete_quietly(lambda: client_for(ctx, entry, "ec2").disassociate_route_table(
            AssociationId=entry.id))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(
            lambda: client_for(ctx, entry, "ec2").describe_route_tables(
                RouteTableIds=[entry.data["routeTableId"]])["RouteTables"],
            lambda tables: any(assoc.get("RouteTableAssociationId") == entry.id
                               for table in tables for assoc in table.get("Associations", [])))


def _permissions(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pulumi-aws ``ingress``/``egress`` blocks -> EC2 ``IpPermissions``."""
    permissions = []
    for rule in rules:
        protocol = str(rule.get("protocol", "-1"))
        permission: dict[str, Any] = {"IpProtocol": "-1" if protocol in ("-1", "all") else protocol}
        if permission["IpProtocol"] != "-1":
            permission["FromPort"] = int(rule.get("fromPort", 0))
            permission["ToPort"] = int(rule.get("toPort", 0))
        description = rule.get("description")
        permission["IpRanges"] = [{"CidrIp": cidr, **({"Description": description}
                                                      if description else {})}
                                  for cidr in rule.get("cidrBlocks") or []]
        permission["Ipv6Ranges"] = [{"CidrIpv6": cidr} for cidr in rule.get("ipv6CidrBlocks") or []]
        permission["UserIdGroupPairs"] = [{"GroupId": group} for group in
                                          rule.get("securityGroups") or []]
        permission["PrefixListIds"] = [{"PrefixListId": item} for item in
                                       rule.get("prefixListIds") or []]
        permissions.append(permission)
    return permissions


@handles("aws:ec2/securityGroup:SecurityGroup")
class SecurityGroup:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        ec2 = ctx.client("ec2", region)
        tags = _tags(ctx, request)
        name = request.autoname()
        description = request.inputs.get("description") or "Managed by Pulumi"
        params: dict[str, Any] = {"GroupName": name, "Description": description,
                                  "TagSpecifications": tag_specifications("security-group", tags)}
        if request.inputs.get("vpcId"):
            params["VpcId"] = request.inputs["vpcId"]
        group_id = ec2.create_security_group(**params)["GroupId"]
        try:
            # As the provider does: the allow-all egress rule AWS adds is removed, then exactly
            # the declared rules are authorised.
            if request.inputs.get("vpcId"):
                ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=[
                    {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
            ingress = _permissions([dict(r) for r in request.inputs.get("ingress") or []])
            egress = _permissions([dict(r) for r in request.inputs.get("egress") or []])
            if ingress:
                ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=ingress)
            if egress:
                ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=egress)
        except BaseException:
            delete_quietly(lambda: ec2.delete_security_group(GroupId=group_id))
            raise
        return Created(group_id, {
            "id": group_id, "name": name, "description": description,
            "arn": arn(ctx, "ec2", f"security-group/{group_id}", region),
            "ownerId": ctx.cloud.account_id, "vpcId": request.inputs.get("vpcId", ""),
            "ingress": request.inputs.get("ingress") or [],
            "egress": request.inputs.get("egress") or [], "tagsAll": tags,
        }, {"region": region})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        delete_quietly(lambda: client_for(ctx, entry, "ec2").delete_security_group(
            GroupId=entry.id))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return exists(lambda: client_for(ctx, entry, "ec2").describe_security_groups(
            GroupIds=[entry.id])["SecurityGroups"])


@handles("aws:ec2/securityGroupRule:SecurityGroupRule")
class SecurityGroupRule:
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        region = region_for(ctx, request)
        ec2 = ctx.client("ec2", region)
        rule = dict(request.inputs)
        if rule.get("sourceSecurityGroupId"):
            rule["securityGroups"] = [rule["sourceSecurityGroupId"]]
        permissions = _permissions([rule])
        group_id = request.inputs["securityGroupId"]
        kind = request.inputs.get("type")
        if kind == "ingress":
            ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=permissions)
        elif kind == "egress":
            ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=permissions)
        else:
            raise EngineError(f"SecurityGroupRule {request.name!r}: type must be ingress or "
                              f"egress (got {kind!r})")
        rule_id = f"sgrule-{zlib.crc32(repr((group_id, kind, permissions)).encode())}"
        return Created(rule_id, {"id": rule_id}, {"region": region, "groupId": group_id,
                                                  "kind": kind, "permissions": permissions})

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        ec2 = client_for(ctx, entry, "ec2")
        revoke = ec2.revoke_security_group_ingress if entry.data["kind"] == "ingress" \
            else ec2.revoke_security_group_egress
        delete_quietly(lambda: revoke(GroupId=entry.data["groupId"],
                                      IpPermissions=entry.data["permissions"]))

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return False  # a rule goes with its group; the group is checked on its own
