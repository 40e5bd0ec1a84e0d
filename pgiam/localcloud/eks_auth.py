"""EKS Pod Identity as AWS decides it: the associations (EKS's ``CreatePodIdentityAssociation``,
``Describe``, ``List``, ``Update``, ``Delete``) and the EKS Auth API's
``AssumeRoleForPodIdentity``. A model with no I/O: the clusters, IAM roles, the issuers' keys, the
credential issuer and the clock are injected (moto implements neither API, checked on moto 5).

``AssumeRoleForPodIdentity`` checks, in order: the cluster exists (``ResourceNotFoundException``);
the token is an RS256 JWT issued by *this* cluster's issuer and signed by its key
(``InvalidTokenException``: a token of another cluster is refused here); its audience holds
``pods.eks.amazonaws.com``; ``exp`` is not past (``ExpiredTokenException``); it names a
namespace, service account and pod (``kubernetes.io``), as a projected token bound to a pod does;
an association exists for exactly that namespace and service account
(``ResourceNotFoundException``: another service account, another namespace or a deleted
association gets nothing); the association's role trusts the service principal
``pods.eks.amazonaws.com`` for both ``sts:AssumeRole`` and ``sts:TagSession`` with the context EKS
gives (``aws:SourceAccount``, ``aws:SourceArn`` = the cluster's ARN, the session tags as
``aws:RequestTag/*`` and ``aws:TagKeys``), evaluated with :mod:`pgiam.iam`
(``AccessDeniedException``: a role trusting only an OIDC provider is refused). The credentials
carry EKS's session tags (:data:`SESSION_TAG_KEYS`), so ``aws:PrincipalTag/kubernetes-namespace``
and the like hold for what the pod signs.
"""

from __future__ import annotations

import re
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Protocol

import jwt

from pgiam.iam import Principal, PolicyDocumentError, Request, evaluate_trust_policy, parse_policy
from pgiam.localcloud.awsquery import AwsError
from pgiam.localcloud.sts import IssuedCredentials, KeySource, KeySourceError, Role, select_key

AUDIENCE = "pods.eks.amazonaws.com"
SERVICE_PRINCIPAL = "pods.eks.amazonaws.com"
TRUST_ACTIONS = ("sts:AssumeRole", "sts:TagSession")
SESSION_DURATION = 21600  # EKS Pod Identity credentials last 6 hours (EKS User Guide)
SESSION_TAG_KEYS = ("eks-cluster-arn", "eks-cluster-name", "kubernetes-namespace",
                    "kubernetes-service-account", "kubernetes-pod-name", "kubernetes-pod-uid")
# Kubernetes' own bounds (DNS-1123 label for a namespace, subdomain for a service account)
NAMESPACE_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
SERVICE_ACCOUNT_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
ROLE_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
ASSOCIATION_ID_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class Cluster:
    name: str
    arn: str
    issuer: str  # the cluster's OIDC issuer URL (https://...)


@dataclass(frozen=True)
class Association:
    cluster_name: str
    namespace: str
    service_account: str
    role_arn: str
    association_id: str
    association_arn: str
    created_at: datetime
    modified_at: datetime
    tags: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The ``association`` object of EKS's Create/Describe/Update/Delete answers."""
        return {"clusterName": self.cluster_name, "namespace": self.namespace,
                "serviceAccount": self.service_account, "roleArn": self.role_arn,
                "associationArn": self.association_arn, "associationId": self.association_id,
                "tags": dict(self.tags), "createdAt": self.created_at.timestamp(),
                "modifiedAt": self.modified_at.timestamp()}

    def summary(self) -> dict[str, Any]:
        """An element of ``ListPodIdentityAssociations``' ``associations``."""
        return {"clusterName": self.cluster_name, "namespace": self.namespace,
                "serviceAccount": self.service_account, "associationArn": self.association_arn,
                "associationId": self.association_id}


class Clusters(Protocol):
    def cluster(self, name: str) -> Cluster | None: ...


class Roles(Protocol):
    def role(self, arn: str) -> Role | None: ...


class TaggedCredentialIssuer(Protocol):
    def issue_tagged(self, role: Role, session_name: str, duration: int,
                     tags: Mapping[str, str]) -> IssuedCredentials: ...


def invalid_parameter(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def not_found(message: str, detail: str | None = None) -> AwsError:
    return AwsError("ResourceNotFoundException", message, 404, detail=detail)


def invalid_token(detail: str) -> AwsError:
    # EKS Auth does not tell the caller why; the reason is for the log
    return AwsError("InvalidTokenException", "The service account token is not valid.", detail=detail)


class Associations:
    """EKS's pod identity associations, per cluster. One association per namespace and
    service account of a cluster, as EKS has it (``ResourceInUseException`` otherwise)."""

    def __init__(self, clusters: Clusters, *, region: str, account_id: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.clusters = clusters
        self.region = region
        self.account_id = account_id
        self.clock = clock
        self._by_id: dict[str, Association] = {}

    def _cluster(self, name: str) -> Cluster:
        cluster = self.clusters.cluster(name)
        if cluster is None:
            raise not_found(f"No cluster found for name: {name}.")
        return cluster

    def create(self, cluster_name: str, namespace: str, service_account: str, role_arn: str,
               tags: Mapping[str, str] | None = None) -> Association:
        self._cluster(cluster_name)
        if not isinstance(namespace, str) or not NAMESPACE_PATTERN.match(namespace):
            raise invalid_parameter(f"namespace {namespace!r} is not a valid Kubernetes namespace name")
        if not isinstance(service_account, str) or not SERVICE_ACCOUNT_PATTERN.match(service_account):
            raise invalid_parameter(f"serviceAccount {service_account!r} is not a valid service account name")
        self._check_role_arn(role_arn)
        for existing in self._by_id.values():
            if (existing.cluster_name, existing.namespace, existing.service_account) == \
                    (cluster_name, namespace, service_account):
                raise AwsError("ResourceInUseException", "Association already exists: "
                               f"{existing.association_id}", 409)
        association_id = "a-" + "".join(secrets.choice(ASSOCIATION_ID_ALPHABET) for _ in range(17))
        now = datetime.fromtimestamp(self.clock(), timezone.utc)
        association = Association(
            cluster_name, namespace, service_account, role_arn, association_id,
            f"arn:aws:eks:{self.region}:{self.account_id}:podidentityassociation/{cluster_name}/{association_id}",
            now, now, dict(tags or {}))
        self._by_id[association_id] = association
        return association

    def _check_role_arn(self, role_arn: str) -> None:
        if not isinstance(role_arn, str) or not ROLE_ARN_PATTERN.match(role_arn):
            raise invalid_parameter(f"roleArn {role_arn!r} is not an IAM role ARN")
        if role_arn.split(":")[4] != self.account_id:
            raise invalid_parameter(f"roleArn {role_arn} is not a role of account {self.account_id}")

    def describe(self, cluster_name: str, association_id: str) -> Association:
        self._cluster(cluster_name)
        association = self._by_id.get(association_id)
        if association is None or association.cluster_name != cluster_name:
            raise not_found(f"No association found for id: {association_id}.")
        return association

    def list(self, cluster_name: str, *, namespace: str | None = None,
             service_account: str | None = None) -> list[Association]:
        self._cluster(cluster_name)
        return [a for a in self._by_id.values() if a.cluster_name == cluster_name
                and namespace in (None, a.namespace) and service_account in (None, a.service_account)]

    def update(self, cluster_name: str, association_id: str, role_arn: str) -> Association:
        association = self.describe(cluster_name, association_id)
        self._check_role_arn(role_arn)
        updated = replace(association, role_arn=role_arn,
                          modified_at=datetime.fromtimestamp(self.clock(), timezone.utc))
        self._by_id[association_id] = updated
        return updated

    def delete(self, cluster_name: str, association_id: str) -> Association:
        association = self.describe(cluster_name, association_id)
        del self._by_id[association_id]
        return association

    def for_service_account(self, cluster_name: str, namespace: str, service_account: str) -> Association | None:
        return next((a for a in self._by_id.values() if (a.cluster_name, a.namespace, a.service_account)
                     == (cluster_name, namespace, service_account)), None)


@dataclass(frozen=True)
class PodIdentityResult:
    credentials: IssuedCredentials
    association: Association
    namespace: str
    service_account: str
    session_tags: Mapping[str, str]

    def response(self) -> dict[str, Any]:
        """``AssumeRoleForPodIdentity``'s answer, as the EKS Auth API Reference has it."""
        c = self.credentials
        return {"subject": {"namespace": self.namespace, "serviceAccount": self.service_account},
                "audience": AUDIENCE,
                "podIdentityAssociation": {"associationArn": self.association.association_arn,
                                           "associationId": self.association.association_id},
                "assumedRoleUser": {"arn": c.assumed_role_arn, "assumeRoleId": c.assumed_role_id},
                "credentials": {"sessionToken": c.session_token, "secretAccessKey": c.secret_access_key,
                                "accessKeyId": c.access_key_id, "expiration": c.expiration.timestamp()}}


class EksAuth:
    """``AssumeRoleForPodIdentity``."""

    def __init__(self, clusters: Clusters, associations: Associations, roles: Roles, key_source: KeySource,
                 credential_issuer: TaggedCredentialIssuer, *, account_id: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.clusters = clusters
        self.associations = associations
        self.roles = roles
        self.key_source = key_source
        self.credential_issuer = credential_issuer
        self.account_id = account_id
        self.clock = clock

    def assume_role_for_pod_identity(self, cluster_name: str, token: str) -> PodIdentityResult:
        cluster = self.clusters.cluster(cluster_name)
        if cluster is None:
            raise not_found(f"No cluster found for name: {cluster_name}.")
        claims = self._verified_claims(cluster, token)
        namespace, service_account, pod_name, pod_uid = self._identity(claims)
        association = self.associations.for_service_account(cluster.name, namespace, service_account)
        if association is None:
            raise not_found("No Pod Identity Association found for the service account.",
                            detail=f"no association for {namespace}/{service_account} on {cluster.name}")
        role = self.roles.role(association.role_arn)
        if role is None:
            raise AwsError("AccessDeniedException", "Unable to assume the role of the association.", 403,
                           detail=f"role {association.role_arn} does not exist")
        tags = {"eks-cluster-arn": cluster.arn, "eks-cluster-name": cluster.name,
                "kubernetes-namespace": namespace, "kubernetes-service-account": service_account,
                "kubernetes-pod-name": pod_name, "kubernetes-pod-uid": pod_uid}
        self._check_trust(role, cluster, tags)
        session_name = f"eks-{cluster.name}-{pod_name}"[:55] + "-" + secrets.token_hex(4)
        credentials = self.credential_issuer.issue_tagged(
            role, session_name, min(SESSION_DURATION, role.max_session_duration), tags)
        return PodIdentityResult(credentials, association, namespace, service_account, tags)

    def _verified_claims(self, cluster: Cluster, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise invalid_token(f"not a JWT: {type(exc).__name__}") from None
        if header.get("alg") != "RS256":
            raise invalid_token(f"signing algorithm {header.get('alg')!r} refused (RS256 only)")
        if unverified.get("iss") != cluster.issuer:
            raise invalid_token(f"the token was not issued by the issuer of cluster {cluster.name}")
        try:
            keys = self.key_source.keys(cluster.issuer)
            key = select_key(keys, header.get("kid")) or \
                select_key(self.key_source.keys(cluster.issuer, refresh=True), header.get("kid"))
        except KeySourceError as exc:
            raise invalid_token(f"keys of {cluster.issuer} unavailable: {exc}") from None
        if key is None:
            raise invalid_token(f"no key {header.get('kid')!r} in the JWKS of cluster {cluster.name}")
        try:
            claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=cluster.issuer,
                                options={"require": ["iss", "sub", "aud", "exp", "iat"],
                                         "verify_exp": False, "verify_nbf": False, "verify_iat": False})
        except jwt.InvalidAudienceError:
            raise invalid_token(f"the token's audience is not {AUDIENCE}") from None
        except jwt.InvalidTokenError as exc:
            raise invalid_token(f"token refused: {type(exc).__name__}") from None
        exp = claims["exp"]
        if isinstance(exp, bool) or not isinstance(exp, (int, float)):
            raise invalid_token("the exp claim is not a number")
        if self.clock() >= exp:
            raise AwsError("ExpiredTokenException", "The service account token has expired.",
                           detail="exp is past")
        return claims

    @staticmethod
    def _identity(claims: Mapping[str, Any]) -> tuple[str, str, str, str]:
        kubernetes = claims.get("kubernetes.io")
        if not isinstance(kubernetes, dict):
            raise invalid_token("the token has no kubernetes.io claim")
        namespace = kubernetes.get("namespace")
        service_account = (kubernetes.get("serviceaccount") or {}).get("name")
        pod = kubernetes.get("pod")
        if not isinstance(pod, dict) or not isinstance(pod.get("name"), str) or not isinstance(pod.get("uid"), str):
            raise invalid_token("the token is not bound to a pod")
        if not isinstance(namespace, str) or not isinstance(service_account, str) or \
                claims.get("sub") != f"system:serviceaccount:{namespace}:{service_account}":
            raise invalid_token("the token's sub does not name its namespace and service account")
        return namespace, service_account, pod["name"], pod["uid"]

    def _check_trust(self, role: Role, cluster: Cluster, tags: Mapping[str, str]) -> None:
        try:
            trust = parse_policy(role.trust_policy, kind="trust")
        except PolicyDocumentError as exc:
            raise AwsError("AccessDeniedException", "Unable to assume the role of the association.", 403,
                           detail=f"trust policy of {role.arn} is not valid: {exc}") from None
        now = self.clock()
        context: dict[str, Any] = {"aws:SourceAccount": self.account_id, "aws:SourceArn": cluster.arn,
                                   "aws:PrincipalServiceName": SERVICE_PRINCIPAL,
                                   "aws:TagKeys": list(tags),
                                   "aws:CurrentTime": datetime.fromtimestamp(now, timezone.utc),
                                   "aws:EpochTime": int(now), "aws:SecureTransport": True}
        context.update({f"aws:RequestTag/{key}": value for key, value in tags.items()})
        for action in TRUST_ACTIONS:
            request = Request(action=action, resource=role.arn,
                              principal=Principal("Service", SERVICE_PRINCIPAL), context=context)
            decision = evaluate_trust_policy(trust, request)
            if not decision.allowed:
                raise AwsError("AccessDeniedException", "Unable to assume the role of the association.", 403,
                               detail=f"trust policy of {role.arn} does not allow {SERVICE_PRINCIPAL} "
                                      f"{action}: {decision}")


def container_credentials(result: PodIdentityResult, account_id: str) -> dict[str, str]:
    """What the Pod Identity Agent serves the pod: the container credentials provider's format
    (botocore ``ContainerMetadataFetcher``: AccessKeyId, SecretAccessKey, Token, Expiration)."""
    c = result.credentials
    return {"AccessKeyId": c.access_key_id, "SecretAccessKey": c.secret_access_key, "Token": c.session_token,
            "AccountId": account_id,
            "Expiration": c.expiration.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def agent_answer(eks_auth: EksAuth, cluster_name: str, authorization: str | None) -> tuple[int, dict[str, Any]]:
    """The agent's answer to ``GET /v1/credentials`` with the pod's token in ``Authorization``:
    (HTTP status, JSON body). The token is never echoed."""
    if not authorization or not authorization.strip():
        return 400, {"code": "InvalidRequestException", "message": "Authorization header is missing."}
    try:
        result = eks_auth.assume_role_for_pod_identity(cluster_name, authorization.strip())
    except AwsError as exc:
        return exc.status, {"code": exc.code, "message": exc.message}
    return 200, container_credentials(result, eks_auth.account_id)

