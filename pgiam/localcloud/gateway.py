"""The AWS endpoint's front: a WSGI application that hands each request to the handler registered
for its ``(service, action)``, and everything else to moto unchanged.

The service is the SigV4 signing name from the request's credential scope; an unsigned request
(``AssumeRoleWithWebIdentity`` is one: boto3's web-identity provider does not sign it) is routed by
its action. The action is the Query protocol's ``Action`` (query string or form body) or the
JSON protocol's ``X-Amz-Target``. A handler gets the request and a ``call_moto`` to run moto on it
(or on a rewritten copy) and returns a werkzeug ``Response``.

The access log names service, action, status and time; never the query string or body, which
carry tokens.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from werkzeug.test import run_wsgi_app
from werkzeug.wrappers import Request, Response

from pgiam.localcloud.awsquery import AwsError, credential_scope, error_xml, new_request_id, result_xml

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
MAX_FORM_BODY = 8 << 20  # Query-protocol bodies are small; a web identity token is at most 20,000
# actions routed by name when a request is not signed (the first two are unsigned by design;
# an unsigned AssumeRole must reach the strict handler to be refused, not moto)
UNSIGNED_ACTIONS = {"assumerolewithwebidentity": "sts", "assumerolewithsaml": "sts", "assumerole": "sts"}
QUERY_SERVICES = frozenset({"sts", "iam", "rds", "ec2", "autoscaling", "elasticloadbalancing", "sns",
                            "sqs", "cloudformation", "elasticache", "redshift", "ses", "sdb"})
FORM_TYPE = "application/x-www-form-urlencoded"

log = logging.getLogger("pgiam.localcloud.gateway")


@dataclass(frozen=True)
class AwsRequest:
    """One AWS API request as the gateway read it."""

    service: str | None
    action: str | None
    params: Mapping[str, str]
    region: str
    access_key_id: str | None
    remote_addr: str
    request_id: str
    environ: Mapping[str, Any] = field(repr=False)
    body: bytes = field(repr=False, default=b"")
    duplicate_params: frozenset[str] = frozenset()
    signed: bool = False

    @property
    def http(self) -> Request:
        """A werkzeug view of the request (headers, method, path); its own copy of the body."""
        environ = dict(self.environ)
        environ["wsgi.input"] = io.BytesIO(self.body)
        return Request(environ)

    def with_params(self, params: Mapping[str, str]) -> AwsRequest:
        """This request with ``params`` as its form body (a POST), e.g. to pass moto a rewritten
        request."""
        body = urlencode(list(params.items())).encode("utf-8")
        environ = dict(self.environ)
        environ.update({"REQUEST_METHOD": "POST", "QUERY_STRING": "", "CONTENT_TYPE": FORM_TYPE,
                        "CONTENT_LENGTH": str(len(body))})
        return replace(self, params=dict(params), environ=environ, body=body,
                       duplicate_params=frozenset())


def action_key(action: str) -> str:
    """An action name as routing compares it. moto runs an action by ``camelcase_to_underscores``
    of its name, so ``assumeRole``, ``AssumeROLE`` and ``assume_role`` all reach
    ``assume_role``: every spelling that can reach one moto method must reach one handler."""
    return action.replace("_", "").lower()


MotoCall = Callable[[AwsRequest], Response]
Handler = Callable[[AwsRequest, MotoCall], Response]


class HandlerRegistry:
    """``(service, action) -> handler``. Registering the same pair twice is an error."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], Handler] = {}
        self._rest_routes: list[tuple[str, str, re.Pattern[str], str]] = []
        self._lock = threading.Lock()

    def register(self, service: str, action: str, handler: Handler) -> None:
        key = (service.lower(), action_key(action))
        with self._lock:
            if key in self._handlers:
                raise ValueError(f"a handler for {service} {action} is already registered")
            self._handlers[key] = handler

    def unregister(self, service: str, action: str) -> None:
        with self._lock:
            self._handlers.pop((service.lower(), action_key(action)), None)

    def register_rest(self, service: str, method: str, path: str, action: str) -> None:
        """Name the action of a REST protocol's call (``method`` and a ``path`` regex, matched
        whole), which the request itself does not name, so a handler registered for it is found
        and the caller is authorized for it (EKS Pod Identity's association calls)."""
        with self._lock:
            self._rest_routes.append((service.lower(), method.upper(), re.compile(path), action))

    def rest_action(self, service: str | None, method: str, path: str) -> str | None:
        for route_service, route_method, pattern, action in self._rest_routes:
            if route_service == (service or "").lower() and route_method == method.upper() \
                    and pattern.fullmatch(path):
                return action
        return None

    def lookup(self, service: str | None, action: str | None) -> Handler | None:
        if service is None or action is None:
            return None
        return self._handlers.get((service.lower(), action_key(action)))


# How each protocol names a refused credential, where it differs from the Query protocol's
# InvalidClientTokenId (403): JSON (DynamoDB, KMS, Cognito, ECS, CloudWatch Logs) 400 and
# REST-JSON (Lambda, EKS) 403, both UnrecognizedClientException; S3 InvalidAccessKeyId (403).
JSON_ERROR_CODES = {"InvalidClientTokenId": ("UnrecognizedClientException", 400)}
REST_JSON_ERROR_CODES = {"InvalidClientTokenId": ("UnrecognizedClientException", 403)}
S3_ERROR_CODES = {"InvalidClientTokenId": ("InvalidAccessKeyId",
                                           "The AWS Access Key Id you provided does not exist in our records.")}


@functools.lru_cache(maxsize=256)
def service_protocol(signing_name: str) -> str:
    """botocore's protocol of the service signed for (``query`` when botocore does not know it)."""
    import botocore.session

    try:
        return str(botocore.session.get_session().get_service_model(signing_name).protocol)
    except Exception:  # an unknown service name: answered as the Query protocol would be
        return "query"


def is_json_protocol(environ: Mapping[str, Any]) -> bool:
    return bool(environ.get("HTTP_X_AMZ_TARGET")) or str(environ.get("CONTENT_TYPE", "")).startswith(
        "application/x-amz-json")


def aws_error_response(error: AwsError, request_id: str, service: str | None,
                       environ: Mapping[str, Any] | None = None) -> Response:
    """AWS's error answer: the Query protocol's XML, or, when the request (``environ`` given) was
    of another protocol, that protocol's shape."""
    headers = {"x-amzn-RequestId": request_id}
    protocol = "json" if environ is not None and is_json_protocol(environ) else (
        service_protocol(service) if environ is not None and service else "query")
    if protocol in ("json", "rest-json"):
        codes = JSON_ERROR_CODES if protocol == "json" else REST_JSON_ERROR_CODES
        code, status = codes.get(error.code, (error.code, error.status))
        return Response(json.dumps({"__type": code, "message": error.message}), status=status,
                        content_type="application/x-amz-json-1.1" if protocol == "json" else "application/json",
                        headers={**headers, "x-amzn-ErrorType": code})
    if protocol == "rest-xml" and error.code in S3_ERROR_CODES:
        code, message = S3_ERROR_CODES[error.code]
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"<RequestId>{request_id}</RequestId></Error>")
        return Response(body, status=error.status, content_type="application/xml", headers=headers)
    return Response(error_xml(error, request_id, service), status=error.status,
                    content_type="text/xml", headers=headers)


def aws_result_response(service: str, action: str, result: Mapping[str, Any], request_id: str) -> Response:
    """A Query-protocol answer: ``<ActionResponse><ActionResult>...`` with the request id."""
    return Response(result_xml(service, action, result, request_id), status=200,
                    content_type="text/xml", headers={"x-amzn-RequestId": request_id})


def _read_body(environ: dict[str, Any]) -> bytes | None:
    """The request body (put back for the next reader), or None if it is larger than
    ``MAX_FORM_BODY`` (then left unread, for moto to stream)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_FORM_BODY:
        return None
    stream = environ["wsgi.input"]
    if length > 0:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):  # chunked: read to the end, bounded
        body = stream.read(MAX_FORM_BODY + 1)
        if len(body) > MAX_FORM_BODY:
            environ["wsgi.input"] = io.BytesIO(body + stream.read())
            return None
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return body


def body_params(environ: dict[str, Any], body: bytes) -> list[tuple[str, str]]:
    """The parameters moto would read from ``body``: a form (URL-encoded or multipart, gzip
    decoded as moto does), else the raw body as a query string, whatever its content type (moto
    reads it so). Reading exactly what moto reads is what keeps an intercepted action from
    slipping past the gateway to moto."""
    if not body:
        return []
    if str(environ.get("HTTP_CONTENT_ENCODING", "")).lower() == "gzip":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as unzipped:
                body = unzipped.read(MAX_FORM_BODY + 1)
        except (OSError, EOFError):
            return []
        if len(body) > MAX_FORM_BODY:
            raise AwsError("RequestEntityTooLarge", "The request body is too large.", 413)
    copy = dict(environ)
    copy.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
    copy.pop("HTTP_CONTENT_ENCODING", None)
    form = Request(copy).form
    if form:
        return [(key, value) for key, values in form.lists() for value in values]
    if str(environ.get("CONTENT_TYPE", "")).startswith(("application/json", "application/x-amz-json")):
        return []
    return parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def parse_request(environ: dict[str, Any], default_region: str) -> AwsRequest:
    """Read service, action and parameters from a WSGI environ (the body is kept for moto)."""
    body = _read_body(environ)
    query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    scope = credential_scope(environ.get("HTTP_AUTHORIZATION"), dict(query).get("X-Amz-Credential"))
    # bodies of other protocols (S3 objects, JSON) name no Query action: not parsed
    query_protocol = scope is None or scope.service.lower() in QUERY_SERVICES
    pairs = query + (body_params(environ, body or b"") if query_protocol else [])
    params: dict[str, str] = {}
    duplicates = set()
    for key, value in pairs:
        if key in params:
            duplicates.add(key)
        params.setdefault(key, value)
    target = environ.get("HTTP_X_AMZ_TARGET")
    action = params.get("Action") or (target.rsplit(".", 1)[-1] if target else None)
    service = scope.service.lower() if scope else UNSIGNED_ACTIONS.get(action_key(action or ""))
    if body is None and query_protocol:
        # a Query-protocol body this large is no AWS request; unread, it could hide its action
        raise AwsError("RequestEntityTooLarge", "The request body is too large.", 413)
    return AwsRequest(
        service=service, action=action, params=params,
        region=scope.region if scope else default_region,
        access_key_id=scope.access_key_id if scope else None,
        remote_addr=str(environ.get("REMOTE_ADDR", "")), request_id=new_request_id(),
        environ=environ, body=body or b"", duplicate_params=frozenset(duplicates),
        signed=scope is not None)


class Gateway:
    """The WSGI application in front of moto."""

    def __init__(self, moto_app: WSGIApp, registry: HandlerRegistry, default_region: str,
                 authorizer: Callable[[AwsRequest], None] | None = None) -> None:
        self.moto_app = moto_app
        self.registry = registry
        self.default_region = default_region
        # runs before any handler or moto; raises AwsError to refuse (see caller_authz)
        self.authorizer = authorizer

    def call_moto(self, request: AwsRequest) -> Response:
        environ = dict(request.environ)
        environ["wsgi.input"] = io.BytesIO(request.body)
        environ["CONTENT_LENGTH"] = str(len(request.body))
        app_iter, status, headers = run_wsgi_app(self.moto_app, environ, buffered=True)
        try:
            data = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        return Response(data, status=status, headers=headers)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.monotonic()
        try:
            request = parse_request(environ, self.default_region)
        except AwsError as error:
            log.info("%s request refused before routing: %s", environ.get("REMOTE_ADDR", ""), error.code)
            return aws_error_response(error, new_request_id(), None)(environ, start_response)
        if request.action is None and request.service is not None:
            rest_action = self.registry.rest_action(request.service, str(environ.get("REQUEST_METHOD", "")),
                                                    str(environ.get("PATH_INFO", "")))
            if rest_action is not None:
                request = replace(request, action=rest_action)
        if self.authorizer is not None:
            try:
                self.authorizer(request)
            except AwsError as error:
                log.info("%s %s %s refused: %s (%s)", request.remote_addr, request.service, request.action,
                         error.code, error.detail or error.message)
                self._log(request, f"{error.status}", started, "authz")
                return aws_error_response(error, request.request_id, request.service, environ)(
                    environ, start_response)
        handler = self.registry.lookup(request.service, request.action)
        if handler is None:
            status_seen: list[str] = []

            def recording_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
                status_seen.append(status)
                return start_response(status, headers, exc_info)

            result = self.moto_app(environ, recording_start_response)
            self._log(request, status_seen[0] if status_seen else "?", started, "moto")
            return result
        try:
            response = handler(request, self.call_moto)
        except AwsError as error:
            response = aws_error_response(error, request.request_id, request.service)
        except Exception:  # a bug in a handler: the caller gets AWS's 500, the log the traceback
            log.exception("handler for %s %s failed", request.service, request.action)
            response = aws_error_response(
                AwsError("InternalFailure", "The local cloud failed to process the request; see its log.",
                         500, sender=False), request.request_id, request.service)
        self._log(request, response.status, started, "local")
        return response(environ, start_response)

    @staticmethod
    def _log(request: AwsRequest, status: str, started: float, by: str) -> None:
        log.info("%s %s %s -> %s (%s, %.1f ms)", request.remote_addr, request.service,
                 request.action, status, by, (time.monotonic() - started) * 1000)
