"""AWS Query protocol helpers: credential scopes, and XML that botocore's parser reads as AWS's."""

from __future__ import annotations

from datetime import datetime, timezone
from xml.etree import ElementTree as ET

import pytest

from pgiam.localcloud.awsquery import AwsError, credential_scope, error_xml, result_xml

AUTH = ("AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20260101/eu-west-1/sts/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc")


def test_the_credential_scope_of_a_signed_request() -> None:
    scope = credential_scope(AUTH)
    assert (scope.access_key_id, scope.date, scope.region, scope.service) == (
        "ASIAEXAMPLE", "20260101", "eu-west-1", "sts")
    presigned = credential_scope(None, "AKIAEXAMPLE/20260101/us-east-1/rds-db/aws4_request")
    assert (presigned.service, presigned.region) == ("rds-db", "us-east-1")


@pytest.mark.parametrize("header", [None, "", "Bearer x", "AWS4-HMAC-SHA256 Credential=a/b/c/aws4_request"])
def test_no_scope_without_a_sigv4_credential(header: str | None) -> None:
    assert credential_scope(header) is None


def test_error_xml_has_the_shape_botocore_reads() -> None:
    root = ET.fromstring(error_xml(AwsError("AccessDenied", "Not <authorized> & such", 403), "req-1", "sts"))
    ns = {"a": "https://sts.amazonaws.com/doc/2011-06-15/"}
    assert root.tag == "{https://sts.amazonaws.com/doc/2011-06-15/}ErrorResponse"
    assert root.find("a:Error/a:Code", ns).text == "AccessDenied"
    assert root.find("a:Error/a:Message", ns).text == "Not <authorized> & such"
    assert root.find("a:Error/a:Type", ns).text == "Sender"
    assert root.find("a:RequestId", ns).text == "req-1"


def test_result_xml_nests_in_order_and_formats_values() -> None:
    body = result_xml("sts", "AssumeRoleWithWebIdentity", {
        "Credentials": {"AccessKeyId": "ASIA1", "Expiration": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)},
        "Skipped": None, "Flag": True, "Items": ["a", "b"]}, "req-2")
    root = ET.fromstring(body)
    result = root[0]
    assert root.tag.endswith("AssumeRoleWithWebIdentityResponse") and result.tag.endswith("Result")
    assert [child.tag.split("}")[1] for child in result] == ["Credentials", "Flag", "Items"]
    assert result[0][1].text == "2026-01-02T03:04:05Z" and result[1].text == "true"
    assert [m.text for m in result[2]] == ["a", "b"]
    assert root[1][0].text == "req-2"
