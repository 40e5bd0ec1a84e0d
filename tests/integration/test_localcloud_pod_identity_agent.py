"""The Pod Identity Agent endpoint over HTTP, read by botocore's own container credentials
provider (AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE), as a
pod's boto3 reads the real agent: the pod's own association serves, everything else is refused,
each after a positive control."""

from __future__ import annotations

import time

import pytest
from botocore.credentials import ContainerProvider
from botocore.exceptions import CredentialRetrievalError
from botocore.utils import ContainerMetadataFetcher

from pgiam.localcloud.eks_auth import Associations, EksAuth
from pgiam.localcloud.pod_identity_agent import PodIdentityAgent
from tests.unit.test_localcloud_eks_auth import ACCOUNT, ROLE_ARN, Fakes, token

pytestmark = pytest.mark.integration


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


@pytest.fixture
def agent(fakes):
    associations = Associations(fakes, region="us-east-1", account_id=ACCOUNT)
    association = associations.create("apps", "orders", "orders-api", ROLE_ARN)
    eks_auth = EksAuth(fakes, associations, fakes, fakes, fakes, account_id=ACCOUNT)
    running = PodIdentityAgent(eks_auth, "apps").start()
    running.associations = associations
    running.association = association
    yield running
    running.stop()


def provider(agent: PodIdentityAgent, token_file) -> ContainerProvider:
    environ = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": agent.url("apps"),
               "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file)}
    return ContainerProvider(environ=environ, fetcher=ContainerMetadataFetcher(sleep=lambda _: None))


def load(agent, tmp_path, tok: str):
    path = tmp_path / f"token-{time.monotonic_ns()}"
    path.write_text(tok)
    return provider(agent, path).load()


def test_boto3_container_provider_gets_the_pods_own_credentials(agent, fakes, tmp_path):
    credentials = load(agent, tmp_path, token(fakes)).get_frozen_credentials()
    assert credentials.access_key.startswith("ASIA") and credentials.token
    assert fakes.issued_tags[-1]["kubernetes-pod-name"] == "orders-api-7d9f"


@pytest.mark.parametrize(("what", "kwargs"), [
    ("another service account", {"sa": "billing-api"}),
    ("another namespace", {"namespace": "billing"}),
    ("a token of another cluster", {"cluster": "other"}),
    ("an expired token", {"issued_at": int(time.time()) - 7200, "ttl": 3600}),
    ("a token for the STS audience", {"audience": "sts.amazonaws.com"}),
])
def test_boto3_gets_no_credentials_with(agent, fakes, tmp_path, what, kwargs):
    assert load(agent, tmp_path, token(fakes)).get_frozen_credentials().access_key  # positive control
    with pytest.raises(CredentialRetrievalError):
        load(agent, tmp_path, token(fakes, **kwargs)).get_frozen_credentials()


def test_deleted_association_serves_no_more(agent, fakes, tmp_path):
    assert load(agent, tmp_path, token(fakes)).get_frozen_credentials().access_key
    agent.associations.delete("apps", agent.association.association_id)
    with pytest.raises(CredentialRetrievalError):
        load(agent, tmp_path, token(fakes)).get_frozen_credentials()
