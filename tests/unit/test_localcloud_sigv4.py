"""The server-side SigV4 check, against requests signed by botocore's own ``SigV4Auth`` (what
every boto3 client signs with)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pgiam.localcloud.awsquery import AwsError
from pgiam.localcloud.sigv4 import ReceivedRequest, parse_authorization, verify

KEY, SECRET, TOKEN = "ASIAEXAMPLEEXAMPLE01", "secret/with+chars", "session-token"
HOST = "127.0.0.1:4566"
BODY = b"Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Ft&RoleSessionName=s1&Version=2011-06-15"
SIGNED_AT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def signed(body: bytes = BODY, *, secret: str = SECRET, at: datetime = SIGNED_AT, extra: dict | None = None,
           ) -> tuple[list[tuple[str, str]], str]:
    request = AWSRequest(method="POST", url=f"http://{HOST}/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                                  "User-Agent": "Boto3/1.0", **(extra or {})})
    with mock.patch("botocore.auth.get_current_datetime", return_value=at.replace(tzinfo=None)):
        SigV4Auth(Credentials(KEY, secret, TOKEN), "sts", "us-east-1").add_auth(request)
    headers = [(name, value) for name, value in request.headers.items()] + [("Host", HOST)]
    return headers, request.headers["Authorization"]


def check(headers: list[tuple[str, str]], authorization: str, *, body: bytes = BODY,
          now: datetime = SIGNED_AT + timedelta(seconds=3)) -> None:
    verify(ReceivedRequest("POST", "/", "", headers, body), parse_authorization(authorization),
           secret=SECRET, session_token=TOKEN, now=now)


def refusal(*args, **kwargs) -> AwsError:
    with pytest.raises(AwsError) as caught:
        check(*args, **kwargs)
    return caught.value


def test_a_request_botocore_signed_verifies() -> None:
    check(*signed())


def test_a_changed_body_or_another_secret_does_not() -> None:
    headers, authorization = signed()
    assert refusal(headers, authorization, body=BODY + b"&DurationSeconds=43200").code == "SignatureDoesNotMatch"
    assert refusal(*signed(secret="guessed")).status == 403


def test_a_changed_signed_header_does_not_verify_and_a_missing_one_is_refused() -> None:
    headers, authorization = signed()
    swapped = [(n, "other-token" if n == "X-Amz-Security-Token" else v) for n, v in headers]
    assert refusal(swapped, authorization).code == "SignatureDoesNotMatch"
    assert refusal([(n, v) for n, v in headers if n != "Content-Type"], authorization).code == "SignatureDoesNotMatch"


def test_a_signature_older_or_newer_than_15_minutes_is_refused() -> None:
    headers, authorization = signed()
    assert "Signature expired" in refusal(headers, authorization, now=SIGNED_AT + timedelta(minutes=16)).message
    assert "not yet current" in refusal(headers, authorization, now=SIGNED_AT - timedelta(minutes=16)).message
    check(headers, authorization, now=SIGNED_AT + timedelta(minutes=14))


def test_a_content_hash_that_is_not_the_bodys_is_refused() -> None:
    fake = "0" * 64
    headers, authorization = signed(extra={"X-Amz-Content-SHA256": fake})
    assert "x-amz-content-sha256" in refusal(headers, authorization).message


@pytest.mark.parametrize("authorization", [
    "AWS4-HMAC-SHA256 Credential=AKIA/20300102/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=ab",
    "AWS4-HMAC-SHA512 Credential=AKIAEXAMPLEEXAMPLE01/20300102/us-east-1/sts/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "a" * 64,
    "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEEXAMPLE01/20300102/us-east-1/sts/aws4_request, "
    "SignedHeaders=x-amz-date;host, Signature=" + "a" * 64,
    "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEEXAMPLE01/20300102/us-east-1/sts/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "A" * 64,
])
def test_a_malformed_authorization_header_is_an_incomplete_signature(authorization: str) -> None:
    with pytest.raises(AwsError) as caught:
        parse_authorization(authorization)
    assert caught.value.code == "IncompleteSignature"


def test_no_authorization_header_is_a_missing_token() -> None:
    with pytest.raises(AwsError) as caught:
        parse_authorization(None)
    assert (caught.value.code, caught.value.status) == ("MissingAuthenticationToken", 403)


def test_host_and_date_must_be_signed() -> None:
    headers, authorization = signed()
    without_host = authorization.replace("content-type;host;", "content-type;")
    assert refusal(headers, without_host).code == "IncompleteSignature"


def test_a_scope_date_other_than_the_signing_date_is_refused() -> None:
    headers, authorization = signed()
    assert refusal(headers, authorization.replace("/20300102/", "/20300101/")).code == "SignatureDoesNotMatch"
