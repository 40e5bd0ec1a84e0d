"""The gateway's handlers for the STS actions that hand out role credentials:
``AssumeRoleWithWebIdentity`` and ``AssumeRole`` (translated to the strict models and their
answers, or refusals, to AWS's XML), and ``AssumeRoleWithSAML`` (refused: no SAML assertion is
verified here). None of them is ever passed to moto, which would issue credentials for any role
to anyone; :func:`seal_moto_role_credentials` makes moto's own answers refuse as a second lock.

``AssumeRole`` must know who calls: the request's SigV4 signature (``Authorization`` header) is
verified with the secret of the access key it names, which must be an active IAM user key or
session credentials the strict STS issued (with their own session token, not expired).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from datetime import datetime, timezone

from werkzeug.wrappers import Response

from pgiam.iam import Decision, Request
from pgiam.localcloud import sigv4
from pgiam.localcloud.assume_role import (
    AssumeRoleResult,
    Caller,
    StrictAssumeRole,
    assume_role_request_from_params,
)
from pgiam.localcloud.awsquery import AwsError
from pgiam.localcloud.gateway import AwsRequest, MotoCall, aws_error_response, aws_result_response
from pgiam.localcloud.sts import NOT_AUTHORIZED, StrictSts, WebIdentityResult, request_from_params

log = logging.getLogger("pgiam.localcloud.sts")
ACTION = "AssumeRoleWithWebIdentity"
ASSUME_ROLE = "AssumeRole"
ASSUME_ROLE_WITH_SAML = "AssumeRoleWithSAML"
INVALID_TOKEN_ID = "The security token included in the request is invalid."


def result_document(result: WebIdentityResult) -> dict:
    credentials = result.credentials
    return {
        "SubjectFromWebIdentityToken": result.subject,
        "Audience": result.audience,
        "AssumedRoleUser": {"Arn": credentials.assumed_role_arn,
                            "AssumedRoleId": credentials.assumed_role_id},
        "Credentials": {"AccessKeyId": credentials.access_key_id,
                        "SecretAccessKey": credentials.secret_access_key,
                        "SessionToken": credentials.session_token,
                        "Expiration": credentials.expiration},
        "PackedPolicySize": result.packed_policy_size,
        "Provider": result.provider,
    }


class AssumeRoleWithWebIdentityHandler:
    def __init__(self, sts: StrictSts) -> None:
        self.sts = sts

    def __call__(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        http = request.http
        try:
            web_request = request_from_params(
                request.params, duplicates=request.duplicate_params, requested_region=request.region,
                source_ip=request.remote_addr or None, secure_transport=http.scheme == "https",
                user_agent=http.headers.get("User-Agent"))
            result = self.sts.assume_role_with_web_identity(web_request)
        except AwsError as error:
            log.info("AssumeRoleWithWebIdentity refused for role %r from %s: %s (%s)",
                     request.params.get("RoleArn"), request.remote_addr, error.code,
                     error.detail or error.message)
            return aws_error_response(error, request.request_id, "sts")
        log.info("AssumeRoleWithWebIdentity: %s assumed %s as %s (key %s, expires %s)",
                 result.subject, web_request.role_arn, result.credentials.assumed_role_arn,
                 result.credentials.access_key_id, result.credentials.expiration.isoformat())
        return aws_result_response("sts", ACTION, result_document(result), request.request_id)


def assume_role_result_document(result: AssumeRoleResult) -> dict:
    credentials = result.credentials
    return {
        "Credentials": {"AccessKeyId": credentials.access_key_id,
                        "SecretAccessKey": credentials.secret_access_key,
                        "SessionToken": credentials.session_token,
                        "Expiration": credentials.expiration},
        "AssumedRoleUser": {"AssumedRoleId": credentials.assumed_role_id,
                            "Arn": credentials.assumed_role_arn},
        "PackedPolicySize": result.packed_policy_size,
    }


class Authenticator:
    """Who signed a request: the credential of the access key its ``Authorization`` header names,
    once the signature, the session token and the expiry hold. ``identity`` is the daemon's
    :class:`pgiam.localcloud.identity.IdentityDirectory`."""

    def __init__(self, identity, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.identity = identity
        self.clock = clock

    def __call__(self, request: AwsRequest):
        http = request.http
        if http.headers.get("Authorization") is None and "X-Amz-Signature" in request.params:
            raise AwsError("IncompleteSignature", "The local cloud verifies this action's signature in the "
                           "Authorization header only; do not presign it.")
        authorization = sigv4.parse_authorization(http.headers.get("Authorization"))
        credential = self.identity.resolve_access_key(authorization.access_key_id)
        if credential is None:
            raise AwsError("InvalidClientTokenId", INVALID_TOKEN_ID, 403,
                           detail=f"access key {authorization.access_key_id} is not an active key of this cloud")
        tokens = http.headers.getlist("X-Amz-Security-Token")
        if credential.session_token is None:
            if tokens:
                raise AwsError("InvalidClientTokenId", INVALID_TOKEN_ID, 403,
                               detail="a security token with a long-term access key")
        elif len(tokens) != 1 or not hmac.compare_digest(tokens[0].encode("utf-8"),
                                                          credential.session_token.encode("utf-8")):
            raise AwsError("InvalidClientTokenId", INVALID_TOKEN_ID, 403,
                           detail="the security token is missing or not the access key's")
        now = self.clock()
        received = sigv4.received_request(request.environ, list(http.headers.items()), request.body)
        sigv4.verify(received, authorization, secret=credential.secret_access_key,
                     session_token=credential.session_token, now=now)
        if credential.expiration is not None and now >= credential.expiration:
            raise AwsError("ExpiredToken", "The security token included in the request is expired",
                           detail=f"credentials expired at {credential.expiration:%Y-%m-%dT%H:%M:%SZ}")
        return credential


class IdentityCallerPolicies:
    """:class:`pgiam.localcloud.assume_role.CallerPolicies` over the identity directory."""

    def __init__(self, identity) -> None:
        self.identity = identity

    def authorize(self, caller: Caller, request: Request, *, identity_allow_required: bool) -> Decision:
        return self.identity.authorize(caller.handle, request, identity_allow_required=identity_allow_required)


def caller_of(credential) -> Caller:
    return Caller(arn=credential.session_arn or credential.principal_arn, account_id=credential.account_id,
                  is_role_session=credential.session_token is not None,
                  context=credential.principal_context(), handle=credential)


class AssumeRoleHandler:
    def __init__(self, model: StrictAssumeRole, authenticate: Authenticator) -> None:
        self.model = model
        self.authenticate = authenticate

    def __call__(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        http = request.http
        caller = None
        try:
            assume_request = assume_role_request_from_params(
                request.params, duplicates=request.duplicate_params, requested_region=request.region,
                source_ip=request.remote_addr or None, secure_transport=http.scheme == "https",
                user_agent=http.headers.get("User-Agent"))
            caller = caller_of(self.authenticate(request))
            result = self.model.assume_role(assume_request, caller)
        except AwsError as error:
            log.info("AssumeRole refused for role %r by %s from %s: %s (%s)", request.params.get("RoleArn"),
                     caller.arn if caller is not None else request.access_key_id or "-", request.remote_addr,
                     error.code, error.detail or error.message)
            return aws_error_response(error, request.request_id, "sts")
        log.info("AssumeRole: %s assumed %s as %s (key %s, expires %s)", caller.arn, assume_request.role_arn,
                 result.credentials.assumed_role_arn, result.credentials.access_key_id,
                 result.credentials.expiration.isoformat())
        return aws_result_response("sts", ASSUME_ROLE, assume_role_result_document(result), request.request_id)


def refuse_saml(request: AwsRequest, call_moto: MotoCall) -> Response:
    """``AssumeRoleWithSAML``: no SAML assertion is verified by the local cloud, so none is honoured."""
    log.info("AssumeRoleWithSAML refused for role %r: SAML is not modelled", request.params.get("RoleArn"))
    error = AwsError("InvalidIdentityToken", "The local cloud does not verify SAML assertions; "
                     "AssumeRoleWithSAML is refused (use AssumeRoleWithWebIdentity or AssumeRole).")
    return aws_error_response(error, request.request_id, "sts")


def seal_moto_role_credentials() -> None:
    """Make moto's own answers to ``AssumeRoleWithWebIdentity``, ``AssumeRole`` and
    ``AssumeRoleWithSAML`` refuse, in the daemon: should a request ever reach moto without passing
    the gateway's handlers (an encoding the gateway did not foresee), it gets no credentials. The
    strict models issue through moto's backend, not these response methods, so they are
    unaffected."""
    from moto.sts.exceptions import STSClientError
    from moto.sts.responses import TokenResponse

    def refusal(action: str) -> Callable[[TokenResponse], None]:
        def refuse(self: TokenResponse) -> None:
            log.warning("%s reached moto directly; refused", action)
            raise STSClientError("AccessDenied", NOT_AUTHORIZED.replace(ACTION, action))

        return refuse

    TokenResponse.assume_role_with_web_identity = refusal(ACTION)  # type: ignore[method-assign]
    TokenResponse.assume_role = refusal(ASSUME_ROLE)  # type: ignore[method-assign]
    TokenResponse.assume_role_with_saml = refusal(ASSUME_ROLE_WITH_SAML)  # type: ignore[method-assign]
