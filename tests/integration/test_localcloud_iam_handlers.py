"""IAM where moto's gaps would let the local cloud allow what AWS refuses: a user's permissions
boundary (moto drops it), an OIDC provider's client ids (moto cannot edit them), and the
principal's tags as ``aws:PrincipalTag/...`` condition keys. Each is checked where it matters:
at the database's token check and at the strict STS."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest
from rds_fixtures import APP_USER


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def connect(resource: str, **extra) -> dict:
    return {"Effect": "Allow", "Action": "rds-db:connect", "Resource": resource, **extra}


@pytest.fixture
def user_with_connect(localcloud, shared_cluster, unique_name):
    """``(name, credentials)`` of an IAM user whose inline policy allows connecting as app_user."""
    iam = localcloud.client("iam")

    def create(**create_options) -> tuple[str, dict]:
        name = unique_name("dbuser")
        iam.create_user(UserName=name, **create_options)
        iam.put_user_policy(UserName=name, PolicyName="connect",
                            PolicyDocument=policy(connect(shared_cluster.dbuser_arn(APP_USER))))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return name, {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}

    return create


def logs_in(cluster, credentials) -> bool:
    try:
        return cluster.login(APP_USER, cluster.token(credentials, APP_USER))[0] == APP_USER
    except Exception:  # psycopg2.OperationalError: the refusal
        return False


def test_a_users_permissions_boundary_limits_its_logins(localcloud, shared_cluster, user_with_connect,
                                                        unique_name):
    iam = localcloud.client("iam")
    elsewhere = iam.create_policy(PolicyName=unique_name("s3-only"), PolicyDocument=policy(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))["Policy"]["Arn"]
    name, credentials = user_with_connect(PermissionsBoundary=elsewhere)
    assert iam.get_user(UserName=name)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == elsewhere
    assert not logs_in(shared_cluster, credentials)
    iam.delete_user_permissions_boundary(UserName=name)
    assert "PermissionsBoundary" not in iam.get_user(UserName=name)["User"]
    assert logs_in(shared_cluster, credentials)
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=elsewhere)
    assert not logs_in(shared_cluster, credentials)


def test_a_boundary_must_be_an_existing_policy(localcloud, user_with_connect):
    iam = localcloud.client("iam")
    name, _ = user_with_connect()
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        iam.put_user_permissions_boundary(UserName=name,
                                          PermissionsBoundary=f"arn:aws:iam::{localcloud.account_id}:policy/none")
    assert caught.value.response["Error"]["Code"] == "NoSuchEntity"


def test_principal_tags_are_condition_keys_of_the_token_check(localcloud, shared_cluster, unique_name):
    iam = localcloud.client("iam")
    name = unique_name("tagged")
    iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "db"}])
    iam.put_user_policy(UserName=name, PolicyName="connect", PolicyDocument=policy(connect(
        shared_cluster.dbuser_arn(APP_USER), Condition={"StringEquals": {"aws:PrincipalTag/team": "db"}})))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    credentials = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
    assert logs_in(shared_cluster, credentials)
    iam.tag_user(UserName=name, Tags=[{"Key": "team", "Value": "web"}])
    assert not logs_in(shared_cluster, credentials)


def test_a_removed_client_id_is_no_longer_an_audience(localcloud_factory):
    """``RemoveClientIDFromOpenIDConnectProvider`` revokes an audience at once (moto answers 500
    for it; the local cloud edits the provider)."""
    cloud = localcloud_factory()
    iam = cloud.client("iam")
    provider = iam.create_open_id_connect_provider(Url=cloud.issuer, ClientIDList=["sts.amazonaws.com"],
                                                   ThumbprintList=[cloud.info["oidc"]["thumbprint"]])
    arn = provider["OpenIDConnectProviderArn"]
    trust = policy({"Effect": "Allow", "Principal": {"Federated": arn}, "Action": "sts:AssumeRoleWithWebIdentity"})
    role = iam.create_role(RoleName="irsa", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    sts = cloud.client("sts", unsigned=True)

    def audience(aud: str) -> str:
        try:
            return sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="s1", WebIdentityToken=(
                cloud.mint_token("demo", "app", audience=aud)))["Audience"]
        except botocore.exceptions.ClientError as error:
            return error.response["Error"]["Message"]

    assert audience("vault") == "Incorrect token audience"
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="vault")
    assert audience("vault") == "vault"
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="sts.amazonaws.com")
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["ClientIDList"] == ["vault"]
    assert audience("sts.amazonaws.com") == "Incorrect token audience"
