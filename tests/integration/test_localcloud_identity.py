"""The identity lookups the database side's token check uses (``pgiam.localcloud.identity``), over
moto's real backends in this process: principals and policies created through boto3, session
credentials issued by the strict STS model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import jwt
import pytest
from moto import mock_aws

from pgiam.iam import Request
from pgiam.localcloud.identity import IdentityDirectory, MotoCredentialIssuer
from pgiam.localcloud.oidc import ServiceAccountIssuer, new_issuer_id, new_signing_key, without_scheme
from pgiam.localcloud.serviceaccounts import TokenRequest
from pgiam.localcloud.sts import StrictSts, WebIdentityRequest

ACCOUNT = "123456789012"
CLUSTER = "arn:aws:rds-db:us-east-1:123456789012:dbuser:cluster-ABCDEFGHIJKL"


def connect(user: str, cluster: str = CLUSTER) -> Request:
    return Request("rds-db:connect", f"{cluster}/{user}")


def allow_connect(user: str = "app_user", effect: str = "Allow") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": effect, "Action": "rds-db:connect", "Resource": f"{CLUSTER}/{user}"}]})


class StaticKeys:
    def __init__(self, issuer: ServiceAccountIssuer) -> None:
        self.keys_ = list(jwt.PyJWKSet.from_dict(issuer.jwks()).keys)

    def keys(self, issuer: str, *, refresh: bool = False) -> list:
        return self.keys_


@pytest.fixture(scope="module")
def signing_key() -> Any:
    return new_signing_key()


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        options = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        yield {"iam": boto3.client("iam", **options)}


@pytest.fixture
def directory(aws: dict) -> IdentityDirectory:
    return IdentityDirectory(ACCOUNT, "aws", "us-east-1")


@pytest.fixture
def web_identity(aws: dict, directory: IdentityDirectory, signing_key: Any):
    """``assume(role_name, policy=None) -> credentials`` through the strict STS model on moto."""
    iam = aws["iam"]
    issuer = ServiceAccountIssuer(f"https://localhost:1/id/{new_issuer_id()}", signing_key)
    provider = iam.create_open_id_connect_provider(Url=issuer.issuer, ClientIDList=["sts.amazonaws.com"],
                                                   ThumbprintList=["0" * 40])["OpenIDConnectProviderArn"]
    sts = StrictSts(directory, StaticKeys(issuer), MotoCredentialIssuer(directory), account_id=ACCOUNT)

    def assume(role_name: str, *, policy: str | None = None) -> Any:
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{without_scheme(issuer.issuer)}:sub": "system:serviceaccount:demo:app"}}}]}
        arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        token = issuer.mint(TokenRequest("demo", "app"))
        return sts.assume_role_with_web_identity(WebIdentityRequest(arn, "pod", token, policy=policy))

    assume.provider = provider
    return assume


def test_an_iam_user_key_resolves_to_the_user(aws: dict, directory: IdentityDirectory) -> None:
    iam = aws["iam"]
    user = iam.create_user(UserName="deployer")["User"]
    key = iam.create_access_key(UserName="deployer")["AccessKey"]
    credential = directory.resolve_access_key(key["AccessKeyId"])
    assert credential is not None
    assert (credential.secret_access_key, credential.session_token, credential.expiration) == (
        key["SecretAccessKey"], None, None)
    assert (credential.principal_arn, credential.account_id) == (user["Arn"], ACCOUNT)
    assert credential.principal_context()["aws:username"] == "deployer"
    assert credential.principal_context()["aws:userid"] == user["UserId"]
    iam.update_access_key(UserName="deployer", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert directory.resolve_access_key(key["AccessKeyId"]) is None
    assert directory.resolve_access_key("AKIAUNKNOWNUNKNOWN00") is None


def test_web_identity_session_credentials_resolve_to_the_role(web_identity, directory: IdentityDirectory) -> None:
    result = web_identity("app-role")
    issued = result.credentials
    credential = directory.resolve_access_key(issued.access_key_id)
    assert credential is not None
    assert credential.secret_access_key == issued.secret_access_key
    assert credential.session_token == issued.session_token
    assert credential.expiration == issued.expiration
    assert credential.expiration - datetime.now(timezone.utc) <= timedelta(hours=1)
    assert credential.principal_arn == f"arn:aws:iam::{ACCOUNT}:role/app-role"
    assert credential.session_arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/pod"
    context = credential.principal_context()
    assert context["aws:FederatedProvider"] == web_identity.provider
    assert context["aws:PrincipalType"] == "AssumedRole" and "aws:TokenIssueTime" in context
    role_id = directory.role(credential.principal_arn).role_id
    assert context["aws:userid"] == f"{role_id}:pod" == result.credentials.assumed_role_id


def test_identity_policies_of_a_role_are_inline_and_attached(aws: dict, web_identity,
                                                             directory: IdentityDirectory) -> None:
    iam = aws["iam"]
    credential = directory.resolve_access_key(web_identity("app-role").credentials.access_key_id)
    iam.put_role_policy(RoleName="app-role", PolicyName="connect", PolicyDocument=allow_connect())
    managed = iam.create_policy(PolicyName="deny-admin", PolicyDocument=allow_connect("pgadmin", "Deny"))
    iam.attach_role_policy(RoleName="app-role", PolicyArn=managed["Policy"]["Arn"])
    names = [p.name for p in directory.identity_policies(credential.principal_arn)]
    assert names == ["inline:connect", managed["Policy"]["Arn"]]
    assert directory.identity_policies(credential.session_arn) == directory.identity_policies(credential.principal_arn)
    assert directory.authorize(credential, connect("app_user")).allowed
    assert directory.authorize(credential, connect("pgadmin")).effect == "ExplicitDeny"
    assert directory.authorize(credential, connect("other")).effect == "ImplicitDeny"
    assert directory.authorize(credential, connect("app_user", CLUSTER + "X")).effect == "ImplicitDeny"
    assert directory.explain(credential, connect("other")) == (
        f"inline:connect Statement[0]: its Resource ['{CLUSTER}/app_user'] does not cover {CLUSTER}/other; "
        f"{managed['Policy']['Arn']} has no Allow statement")


def test_a_users_group_policies_count(aws: dict, directory: IdentityDirectory) -> None:
    iam = aws["iam"]
    iam.create_user(UserName="dev")
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="dev")
    iam.put_group_policy(GroupName="devs", PolicyName="connect", PolicyDocument=allow_connect())
    key = iam.create_access_key(UserName="dev")["AccessKey"]["AccessKeyId"]
    credential = directory.resolve_access_key(key)
    assert [p.name for p in directory.identity_policies(credential.principal_arn)] == [
        f"arn:aws:iam::{ACCOUNT}:group/devs inline:connect"]
    assert directory.authorize(credential, connect("app_user")).allowed


def test_a_permissions_boundary_limits_the_role(aws: dict, web_identity, directory: IdentityDirectory) -> None:
    iam = aws["iam"]
    credential = directory.resolve_access_key(web_identity("bounded").credentials.access_key_id)
    iam.put_role_policy(RoleName="bounded", PolicyName="wide", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds-db:connect", "Resource": "*"}]}))
    boundary = iam.create_policy(PolicyName="only-app-user", PolicyDocument=allow_connect())["Policy"]["Arn"]
    iam.put_role_permissions_boundary(RoleName="bounded", PermissionsBoundary=boundary)
    assert directory.authorize(credential, connect("app_user")).allowed
    assert not directory.authorize(credential, connect("pgadmin")).allowed
    assert directory.explain(credential, connect("pgadmin")) == (
        f"outside the permissions boundary: boundary:{boundary} Statement[0]: its Resource "
        f"['{CLUSTER}/app_user'] does not cover {CLUSTER}/pgadmin")


def test_a_session_policy_narrows_the_session(aws: dict, web_identity, directory: IdentityDirectory) -> None:
    iam = aws["iam"]
    result = web_identity("narrowed", policy=allow_connect("reader"))
    credential = directory.resolve_access_key(result.credentials.access_key_id)
    iam.put_role_policy(RoleName="narrowed", PolicyName="both", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds-db:connect",
                                                "Resource": [f"{CLUSTER}/reader", f"{CLUSTER}/writer"]}]}))
    assert result.packed_policy_size is not None
    assert directory.authorize(credential, connect("reader")).allowed
    decision = directory.authorize(credential, connect("writer"))
    assert not decision.allowed and decision.policy_name == "session policies"
    assert directory.explain(credential, connect("writer")) == (
        f"outside the session policies: session:inline Statement[0]: its Resource ['{CLUSTER}/reader'] "
        f"does not cover {CLUSTER}/writer")


def test_an_unknown_principal_is_a_lookup_error(directory: IdentityDirectory) -> None:
    with pytest.raises(LookupError):
        directory.identity_policies(f"arn:aws:iam::{ACCOUNT}:role/ghost")
