"""Authentication and authorization of every call to the local cloud's AWS endpoint.

Strict by default, as AWS: every call must be signed (SigV4, verified with botocore's signer over
the key's secret, constant-time compare: :class:`pgiam.localcloud.sts_handler.Authenticator`) by
credentials the cloud issued: the account's administrator (created by ``up``, its keys in the
``up`` JSON), an IAM user's access key, or role session credentials from the strict STS (what a
pod holds). Anything else is refused as AWS refuses it: made-up keys ``InvalidClientTokenId``
(403; JSON-protocol services ``UnrecognizedClientException``), an unsigned call
``MissingAuthenticationToken`` (403). Unsigned by design, as on AWS: ``AssumeRoleWithWebIdentity``
(the token is the credential; ``AssumeRoleWithSAML`` is refused by its handler). moto's own
``/moto-api`` (reset, state dump, random seed) is no AWS API and is refused.

Authenticated calls are authorized with the principal's identity policies, permissions boundary
and session policies (:meth:`pgiam.localcloud.identity.IdentityDirectory.authorize`) on the
action ``<service>:<Action>``: for IAM and RDS on the call's primary resource (a pod whose role
may only ``rds-db:connect`` must not rewrite its own role's policies, reset the cluster's master
password or turn IAM authentication off), for other Query and JSON services on ``*`` (their
resources are not modelled: a policy that scopes them to named resources refuses here where AWS
might allow). REST services name no action in the request (S3, EKS, Lambda): authenticated only.
``sts:GetCallerIdentity`` needs no permission (as on AWS); role sessions may not call
``GetSessionToken``/``GetFederationToken``.

``accept_unknown_keys`` (``up --accept-unknown-keys``) restores moto's way for the keys the cloud
does not know: unsigned calls and made-up keys act as an administrator. Keys it issued are still
held to their policies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from pgiam.iam import Request
from pgiam.localcloud.awsquery import AwsError, duplicate_parameters
from pgiam.localcloud.gateway import AwsRequest, action_key
from pgiam.localcloud.oidc import without_scheme

log = logging.getLogger("pgiam.localcloud.authz")
SELF_AUTHENTICATING = {("sts", "assumerole"), ("sts", "assumerolewithwebidentity"), ("sts", "assumerolewithsaml")}
UNSIGNED_ALLOWED = {("sts", "assumerolewithwebidentity"), ("sts", "assumerolewithsaml")}

def is_moto_api(environ: Any) -> bool:
    """A request moto would route to its own API: a path with ``/moto-api`` anywhere (however
    many slashes lead it) or the ``motoapi.amazonaws.com`` host."""
    path = str(environ.get("PATH_INFO", "")) + str(environ.get("RAW_URI", ""))
    return "/moto-api" in path.lower() or "motoapi" in str(environ.get("HTTP_HOST", "")).lower()

# SigV4 signing names whose IAM action prefix differs
IAM_PREFIX_OF_SIGNING_NAME = {"monitoring": "cloudwatch", "email": "ses"}
AUTHORIZED_SERVICES = frozenset({"iam", "rds"})
NO_SESSION_ACTIONS = frozenset({"getsessiontoken", "getfederationtoken"})


def iam_resource(params: dict[str, str], account: str, named_arn: Callable[[str, str], str | None]) -> str:
    """The resource an IAM call acts on: the role, user or group it names (with its path), else
    the instance profile, managed policy or OIDC provider; ``*`` for calls on none (``List*``)."""
    for param, kind in (("RoleName", "role"), ("UserName", "user"), ("GroupName", "group")):
        if param in params:
            path = params.get("Path", "/")
            return named_arn(kind, params[param]) or f"arn:aws:iam::{account}:{kind}{path}{params[param]}"
    if "InstanceProfileName" in params:
        return f"arn:aws:iam::{account}:instance-profile{params.get('Path', '/')}{params['InstanceProfileName']}"
    if "PolicyArn" in params:
        return params["PolicyArn"]
    if "PolicyName" in params:  # CreatePolicy
        return f"arn:aws:iam::{account}:policy{params.get('Path', '/')}{params['PolicyName']}"
    if "OpenIDConnectProviderArn" in params:
        return params["OpenIDConnectProviderArn"]
    if "Url" in params:  # CreateOpenIDConnectProvider
        return f"arn:aws:iam::{account}:oidc-provider/{without_scheme(params['Url'])}"
    return "*"


def rds_resource(params: dict[str, str], region: str, account: str) -> str:
    """The DB instance or cluster an RDS call names (instance first: CreateDBInstance names both)."""
    if "DBInstanceIdentifier" in params:
        return f"arn:aws:rds:{region}:{account}:db:{params['DBInstanceIdentifier'].lower()}"
    if "DBClusterIdentifier" in params:
        return f"arn:aws:rds:{region}:{account}:cluster:{params['DBClusterIdentifier'].lower()}"
    return "*"


class KnownCallerAuthorizer:
    """``authorizer(request)`` for the gateway: raises :class:`AwsError` to refuse the call."""

    def __init__(self, identity: Any, authenticate: Callable[[AwsRequest], Any], *,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 accept_unknown_keys: bool = False) -> None:
        self.identity = identity
        self.authenticate = authenticate
        self.clock = clock
        self.accept_unknown_keys = accept_unknown_keys

    def __call__(self, request: AwsRequest) -> None:
        service, action = request.service, request.action
        key = (service, action_key(action or ""))
        if is_moto_api(request.environ):
            if self.accept_unknown_keys:
                return
            raise AwsError("AccessDenied", "moto's /moto-api is not served by a strict local cloud", 403)
        if not request.signed or not request.access_key_id:
            if self.accept_unknown_keys or key in UNSIGNED_ALLOWED:
                return
            raise AwsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403,
                           detail="an unsigned call")
        if key in SELF_AUTHENTICATING:
            return  # the STS handlers authenticate (AssumeRole) or need no signature
        if self.accept_unknown_keys and self.identity.resolve_access_key(request.access_key_id) is None:
            return  # --accept-unknown-keys: moto's way for credentials the cloud does not know
        credential = self.authenticate(request)
        if service is None or action is None:
            return  # a REST protocol's call names no action here: authenticated, not authorized
        caller = credential.session_arn or credential.principal_arn
        if request.duplicate_params:
            # moto and this check could read different copies of a parameter (the role acted on)
            raise duplicate_parameters(request.duplicate_params)
        if service == "sts":
            if action_key(action) in NO_SESSION_ACTIONS and credential.session_token is not None:
                raise AwsError("AccessDenied", f"Cannot call {action} with session credentials", 403)
            return
        resource = AWS_RESOURCES[service](self, request) if service in AWS_RESOURCES else "*"
        # matched case-insensitively; underscores dropped: moto runs `put_role_policy` as PutRolePolicy
        iam_action = f"{IAM_PREFIX_OF_SIGNING_NAME.get(service, service)}:{action.replace('_', '')}"
        context = dict(credential.principal_context())
        now = self.clock()
        context.update({"aws:CurrentTime": now, "aws:EpochTime": int(now.timestamp()),
                        "aws:SecureTransport": False, "aws:RequestedRegion": request.region})
        if request.remote_addr:
            context["aws:SourceIp"] = request.remote_addr
        try:
            decision = self.identity.authorize(credential, Request(iam_action, resource, context=context))
        except (LookupError, ValueError) as exc:
            raise AwsError("AccessDenied", f"User: {caller} is not authorized to perform: {iam_action} on "
                           f"resource: {resource}", 403, detail=f"policies unreadable: {exc}") from None
        if not decision.allowed:
            log.info("%s refused to %s on %s: %s", iam_action, caller, resource, decision)
            why = "with an explicit deny" if decision.effect == "ExplicitDeny" else \
                f"because no identity-based policy allows the {iam_action} action"
            raise AwsError("AccessDenied", f"User: {caller} is not authorized to perform: {iam_action} on "
                           f"resource: {resource} {why}", 403, detail=str(decision))


AWS_RESOURCES: dict[str, Callable[[KnownCallerAuthorizer, AwsRequest], str]] = {
    "iam": lambda self, request: iam_resource(dict(request.params), self.identity.account_id,
                                              self.identity.named_arn),
    "rds": lambda self, request: rds_resource(dict(request.params), request.region, self.identity.account_id),
}
