"""What clients send: every bad input is an InvalidInput with a 4xx status and a reason."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from app.validation import (MAX_BODY_BYTES, MAX_LIST_LIMIT, MAX_MESSAGE_LENGTH, InvalidInput, list_limit,
                            message_text, parse_json_object, require_json)


def test_a_message_is_trimmed_text():
    assert message_text({"text": "  hello\n"}) == "hello"


def test_multiline_and_tabs_are_text():
    assert message_text({"text": "a\n\tb\r\nc"}) == "a\n\tb\r\nc"


def test_markup_is_accepted_as_text():
    # Escaping is the page's job; the API stores what the user wrote.
    assert message_text({"text": "<script>alert(1)</script>"}) == "<script>alert(1)</script>"


def test_exactly_the_limit_is_accepted_and_one_more_is_not():
    assert len(message_text({"text": "é" * MAX_MESSAGE_LENGTH})) == MAX_MESSAGE_LENGTH
    with pytest.raises(InvalidInput, match="501 characters long; the limit is 500") as info:
        message_text({"text": "x" * (MAX_MESSAGE_LENGTH + 1)})
    assert (info.value.status, info.value.field) == (400, "text")


@pytest.mark.parametrize("value,kind", [(None, "null"), (1, "a number"), (1.5, "a number"), (True, "a boolean"),
                                        (["x"], "an array"), ({"a": 1}, "an object")])
def test_text_must_be_a_string(value, kind):
    with pytest.raises(InvalidInput, match=f"'text' must be a string, got {kind}"):
        message_text({"text": value})


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_blank_text_is_refused(text):
    with pytest.raises(InvalidInput, match="must not be empty"):
        message_text({"text": text})


@pytest.mark.parametrize("text,code", [("a\x00b", "U+0000"), ("a\x1bb", "U+001B"), ("a\x7fb", "U+007F"),
                                       ("a\x85b", "U+0085")])
def test_control_characters_are_refused_with_their_position(text, code):
    with pytest.raises(InvalidInput, match=re.escape(f"control character {code} at character 1")):
        message_text({"text": text})


def test_a_lone_surrogate_is_refused():
    payload = json.loads('{"text": "a\\ud800"}')
    with pytest.raises(InvalidInput, match="unpaired surrogate at character 1"):
        message_text(payload)


def test_missing_and_unknown_fields_are_named():
    with pytest.raises(InvalidInput, match="missing field 'text'"):
        message_text({})
    with pytest.raises(InvalidInput, match="unknown field\\(s\\): 'author'") as info:
        message_text({"text": "hi", "author": "me"})
    assert info.value.field == "author"


@pytest.mark.parametrize("raw,words", [(b"{", "malformed JSON at line 1 column 2"), (b"", "malformed JSON"),
                                       (b"[1]", "expected a JSON object, got an array"),
                                       (b'"x"', "got a string"), (b"\xff\xfe", "not UTF-8"),
                                       (b"[" * 10000, "nested too deeply")])
def test_a_body_that_is_not_a_json_object_is_a_400(raw, words):
    with pytest.raises(InvalidInput, match=words) as info:
        parse_json_object(raw)
    assert info.value.status == 400


def test_a_body_over_the_limit_is_a_413():
    with pytest.raises(InvalidInput) as info:
        parse_json_object(b" " * (MAX_BODY_BYTES + 1))
    assert info.value.status == 413


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON;charset=UTF-8"])
def test_json_content_types_are_accepted(content_type):
    require_json(content_type)


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/json; charset=latin-1",
                                          "application/jsonp"])
def test_other_content_types_are_a_415(content_type):
    with pytest.raises(InvalidInput) as info:
        require_json(content_type)
    assert info.value.status == 415


@pytest.mark.parametrize("raw,expected", [(None, 50), ("1", 1), (str(MAX_LIST_LIMIT), MAX_LIST_LIMIT)])
def test_list_limit_defaults_and_bounds(raw, expected):
    assert list_limit(raw) == expected


@pytest.mark.parametrize("raw", ["0", str(MAX_LIST_LIMIT + 1), "-1", "ten", "", "1.5", "²", "9" * 50])
def test_a_bad_list_limit_is_a_400(raw):
    with pytest.raises(InvalidInput, match="'limit' must be an integer") as info:
        list_limit(raw)
    assert info.value.field == "limit"


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                       max_size=3),
                           max_leaves=6)


@hsettings(max_examples=50, deadline=None)
@given(payload=st.dictionaries(st.sampled_from(["text", "author", "id"]), json_values, max_size=2))
def test_any_payload_is_a_valid_message_or_a_400(payload):
    try:
        text = message_text(payload)
    except InvalidInput as exc:
        assert exc.status == 400 and exc.message
        return
    assert 1 <= len(text) <= MAX_MESSAGE_LENGTH and text == text.strip()
    text.encode("utf-8")
    assert "\x00" not in text
