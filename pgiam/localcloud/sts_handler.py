"""The gateway's handler for ``sts:AssumeRoleWithWebIdentity``: translates the Query request to
the strict STS model and its answer (or refusal) to AWS's XML. Never passes the call to moto,
which would accept any token for any role."""

from __future__ import annotations

import logging

from werkzeug.wrappers import Response

from pgiam.localcloud.awsquery import AwsError, result_xml
from pgiam.localcloud.gateway import AwsRequest, MotoCall, aws_error_response
from pgiam.localcloud.sts import NOT_AUTHORIZED, StrictSts, WebIdentityResult, request_from_params

log = logging.getLogger("pgiam.localcloud.sts")
ACTION = "AssumeRoleWithWebIdentity"


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
        body = result_xml("sts", ACTION, result_document(result), request.request_id)
        return Response(body, status=200, content_type="text/xml",
                        headers={"x-amzn-RequestId": request.request_id})


def seal_moto_web_identity() -> None:
    """Make moto's own ``AssumeRoleWithWebIdentity`` answer refuse, in the daemon: should a
    request ever reach moto without passing the gateway's handler (an encoding the gateway did
    not foresee), it gets no credentials. The strict STS issues through moto's backend, not this
    response method, so it is unaffected."""
    from moto.sts.exceptions import STSClientError
    from moto.sts.responses import TokenResponse

    def refuse(self: TokenResponse) -> None:
        log.warning("AssumeRoleWithWebIdentity reached moto directly; refused")
        raise STSClientError("AccessDenied", NOT_AUTHORIZED)

    TokenResponse.assume_role_with_web_identity = refuse  # type: ignore[method-assign]
