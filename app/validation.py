"""Validation of what clients send. Pure: no Flask, no database.

A rejected input raises :class:`InvalidInput` with the HTTP status to answer and a message that
says what was wrong and where; nothing a client sends can reach the database unchecked (a NUL
character or a lone surrogate would otherwise make psycopg2 fail with a 500).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping

MAX_MESSAGE_LENGTH = 500
MAX_BODY_BYTES = 16 * 1024
DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 200
# Line breaks and tabs are text; every other control character is refused.
_ALLOWED_CONTROLS = frozenset("\n\r\t")


class InvalidInput(ValueError):
    def __init__(self, message: str, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


def require_json(content_type: str | None) -> None:
    """Only ``application/json`` (any charset parameter accepted if it is UTF-8)."""
    mimetype, _, params = (content_type or "").partition(";")
    if mimetype.strip().lower() != "application/json":
        raise InvalidInput(f"Content-Type must be application/json, got {content_type or 'none'!r}", status=415)
    charset = params.strip().lower()
    if charset and charset.replace(" ", "") not in ("charset=utf-8", "charset=utf8"):
        raise InvalidInput(f"only UTF-8 JSON is accepted, got {params.strip()!r}", status=415)


def parse_json_object(raw: bytes) -> Mapping[str, object]:
    """The request body as a JSON object."""
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidInput(f"request body over {MAX_BODY_BYTES} bytes", status=413)
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"request body is not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InvalidInput("JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"expected a JSON object, got {_json_type(value)}")
    return value


def message_text(payload: Mapping[str, object]) -> str:
    """The ``text`` of a new message: a non-blank string of at most 500 characters."""
    unknown = sorted(set(payload) - {"text"})
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(map(repr, unknown))}", field=unknown[0])
    if "text" not in payload:
        raise InvalidInput("missing field 'text'", field="text")
    text = payload["text"]
    if not isinstance(text, str):
        raise InvalidInput(f"'text' must be a string, got {_json_type(text)}", field="text")
    text = text.strip()
    if not text:
        raise InvalidInput("'text' must not be empty", field="text")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise InvalidInput(f"'text' is {len(text)} characters long; the limit is {MAX_MESSAGE_LENGTH}",
                           field="text")
    for index, char in enumerate(text):
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise InvalidInput(f"'text' has an unpaired surrogate at character {index}", field="text")
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) == "Cc":
            raise InvalidInput(f"'text' has a control character U+{ord(char):04X} at character {index}",
                               field="text")
    return text


def list_limit(raw: str | None) -> int:
    """The ``limit`` query parameter of GET /api/messages."""
    if raw is None:
        return DEFAULT_LIST_LIMIT
    if not re.fullmatch(r"[0-9]{1,6}", raw) or not 1 <= int(raw) <= MAX_LIST_LIMIT:
        raise InvalidInput(f"'limit' must be an integer between 1 and {MAX_LIST_LIMIT}, got {raw[:40]!r}",
                           field="limit")
    return int(raw)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
