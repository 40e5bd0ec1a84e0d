"""The strict ``AssumeRole`` model with IAM, the caller's policies, the credential issuer and the
clock injected: who may assume a role in one account, as the AssumeRole reference and the
policy evaluation logic say."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from pgiam.iam import Decision, NamedPolicy, Request, evaluate_identity_policies, parse_policy
from pgiam.localcloud.assume_role import (
    AssumeRoleRequest,
    Caller,
    StrictAssumeRole,
    assume_role_request_from_params,
)
from pgiam.localcloud.awsquery import AwsError
from pgiam.localcloud.sts import IssuedCredentials, Role

NOW = 1_800_000_000
ACCOUNT = "111122223333"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/target"
USER = Caller(f"arn:aws:iam::{ACCOUNT}:user/alice", ACCOUNT, False, {"aws:username": "alice"})
SESSION = Caller(f"arn:aws:sts::{ACCOUNT}:assumed-role/pod/s1", ACCOUNT, True,
                 {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/pod"})


def trust(principal: Any, effect: str = "Allow", **extra: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": effect, "Principal": principal, "Action": "sts:AssumeRole", **extra}]})


def identity(effect: str = "Allow", action: str = "sts:AssumeRole") -> list[NamedPolicy]:
    return [NamedPolicy("inline:p", parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": effect, "Action": action, "Resource": ROLE_ARN}]}))]


@dataclass
class FakeIam:
    roles: dict[str, Role] = field(default_factory=dict)

    def oidc_provider(self, url: str) -> None:
        return None

    def role(self, arn: str) -> Role | None:
        return self.roles.get(arn)

    def managed_policy_document(self, arn: str) -> str | None:
        return None


@dataclass
class FakePolicies:
    """The caller's identity policies; records whether the identity allow was required."""

    policies: list[NamedPolicy] = field(default_factory=list)
    required: list[bool] = field(default_factory=list)
    broken: bool = False

    def authorize(self, caller: Caller, request: Request, *, identity_allow_required: bool) -> Decision:
        self.required.append(identity_allow_required)
        if self.broken:
            raise LookupError("the caller's role was deleted")
        decision = evaluate_identity_policies(self.policies, request)
        if decision.effect == "ExplicitDeny" or identity_allow_required:
            return decision
        return decision if decision.allowed else Decision("Allow")


class FakeIssuer:
    def __init__(self) -> None:
        self.issued: list[tuple] = []

    def issue(self, role: Role, session_name: str, duration: int, session_policies, *,
              federated_provider: str | None = None, chained: bool = False) -> IssuedCredentials:
        self.issued.append((role.arn, session_name, duration, chained))
        return IssuedCredentials("ASIAEXAMPLE", "secret", "token",
                                 datetime.fromtimestamp(NOW, timezone.utc) + timedelta(seconds=duration),
                                 f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.name}/{session_name}",
                                 f"{role.role_id}:{session_name}")


@dataclass
class World:
    model: StrictAssumeRole
    iam: FakeIam
    policies: FakePolicies
    issuer: FakeIssuer

    def role(self, trust_policy: str, max_session: int = 3600) -> None:
        self.iam.roles[ROLE_ARN] = Role(ROLE_ARN, "AROATARGET", "target", trust_policy, max_session)

    def assume(self, caller: Caller = USER, **overrides: Any):
        return self.model.assume_role(replace(AssumeRoleRequest(ROLE_ARN, "s2"), **overrides), caller)

    def refusal(self, caller: Caller = USER, **overrides: Any) -> AwsError:
        with pytest.raises(AwsError) as caught:
            self.assume(caller, **overrides)
        assert self.issuer.issued == []
        return caught.value


@pytest.fixture
def world() -> World:
    iam, policies, issuer = FakeIam(), FakePolicies(), FakeIssuer()
    return World(StrictAssumeRole(iam, policies, issuer, account_id=ACCOUNT, clock=lambda: NOW), iam, policies, issuer)


def test_a_trust_naming_the_caller_needs_no_identity_policy(world: World) -> None:
    world.role(trust({"AWS": USER.arn}))
    result = world.assume()
    assert result.credentials.assumed_role_arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/target/s2"
    assert world.policies.required == [False]
    assert world.issuer.issued == [(ROLE_ARN, "s2", 3600, False)]


@pytest.mark.parametrize("principal", [{"AWS": ACCOUNT}, {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "*"])
def test_a_trust_naming_only_the_account_delegates_to_the_identity_policies(world: World, principal: Any) -> None:
    world.role(trust(principal))
    error = world.refusal()
    assert (error.code, error.status) == ("AccessDenied", 403)
    assert error.message == f"User: {USER.arn} is not authorized to perform: sts:AssumeRole on resource: {ROLE_ARN}"
    world.policies.policies = identity()
    assert world.assume().credentials
    assert world.policies.required == [True, True]


@pytest.mark.parametrize("principal", [{"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"}, {"AWS": "999999999999"},
                                       {"Service": "ec2.amazonaws.com"},
                                       {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/x"}])
def test_a_trust_for_someone_else_refuses_whatever_the_identity_policies(world: World, principal: Any) -> None:
    world.role(trust(principal))
    world.policies.policies = identity()
    assert world.refusal().code == "AccessDenied"


def test_explicit_denies_win_in_the_trust_and_in_the_callers_policies(world: World) -> None:
    world.iam.roles[ROLE_ARN] = Role(ROLE_ARN, "AROATARGET", "target", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": USER.arn}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": "*", "Action": "sts:*"}]}), 3600)
    assert "ExplicitDeny" in world.refusal().detail
    world.role(trust({"AWS": USER.arn}))
    world.policies.policies = identity("Deny")
    assert "ExplicitDeny" in world.refusal().detail


def test_the_trust_sees_the_callers_keys_and_the_external_id(world: World) -> None:
    world.role(trust({"AWS": USER.arn}, Condition={"StringEquals": {"sts:ExternalId": "e-1",
                                                                     "aws:username": "alice"}}))
    assert world.refusal(external_id="e-2").code == "AccessDenied"
    result = world.assume(external_id="e-1", source_ip="127.0.0.9")
    assert result.context["sts:RoleSessionName"] == "s2" and result.context["aws:SourceIp"] == "127.0.0.9"


def test_role_chaining_is_limited_to_an_hour(world: World) -> None:
    world.role(trust({"AWS": f"arn:aws:iam::{ACCOUNT}:role/pod"}), max_session=43200)
    error = world.refusal(SESSION, duration_seconds=3601)
    assert (error.code, error.message) == (
        "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed "
        "by role chaining.")
    world.assume(SESSION, duration_seconds=3600)
    assert world.issuer.issued == [(ROLE_ARN, "s2", 3600, True)]


def test_the_roles_max_session_duration_bounds_the_duration(world: World) -> None:
    world.role(trust({"AWS": USER.arn}), max_session=3600)
    assert world.refusal(duration_seconds=7200).code == "ValidationError"


@pytest.mark.parametrize("role_arn", [ROLE_ARN.replace(ACCOUNT, "999999999999"), ROLE_ARN + "-missing",
                                      f"arn:aws:iam::{ACCOUNT}:user/target"])
def test_a_role_that_is_not_this_accounts_is_refused(world: World, role_arn: str) -> None:
    world.role(trust({"AWS": USER.arn}))
    assert world.refusal(role_arn=role_arn).code == "AccessDenied"


def test_policies_that_cannot_be_read_refuse(world: World) -> None:
    world.role(trust({"AWS": USER.arn}))
    world.policies.broken = True
    assert "cannot be read" in world.refusal().detail


def params(**overrides: str | None) -> dict[str, str]:
    base = {"RoleArn": ROLE_ARN, "RoleSessionName": "s2"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(("overrides", "fragment"), [
    ({"ExternalId": "a"}, "length between 2 and 1224"),
    ({"ExternalId": "a b"}, "regular expression pattern"),
    ({"DurationSeconds": "+3600"}, "Member must be a number"),
    ({"Tags.member.1.Key": "team"}, "does not model session tags"),
    ({"SourceIdentity": "me"}, "does not model SourceIdentity"),
    ({"SerialNumber": "arn:aws:iam::1:mfa/x", "TokenCode": "123456"}, "does not model MFA"),
])
def test_parameters_outside_the_model_are_refused(overrides: dict, fragment: str) -> None:
    with pytest.raises(AwsError) as caught:
        assume_role_request_from_params(params(**overrides))
    assert caught.value.code == "ValidationError" and fragment in caught.value.message


def test_parameters_become_a_request() -> None:
    request = assume_role_request_from_params(params(ExternalId="ext-1", DurationSeconds="900"),
                                              source_ip="127.0.0.1")
    assert (request.external_id, request.duration_seconds, request.source_ip) == ("ext-1", 900, "127.0.0.1")
