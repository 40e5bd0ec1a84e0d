"""What team programs take from AWS exists in the local cloud: AWS-managed policies
(``arn:aws:iam::aws:policy/...``), which EKS cluster and node roles attach, attach as on AWS;
an AWS-managed ARN that does not exist is refused as AWS refuses it."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.integration

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


@pytest.fixture
def iam(pgiam_localcloud):
    client = pgiam_localcloud.client("iam")
    client.create_role(RoleName="team-eks-control-plane", AssumeRolePolicyDocument=TRUST)
    yield client
    for attached in client.list_attached_role_policies(
            RoleName="team-eks-control-plane")["AttachedPolicies"]:
        client.detach_role_policy(RoleName="team-eks-control-plane",
                                  PolicyArn=attached["PolicyArn"])
    client.delete_role(RoleName="team-eks-control-plane")


@pytest.mark.parametrize("name", ["AmazonEKSClusterPolicy", "AmazonEKSWorkerNodePolicy",
                                  "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"])
def test_an_aws_managed_policy_attaches(iam, name) -> None:
    arn = f"arn:aws:iam::aws:policy/{name}"
    iam.attach_role_policy(RoleName="team-eks-control-plane", PolicyArn=arn)
    attached = iam.list_attached_role_policies(RoleName="team-eks-control-plane")
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [arn]


def test_a_made_up_aws_managed_policy_is_refused(iam) -> None:
    with pytest.raises(ClientError) as refused:
        iam.attach_role_policy(RoleName="team-eks-control-plane",
                               PolicyArn="arn:aws:iam::aws:policy/NoSuchTeamPolicy")
    assert refused.value.response["Error"]["Code"] == "NoSuchEntity"
