"""Which resource an IAM or RDS call signed with the cloud's own credentials is authorized on."""

from __future__ import annotations

import pytest

from pgiam.localcloud.caller_authz import iam_resource, rds_resource
from pgiam.localcloud.identity import aws_principal_entries, replace_aws_principals

ACCOUNT = "111122223333"
PATHS = {("role", "app"): f"arn:aws:iam::{ACCOUNT}:role/team/app"}


@pytest.mark.parametrize(("params", "resource"), [
    ({"RoleName": "app", "PolicyName": "p"}, f"arn:aws:iam::{ACCOUNT}:role/team/app"),
    ({"RoleName": "new", "Path": "/x/"}, f"arn:aws:iam::{ACCOUNT}:role/x/new"),
    ({"UserName": "bob", "PolicyArn": "arn:aws:iam::aws:policy/Admin"}, f"arn:aws:iam::{ACCOUNT}:user/bob"),
    ({"PolicyArn": "arn:aws:iam::aws:policy/Admin"}, "arn:aws:iam::aws:policy/Admin"),
    ({"PolicyName": "mine", "PolicyDocument": "{}"}, f"arn:aws:iam::{ACCOUNT}:policy/mine"),
    ({"Url": "https://oidc.example/id/1"}, f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.example/id/1"),
    ({}, "*"),
])
def test_an_iam_call_is_authorized_on_the_entity_it_names(params: dict, resource: str) -> None:
    assert iam_resource(params, ACCOUNT, lambda kind, name: PATHS.get((kind, name))) == resource


def test_an_rds_call_is_authorized_on_the_instance_else_the_cluster() -> None:
    assert rds_resource({"DBInstanceIdentifier": "DB-1", "DBClusterIdentifier": "c"}, "eu-west-1", ACCOUNT) == \
        f"arn:aws:rds:eu-west-1:{ACCOUNT}:db:db-1"
    assert rds_resource({"DBClusterIdentifier": "C1"}, "eu-west-1", ACCOUNT) == \
        f"arn:aws:rds:eu-west-1:{ACCOUNT}:cluster:c1"
    assert rds_resource({}, "eu-west-1", ACCOUNT) == "*"


def test_stale_trust_principals_are_replaced_by_their_old_ids() -> None:
    user = f"arn:aws:iam::{ACCOUNT}:user/alice"
    document = {"Statement": [{"Principal": {"AWS": [user, ACCOUNT]}}, {"NotPrincipal": {"AWS": user}},
                              {"Principal": {"Service": "ec2.amazonaws.com"}}]}
    assert aws_principal_entries(document) == [user, ACCOUNT, user]
    replaced = replace_aws_principals(document, {user: "AIDAOLDID"})
    assert aws_principal_entries(replaced) == ["AIDAOLDID", ACCOUNT, "AIDAOLDID"]
