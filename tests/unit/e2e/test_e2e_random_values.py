"""pulumi-random's resources in the local engine: values follow the provider's rules, and a
password's result is a secret output (redacted in the state)."""

from __future__ import annotations

import string

import bcrypt
import pytest

from pgiam.e2e.engine.catalog import handler_for
from pgiam.e2e.engine.random_values import DEFAULT_SPECIAL, random_characters
from pgiam.e2e.engine.resources import CreateRequest, EngineError

pytestmark = pytest.mark.unit


def request(type_: str, **inputs) -> CreateRequest:
    return CreateRequest(type=type_, name="r", inputs=inputs, secret_inputs=frozenset(),
                         provider=None)


def test_a_password_has_its_length_its_minimums_and_only_allowed_characters() -> None:
    for _ in range(50):
        value = random_characters({"length": 12, "minUpper": 3, "minNumeric": 4,
                                   "minSpecial": 2, "overrideSpecial": "_%"}, "p")
        assert len(value) == 12
        assert sum(c in string.ascii_uppercase for c in value) >= 3
        assert sum(c in string.digits for c in value) >= 4
        assert sum(c in "_%" for c in value) >= 2
        assert set(value) <= set(string.ascii_letters + string.digits + "_%")


def test_turned_off_classes_never_appear() -> None:
    value = random_characters({"length": 64, "special": False, "upper": False,
                               "number": False}, "p")
    assert set(value) <= set(string.ascii_lowercase)
    assert any(c in DEFAULT_SPECIAL for c in random_characters({"length": 200}, "p"))


@pytest.mark.parametrize("inputs, message", [
    ({}, "length is required"),
    ({"length": 3, "minUpper": 2, "minLower": 2}, "add up to more than length 3"),
    ({"length": 8, "upper": False, "lower": False, "numeric": False, "special": False},
     "every character class is turned off"),
    ({"length": 8, "minSpecial": -1}, "minSpecial must be a whole number"),
])
def test_impossible_settings_are_refused_naming_the_resource(inputs, message) -> None:
    with pytest.raises(EngineError, match=message):
        random_characters(inputs, "db-password")


def test_random_password_result_and_hash_are_secret_outputs() -> None:
    created = handler_for("random:index/randomPassword:RandomPassword", "pw").create(
        None, request("random:index/randomPassword:RandomPassword", length=20, special=False))
    result = created.outputs["result"]
    assert len(result) == 20 and result.isalnum()
    assert bcrypt.checkpw(result.encode(), created.outputs["bcryptHash"].encode())
    assert created.secret_outputs == {"result", "bcryptHash"}
    assert result not in created.id


def test_two_passwords_differ() -> None:
    handler = handler_for("random:index/randomPassword:RandomPassword", "pw")
    values = {handler.create(None, request("random:index/randomPassword:RandomPassword",
                                           length=16)).outputs["result"] for _ in range(5)}
    assert len(values) == 5


def test_random_id_encodings_agree() -> None:
    created = handler_for("random:index/randomId:RandomId", "id").create(
        None, request("random:index/randomId:RandomId", byteLength=8, prefix="x-"))
    hex_value = created.outputs["hex"]
    assert hex_value.startswith("x-") and len(hex_value) == 2 + 16
    assert created.outputs["dec"] == "x-" + str(int(hex_value[2:], 16))


def test_random_integer_stays_in_its_range() -> None:
    handler = handler_for("random:index/randomInteger:RandomInteger", "n")
    seen = {handler.create(None, request("random:index/randomInteger:RandomInteger", min=3,
                                         max=5)).outputs["result"] for _ in range(60)}
    assert seen == {3, 4, 5}
    with pytest.raises(EngineError, match="min <= max"):
        handler.create(None, request("random:index/randomInteger:RandomInteger", min=5, max=3))
