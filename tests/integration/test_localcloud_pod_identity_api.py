"""EKS Pod Identity in a running local cloud: the association API through the gateway (boto3's
eks client), the EKS Auth API (boto3's eks-auth client), and the agent endpoint read by botocore's
container provider; the credentials carry EKS's session tags, which IAM conditions on
aws:PrincipalTag decide. Each refusal follows a positive control on the same setup."""

from __future__ import annotations

import json

import psycopg2
import pytest
from botocore.credentials import ContainerProvider
from botocore.exceptions import ClientError, CredentialRetrievalError
from botocore.utils import ContainerMetadataFetcher

pytestmark = pytest.mark.integration

AUDIENCE = "pods.eks.amazonaws.com"


@pytest.fixture
def cluster(localcloud, unique_name):
    eks, iam = localcloud.client("eks"), localcloud.client("iam")
    name = unique_name("apps")
    role = iam.create_role(RoleName=unique_name("cluster"), AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    eks.create_cluster(name=name, roleArn=role, resourcesVpcConfig={"subnetIds": []})
    return name


@pytest.fixture
def pod_role(localcloud, unique_name):
    """A role trusting pods.eks.amazonaws.com, allowed iam:ListRoles only for the service account
    orders-api (a session-tag condition)."""
    iam = localcloud.client("iam")
    name = unique_name("orders-pod")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:SourceAccount": localcloud.account_id}}}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="tagged", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/kubernetes-service-account": "orders-api"}}}]}))
    return arn


@pytest.fixture
def association(localcloud, cluster, pod_role):
    eks = localcloud.client("eks")
    created = eks.create_pod_identity_association(clusterName=cluster, namespace="orders",
                                                  serviceAccount="orders-api", roleArn=pod_role)["association"]
    return created


def agent_credentials(localcloud, cluster, tmp_path, token):
    url = localcloud.info["extensions"]["pod-identity"]["agent_url"].format(cluster=cluster)
    token_file = tmp_path / "eks-pod-identity-token"
    token_file.write_text(token)
    environ = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": url, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file)}
    return ContainerProvider(environ=environ, fetcher=ContainerMetadataFetcher(sleep=lambda _: None)) \
        .load().get_frozen_credentials()


def test_association_api_as_eks_has_it(localcloud, cluster, association, pod_role):
    eks = localcloud.client("eks")
    described = eks.describe_pod_identity_association(clusterName=cluster,
                                                      associationId=association["associationId"])["association"]
    assert described["roleArn"] == pod_role and described["serviceAccount"] == "orders-api"
    listed = eks.list_pod_identity_associations(clusterName=cluster, namespace="orders")["associations"]
    assert [a["associationId"] for a in listed] == [association["associationId"]]
    with pytest.raises(ClientError) as duplicate:
        eks.create_pod_identity_association(clusterName=cluster, namespace="orders", serviceAccount="orders-api",
                                            roleArn=pod_role)
    assert duplicate.value.response["Error"]["Code"] == "ResourceInUseException"
    eks.delete_pod_identity_association(clusterName=cluster, associationId=association["associationId"])
    with pytest.raises(ClientError) as gone:
        eks.describe_pod_identity_association(clusterName=cluster, associationId=association["associationId"])
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_eks_auth_api_answers_as_aws_documents(localcloud, cluster, association):
    token = localcloud.mint_token("orders", "orders-api", audience=AUDIENCE, pod_name="orders-api-1")
    answer = localcloud.client("eks-auth").assume_role_for_pod_identity(clusterName=cluster, token=token)
    assert answer["subject"] == {"namespace": "orders", "serviceAccount": "orders-api"}
    assert answer["audience"] == AUDIENCE
    assert answer["podIdentityAssociation"]["associationId"] == association["associationId"]
    assert answer["credentials"]["accessKeyId"]
    other = localcloud.mint_token("orders", "billing-api", audience=AUDIENCE, pod_name="billing-api-1")
    with pytest.raises(ClientError) as refused:
        localcloud.client("eks-auth").assume_role_for_pod_identity(clusterName=cluster, token=other)
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_pod_credentials_from_the_agent_carry_session_tags_iam_decides_on(localcloud, cluster, association, tmp_path):
    token = localcloud.mint_token("orders", "orders-api", audience=AUDIENCE, pod_name="orders-api-1")
    credentials = agent_credentials(localcloud, cluster, tmp_path, token)
    iam = localcloud.client("iam", access_key_id=credentials.access_key,
                            secret_access_key=credentials.secret_key, session_token=credentials.token)
    assert iam.list_roles()["Roles"]  # allowed by aws:PrincipalTag/kubernetes-service-account
    sts = localcloud.client("sts", access_key_id=credentials.access_key,
                            secret_access_key=credentials.secret_key, session_token=credentials.token)
    assert ":assumed-role/" in sts.get_caller_identity()["Arn"]


def test_session_tag_of_another_service_account_is_refused_by_the_same_policy(localcloud, cluster, association,
                                                                            pod_role, tmp_path):
    localcloud.client("eks").create_pod_identity_association(clusterName=cluster, namespace="orders",
                                                             serviceAccount="orders-worker", roleArn=pod_role)
    allowed = agent_credentials(localcloud, cluster, tmp_path, localcloud.mint_token(
        "orders", "orders-api", audience=AUDIENCE, pod_name="orders-api-1"))
    other = agent_credentials(localcloud, cluster, tmp_path, localcloud.mint_token(
        "orders", "orders-worker", audience=AUDIENCE, pod_name="orders-worker-1"))

    def iam(c):
        return localcloud.client("iam", access_key_id=c.access_key, secret_access_key=c.secret_key,
                                 session_token=c.token)

    assert iam(allowed).list_roles()["Roles"]  # positive control
    with pytest.raises(ClientError) as refused:
        iam(other).list_roles()
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.parametrize(("what", "namespace", "service_account", "audience"), [
    ("another service account", "orders", "billing-api", AUDIENCE),
    ("another namespace", "billing", "orders-api", AUDIENCE),
    ("the STS audience", "orders", "orders-api", "sts.amazonaws.com"),
])
def test_agent_serves_no_credentials_to(localcloud, cluster, association, tmp_path, what, namespace,
                                        service_account, audience):
    good = localcloud.mint_token("orders", "orders-api", audience=AUDIENCE, pod_name="orders-api-1")
    assert agent_credentials(localcloud, cluster, tmp_path, good).access_key  # positive control
    bad = localcloud.mint_token(namespace, service_account, audience=audience, pod_name="pod-1")
    with pytest.raises(CredentialRetrievalError):
        agent_credentials(localcloud, cluster, tmp_path, bad)


def test_agent_serves_nothing_after_the_association_is_deleted(localcloud, cluster, association, tmp_path):
    token = localcloud.mint_token("orders", "orders-api", audience=AUDIENCE, pod_name="orders-api-1")
    assert agent_credentials(localcloud, cluster, tmp_path, token).access_key
    localcloud.client("eks").delete_pod_identity_association(clusterName=cluster,
                                                             associationId=association["associationId"])
    with pytest.raises(CredentialRetrievalError):
        agent_credentials(localcloud, cluster, tmp_path, token)


def test_database_connect_decides_on_the_pods_session_tags(localcloud, cluster, shared_cluster, unique_name,
                                                           tmp_path):
    """rds-db:connect allowed only for aws:PrincipalTag/kubernetes-service-account orders-api:
    the database logs in the pod of orders-api and refuses the pod of orders-worker, though both
    hold the same role through their associations."""
    from rds_fixtures import APP_USER

    iam, eks = localcloud.client("iam"), localcloud.client("eks")
    name = unique_name("db-pod")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                                                "Action": ["sts:AssumeRole", "sts:TagSession"]}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="connect", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "rds-db:connect", "Resource": shared_cluster.dbuser_arn(APP_USER),
            "Condition": {"StringEquals": {"aws:PrincipalTag/kubernetes-service-account": "orders-api"}}}]}))
    for service_account in ("orders-api", "orders-worker"):
        eks.create_pod_identity_association(clusterName=cluster, namespace="orders", serviceAccount=service_account,
                                            roleArn=role)

    def login(service_account: str):
        c = agent_credentials(localcloud, cluster, tmp_path, localcloud.mint_token(
            "orders", service_account, audience=AUDIENCE, pod_name=f"{service_account}-1"))
        token = shared_cluster.token({"AccessKeyId": c.access_key, "SecretAccessKey": c.secret_key,
                                      "SessionToken": c.token}, APP_USER)
        return shared_cluster.login(APP_USER, token)

    assert login("orders-api") == (APP_USER, True)  # positive control
    with pytest.raises(psycopg2.OperationalError, match="authentication failed"):
        login("orders-worker")
