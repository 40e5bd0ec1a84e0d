"""The gateway in front of moto (a stand-in WSGI app here): which requests a handler gets, what it
sees, and that everything else reaches the backend byte for byte."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from pgiam.localcloud.awsquery import AwsError
from pgiam.localcloud.gateway import AwsRequest, Gateway, HandlerRegistry

SIGNED = ("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/eu-west-1/rds/aws4_request, "
          "SignedHeaders=host, Signature=abc")


class Backend:
    """Records what reached it and echoes the body."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes, str]] = []

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        self.seen.append((request.method, body, environ.get("QUERY_STRING", "")))
        return Response(b"<moto>" + body + b"</moto>", status=200, content_type="text/xml")(environ, start_response)


@pytest.fixture
def backend() -> Backend:
    return Backend()


@pytest.fixture
def registry() -> HandlerRegistry:
    return HandlerRegistry()


@pytest.fixture
def client(backend: Backend, registry: HandlerRegistry) -> Client:
    return Client(Gateway(backend, registry, "us-east-1"))


def form(**params: str) -> dict:
    return {"data": urlencode(params), "content_type": "application/x-www-form-urlencoded"}


def test_unregistered_actions_reach_the_backend_unchanged(client: Client, backend: Backend) -> None:
    response = client.post("/", headers={"Authorization": SIGNED}, **form(Action="DescribeDBClusters", Marker="x y"))
    assert response.status_code == 200
    assert backend.seen == [("POST", b"Action=DescribeDBClusters&Marker=x+y", "")]
    assert response.get_data() == b"<moto>Action=DescribeDBClusters&Marker=x+y</moto>"


def test_a_registered_handler_sees_the_parsed_request(client: Client, registry: HandlerRegistry,
                                                      backend: Backend) -> None:
    seen: list[AwsRequest] = []

    def handler(request: AwsRequest, call_moto: Any) -> Response:
        seen.append(request)
        return Response(b"handled", status=201)

    registry.register("rds", "CreateDBCluster", handler)
    response = client.post("/?Version=2014-10-31", headers={"Authorization": SIGNED},
                           environ_base={"REMOTE_ADDR": "127.0.0.9"},
                           **form(Action="CreateDBCluster", DBClusterIdentifier="c1"))
    assert (response.status_code, response.get_data()) == (201, b"handled")
    assert backend.seen == []
    (request,) = seen
    assert (request.service, request.action, request.region, request.access_key_id, request.remote_addr) == (
        "rds", "CreateDBCluster", "eu-west-1", "AKIAEXAMPLE", "127.0.0.9")
    assert request.params == {"Version": "2014-10-31", "Action": "CreateDBCluster", "DBClusterIdentifier": "c1"}
    assert request.signed and request.http.headers["Authorization"] == SIGNED


def test_an_unsigned_web_identity_call_is_routed_to_sts(client: Client, registry: HandlerRegistry) -> None:
    registry.register("sts", "AssumeRoleWithWebIdentity", lambda request, call_moto: Response(request.region))
    response = client.post("/", **form(Action="AssumeRoleWithWebIdentity", RoleArn="r"))
    assert response.get_data() == b"us-east-1"
    query = client.get("/?" + urlencode({"Action": "AssumeRoleWithWebIdentity", "RoleArn": "r"}))
    assert query.get_data() == b"us-east-1"


def test_a_handler_can_rewrite_the_request_and_motos_answer(client: Client, registry: HandlerRegistry,
                                                            backend: Backend) -> None:
    def handler(request: AwsRequest, call_moto: Any) -> Response:
        answer = call_moto(request.with_params({**request.params, "Engine": "aurora-postgresql"}))
        answer.set_data(answer.get_data().replace(b"<moto>", b"<rewritten>"))
        return answer

    registry.register("rds", "CreateDBCluster", handler)
    response = client.get("/?Action=CreateDBCluster&DBClusterIdentifier=c1", headers={"Authorization": SIGNED})
    method, body, query = backend.seen[0]
    assert (method, query) == ("POST", "")
    assert dict(parse_qsl(body.decode())) == {"Action": "CreateDBCluster", "DBClusterIdentifier": "c1",
                                              "Engine": "aurora-postgresql"}
    assert response.get_data().startswith(b"<rewritten>")


def test_aws_errors_from_handlers_become_xml_answers(client: Client, registry: HandlerRegistry) -> None:
    def handler(request: AwsRequest, call_moto: Any) -> Response:
        raise AwsError("DBClusterNotFoundFault", "DBCluster c9 not found.", 404)

    registry.register("rds", "DeleteDBCluster", handler)
    response = client.post("/", headers={"Authorization": SIGNED}, **form(Action="DeleteDBCluster"))
    assert response.status_code == 404
    assert b"<Code>DBClusterNotFoundFault</Code>" in response.get_data()
    assert response.headers["x-amzn-RequestId"]


def test_a_failing_handler_is_an_internal_failure_not_a_traceback(client: Client, registry: HandlerRegistry) -> None:
    def handler(request: AwsRequest, call_moto: Any) -> Response:
        raise RuntimeError("bug with secret-ish detail")

    registry.register("rds", "DeleteDBCluster", handler)
    response = client.post("/", headers={"Authorization": SIGNED}, **form(Action="DeleteDBCluster"))
    assert response.status_code == 500
    assert b"<Code>InternalFailure</Code>" in response.get_data() and b"secret" not in response.get_data()


def test_duplicate_parameters_are_reported_to_the_handler(client: Client, registry: HandlerRegistry) -> None:
    seen: list[AwsRequest] = []
    registry.register("sts", "AssumeRoleWithWebIdentity", lambda request, call: seen.append(request) or Response())
    client.post("/", data="Action=AssumeRoleWithWebIdentity&WebIdentityToken=a&WebIdentityToken=b",
                content_type="application/x-www-form-urlencoded")
    assert seen[0].duplicate_params == frozenset({"WebIdentityToken"})
    assert seen[0].params["WebIdentityToken"] == "a"


def test_json_protocol_targets_name_the_action(client: Client, registry: HandlerRegistry) -> None:
    registry.register("eks", "DescribeCluster", lambda request, call: Response(request.action))
    response = client.post("/", headers={"Authorization": SIGNED.replace("/rds/", "/eks/"),
                                         "X-Amz-Target": "AmazonEKS.DescribeCluster"}, data=b"{}")
    assert response.get_data() == b"DescribeCluster"


def test_a_pair_registers_once() -> None:
    registry = HandlerRegistry()
    registry.register("rds", "CreateDBCluster", lambda r, c: Response())
    with pytest.raises(ValueError):
        registry.register("RDS", "CreateDBCluster", lambda r, c: Response())
    registry.unregister("rds", "CreateDBCluster")
    assert registry.lookup("rds", "CreateDBCluster") is None


@pytest.mark.parametrize("encoding", ["text/plain", "gzip", "multipart", "chunked"])
def test_the_action_is_read_however_moto_would_read_the_body(client: Client, registry: HandlerRegistry,
                                                             backend: Backend, encoding: str) -> None:
    import gzip

    seen: list[AwsRequest] = []
    registry.register("sts", "AssumeRoleWithWebIdentity", lambda request, call: seen.append(request) or Response())
    form_body = b"Action=AssumeRoleWithWebIdentity&RoleArn=arn"
    headers = {"Authorization": SIGNED.replace("/rds/", "/sts/")}
    if encoding == "text/plain":
        client.post("/", data=form_body, content_type="text/plain", headers=headers)
    elif encoding == "gzip":
        client.post("/", data=gzip.compress(form_body), content_type="application/x-www-form-urlencoded",
                    headers={**headers, "Content-Encoding": "gzip"})
    elif encoding == "multipart":
        client.post("/", data={"Action": "AssumeRoleWithWebIdentity", "RoleArn": "arn"}, headers=headers)
    else:
        import io

        client.post("/", input_stream=io.BytesIO(form_body), content_type="application/x-www-form-urlencoded",
                    headers={**headers, "Transfer-Encoding": "chunked"})
    assert backend.seen == []
    assert [(r.action, r.params.get("RoleArn")) for r in seen] == [("AssumeRoleWithWebIdentity", "arn")]


def test_an_oversized_query_protocol_body_is_refused_unread(client: Client, backend: Backend) -> None:
    from pgiam.localcloud.gateway import MAX_FORM_BODY

    response = client.post("/", data=b"Action=AssumeRoleWithWebIdentity&x=" + b"a" * MAX_FORM_BODY,
                           content_type="application/x-www-form-urlencoded",
                           headers={"Authorization": SIGNED.replace("/rds/", "/sts/")})
    assert response.status_code == 413 and backend.seen == []


@pytest.mark.parametrize("spelling", ["assumeRole", "ASSUMEROLE", "assume_role", "Assume_Role"])
def test_every_spelling_moto_would_run_reaches_the_handler(client: Client, registry: HandlerRegistry,
                                                            backend: Backend, spelling: str) -> None:
    """moto runs ``camelcase_to_underscores(Action)``: ``assumeRole`` is its ``assume_role``. A
    handler registered as ``AssumeRole`` must see them all, signed or not."""
    registry.register("sts", "AssumeRole", lambda request, call: Response(b"strict"))
    for headers in ({"Authorization": SIGNED.replace("/rds/", "/sts/")}, {}):
        response = client.post("/", data=f"Action={spelling}&RoleArn=arn".encode(),
                                content_type="application/x-www-form-urlencoded", headers=headers)
        assert response.get_data() == b"strict"
    assert backend.seen == []


def test_an_authorizer_refuses_before_any_handler_or_moto(backend: Backend) -> None:
    from pgiam.localcloud.awsquery import AwsError
    from pgiam.localcloud.gateway import Gateway

    def authorizer(request: AwsRequest) -> None:
        raise AwsError("AccessDenied", "no", 403)

    client = Client(Gateway(backend, HandlerRegistry(), "us-east-1", authorizer=authorizer))
    response = client.post("/", data=b"Action=PutRolePolicy", content_type="application/x-www-form-urlencoded",
                           headers={"Authorization": SIGNED.replace("/rds/", "/iam/")})
    assert response.status_code == 403 and b"AccessDenied" in response.get_data() and backend.seen == []
