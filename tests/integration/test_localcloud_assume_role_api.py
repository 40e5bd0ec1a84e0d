"""``sts:AssumeRole`` (and ``AssumeRoleWithSAML``) at the local cloud, through boto3: moto's own
hands any role's credentials to anyone, and the database would honour them. Here the caller must
sign with credentials the cloud knows, the role's trust policy must allow it, and its own
policies must allow it when the trust names only the account; the credentials that come out are
the only ones the database's token check honours."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest
from rds_fixtures import APP_USER

ACCOUNT = "123456789012"
NOWHERE = f"arn:aws:rds-db:us-east-1:{ACCOUNT}:dbuser:cluster-NOWHERE/nobody"


def error_code(call: Callable[[], Any]) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def allow(action: str, resource: str, effect: str = "Allow") -> str:
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": effect, "Action": action, "Resource": resource}]})


def trust_of(principal: Any, **extra: Any) -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture
def user_keys(aws_client, unique_name) -> Callable[..., dict[str, str]]:
    """``user_keys(policy=None) -> {"AccessKeyId", "SecretAccessKey", "Arn", "UserName"}``."""
    iam = aws_client("iam")

    def create(policy: str | None = None) -> dict[str, str]:
        name = unique_name("user")
        arn = iam.create_user(UserName=name)["User"]["Arn"]
        if policy is not None:
            iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"], "Arn": arn,
                "UserName": name}

    return create


@pytest.fixture
def make_role(aws_client, unique_name) -> Callable[..., str]:
    iam = aws_client("iam")

    def create(trust: str, *, policy: str | None = None, max_session: int = 3600) -> str:
        name = unique_name("role")
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, MaxSessionDuration=max_session)["Role"]["Arn"]
        if policy is not None:
            iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy)
        return arn

    return create


@pytest.fixture
def control(shared_cluster, connect_role, role_credentials) -> Callable[[], None]:
    """A successful IAM login on the shared cluster, right now (a dead server never passes)."""
    credentials = role_credentials(connect_role(shared_cluster.dbuser_arn(APP_USER)))

    def login() -> None:
        assert shared_cluster.login(APP_USER, shared_cluster.token(credentials, APP_USER))[0] == APP_USER

    return login


def sts_as(localcloud, credentials: dict[str, str]) -> Any:
    return localcloud.client("sts", access_key_id=credentials["AccessKeyId"],
                             secret_access_key=credentials["SecretAccessKey"],
                             session_token=credentials.get("SessionToken"))


def test_made_up_credentials_cannot_assume_a_role_the_administrator_can(localcloud, make_role):
    role = make_role(trust_of({"AWS": ACCOUNT}))
    made_up = localcloud.client("sts", access_key_id="AKIAPGIAMMADEUPKEY00", secret_access_key="x" * 40)
    assert error_code(lambda: made_up.assume_role(RoleArn=role, RoleSessionName="s1")) == "InvalidClientTokenId"
    # the administrator `up` created is an IAM user whose policy allows every action
    assumed = localcloud.client("sts").assume_role(RoleArn=role, RoleSessionName="s1")["AssumedRoleUser"]
    assert assumed["Arn"].endswith(":assumed-role/" + role.rsplit("/", 1)[1] + "/s1")


def test_unsigned_assume_role_is_refused(localcloud, make_role):
    role = make_role(trust_of({"AWS": ACCOUNT}))
    assert error_code(lambda: localcloud.client("sts", unsigned=True).assume_role(
        RoleArn=role, RoleSessionName="s1")) == "MissingAuthenticationToken"


def test_a_user_named_in_the_trust_assumes_without_an_identity_policy(localcloud, user_keys, make_role):
    user = user_keys()
    role = make_role(trust_of({"AWS": user["Arn"]}))
    answer = sts_as(localcloud, user).assume_role(RoleArn=role, RoleSessionName="named")
    assert answer["AssumedRoleUser"]["Arn"] == role.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") \
        + "/named"
    identity = sts_as(localcloud, answer["Credentials"]).get_caller_identity()
    assert identity["Arn"] == answer["AssumedRoleUser"]["Arn"]


def test_trust_naming_only_the_account_needs_the_callers_identity_policy(localcloud, user_keys, make_role):
    role = make_role(trust_of({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    without = user_keys()
    assert error_code(lambda: sts_as(localcloud, without).assume_role(
        RoleArn=role, RoleSessionName="s1")) == "AccessDenied"
    allowed = user_keys(allow("sts:AssumeRole", role))
    assert sts_as(localcloud, allowed).assume_role(RoleArn=role, RoleSessionName="s1")["Credentials"]


def test_a_trust_for_someone_else_a_failed_condition_or_an_explicit_deny_refuses(localcloud, user_keys,
                                                                                 make_role):
    caller = user_keys(allow("sts:AssumeRole", "*"))
    other = user_keys()
    for role in (make_role(trust_of({"AWS": other["Arn"]})), make_role(trust_of({"Service": "ec2.amazonaws.com"}))):
        assert error_code(lambda: sts_as(localcloud, caller).assume_role(
            RoleArn=role, RoleSessionName="s1")) == "AccessDenied"
    with_external_id = make_role(trust_of({"AWS": ACCOUNT},
                                          Condition={"StringEquals": {"sts:ExternalId": "expected-id"}}))
    assert error_code(lambda: sts_as(localcloud, caller).assume_role(
        RoleArn=with_external_id, RoleSessionName="s1", ExternalId="another-id")) == "AccessDenied"
    assert sts_as(localcloud, caller).assume_role(RoleArn=with_external_id, RoleSessionName="s1",
                                                  ExternalId="expected-id")["Credentials"]
    denied = user_keys()
    named = make_role(trust_of({"AWS": denied["Arn"]}))
    localcloud.client("iam").put_user_policy(UserName=denied["UserName"], PolicyName="p",
                                             PolicyDocument=allow("sts:AssumeRole", named, "Deny"))
    assert error_code(lambda: sts_as(localcloud, denied).assume_role(
        RoleArn=named, RoleSessionName="s1")) == "AccessDenied"


def test_a_wrong_secret_or_a_stolen_session_token_is_refused(localcloud, user_keys, make_role, connect_role,
                                                             role_credentials):
    user = user_keys()
    role = make_role(trust_of({"AWS": user["Arn"]}))
    assert error_code(lambda: sts_as(localcloud, {**user, "SecretAccessKey": "guessed"}).assume_role(
        RoleArn=role, RoleSessionName="s1")) == "SignatureDoesNotMatch"
    session = role_credentials(connect_role(NOWHERE))
    other = role_credentials(connect_role(NOWHERE))
    assert error_code(lambda: sts_as(localcloud, {**session, "SessionToken": other["SessionToken"]}).assume_role(
        RoleArn=role, RoleSessionName="s1")) == "InvalidClientTokenId"


def test_role_chaining_needs_the_trust_and_is_limited_to_an_hour(localcloud, connect_role, role_credentials,
                                                                 make_role):
    pod_role = connect_role(NOWHERE)
    session = role_credentials(pod_role)
    chained = make_role(trust_of({"AWS": pod_role}), max_session=7200)
    assert error_code(lambda: sts_as(localcloud, session).assume_role(
        RoleArn=chained, RoleSessionName="s1", DurationSeconds=7200)) == "ValidationError"
    credentials = sts_as(localcloud, session).assume_role(RoleArn=chained, RoleSessionName="s1")["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    stranger = make_role(trust_of({"AWS": ACCOUNT}))  # the pod role has no sts:AssumeRole permission
    assert error_code(lambda: sts_as(localcloud, session).assume_role(
        RoleArn=stranger, RoleSessionName="s1")) == "AccessDenied"


def test_saml_is_refused(localcloud, make_role):
    role = make_role(trust_of({"AWS": ACCOUNT}))
    assertion = base64.b64encode(b"<samlp:Response/>").decode()
    assert error_code(lambda: localcloud.client("sts", unsigned=True).assume_role_with_saml(
        RoleArn=role, PrincipalArn=f"arn:aws:iam::{ACCOUNT}:saml-provider/x", SAMLAssertion=assertion * 2,
    )) == "InvalidIdentityToken"


def test_made_up_keys_get_no_credentials_for_a_role_that_may_connect(shared_cluster, localcloud, make_role,
                                                                     user_keys, control):
    """The attack moto allows: AssumeRole with made-up keys (or a user the trust does not name)
    on a role allowed to connect; moto would answer with credentials the database honours."""
    role = make_role(trust_of({"Service": "ec2.amazonaws.com"}),
                     policy=allow("rds-db:connect", shared_cluster.dbuser_arn(APP_USER)))
    control()
    attacker = localcloud.client("sts", access_key_id="AKIAATTACKER00000000", secret_access_key="x")
    assert error_code(lambda: attacker.assume_role(RoleArn=role, RoleSessionName="xx")) == "InvalidClientTokenId"
    insider = user_keys(allow("sts:AssumeRole", "*"))
    assert error_code(lambda: sts_as(localcloud, insider).assume_role(
        RoleArn=role, RoleSessionName="xx")) == "AccessDenied"


def test_chained_credentials_log_in_with_the_target_roles_policy(shared_cluster, localcloud, connect_role,
                                                                 role_credentials, make_role, control):
    pod_role = connect_role(NOWHERE)
    target = make_role(trust_of({"AWS": pod_role}),
                       policy=allow("rds-db:connect", shared_cluster.dbuser_arn(APP_USER)))
    chained = sts_as(localcloud, role_credentials(pod_role)).assume_role(
        RoleArn=target, RoleSessionName="chain")["Credentials"]
    control()
    token = shared_cluster.token(chained, APP_USER)
    assert shared_cluster.login(APP_USER, token) == (APP_USER, True)


def test_a_session_of_a_deleted_and_recreated_role_is_refused(shared_cluster, localcloud, connect_role,
                                                              role_credentials, control, daemon_log):
    """IAM binds a session to the role's unique id: a new role with the same name is another role."""
    iam = localcloud.client("iam")
    role_arn = connect_role(shared_cluster.dbuser_arn(APP_USER))
    name = role_arn.rsplit("/", 1)[1]
    credentials = role_credentials(role_arn)
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    iam.delete_role_policy(RoleName=name, PolicyName="connect")
    iam.delete_role(RoleName=name)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=name, PolicyName="connect",
                        PolicyDocument=allow("rds-db:connect", shared_cluster.dbuser_arn(APP_USER)))
    control()
    mark = daemon_log.mark()
    shared_cluster.refused(APP_USER, shared_cluster.token(credentials, APP_USER))
    assert "reason=policy-unreadable" in daemon_log.since(mark)
    fresh = role_credentials(role_arn)
    assert shared_cluster.login(APP_USER, shared_cluster.token(fresh, APP_USER))[0] == APP_USER


@pytest.mark.parametrize("encoding", ["form", "text/plain", "gzip", "query-string GET"])
def test_no_encoding_of_assume_role_reaches_moto(localcloud, make_role, encoding: str):
    """However the call is written, it meets the strict handler (and moto's own answer refuses as
    a second lock): made-up credentials never come back with a role's keys."""
    import gzip
    import urllib.error
    import urllib.parse
    import urllib.request

    params = {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": make_role(trust_of({"AWS": ACCOUNT})),
              "RoleSessionName": "s1"}
    form = urllib.parse.urlencode(params).encode()
    headers = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEEXAMPLE00/20260101/us-east-1/sts/"
                                "aws4_request, SignedHeaders=host, Signature=" + "0" * 64}
    url, body, method = localcloud.endpoint_url + "/", form, "POST"
    if encoding == "form":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif encoding == "text/plain":
        headers["Content-Type"] = "text/plain"
    elif encoding == "gzip":
        body = gzip.compress(form)
        headers.update({"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"})
    else:
        url, body, method = f"{url}?{form.decode()}", None, "GET"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    answer = caught.value.read()
    assert caught.value.code == 403 and b"<AccessKeyId>" not in answer, answer


def test_a_pods_credentials_cannot_rewrite_its_role_or_the_cluster(shared_cluster, localcloud, connect_role,
                                                                   role_credentials, control):
    """Credentials the cloud issued are held to their policies for IAM and RDS calls (the admin
    API's made-up credentials are not): a pod allowed only ``rds-db:connect`` can neither grant
    itself more nor reset the master password nor switch IAM authentication off."""
    role = connect_role(shared_cluster.dbuser_arn(APP_USER))
    pod = role_credentials(role)
    iam = localcloud.client("iam", access_key_id=pod["AccessKeyId"], secret_access_key=pod["SecretAccessKey"],
                            session_token=pod["SessionToken"])
    rds = localcloud.client("rds", access_key_id=pod["AccessKeyId"], secret_access_key=pod["SecretAccessKey"],
                            session_token=pod["SessionToken"])
    name = role.rsplit("/", 1)[1]
    assert error_code(lambda: iam.put_role_policy(RoleName=name, PolicyName="more", PolicyDocument=allow(
        "rds-db:connect", "*"))) == "AccessDenied"
    assert error_code(lambda: iam.list_roles()) == "AccessDenied"
    assert error_code(lambda: rds.modify_db_cluster(DBClusterIdentifier=shared_cluster.identifier,
                                                    MasterUserPassword="taken-over-1",
                                                    ApplyImmediately=True)) == "AccessDenied"
    assert error_code(lambda: rds.modify_db_cluster(DBClusterIdentifier=shared_cluster.identifier,
                                                    EnableIAMDatabaseAuthentication=False)) == "AccessDenied"
    assert sts_as(localcloud, pod).get_caller_identity()["Arn"].endswith("/pod")
    assert error_code(lambda: sts_as(localcloud, pod).get_session_token()) == "AccessDenied"
    control()
    assert shared_cluster.login("pgadmin", shared_cluster.master_password)[0] == "pgadmin"


def test_a_users_identity_policy_lets_it_call_what_it_allows(localcloud, user_keys, unique_name):
    reader = user_keys(allow("iam:GetRole", "*"))
    iam = localcloud.client("iam", access_key_id=reader["AccessKeyId"], secret_access_key=reader["SecretAccessKey"])
    role = unique_name("readable")
    localcloud.client("iam").create_role(RoleName=role, AssumeRolePolicyDocument=trust_of({"AWS": ACCOUNT}))
    assert iam.get_role(RoleName=role)["Role"]["RoleName"] == role
    assert error_code(lambda: iam.delete_role(RoleName=role)) == "AccessDenied"
    forged = localcloud.client("iam", access_key_id=reader["AccessKeyId"], secret_access_key="guessed")
    assert error_code(lambda: forged.get_role(RoleName=role)) == "SignatureDoesNotMatch"


def test_a_trust_naming_a_missing_principal_is_malformed(localcloud, unique_name, make_role):
    iam = localcloud.client("iam")
    ghost = f"arn:aws:iam::{ACCOUNT}:user/{unique_name('ghost')}"
    assert error_code(lambda: iam.create_role(RoleName=unique_name("r"), AssumeRolePolicyDocument=trust_of(
        {"AWS": ghost}))) == "MalformedPolicyDocument"
    role = make_role(trust_of({"AWS": ACCOUNT}))
    assert error_code(lambda: iam.update_assume_role_policy(RoleName=role.rsplit("/", 1)[1], PolicyDocument=trust_of(
        {"AWS": [f"arn:aws:iam::{ACCOUNT}:root", ghost.replace(":user/", ":role/")]}))) == "MalformedPolicyDocument"


def test_a_trusted_user_deleted_and_recreated_is_not_trusted(localcloud, user_keys, make_role):
    """IAM binds the trust to the user's unique id; a new user of the same name is another user."""
    iam = localcloud.client("iam")
    user = user_keys()
    role = make_role(trust_of({"AWS": user["Arn"]}))
    assert sts_as(localcloud, user).assume_role(RoleArn=role, RoleSessionName="s1")["Credentials"]
    iam.delete_access_key(UserName=user["UserName"], AccessKeyId=user["AccessKeyId"])
    iam.delete_user(UserName=user["UserName"])
    iam.create_user(UserName=user["UserName"])
    key = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    assert error_code(lambda: sts_as(localcloud, key).assume_role(RoleArn=role, RoleSessionName="s1")) == "AccessDenied"
    iam.update_assume_role_policy(RoleName=role.rsplit("/", 1)[1], PolicyDocument=trust_of({"AWS": user["Arn"]}))
    assert sts_as(localcloud, key).assume_role(RoleArn=role, RoleSessionName="s1")["Credentials"]


def signed_call(localcloud, credentials: dict[str, str], service: str, params: dict[str, str]) -> tuple[int, bytes]:
    """A Query call signed by botocore's SigV4 with exactly these parameters (any action spelling)."""
    import urllib.error
    import urllib.parse
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=localcloud.endpoint_url + "/", data=urllib.parse.urlencode(params),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"],
                          credentials.get("SessionToken")), service, localcloud.region).add_auth(request)
    prepared = urllib.request.Request(request.url, data=request.body, method="POST", headers=dict(request.headers))
    try:
        with urllib.request.urlopen(prepared, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.parametrize("spelling", ["PutRolePolicy", "put_role_policy", "putRolePolicy"])
def test_an_explicit_deny_holds_however_the_action_is_spelled(localcloud, user_keys, make_role, spelling: str):
    """moto's older dispatch runs ``camelcase_to_underscores(Action)`` (``putRolePolicy`` is its
    ``put_role_policy``); the authorization must treat every such spelling as the action itself."""
    user = user_keys(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:PutRolePolicy", "Resource": "*"}]}))
    role = make_role(trust_of({"AWS": ACCOUNT})).rsplit("/", 1)[1]
    status, answer = signed_call(localcloud, user, "iam", {
        "Action": spelling, "Version": "2010-05-08", "RoleName": role, "PolicyName": "more",
        "PolicyDocument": allow("rds-db:connect", "*")})
    assert status == 403 and b"AccessDenied" in answer, answer
    assert localcloud.client("iam").list_role_policies(RoleName=role)["PolicyNames"] == []
    status, _ = signed_call(localcloud, user, "iam", {"Action": "GetRole", "Version": "2010-05-08", "RoleName": role})
    assert status == 200
