"""The few LDAP messages (RFC 4511) the bind responder reads and writes, in BER. Pure.

Written by hand, and only for BindRequest, UnbindRequest and BindResponse, because measurement
chose it: pyasn1 with ldap3's RFC 4511 definitions decodes PostgreSQL's requests correctly, but
costs about 0.5 ms of the daemon's CPU per login (a bind and an unbind) against a few tens of
microseconds here, and the daemon serves every IAM login of every database. The unit tests check
this codec against pyasn1 + ldap3 on generated messages.

The decoder is strict where RFC 4511 section 5.1 is: definite lengths only (up to 4 length
bytes), primitive OCTET STRINGs, low tag numbers, nothing after the last element but the
optional controls. Anything else raises :class:`MalformedMessage`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
ENUMERATED = 0x0A
BIND_REQUEST = 0x60  # [APPLICATION 0] constructed
BIND_RESPONSE = 0x61  # [APPLICATION 1] constructed
UNBIND_REQUEST = 0x42  # [APPLICATION 2] primitive NULL
SIMPLE = 0x80  # [0] primitive OCTET STRING
SASL = 0xA3  # [3] constructed
CONTROLS = 0xA0  # [0] constructed
MAX_MESSAGE_ID = 2**31 - 1


class MalformedMessage(ValueError):
    """Bytes that are not one of the LDAP messages this module knows, well formed."""


@dataclass(frozen=True)
class BindRequest:
    message_id: int
    version: int
    name: bytes
    method: str  # "simple" | "sasl" | "other"
    password: bytes = field(repr=False, default=b"")


@dataclass(frozen=True)
class UnbindRequest:
    message_id: int


@dataclass(frozen=True)
class OtherRequest:
    message_id: int
    tag: int


Request = BindRequest | UnbindRequest | OtherRequest


def element(data: bytes, offset: int, end: int) -> tuple[int, int, int]:
    """``(tag, value start, value end)`` of the element at ``offset``, which must end by ``end``."""
    if offset + 2 > end:
        raise MalformedMessage("truncated element")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise MalformedMessage("high tag numbers are not used in LDAP")
    first = data[offset + 1]
    if first < 0x80:
        length, start = first, offset + 2
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise MalformedMessage("indefinite or oversized length")
        if offset + 2 + count > end:
            raise MalformedMessage("truncated length")
        length, start = int.from_bytes(data[offset + 2:offset + 2 + count], "big"), offset + 2 + count
    if start + length > end:
        raise MalformedMessage("element longer than its container")
    return tag, start, start + length


def expect(data: bytes, offset: int, end: int, tag: int) -> tuple[int, int]:
    found, start, stop = element(data, offset, end)
    if found != tag:
        raise MalformedMessage(f"expected tag 0x{tag:02x}, found 0x{found:02x}")
    return start, stop


def integer(data: bytes, start: int, stop: int) -> int:
    if not 1 <= stop - start <= 4:
        raise MalformedMessage("integer of unsupported size")
    return int.from_bytes(data[start:stop], "big", signed=True)


def decode_bind(data: bytes, message_id: int, start: int, stop: int) -> BindRequest:
    version_start, version_end = expect(data, start, stop, INTEGER)
    name_start, name_end = expect(data, version_end, stop, OCTET_STRING)
    tag, auth_start, auth_end = element(data, name_end, stop)
    if auth_end != stop:
        raise MalformedMessage("bytes after the authentication choice")
    version = integer(data, version_start, version_end)
    name = data[name_start:name_end]
    if tag == SIMPLE:
        return BindRequest(message_id, version, name, "simple", data[auth_start:auth_end])
    return BindRequest(message_id, version, name, "sasl" if tag == SASL else "other")


def decode_request(data: bytes) -> Request:
    """One whole LDAPMessage (as :func:`pgiam.localcloud.rds.ldap.frame` delimits it)."""
    start, stop = expect(data, 0, len(data), SEQUENCE)
    if stop != len(data):
        raise MalformedMessage("bytes after the message")
    id_start, id_end = expect(data, start, stop, INTEGER)
    message_id = integer(data, id_start, id_end)
    if not 0 <= message_id <= MAX_MESSAGE_ID:
        raise MalformedMessage("message id out of range")
    tag, op_start, op_end = element(data, id_end, stop)
    if op_end != stop:
        control_tag, _, control_end = element(data, op_end, stop)
        if control_tag != CONTROLS or control_end != stop:
            raise MalformedMessage("bytes after the operation")
    if tag == BIND_REQUEST:
        return decode_bind(data, message_id, op_start, op_end)
    if tag == UNBIND_REQUEST:
        if op_end != op_start:
            raise MalformedMessage("an UnbindRequest is an empty NULL")
        return UnbindRequest(message_id)
    return OtherRequest(message_id, tag)


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    size = (length.bit_length() + 7) // 8
    return bytes([0x80 | size]) + length.to_bytes(size, "big")


def encode(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + encode_length(len(value)) + value


def encode_integer(tag: int, value: int) -> bytes:
    """A non-negative INTEGER or ENUMERATED in its shortest two's-complement form."""
    return encode(tag, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def bind_response(message_id: int, result_code: int) -> bytes:
    """BindResponse with an empty matchedDN and an empty diagnosticMessage."""
    result = encode_integer(ENUMERATED, result_code) + encode(OCTET_STRING, b"") + encode(OCTET_STRING, b"")
    return encode(SEQUENCE, encode_integer(INTEGER, message_id) + encode(BIND_RESPONSE, result))
