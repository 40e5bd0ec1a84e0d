"""EKS Pod Identity model: associations as EKS keeps them and AssumeRoleForPodIdentity's checks,
each refusal after a positive control on the same setup."""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from pgiam.iam import Principal, Request, evaluate_identity_policies, parse_policy
from pgiam.localcloud.awsquery import AwsError
from pgiam.localcloud.eks_auth import (
    AUDIENCE,
    SESSION_TAG_KEYS,
    Associations,
    Cluster,
    EksAuth,
    agent_answer,
)
from pgiam.localcloud.oidc import ServiceAccountIssuer, new_signing_key
from pgiam.localcloud.serviceaccounts import TokenRequest
from pgiam.localcloud.sts import IssuedCredentials, Role

pytestmark = pytest.mark.unit

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/app-pod-identity"
CLUSTER_ARN = f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/apps"


def trust(statements: list[dict]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


POD_TRUST = trust([{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"]}])


class Fakes:
    def __init__(self) -> None:
        self.issuers = {name: ServiceAccountIssuer(f"https://localhost:1/id/{name.upper()}", new_signing_key())
                        for name in ("apps", "other")}
        self.clusters = {name: Cluster(name, f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/{name}", issuer.issuer)
                         for name, issuer in self.issuers.items()}
        self.roles = {ROLE_ARN: Role(ROLE_ARN, "AROAEXAMPLE", "app-pod-identity", POD_TRUST, 43200)}
        self.issued_tags: list[dict] = []

    def cluster(self, name: str) -> Cluster | None:
        return self.clusters.get(name)

    def role(self, arn: str) -> Role | None:
        return self.roles.get(arn)

    def keys(self, issuer: str, *, refresh: bool = False):
        match = [i for i in self.issuers.values() if i.issuer == issuer]
        return [jwt.PyJWK(k) for i in match for k in i.jwks()["keys"]]

    def issue_tagged(self, role: Role, session_name: str, duration: int, tags) -> IssuedCredentials:
        self.issued_tags.append(dict(tags))
        return IssuedCredentials("ASIA" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30),
                                 secrets.token_urlsafe(60), datetime.now(timezone.utc) + timedelta(seconds=duration),
                                 f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.name}/{session_name}",
                                 f"{role.role_id}:{session_name}")


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


@pytest.fixture
def associations(fakes: Fakes) -> Associations:
    return Associations(fakes, region="us-east-1", account_id=ACCOUNT)


@pytest.fixture
def eks_auth(fakes: Fakes, associations: Associations) -> EksAuth:
    associations.create("apps", "orders", "orders-api", ROLE_ARN)
    return EksAuth(fakes, associations, fakes, fakes, fakes, account_id=ACCOUNT)


def token(fakes: Fakes, *, cluster: str = "apps", namespace: str = "orders", sa: str = "orders-api",
          audience: str = AUDIENCE, pod: str | None = "orders-api-7d9f", issued_at: int | None = None,
          ttl: int = 86400) -> str:
    request = TokenRequest(namespace, sa, audience=audience, ttl=ttl, pod_name=pod)
    return fakes.issuers[cluster].mint(request, issued_at=issued_at, enforce_ttl=False)


def refused(eks_auth: EksAuth, cluster: str, tok: str) -> AwsError:
    with pytest.raises(AwsError) as caught:
        eks_auth.assume_role_for_pod_identity(cluster, tok)
    return caught.value


def test_pod_of_the_associated_service_account_gets_tagged_credentials(fakes, eks_auth):
    result = eks_auth.assume_role_for_pod_identity("apps", token(fakes))
    answer = result.response()
    assert answer["subject"] == {"namespace": "orders", "serviceAccount": "orders-api"}
    assert answer["audience"] == "pods.eks.amazonaws.com"
    assert answer["podIdentityAssociation"]["associationArn"].startswith(
        f"arn:aws:eks:us-east-1:{ACCOUNT}:podidentityassociation/apps/a-")
    assert answer["assumedRoleUser"]["arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/app-pod-identity/eks-apps-")
    assert set(answer["credentials"]) == {"sessionToken", "secretAccessKey", "accessKeyId", "expiration"}
    assert set(fakes.issued_tags[0]) == set(SESSION_TAG_KEYS)
    assert fakes.issued_tags[0]["kubernetes-service-account"] == "orders-api"
    assert fakes.issued_tags[0]["eks-cluster-arn"] == CLUSTER_ARN


@pytest.mark.parametrize(("what", "kwargs", "code"), [
    ("another service account", {"sa": "billing-api"}, "ResourceNotFoundException"),
    ("another namespace", {"namespace": "billing"}, "ResourceNotFoundException"),
    ("a token of another cluster", {"cluster": "other"}, "InvalidTokenException"),
    ("an expired token", {"issued_at": int(time.time()) - 7200, "ttl": 3600}, "ExpiredTokenException"),
    ("the STS audience", {"audience": "sts.amazonaws.com"}, "InvalidTokenException"),
    ("a token bound to no pod", {"pod": None}, "InvalidTokenException"),
])
def test_pod_gets_no_credentials_for(fakes, eks_auth, what, kwargs, code):
    assert eks_auth.assume_role_for_pod_identity("apps", token(fakes)).credentials  # positive control
    assert refused(eks_auth, "apps", token(fakes, **kwargs)).code == code, what


def test_deleted_association_gives_no_more_credentials(fakes, eks_auth, associations):
    assert eks_auth.assume_role_for_pod_identity("apps", token(fakes)).credentials
    (association,) = associations.list("apps")
    associations.delete("apps", association.association_id)
    assert refused(eks_auth, "apps", token(fakes)).code == "ResourceNotFoundException"


def test_token_signed_by_another_key_under_the_clusters_issuer_is_refused(fakes, eks_auth):
    assert eks_auth.assume_role_for_pod_identity("apps", token(fakes)).credentials
    forger = ServiceAccountIssuer(fakes.issuers["apps"].issuer, new_signing_key())
    forged = jwt.encode(jwt.decode(token(fakes), options={"verify_signature": False}), forger.signing_key,
                        algorithm="RS256", headers={"kid": fakes.issuers["apps"].kid})
    assert refused(eks_auth, "apps", forged).code == "InvalidTokenException"


def test_unknown_cluster_is_not_found(fakes, eks_auth):
    assert refused(eks_auth, "nope", token(fakes)).code == "ResourceNotFoundException"


@pytest.mark.parametrize(("what", "document"), [
    ("trusts only an OIDC provider", trust([{
        "Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks/id/X"},
        "Action": "sts:AssumeRoleWithWebIdentity"}])),
    ("lacks sts:TagSession", trust([{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                                     "Action": "sts:AssumeRole"}])),
    ("names another account as source", trust([{
        "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {"aws:SourceAccount": "999999999999"}}}])),
    ("names another cluster as source", trust([{
        "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"ArnEquals": {"aws:SourceArn": f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/other"}}}])),
    ("restricts the namespace tag to another namespace", trust([{
        "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {"aws:RequestTag/kubernetes-namespace": "billing"}}}])),
])
def test_role_whose_trust_does_not_let_eks_assume_it_is_refused(fakes, eks_auth, what, document):
    assert eks_auth.assume_role_for_pod_identity("apps", token(fakes)).credentials
    fakes.roles[ROLE_ARN] = Role(ROLE_ARN, "AROAEXAMPLE", "app-pod-identity", document, 43200)
    assert refused(eks_auth, "apps", token(fakes)).code == "AccessDeniedException", what


def test_trust_conditions_naming_this_account_cluster_and_namespace_allow(fakes, eks_auth):
    fakes.roles[ROLE_ARN] = Role(ROLE_ARN, "AROAEXAMPLE", "app-pod-identity", trust([{
        "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT,
                                       "aws:RequestTag/kubernetes-namespace": "orders"},
                      "ArnEquals": {"aws:SourceArn": CLUSTER_ARN}}}]), 43200)
    assert eks_auth.assume_role_for_pod_identity("apps", token(fakes)).credentials


def test_session_tags_decide_principal_tag_conditions(fakes, eks_auth):
    eks_auth.assume_role_for_pod_identity("apps", token(fakes))
    tags = fakes.issued_tags[0]
    policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "rds-db:connect", "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/kubernetes-service-account": "orders-api"}}}]}))

    def allowed(principal_tags: dict) -> bool:
        context = {f"aws:PrincipalTag/{k}": v for k, v in principal_tags.items()}
        request = Request(action="rds-db:connect", resource="arn:aws:rds-db:us-east-1:1:dbuser:x/app",
                          principal=Principal("AWS", "arn:aws:sts::1:assumed-role/r/s"), context=context)
        return evaluate_identity_policies([policy], request).allowed

    assert allowed(tags)
    assert not allowed({**tags, "kubernetes-service-account": "billing-api"})


def test_associations_are_kept_as_eks_keeps_them(fakes, associations):
    created = associations.create("apps", "orders", "orders-api", ROLE_ARN, {"team": "orders"})
    assert associations.describe("apps", created.association_id) == created
    with pytest.raises(AwsError) as duplicate:
        associations.create("apps", "orders", "orders-api", ROLE_ARN)
    assert duplicate.value.code == "ResourceInUseException"
    other = associations.create("apps", "orders", "orders-worker", ROLE_ARN)
    assert [a.service_account for a in associations.list("apps", service_account="orders-worker")] == ["orders-worker"]
    assert len(associations.list("apps", namespace="orders")) == 2
    updated = associations.update("apps", other.association_id, f"arn:aws:iam::{ACCOUNT}:role/worker")
    assert updated.role_arn.endswith("role/worker") and updated.describe()["associationId"] == other.association_id
    associations.delete("apps", other.association_id)
    with pytest.raises(AwsError) as gone:
        associations.describe("apps", other.association_id)
    assert gone.value.code == "ResourceNotFoundException"
    with pytest.raises(AwsError) as wrong_cluster:
        associations.describe("other", created.association_id)
    assert wrong_cluster.value.code == "ResourceNotFoundException"


@pytest.mark.parametrize(("namespace", "sa", "role"), [
    ("Orders", "orders-api", ROLE_ARN),
    ("orders", "orders_api", ROLE_ARN),
    ("orders", "orders-api", "arn:aws:iam::123456789012:user/app"),
    ("orders", "orders-api", "arn:aws:iam::999999999999:role/app"),
])
def test_association_with_invalid_parameters_is_refused(associations, namespace, sa, role):
    with pytest.raises(AwsError) as caught:
        associations.create("apps", namespace, sa, role)
    assert caught.value.code == "InvalidParameterException"
    assert associations.list("apps") == []


def test_agent_answers_in_container_credentials_format_and_never_echoes_the_token(fakes, eks_auth):
    status, body = agent_answer(eks_auth, "apps", token(fakes))
    assert status == 200 and set(body) == {"AccessKeyId", "SecretAccessKey", "Token", "AccountId", "Expiration"}
    bad = token(fakes, sa="billing-api")
    status, body = agent_answer(eks_auth, "apps", bad)
    assert status == 404 and bad not in json.dumps(body)
    assert agent_answer(eks_auth, "apps", None)[0] == 400


def test_infra_pod_identity_trust_serves_its_own_service_account_only(fakes, eks_auth, associations):
    """The trust infra/ builds, judged by the model as EKS judges it: the association of its own
    service account gets credentials; an association miswired to another service account with
    the same role is refused (the session tags do not match the trust's conditions)."""
    from iampg.policy_documents import pod_identity_trust_policy_json

    fakes.roles[ROLE_ARN] = Role(ROLE_ARN, "AROAEXAMPLE", "app-pod-identity",
                                 pod_identity_trust_policy_json(CLUSTER_ARN, "orders", "orders-api"), 43200)
    assert eks_auth.assume_role_for_pod_identity("apps", token(fakes)).credentials
    associations.create("apps", "orders", "billing-api", ROLE_ARN)
    assert refused(eks_auth, "apps", token(fakes, sa="billing-api")).code == "AccessDeniedException"
