"""Credentials the local cloud never issued are refused, as AWS refuses them (issue 12 §2): every
call must be signed by the administrator ``up`` created, an IAM user's key or STS session
credentials, and is held to their policies. ``--accept-unknown-keys`` is moto's way, explicit and
loud. Each refusal is paired with the same call succeeding with issued keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest

INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid."
MADE_UP = {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}


def refusal(call: Callable[[], Any]) -> tuple[str, int, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    error = caught.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"], error["Error"].get("Message", "")


def pgiam_localcloud(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pgiam", "localcloud", *args], capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture
def pod_credentials(localcloud, localcloud_oidc_provider, unique_name) -> tuple[str, dict[str, str]]:
    """A pod's role (allowed only rds-db:connect) and the session credentials its token gets."""
    iam = localcloud.client("iam")
    name = unique_name("pod")
    key = localcloud.issuer_host_path
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": localcloud_oidc_provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{key}:sub": f"system:serviceaccount:demo:{name}"}}}]}
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=name, PolicyName="connect", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds-db:connect", "Resource": "*"}]}))
    credentials = localcloud.client("sts", unsigned=True).assume_role_with_web_identity(
        RoleArn=f"arn:aws:iam::{localcloud.account_id}:role/{name}", RoleSessionName="pod",
        WebIdentityToken=localcloud.mint_token("demo", name))["Credentials"]
    return name, credentials


def test_up_prints_the_administrators_keys_and_keeps_them_private(localcloud):
    admin = localcloud.info["admin"]
    assert admin["access_key_id"].startswith("AKIA") and len(admin["secret_access_key"]) == 40
    assert localcloud.info["accept_unknown_keys"] is False
    assert oct((localcloud.state_dir / "state.json").stat().st_mode & 0o777) == "0o600"
    identity = localcloud.client("sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{localcloud.account_id}:user/localcloud-admin"


@pytest.mark.parametrize("service, call", [
    ("iam", lambda client: client.list_roles()),
    ("rds", lambda client: client.describe_db_clusters()),
    ("sts", lambda client: client.get_caller_identity()),
    ("ec2", lambda client: client.describe_vpcs()),
])
def test_made_up_keys_are_refused_with_invalid_client_token_id(localcloud, service, call):
    call(localcloud.client(service))  # control: the administrator's keys
    made_up = localcloud.client(service, **MADE_UP)
    code, status, message = refusal(lambda: call(made_up))
    assert (code, status) == ("InvalidClientTokenId", 403)
    assert message == INVALID_TOKEN_MESSAGE


def test_made_up_keys_on_a_json_protocol_service_get_its_error_shape(localcloud):
    localcloud.client("logs").describe_log_groups()  # control
    code, status, message = refusal(lambda: localcloud.client("logs", **MADE_UP).describe_log_groups())
    assert (code, status, message) == ("UnrecognizedClientException", 400, INVALID_TOKEN_MESSAGE)


def test_the_administrators_key_with_a_wrong_secret_is_refused(localcloud):
    wrong = localcloud.client("iam", access_key_id=localcloud.admin_access_key_id,
                              secret_access_key=localcloud.admin_secret_access_key[:-1] + "x")
    assert refusal(lambda: wrong.list_roles())[:2] == ("SignatureDoesNotMatch", 403)
    localcloud.client("iam").list_roles()  # control


def test_unsigned_calls_are_refused_but_web_identity_needs_no_signature(localcloud, pod_credentials):
    assert pod_credentials[1]["AccessKeyId"].startswith("ASIA")  # control: unsigned web identity worked
    unsigned = localcloud.client("iam", unsigned=True)
    assert refusal(lambda: unsigned.list_roles())[:2] == ("MissingAuthenticationToken", 403)


def test_a_pod_cannot_widen_its_own_role_with_invented_keys(localcloud, pod_credentials):
    role, credentials = pod_credentials
    widen = {"RoleName": role, "PolicyName": "widen", "PolicyDocument": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})}
    as_pod = localcloud.client("iam", access_key_id=credentials["AccessKeyId"],
                               secret_access_key=credentials["SecretAccessKey"],
                               session_token=credentials["SessionToken"])
    assert refusal(lambda: as_pod.put_role_policy(**widen))[:2] == ("AccessDenied", 403)
    invented = localcloud.client("iam", access_key_id="AKIAINVENTEDBYAPOD01", secret_access_key="s" * 40)
    assert refusal(lambda: invented.put_role_policy(**widen))[:2] == ("InvalidClientTokenId", 403)
    assert localcloud.client("iam").list_role_policies(RoleName=role)["PolicyNames"] == ["connect"]
    localcloud.client("iam").put_role_policy(**widen)  # control: the administrator may
    localcloud.client("iam").delete_role_policy(RoleName=role, PolicyName="widen")


def test_session_credentials_are_held_to_their_policies_beyond_iam_and_rds(localcloud, pod_credentials):
    _, credentials = pod_credentials
    as_pod = localcloud.client("ec2", access_key_id=credentials["AccessKeyId"],
                               secret_access_key=credentials["SecretAccessKey"],
                               session_token=credentials["SessionToken"])
    code, status, message = refusal(lambda: as_pod.describe_vpcs())
    assert (code, status) == ("AccessDenied", 403) and "ec2:DescribeVpcs" in message
    localcloud.client("ec2").describe_vpcs()  # control


def test_motos_own_api_is_not_served(localcloud):
    for path, host in (("/moto-api/data.json", None), ("/moto-api/reset", None), ("//moto-api/reset", None),
                       ("/moto-api/reset", "motoapi.amazonaws.com")):
        request = urllib.request.Request(localcloud.endpoint_url + path, method="POST" if "reset" in path else "GET",
                                         headers={"Host": host} if host else {})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403
    localcloud.client("iam").list_roles()  # control: nothing was reset, the endpoint serves


def test_accept_unknown_keys_is_explicit_and_loud(localcloud_base_dir, localcloud):
    state_dir = localcloud_base_dir / "permissive"
    up = pgiam_localcloud("up", "--state-dir", str(state_dir), "--accept-unknown-keys")
    try:
        assert up.returncode == 0, up.stderr
        info = json.loads(up.stdout)
        assert info["accept_unknown_keys"] is True and "WARNING" in up.stderr
        status = pgiam_localcloud("status", "--state-dir", str(state_dir))
        assert status.returncode == 0 and "--accept-unknown-keys" in status.stderr
        import boto3

        made_up = boto3.client("iam", endpoint_url=info["endpoint_url"], region_name="us-east-1",
                               aws_access_key_id=MADE_UP["access_key_id"],
                               aws_secret_access_key=MADE_UP["secret_access_key"])
        assert "Roles" in made_up.list_roles()
        # the same keys on the strict cloud of the same test run
        assert refusal(lambda: localcloud.client("iam", **MADE_UP).list_roles())[0] == "InvalidClientTokenId"
        strict_again = pgiam_localcloud("up", "--state-dir", str(state_dir))
        assert strict_again.returncode != 0 and "accepts unknown access keys" in strict_again.stderr
    finally:
        pgiam_localcloud("down", "--state-dir", str(state_dir))
    assert not os.path.exists(state_dir)


@pytest.mark.parametrize("service, call, expected", [
    ("s3", lambda client: client.list_buckets(), ("InvalidAccessKeyId", 403)),
    ("eks", lambda client: client.list_clusters(), ("UnrecognizedClientException", 403)),
])
def test_made_up_keys_on_rest_protocols_get_their_error_shape(localcloud, service, call, expected):
    call(localcloud.client(service))  # control
    code, status, _ = refusal(lambda: call(localcloud.client(service, **MADE_UP)))
    assert (code, status) == expected
