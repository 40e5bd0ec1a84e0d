"""IAM actions the local cloud answers around moto, where moto's gap would let the local cloud
allow what AWS refuses:

* a user's permissions boundary: moto accepts ``PermissionsBoundary`` on ``CreateUser`` and drops
  it, and has no ``PutUserPermissionsBoundary``/``DeleteUserPermissionsBoundary`` (it answers
  500), so a boundary would limit nothing. These handlers keep it (in
  :mod:`pgiam.localcloud.identity`, where every decision for the user reads it) and show it in
  ``CreateUser``/``GetUser`` answers as IAM does;
* a trust policy's IAM user and role principals: IAM refuses one that names a user or role of
  the account that does not exist ("Invalid principal in policy") and binds the others to their
  unique ids, so that a principal deleted and re-created under the same name is not trusted;
  moto keeps the text. These handlers check the names and record the ids
  (:func:`pgiam.localcloud.identity.record_trust_bindings`);
* an OIDC provider's client ids: moto has no ``AddClientIDToOpenIDConnectProvider`` or
  ``RemoveClientIDFromOpenIDConnectProvider`` (500), so an audience could not be revoked. These
  handlers edit moto's record, which the strict STS reads on every call.
"""

from __future__ import annotations

import logging
import re
from xml.etree import ElementTree as ET

from werkzeug.wrappers import Response

from pgiam.localcloud.awsquery import AwsError
from pgiam.localcloud.gateway import AwsRequest, HandlerRegistry, MotoCall, aws_result_response
from pgiam.localcloud.identity import (
    IdentityDirectory,
    aws_principal_entries,
    parse_document,
    record_trust_bindings,
    record_user_boundary,
    user_boundary,
)

log = logging.getLogger("pgiam.localcloud.iam")
_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?:[0-9]{12}|aws):policy/.+$")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(root: ET.Element, name: str) -> ET.Element | None:
    return next((e for e in root.iter() if _local(e.tag) == name), None)


def _with_boundary(response: Response, policy_arn: str) -> Response:
    """Add ``PermissionsBoundary`` to the ``User`` element of moto's answer."""
    if response.status_code != 200:
        return response
    root = ET.fromstring(response.get_data())
    user = _find(root, "User")
    if user is None:
        return response
    namespace = user.tag[1:].split("}", 1)[0] if user.tag.startswith("{") else ""
    name = (lambda local: f"{{{namespace}}}{local}" if namespace else local)
    boundary = ET.SubElement(user, name("PermissionsBoundary"))
    ET.SubElement(boundary, name("PermissionsBoundaryType")).text = "Policy"
    ET.SubElement(boundary, name("PermissionsBoundaryArn")).text = policy_arn
    response.set_data(ET.tostring(root, encoding="utf-8", xml_declaration=False, default_namespace=namespace or None))
    return response


class UserBoundaryHandlers:
    def __init__(self, identity: IdentityDirectory) -> None:
        self.identity = identity

    def register(self, registry: HandlerRegistry) -> None:
        registry.register("iam", "CreateUser", self.create_user)
        registry.register("iam", "PutUserPermissionsBoundary", self.put_boundary)
        registry.register("iam", "DeleteUserPermissionsBoundary", self.delete_boundary)
        registry.register("iam", "GetUser", self.get_user)
        registry.register("iam", "DeleteUser", self.delete_user)

    def _policy(self, arn: str | None) -> str:
        if arn is None or not _POLICY_ARN.match(arn):
            raise AwsError("InvalidInput", f"ARN {arn} is not valid.")
        if self.identity.managed_policy_document(arn) is None:
            raise AwsError("NoSuchEntity", f"Policy {arn} does not exist or is not attachable.", 404)
        return arn

    def _user_id(self, request: AwsRequest) -> str:
        name = request.params.get("UserName", "")
        user_id = self.identity.user_id(name)
        if user_id is None:
            raise AwsError("NoSuchEntity", f"The user with name {name} cannot be found.", 404)
        return user_id

    def create_user(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        boundary = request.params.get("PermissionsBoundary")
        if boundary is None:
            return call_moto(request)
        self._policy(boundary)
        response = call_moto(request)
        if response.status_code == 200:
            record_user_boundary(self._user_id(request), boundary)
            log.info("IAM user %s has permissions boundary %s", request.params.get("UserName"), boundary)
            return _with_boundary(response, boundary)
        return response

    def put_boundary(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        user_id = self._user_id(request)
        boundary = self._policy(request.params.get("PermissionsBoundary"))
        record_user_boundary(user_id, boundary)
        log.info("IAM user %s has permissions boundary %s", request.params.get("UserName"), boundary)
        return aws_result_response("iam", "PutUserPermissionsBoundary", {}, request.request_id)

    def delete_boundary(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        record_user_boundary(self._user_id(request), None)
        return aws_result_response("iam", "DeleteUserPermissionsBoundary", {}, request.request_id)

    def get_user(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        response = call_moto(request)
        user_id = self.identity.user_id(request.params.get("UserName", "")) if request.params.get("UserName") else None
        boundary = user_boundary(user_id) if user_id else None
        return _with_boundary(response, boundary) if boundary else response

    def delete_user(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        user_id = self.identity.user_id(request.params.get("UserName", ""))
        response = call_moto(request)
        if response.status_code == 200 and user_id is not None:
            record_user_boundary(user_id, None)
        return response


MAX_CLIENT_IDS = 100


class OidcClientIdHandlers:
    def __init__(self, identity: IdentityDirectory) -> None:
        self.identity = identity

    def register(self, registry: HandlerRegistry) -> None:
        registry.register("iam", "AddClientIDToOpenIDConnectProvider", self.add)
        registry.register("iam", "RemoveClientIDFromOpenIDConnectProvider", self.remove)

    def _current(self, request: AwsRequest) -> tuple[str, list[str], str]:
        arn = request.params.get("OpenIDConnectProviderArn", "")
        client_id = request.params.get("ClientID")
        if client_id is None or not 1 <= len(client_id) <= 255:
            raise AwsError("ValidationError", "1 validation error detected: Value at 'clientID' failed to "
                           "satisfy constraint: Member must have length between 1 and 255")
        current = self.identity.oidc_client_ids(arn)
        if current is None:
            raise AwsError("NoSuchEntity", f"OpenIDConnect Provider not found for arn {arn}", 404)
        return arn, current, client_id

    def add(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        arn, current, client_id = self._current(request)
        if client_id not in current:
            if len(current) >= MAX_CLIENT_IDS:
                raise AwsError("LimitExceeded", f"Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: "
                               f"{MAX_CLIENT_IDS}", 409)
            self.identity.set_oidc_client_ids(arn, [*current, client_id])
            log.info("IAM OIDC provider %s: client id %r added", arn, client_id)
        return aws_result_response("iam", "AddClientIDToOpenIDConnectProvider", {}, request.request_id)

    def remove(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        arn, current, client_id = self._current(request)
        if client_id in current:
            self.identity.set_oidc_client_ids(arn, [c for c in current if c != client_id])
            log.info("IAM OIDC provider %s: client id %r removed", arn, client_id)
        return aws_result_response("iam", "RemoveClientIDFromOpenIDConnectProvider", {}, request.request_id)


class TrustPrincipalHandlers:
    def __init__(self, identity: IdentityDirectory) -> None:
        self.identity = identity

    def register(self, registry: HandlerRegistry) -> None:
        registry.register("iam", "CreateRole", self.create_role)
        registry.register("iam", "UpdateAssumeRolePolicy", self.update_trust)

    def _bindings(self, document_text: str | None) -> dict[str, str] | None:
        """ARN -> unique id of each IAM user or role of this account the trust names; refuses a
        name with no such principal. None when the document is not JSON (moto answers that)."""
        if document_text is None:
            return None
        try:
            document = parse_document(document_text)
        except ValueError:
            return None
        bindings: dict[str, str] = {}
        for entry in aws_principal_entries(document):
            parts = entry.split(":", 5)
            if len(parts) != 6 or parts[2] != "iam" or parts[4] != self.identity.account_id \
                    or not parts[5].startswith(("user/", "role/")):
                continue
            principal_id = self.identity.principal_id(entry)
            if principal_id is None:
                raise AwsError("MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{entry}"')
            bindings[entry] = principal_id
        return bindings

    def create_role(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        bindings = self._bindings(request.params.get("AssumeRolePolicyDocument"))
        response = call_moto(request)
        if response.status_code == 200 and bindings is not None:
            root = ET.fromstring(response.get_data())
            role_id = _find(root, "RoleId")
            if role_id is not None and role_id.text:
                record_trust_bindings(role_id.text, bindings)
        return response

    def update_trust(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        bindings = self._bindings(request.params.get("PolicyDocument"))
        response = call_moto(request)
        name = request.params.get("RoleName", "")
        arn = self.identity.named_arn("role", name) if response.status_code == 200 else None
        role = self.identity.role(arn) if arn else None
        if role is not None and bindings is not None:
            record_trust_bindings(role.role_id, bindings)
        return response
