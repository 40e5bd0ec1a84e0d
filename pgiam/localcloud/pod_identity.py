"""The daemon's EKS Pod Identity (extension ``pod-identity``): EKS's association API and the EKS
Auth API's ``AssumeRoleForPodIdentity`` (REST-JSON, routed by method and path: moto implements
neither), and one Pod Identity Agent server for every cluster at
``<agent_url>/clusters/<cluster>/v1/credentials`` (``info()["agent_url"]``). The model is
:mod:`pgiam.localcloud.eks_auth`; clusters are moto's EKS clusters, whose tokens the local
cloud's one issuer signs; credentials come from the strict STS's issuer, with EKS's session tags.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt
from werkzeug.wrappers import Response

from pgiam.localcloud.awsquery import AwsError
from pgiam.localcloud.eks_auth import Associations, Cluster, EksAuth
from pgiam.localcloud.gateway import AwsRequest, MotoCall
from pgiam.localcloud.identity import MotoCredentialIssuer
from pgiam.localcloud.oidc import ServiceAccountIssuer, load_private_key
from pgiam.localcloud.pod_identity_agent import PodIdentityAgent

NAME = "pod-identity"
LOG = logging.getLogger("pgiam.localcloud.pod_identity")
CLUSTER = r"/clusters/[0-9A-Za-z][A-Za-z0-9_-]{0,99}"
ASSOCIATIONS = CLUSTER + r"/pod-identity-associations"
ONE_ASSOCIATION = ASSOCIATIONS + r"/[^/]+"
ROUTES = (
    ("eks", "POST", ASSOCIATIONS, "CreatePodIdentityAssociation"),
    ("eks", "GET", ASSOCIATIONS, "ListPodIdentityAssociations"),
    ("eks", "GET", ONE_ASSOCIATION, "DescribePodIdentityAssociation"),
    ("eks", "POST", ONE_ASSOCIATION, "UpdatePodIdentityAssociation"),
    ("eks", "DELETE", ONE_ASSOCIATION, "DeletePodIdentityAssociation"),
    ("eks-auth", "POST", CLUSTER + r"/assume-role-for-pod-identity", "AssumeRoleForPodIdentity"),
)


class MotoClusters:
    """moto's EKS clusters, with the local cloud's issuer (the one every pod token comes from)."""

    def __init__(self, account_id: str, region: str, issuer: str) -> None:
        self.account_id = account_id
        self.region = region
        self.issuer = issuer

    def cluster(self, name: str) -> Cluster | None:
        from moto.eks.models import eks_backends

        found = eks_backends[self.account_id][self.region].clusters.get(name)
        return None if found is None else Cluster(name, found.arn, self.issuer)


class StaticKeys:
    """The issuer's public key, read from the state directory (the daemon signs every token)."""

    def __init__(self, issuer: ServiceAccountIssuer) -> None:
        self._keys = [jwt.PyJWK(key) for key in issuer.jwks()["keys"]]

    def keys(self, issuer: str, *, refresh: bool = False) -> Sequence[jwt.PyJWK]:
        return self._keys


def _json(status: int, body: Mapping[str, Any], request: AwsRequest) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json",
                    headers={"x-amzn-RequestId": request.request_id})


def _rest_json_errors(handler: Callable[[AwsRequest, MotoCall], Response]) -> Callable[[AwsRequest, MotoCall], Response]:
    """The REST-JSON error shape for the model's refusals (the gateway renders a handler's
    ``AwsError`` as the Query protocol's XML)."""
    @functools.wraps(handler)
    def wrapped(request: AwsRequest, call_moto: MotoCall) -> Response:
        try:
            return handler(request, call_moto)
        except AwsError as error:
            if error.detail:
                LOG.info("%s %s refused: %s (%s)", request.service, request.action, error.code, error.detail)
            return Response(json.dumps({"__type": error.code, "message": error.message}), status=error.status,
                            content_type="application/json",
                            headers={"x-amzn-RequestId": request.request_id, "x-amzn-ErrorType": error.code})
    return wrapped


def _path_parts(request: AwsRequest) -> list[str]:
    return [unquote(part) for part in str(request.environ.get("PATH_INFO", "")).strip("/").split("/")]


def _body(request: AwsRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise AwsError("InvalidParameterException", "The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise AwsError("InvalidParameterException", "The request body is not a JSON object.")
    return body


class PodIdentityExtension:
    name = NAME

    def __init__(self) -> None:
        self.agent: PodIdentityAgent | None = None
        self.associations: Associations | None = None
        self.eks_auth: EksAuth | None = None

    def start(self, cloud: Any) -> None:
        issuer = ServiceAccountIssuer(cloud.issuer, load_private_key(cloud.state.signing_key.read_bytes()))
        clusters = MotoClusters(cloud.account_id, cloud.region, cloud.issuer)
        self.associations = Associations(clusters, region=cloud.region, account_id=cloud.account_id)
        self.eks_auth = EksAuth(clusters, self.associations, cloud.identity, StaticKeys(issuer),
                                MotoCredentialIssuer(cloud.identity), account_id=cloud.account_id)
        handlers = {"CreatePodIdentityAssociation": self.create, "ListPodIdentityAssociations": self.list,
                    "DescribePodIdentityAssociation": self.describe, "UpdatePodIdentityAssociation": self.update,
                    "DeletePodIdentityAssociation": self.delete, "AssumeRoleForPodIdentity": self.assume}
        for service, method, path, action in ROUTES:
            cloud.gateway.register_rest(service, method, path, action)
            if cloud.gateway.lookup(service, action) is None:
                cloud.gateway.register(service, action, _rest_json_errors(handlers[action]))
        self.agent = PodIdentityAgent(self.eks_auth, None).start()

    def stop(self) -> None:
        if self.agent is not None:
            self.agent.stop()

    def info(self) -> Mapping[str, Any]:
        assert self.agent is not None
        return {"agent_url": self.agent.base_url + "/clusters/{cluster}/v1/credentials"}

    def create(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        assert self.associations is not None
        cluster = _path_parts(request)[1]
        body = _body(request)
        association = self.associations.create(cluster, body.get("namespace"), body.get("serviceAccount"),
                                               body.get("roleArn"), body.get("tags") or {})
        return _json(200, {"association": association.describe()}, request)

    def list(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        assert self.associations is not None
        query = parse_qs(str(request.environ.get("QUERY_STRING", "")))
        found = self.associations.list(_path_parts(request)[1],
                                       namespace=(query.get("namespace") or [None])[0],
                                       service_account=(query.get("serviceAccount") or [None])[0])
        return _json(200, {"associations": [a.summary() for a in found]}, request)

    def describe(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        assert self.associations is not None
        parts = _path_parts(request)
        return _json(200, {"association": self.associations.describe(parts[1], parts[3]).describe()}, request)

    def update(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        assert self.associations is not None
        parts = _path_parts(request)
        role_arn = _body(request).get("roleArn")
        association = self.associations.describe(parts[1], parts[3]) if role_arn is None else \
            self.associations.update(parts[1], parts[3], role_arn)
        return _json(200, {"association": association.describe()}, request)

    def delete(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        assert self.associations is not None
        parts = _path_parts(request)
        return _json(200, {"association": self.associations.delete(parts[1], parts[3]).describe()}, request)

    def assume(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        assert self.eks_auth is not None
        token = _body(request).get("token")
        if not isinstance(token, str) or not token:
            raise AwsError("InvalidParameterException", "token is required.")
        result = self.eks_auth.assume_role_for_pod_identity(_path_parts(request)[1], token)
        return _json(200, result.response(), request)


def create_extension() -> PodIdentityExtension:
    return PodIdentityExtension()
