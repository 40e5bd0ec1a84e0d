"""Network: a VPC with a public and a private subnet in each of two availability zones.

Public subnets route to an internet gateway (load balancers, and the database of a dev stack);
private subnets route out through one NAT gateway (EKS nodes, and the database of a prod stack).
Subnets carry the tags the AWS load balancer integration of EKS looks for.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

AZ_COUNT = 2


@dataclass
class NetworkArgs:
    cidr_block: str
    az_count: int = AZ_COUNT


def subnet_blocks(cidr_block: str, az_count: int) -> tuple[list[str], list[str]]:
    """Public and private subnet blocks: the VPC split in 8, public first, private from half-way."""
    subnets = list(ipaddress.ip_network(cidr_block).subnets(prefixlen_diff=3))
    if az_count > len(subnets) // 2:
        raise ValueError(f"az_count: at most {len(subnets) // 2} zones fit in {cidr_block}")
    half = len(subnets) // 2
    return ([str(net) for net in subnets[:az_count]],
            [str(net) for net in subnets[half:half + az_count]])


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    vpc_cidr_block: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NetworkArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("iampg:index:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        zones = aws.get_availability_zones(state="available",
                                           opts=pulumi.InvokeOptions(parent=self)).names
        if len(zones) < args.az_count:
            raise pulumi.RunError(f"the region has {len(zones)} available zones, "
                                  f"{args.az_count} are needed")
        public_blocks, private_blocks = subnet_blocks(args.cidr_block, args.az_count)

        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr_block, enable_dns_hostnames=True,
                          enable_dns_support=True, tags={"Name": f"{name}-vpc"}, opts=child)
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
        public_routes = aws.ec2.RouteTable(
            f"{name}-public", vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
            opts=child)

        public_subnets = []
        private_subnets = []
        for index, zone in enumerate(zones[:args.az_count]):
            public = aws.ec2.Subnet(
                f"{name}-public-{index}", vpc_id=vpc.id, cidr_block=public_blocks[index],
                availability_zone=zone, map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{zone}", "kubernetes.io/role/elb": "1"}, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{index}", subnet_id=public.id,
                                          route_table_id=public_routes.id, opts=child)
            public_subnets.append(public)

        nat_ip = aws.ec2.Eip(f"{name}-nat", domain="vpc", opts=child)
        nat = aws.ec2.NatGateway(f"{name}-nat", allocation_id=nat_ip.id,
                                 subnet_id=public_subnets[0].id,
                                 opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]))
        private_routes = aws.ec2.RouteTable(
            f"{name}-private", vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
            opts=child)
        for index, zone in enumerate(zones[:args.az_count]):
            private = aws.ec2.Subnet(
                f"{name}-private-{index}", vpc_id=vpc.id, cidr_block=private_blocks[index],
                availability_zone=zone,
                tags={"Name": f"{name}-private-{zone}", "kubernetes.io/role/internal-elb": "1"},
                opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{index}", subnet_id=private.id,
                                          route_table_id=private_routes.id, opts=child)
            private_subnets.append(private)

        self.vpc_id = vpc.id
        self.vpc_cidr_block = vpc.cidr_block
        self.public_subnet_ids = pulumi.Output.all(*[subnet.id for subnet in public_subnets])
        self.private_subnet_ids = pulumi.Output.all(*[subnet.id for subnet in private_subnets])
        self.register_outputs({
            "vpcId": self.vpc_id,
            "vpcCidrBlock": self.vpc_cidr_block,
            "publicSubnetIds": self.public_subnet_ids,
            "privateSubnetIds": self.private_subnet_ids,
        })
