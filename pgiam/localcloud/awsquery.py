"""AWS's Query protocol (STS, IAM, RDS, EC2): reading who signed a request and for which service,
and writing the XML results and errors that botocore parses. Pure.

Errors are ``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>``
with the HTTP status of the error; botocore raises ``ClientError`` with ``Error.Code`` from it
(and the modeled exception class, e.g. ``STS.Client.exceptions.InvalidIdentityTokenException``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from xml.etree import ElementTree as ET

NAMESPACES = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "rds": "http://rds.amazonaws.com/doc/2014-10-31/",
    "ec2": "http://ec2.amazonaws.com/doc/2016-11-15/",
}
# "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sts/aws4_request, SignedHeaders=..., Signature=..."
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request")


@dataclass(frozen=True)
class CredentialScope:
    access_key_id: str
    date: str
    region: str
    service: str


def credential_scope(authorization: str | None, query_credential: str | None = None,
                     ) -> CredentialScope | None:
    """The SigV4 credential scope of a request, from its ``Authorization`` header or, for a
    presigned URL, its ``X-Amz-Credential`` parameter. None for an unsigned request."""
    if authorization:
        match = _CREDENTIAL.search(authorization)
    elif query_credential:
        match = _CREDENTIAL.search(f"Credential={query_credential}")
    else:
        return None
    if not match:
        return None
    return CredentialScope(*match.groups())


class AwsError(Exception):
    """An AWS error answer: ``code`` as AWS spells it, ``status`` the HTTP status. ``detail`` is
    the precise reason, for the log only (AWS does not tell the caller why a token was refused);
    it never holds a token or a secret."""

    def __init__(self, code: str, message: str, status: int = 400, *, sender: bool = True,
                 detail: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender = sender
        self.detail = detail


def duplicate_parameters(names: Iterable[str]) -> AwsError:
    """The refusal of a request that gives a parameter more than once (which copy a reader takes
    would decide what is checked and what is done)."""
    return AwsError("InvalidParameterCombination", f"Parameters given more than once: {', '.join(sorted(names))}")


def new_request_id() -> str:
    return str(uuid.uuid4())


def error_xml(error: AwsError, request_id: str, service: str | None = None) -> bytes:
    root = ET.Element("ErrorResponse")
    if service in NAMESPACES:
        root.set("xmlns", NAMESPACES[service])
    node = ET.SubElement(root, "Error")
    ET.SubElement(node, "Type").text = "Sender" if error.sender else "Receiver"
    ET.SubElement(node, "Code").text = error.code
    ET.SubElement(node, "Message").text = error.message
    ET.SubElement(root, "RequestId").text = request_id
    return ET.tostring(root, encoding="utf-8", xml_declaration=False)


def xml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _fill(parent: ET.Element, value: Any) -> None:
    """Nested mappings become elements in their order; a list becomes ``<member>`` children."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            if child is None:
                continue
            _fill(ET.SubElement(parent, key), child)
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        for item in value:
            _fill(ET.SubElement(parent, "member"), item)
    else:
        parent.text = xml_value(value)


def result_xml(service: str, action: str, result: Mapping[str, Any], request_id: str) -> bytes:
    """``<ActionResponse><ActionResult>...</ActionResult><ResponseMetadata>...``."""
    root = ET.Element(f"{action}Response")
    if service in NAMESPACES:
        root.set("xmlns", NAMESPACES[service])
    _fill(ET.SubElement(root, f"{action}Result"), result)
    metadata = ET.SubElement(root, "ResponseMetadata")
    ET.SubElement(metadata, "RequestId").text = request_id
    return ET.tostring(root, encoding="utf-8", xml_declaration=False)
