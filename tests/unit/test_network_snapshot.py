"""The network check's inputs read from EC2, RDS and EKS answers (moto in process): the database
an endpoint name belongs to, the pods' private subnets, and the verdict before and after the
rule that admits them (a refusal and its control on the same setup)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from pgiam.localcloud.network.snapshot import ec2_state, pod_to_database, pods_of_cluster

pytestmark = pytest.mark.unit

REGION = "us-east-1"


@pytest.fixture
def clouds():
    with mock_aws():
        ec2, rds, eks = (boto3.client(s, region_name=REGION) for s in ("ec2", "rds", "eks"))
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = {name: ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{REGION}{az}")[
            "Subnet"]["SubnetId"] for name, cidr, az in (("pub", "10.0.0.0/24", "a"), ("pod", "10.0.128.0/24", "a"),
                                                      ("db1", "10.0.200.0/24", "a"), ("db2", "10.0.201.0/24", "b"))}
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        public = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=public, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        ec2.associate_route_table(RouteTableId=public, SubnetId=subnets["pub"])
        group = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}])
        rds.create_db_subnet_group(DBSubnetGroupName="db", DBSubnetGroupDescription="db",
                                   SubnetIds=[subnets["db1"], subnets["db2"]])
        cluster = rds.create_db_cluster(DBClusterIdentifier="db1", Engine="aurora-postgresql", MasterUsername="pgadmin",
                                        MasterUserPassword="password-1", DBSubnetGroupName="db",
                                        VpcSecurityGroupIds=[group])["DBCluster"]
        eks.create_cluster(name="demo", roleArn="arn:aws:iam::123456789012:role/eks",
                           resourcesVpcConfig={"subnetIds": [subnets["pub"], subnets["pod"]]})
        yield ec2, rds, eks, cluster, group, subnets


def test_pods_are_in_the_clusters_private_subnet(clouds):
    ec2, _, eks, _, _, subnets = clouds
    assert pods_of_cluster(eks, "demo", ec2_state(ec2)).subnet_ids == (subnets["pod"],)


def test_a_database_group_for_another_cidr_is_refused_and_the_pods_cidr_admitted(clouds):
    ec2, rds, eks, cluster, group, subnets = clouds
    for host in (cluster["Endpoint"], cluster["ReaderEndpoint"]):
        verdict = pod_to_database(ec2, rds, eks, "demo", host, None)
        assert verdict is not None and not verdict.allowed
        assert f"security group {group} of cluster db1 admits {group}: tcp 5432 from 10.9.0.0/16" in verdict.reason
        assert f"the pods' subnet {subnets['pod']} (10.0.128.0/24)" in verdict.reason
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.0.128.0/24"}]}])
    assert pod_to_database(ec2, rds, eks, "demo", cluster["Endpoint"], 5432).allowed


def test_a_host_that_is_no_database_is_not_judged(clouds):
    ec2, rds, eks, *_ = clouds
    assert pod_to_database(ec2, rds, eks, "demo", "127.0.0.1", 5432) is None
