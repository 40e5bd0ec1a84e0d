"""The RDS IAM token check, against tokens minted by botocore's own ``generate_db_auth_token``
(what boto3 RDS clients call); the integration layer mints them through full boto3 clients."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from botocore.credentials import Credentials
from botocore.hooks import HierarchicalEmitter
from botocore.model import ServiceId
from botocore.signers import RequestSigner, generate_db_auth_token
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgiam.iam import Decision, NamedPolicy, Request, evaluate_identity_policies, explain_no_allow, parse_policy
from pgiam.localcloud.rds.token import (
    MAX_TOKEN_BYTES,
    ConnectTarget,
    Reason,
    Refusal,
    SigningKey,
    check_token,
    parse_netloc,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
RESOURCE_ID = "cluster-ABCDEFGHIJKLMNOPQRSTUVWXY0"
PORT = 54321
USER = "app_user"
USER_KEY = "AKIAEXAMPLEUSERKEY01"
SESSION_KEY = "ASIAEXAMPLESESSION01"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/app"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"
TARGET = ConnectTarget(region=REGION, account_id=ACCOUNT, partition="aws", resource_id=RESOURCE_ID,
                       hosts=frozenset({"localhost"}), port=PORT, iam_enabled=True, name="db1")


def connect_policy(resource: str) -> NamedPolicy:
    return NamedPolicy("inline:connect", parse_policy({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "rds-db:connect", "Resource": resource}]}))


ALLOW_APP_USER = connect_policy(f"arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:{RESOURCE_ID}/{USER}")


@dataclass
class StaticKeys:
    """An in-memory IAM: keys and each principal's identity policies."""

    keys: dict[str, SigningKey] = field(default_factory=dict)
    policies: dict[str, list[NamedPolicy]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def resolve(self, access_key_id: str) -> SigningKey | None:
        return self.keys.get(access_key_id)

    def authorize(self, key: SigningKey, request: Request) -> Decision:
        self.requests.append(request)
        if key.principal_arn not in self.policies:
            raise LookupError(f"no principal {key.principal_arn}")
        return evaluate_identity_policies(self.policies[key.principal_arn], request)

    def explain(self, key: SigningKey, request: Request) -> str:
        return "; ".join(explain_no_allow(policy, request) for policy in self.policies[key.principal_arn])


NOW = datetime.now(timezone.utc)
USER_SIGNING_KEY = SigningKey(USER_KEY, "user/secret+key", None, None, USER_ARN, ACCOUNT,
                              {"aws:username": "alice"})
SESSION_SIGNING_KEY = SigningKey(SESSION_KEY, "session/secret", "FQoG/session+token==",
                                 NOW + timedelta(hours=1), ROLE_ARN, ACCOUNT,
                                 {"aws:userid": "AROAEXAMPLE:pod"})


@pytest.fixture
def keys() -> StaticKeys:
    return StaticKeys(keys={USER_KEY: USER_SIGNING_KEY, SESSION_KEY: SESSION_SIGNING_KEY},
                      policies={USER_ARN: [ALLOW_APP_USER], ROLE_ARN: [ALLOW_APP_USER]})


@pytest.fixture(scope="module")
def mint():
    """``mint(key=SESSION_SIGNING_KEY, host=..., port=..., user=..., region=...)``: a token from
    botocore's own ``generate_db_auth_token`` (the method boto3 puts on RDS clients) and its own
    request signer; only the client shell around them is left out, since building a real RDS
    client loads the service model (~0.2 s) that signing does not use."""
    emitter = HierarchicalEmitter()

    def minter(key: SigningKey = SESSION_SIGNING_KEY, *, host: str = "localhost", port: int = PORT,
               user: str = USER, region: str = REGION, secret: str | None = None) -> str:
        credentials = Credentials(key.access_key_id, secret or key.secret_access_key, key.session_token)
        signer = RequestSigner(ServiceId("RDS"), REGION, "rds", "v4", credentials, emitter)
        client = SimpleNamespace(_request_signer=signer, meta=SimpleNamespace(region_name=REGION))
        return generate_db_auth_token(client, DBHostname=host, Port=port, DBUsername=user, Region=region)

    return minter


def check(token: str | bytes, keys: StaticKeys, *, user: str = USER, target: ConnectTarget = TARGET,
          now: datetime | None = None):
    return check_token(token, user=user, target=target, keys=keys, now=now)


def rebuild(token: str, edit) -> str:
    """The token with its query pairs passed through ``edit(list of [name, raw value])``."""
    base, query = token.split("?", 1)
    pairs = [pair.split("=", 1) for pair in query.split("&")]
    return base + "?" + "&".join("=".join(pair) for pair in edit(pairs))


def set_param(name: str, raw_value: str):
    return lambda pairs: [[n, raw_value if n == name else v] for n, v in pairs]


def param(token: str, name: str) -> str:
    return dict(pair.split("=", 1) for pair in token.split("?", 1)[1].split("&"))[name]


# -- accepted -------------------------------------------------------------------------------------

def test_session_credentials_token_is_accepted_with_the_dbuser_arn_and_context(mint, keys):
    verdict = check(mint(), keys)
    assert verdict.accepted, verdict
    assert (verdict.access_key_id, verdict.principal_arn) == (SESSION_KEY, ROLE_ARN)
    assert verdict.endpoint == f"localhost:{PORT}"  # which endpoint the token named, for the log
    (request,) = keys.requests
    assert request.action == "rds-db:connect"
    assert request.resource == f"arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:{RESOURCE_ID}/{USER}"
    for name in ("aws:CurrentTime", "aws:EpochTime", "aws:PrincipalArn", "aws:PrincipalAccount",
                 "aws:userid"):
        assert request.context_value(name) is not None, name
    assert request.context_value("aws:SecureTransport") is True
    assert request.context_value("aws:PrincipalArn") == ROLE_ARN


def test_user_access_key_token_is_accepted(mint, keys):
    assert check(mint(USER_SIGNING_KEY), keys).accepted


def test_default_https_port_is_left_out_of_the_signed_host_as_botocore_does(mint, keys):
    target = replace(TARGET, port=443)
    token = mint(port=443)
    assert token.startswith("localhost:443/?")
    assert check(token, keys, target=target).accepted


def test_parameter_order_and_host_case_do_not_matter(mint, keys):
    token = mint(host="LocalHost")
    assert check(rebuild(token, lambda pairs: list(reversed(pairs))), keys).accepted


def test_user_names_with_reserved_characters_are_signed_and_checked_encoded(mint, keys):
    user = "app user+é/="
    keys.policies[ROLE_ARN] = [connect_policy(
        f"arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:{RESOURCE_ID}/*")]
    assert check(mint(user=user), keys, user=user).accepted


def test_policy_conditions_see_the_time_and_the_principal(mint, keys):
    keys.policies[ROLE_ARN] = [NamedPolicy("inline:connect", parse_policy({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "rds-db:connect", "Resource": "*",
                       "Condition": {"Bool": {"aws:SecureTransport": "true"},
                                     "ArnEquals": {"aws:PrincipalArn": ROLE_ARN},
                                     "DateLessThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}}]}))]
    assert check(mint(), keys).accepted


# -- refused, one test per reason -----------------------------------------------------------------

def assert_refused(verdict, reason: Reason, *secrets: str) -> None:
    assert not verdict.accepted
    assert verdict.reason is reason, verdict
    for secret in secrets:
        assert secret not in verdict.detail


def test_token_longer_than_8_kib_is_refused_before_parsing(keys):
    assert_refused(check("x" * (MAX_TOKEN_BYTES + 1), keys), Reason.TOKEN_TOO_LONG)


def test_iam_auth_turned_off_refuses_a_valid_token(mint, keys):
    assert_refused(check(mint(), keys, target=replace(TARGET, iam_enabled=False)), Reason.IAM_AUTH_DISABLED)


@pytest.mark.parametrize("edit", [
    lambda t: "https://" + t,
    lambda t: t.replace("/?", "/x?", 1),
    lambda t: t.replace(f":{PORT}", "", 1),
    lambda t: t.replace(f":{PORT}", ":99999", 1),
    lambda t: t.replace("Action=", "Action", 1),
    lambda t: t + "&",
    lambda t: t.replace("%2F", "%2G", 1),
    lambda t: t.replace("DBUser=app_user", "DBUser=%FF", 1),
    lambda t: t.replace("app_user", "app user", 1),
    lambda t: t + "#fragment",
    lambda t: t.replace("localhost", "local\u00e9host", 1),
    lambda t: t.replace("/?", "?", 1) + "/",
], ids=["scheme", "path", "no-port", "port-range", "no-equals", "empty-pair", "bad-escape",
        "not-utf8", "raw-space", "fragment", "non-ascii", "slash-at-the-end"])
def test_tokens_that_do_not_parse_are_refused_as_malformed(mint, keys, edit):
    token = mint()
    assert_refused(check(edit(token), keys), Reason.MALFORMED, param(token, "X-Amz-Signature"))


@pytest.mark.parametrize("netloc", ["db.example:05432", "db.example:00443"])
def test_port_written_with_leading_zeros_is_refused_as_malformed(netloc):
    # a token signed for "host:05432" names no endpoint RDS has: the signed host is not its own
    with pytest.raises(Refusal) as refused:
        parse_netloc(netloc)
    assert refused.value.reason is Reason.MALFORMED


def test_duplicate_parameter_is_refused(mint, keys):
    token = mint()
    assert_refused(check(token.replace("&X-Amz-Date=", "&Action=connect&X-Amz-Date=", 1), keys),
                   Reason.DUPLICATE_PARAMETER)


def test_unknown_parameter_is_refused(mint, keys):
    assert_refused(check(mint() + "&X-Amz-Extra=1", keys), Reason.UNKNOWN_PARAMETER)


def test_missing_signature_is_refused(mint, keys):
    token = rebuild(mint(), lambda pairs: [p for p in pairs if p[0] != "X-Amz-Signature"])
    assert_refused(check(token, keys), Reason.MISSING_PARAMETER)


def test_another_action_is_refused(mint, keys):
    assert_refused(check(rebuild(mint(), set_param("Action", "connect-admin")), keys), Reason.WRONG_ACTION)


def test_token_for_another_user_is_refused(mint, keys):
    assert_refused(check(mint(user="other_user"), keys), Reason.USER_MISMATCH)


def test_user_names_compare_exactly(mint, keys):
    assert_refused(check(mint(user="App_User"), keys), Reason.USER_MISMATCH)


def test_another_algorithm_is_refused(mint, keys):
    assert_refused(check(rebuild(mint(), set_param("X-Amz-Algorithm", "AWS4-HMAC-SHA512")), keys),
                   Reason.BAD_ALGORITHM)


def test_more_signed_headers_are_refused(mint, keys):
    assert_refused(check(rebuild(mint(), set_param("X-Amz-SignedHeaders", "host%3Bx-amz-date")), keys),
                   Reason.BAD_SIGNED_HEADERS)


@pytest.mark.parametrize("value", ["20240101T000000", "20241301T000000Z", "2024-01-01T00:00:00Z"])
def test_malformed_date_is_refused(mint, keys, value):
    assert_refused(check(rebuild(mint(), set_param("X-Amz-Date", value)), keys), Reason.BAD_DATE)


@pytest.mark.parametrize("scope", ["AKIA", "{key}%2F20240101%2Fus-east-1%2Frds-db",
                                   "{key}%2F2024%2Fus-east-1%2Frds-db%2Faws4_request",
                                   "{key}%2F20240101%2Fus-east-1%2Frds-db%2Faws4_request%2Fx"])
def test_malformed_credential_is_refused(mint, keys, scope):
    token = rebuild(mint(), set_param("X-Amz-Credential", scope.format(key=SESSION_KEY)))
    assert_refused(check(token, keys), Reason.BAD_CREDENTIAL)


def test_credential_scoped_to_another_service_is_refused(mint, keys):
    token = mint()
    token = token.replace("%2Frds-db%2F", "%2Frds%2F", 1)
    assert_refused(check(token, keys), Reason.WRONG_SERVICE)


def test_token_for_another_region_is_refused(mint, keys):
    assert_refused(check(mint(region="eu-west-1"), keys), Reason.WRONG_REGION)


def test_scope_date_other_than_the_signing_date_is_refused(mint, keys):
    token = mint()
    date = param(token, "X-Amz-Date")[:8]
    assert_refused(check(token.replace(f"%2F{date}%2F", "%2F20000101%2F", 1), keys),
                   Reason.SCOPE_DATE_MISMATCH)


@pytest.mark.parametrize("value", ["901", "0", "-1", "60.5", "3600", ""])
def test_expiry_beyond_15_minutes_or_not_a_count_of_seconds_is_refused(mint, keys, value):
    assert_refused(check(rebuild(mint(), set_param("X-Amz-Expires", value)), keys), Reason.BAD_EXPIRES)


def test_token_dated_in_the_future_is_refused(mint, keys):
    token = mint()
    assert_refused(check(token, keys, now=datetime.now(timezone.utc) - timedelta(minutes=6)),
                   Reason.NOT_YET_VALID)


def test_expired_token_is_refused(mint, keys):
    token = mint()
    assert check(token, keys, now=datetime.now(timezone.utc) + timedelta(minutes=14)).accepted
    assert_refused(check(token, keys, now=datetime.now(timezone.utc) + timedelta(minutes=15, seconds=2)),
                   Reason.EXPIRED)


@pytest.mark.parametrize("host,port", [("127.0.0.1", PORT), ("localhost", PORT + 1),
                                       ("db.example.com", PORT)])
def test_token_signed_for_another_host_or_port_is_refused(mint, keys, host, port):
    assert_refused(check(mint(host=host, port=port), keys), Reason.WRONG_ENDPOINT)


def test_unknown_access_key_is_refused(mint, keys):
    stranger = SigningKey("AKIAUNKNOWNKEY000001", "s", None, None, USER_ARN, ACCOUNT)
    assert_refused(check(mint(stranger), keys), Reason.UNKNOWN_ACCESS_KEY)


def test_session_token_must_be_the_access_keys(mint, keys):
    other = replace(SESSION_SIGNING_KEY, session_token="another-session-token")
    token = mint(other)
    assert_refused(check(token, keys), Reason.SESSION_TOKEN_MISMATCH, "another-session-token")


def test_temporary_key_without_its_session_token_is_refused(mint, keys):
    token = mint(replace(SESSION_SIGNING_KEY, session_token=None))
    assert_refused(check(token, keys), Reason.SESSION_TOKEN_MISMATCH)


def test_long_term_key_with_a_session_token_is_refused(mint, keys):
    token = mint(replace(USER_SIGNING_KEY, session_token="made-up"))
    assert_refused(check(token, keys), Reason.SESSION_TOKEN_MISMATCH)


def test_tampered_signature_is_refused(mint, keys):
    token = mint()
    signature = param(token, "X-Amz-Signature")
    tampered = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    assert_refused(check(token.replace(signature, tampered), keys), Reason.SIGNATURE_MISMATCH,
                   signature, tampered)


def test_token_signed_with_another_secret_is_refused(mint, keys):
    assert_refused(check(mint(secret="not-the-secret"), keys), Reason.SIGNATURE_MISMATCH)


def test_signed_parameter_changed_after_signing_is_refused(mint, keys):
    token = mint(user="app_user")
    keys.policies[ROLE_ARN] = [connect_policy("*")]
    forged = rebuild(token, set_param("DBUser", "admin"))
    assert_refused(check(forged, keys, user="admin"), Reason.SIGNATURE_MISMATCH)


def test_upper_case_signature_is_refused(mint, keys):
    token = mint()
    signature = param(token, "X-Amz-Signature")
    assert_refused(check(token.replace(signature, signature.upper()), keys), Reason.SIGNATURE_MISMATCH)


def test_token_outliving_its_temporary_credentials_is_refused(mint, keys):
    keys.keys[SESSION_KEY] = replace(SESSION_SIGNING_KEY, expiration=NOW - timedelta(seconds=1))
    assert_refused(check(mint(), keys), Reason.CREDENTIALS_EXPIRED)


def test_principal_whose_policies_cannot_be_read_is_refused(mint, keys):
    del keys.policies[ROLE_ARN]
    assert_refused(check(mint(), keys), Reason.POLICY_UNREADABLE)


@pytest.mark.parametrize("resource", [
    f"arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:{RESOURCE_ID}/other_user",
    f"arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:cluster-OTHERCLUSTERRESOURCEID00/app_user",
    f"arn:aws:rds-db:eu-west-1:{ACCOUNT}:dbuser:{RESOURCE_ID}/app_user",
    f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:db1",
], ids=["other-user", "other-cluster", "other-region", "rds-arn-not-dbuser"])
def test_role_allowed_only_elsewhere_is_refused(mint, keys, resource):
    keys.policies[ROLE_ARN] = [connect_policy(resource)]
    verdict = check(mint(), keys)
    assert_refused(verdict, Reason.NOT_AUTHORIZED)
    assert f"its Resource [{resource!r}] does not cover arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:{RESOURCE_ID}/app_user" \
        in verdict.detail


def test_explicit_deny_wins_over_the_allow(mint, keys):
    deny = NamedPolicy("inline:deny", parse_policy(json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "rds-db:*", "Resource": "*"}]})))
    keys.policies[ROLE_ARN] = [ALLOW_APP_USER, deny]
    verdict = check(mint(), keys)
    assert_refused(verdict, Reason.NOT_AUTHORIZED)
    assert "ExplicitDeny" in verdict.detail


def test_refusals_name_the_access_key_but_never_the_token(mint, keys):
    token = mint(user="other_user")
    verdict = check(token, keys)
    assert verdict.access_key_id == SESSION_KEY
    for part in (param(token, "X-Amz-Signature"), param(token, "X-Amz-Security-Token"), token):
        assert part not in verdict.detail


# -- whatever arrives, the answer is a refusal ----------------------------------------------------

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300),
                 st.text(alphabet="localhost:5/?&=%AXZ-_.0123456789abcdef", max_size=300)))
def test_arbitrary_input_is_only_ever_refused(keys, token):
    verdict = check(token, keys)
    assert not verdict.accepted and verdict.reason is not None


@FUZZ
@given(data=st.data())
def test_mangled_real_tokens_never_raise(mint, keys, data):
    token = mint()
    start = data.draw(st.integers(0, len(token) - 1))
    end = data.draw(st.integers(start, min(len(token), start + 20)))
    patch = data.draw(st.text(max_size=20))
    mangled = token[:start] + patch + token[end:]
    verdict = check(mangled, keys)
    assert verdict.accepted == (verdict.reason is None)


def test_token_as_bytes_is_checked_like_text(mint, keys):
    assert check(mint().encode("ascii"), keys).accepted


def test_percent_encoding_case_is_not_significant(mint, keys):
    token = mint()
    credential = param(token, "X-Amz-Credential")
    lowered = quote(credential.replace("%2F", "/"), safe="").replace("%2F", "%2f")
    assert check(token.replace(credential, lowered), keys).accepted


def test_context_of_the_key_reaches_the_policy(mint, keys):
    keys.policies[ROLE_ARN] = [NamedPolicy("inline:connect", parse_policy({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "rds-db:connect", "Resource": "*",
                       "Condition": {"StringEquals": {"aws:userid": "AROAEXAMPLE:someone-else"}}}]}))]
    assert_refused(check(mint(), keys), Reason.NOT_AUTHORIZED)
