"""The bind responder's BER codec, against pyasn1 with ldap3's RFC 4511 definitions."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():  # ldap3 imports names pyasn1 0.6 deprecates
    warnings.simplefilter("ignore", DeprecationWarning)
    from ldap3.protocol.rfc4511 import (
        LDAPDN,
        AuthenticationChoice,
        BindRequest,
        LDAPMessage,
        MessageID,
        ProtocolOp,
        Simple,
        UnbindRequest,
        Version,
    )
    from pyasn1.codec.ber import decoder, encoder

from pgiam.localcloud.rds import ldap_messages
from pgiam.localcloud.rds.ldap_messages import MalformedMessage, bind_response, decode_request

EXAMPLES = settings(max_examples=30, deadline=None)


def reference_bind(message_id: int, version: int, name: bytes, password: bytes) -> bytes:
    request = BindRequest()
    request["version"] = Version(version)
    request["name"] = LDAPDN(name)
    authentication = AuthenticationChoice()
    authentication["simple"] = Simple(password)
    request["authentication"] = authentication
    return reference_message(message_id, "bindRequest", request)


def reference_message(message_id: int, operation_name: str, operation_value) -> bytes:
    message = LDAPMessage()
    message["messageID"] = MessageID(message_id)
    operation = ProtocolOp()
    operation[operation_name] = operation_value
    message["protocolOp"] = operation
    return encoder.encode(message)


@EXAMPLES
@given(message_id=st.integers(0, 2**31 - 1), version=st.integers(1, 127), name=st.binary(max_size=300),
       password=st.binary(max_size=3000))
def test_binds_encoded_by_pyasn1_decode_to_the_same_fields(message_id, version, name, password):
    request = decode_request(reference_bind(message_id, version, name, password))
    assert request == ldap_messages.BindRequest(message_id, version, name, "simple", password)
    assert request.password == password


def test_unbind_encoded_by_pyasn1_decodes():
    assert decode_request(reference_message(7, "unbindRequest", UnbindRequest())) == \
        ldap_messages.UnbindRequest(7)


@EXAMPLES
@given(message_id=st.integers(0, 2**31 - 1), result_code=st.sampled_from([0, 2, 7, 49]))
def test_bind_responses_decode_with_pyasn1_to_the_same_fields(message_id, result_code):
    message, rest = decoder.decode(bind_response(message_id, result_code), asn1Spec=LDAPMessage())
    assert rest == b""
    response = message["protocolOp"]["bindResponse"]
    assert int(message["messageID"]) == message_id
    assert int(response["resultCode"]) == result_code
    assert bytes(response["matchedDN"]) == b"" and bytes(response["diagnosticMessage"]) == b""


def test_a_bind_postgresql_sent_decodes():
    # PostgreSQL 15's ldap method (libldap) binding with a 1,600-character password, as captured
    captured = bytes.fromhex("308206710201016082066a0201030421636e3d6170705f757365722c6f753d636c7573746572"
                             "2d582c64633d706769616d80820640") + b"x" * 1600
    assert decode_request(captured) == ldap_messages.BindRequest(
        1, 3, b"cn=app_user,ou=cluster-X,dc=pgiam", "simple", b"x" * 1600)
    assert decode_request(bytes.fromhex("30050201024200")) == ldap_messages.UnbindRequest(2)


@pytest.mark.parametrize("data", [
    b"", b"\x30", b"\x31\x00", b"\x30\x80\x00\x00", b"\x30\x85\x00\x00\x00\x00\x01",
    b"\x30\x03\x02\x01\x01", b"\x30\x05\x02\x01\x01\x42\x01", b"\x30\x06\x02\x01\x01\x42\x00\x00",
    b"\x30\x05\x02\x01\xff\x42\x00", b"\x30\x05\x04\x01\x01\x42\x00", b"\x30\x05\x02\x01\x01\x42\x00\x00",
    b"\x30\x07\x02\x01\x01\x60\x02\x02\x01",
], ids=["empty", "header", "not-sequence", "indefinite", "five-length-bytes", "no-operation",
        "unbind-with-content", "trailing-in-sequence", "negative-id", "id-not-integer", "trailing-after",
        "bind-truncated"])
def test_malformed_messages_are_refused(data):
    with pytest.raises(MalformedMessage):
        decode_request(data)


def test_sasl_and_other_operations_are_recognised_not_served():
    sasl = b"\x30\x12\x02\x01\x02\x60\x0d\x02\x01\x03\x04\x00\xa3\x06\x04\x04\x50\x4c\x41\x4e"
    assert decode_request(sasl).method == "sasl"
    search = b"\x30\x07\x02\x01\x03\x63\x02\x04\x00"
    assert decode_request(search) == ldap_messages.OtherRequest(3, 0x63)


@EXAMPLES
@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_are_refused_never_anything_else(data):
    try:
        decode_request(data)
    except MalformedMessage:
        pass
