"""pulumi-random's resources, made as its provider makes them: a team's program often gets its
database's master password from ``random.RandomPassword`` instead of a config secret.

Nothing of them lives in the cloud; the values come from :mod:`secrets` with the provider's
defaults and rules (character classes, minimum counts, ``override_special``), and a password's
``result`` and ``bcryptHash`` are secret outputs, never written to the state in the clear.
"""

from __future__ import annotations

import base64
import secrets
import string
import uuid
from collections.abc import Mapping
from typing import Any

import bcrypt

from pgiam.e2e.engine.context import EngineContext
from pgiam.e2e.engine.resources import Created, CreateRequest, EngineError, handles
from pgiam.e2e.engine.state import ResourceEntry

# pulumi-random's default special characters (terraform-provider-random's string.go)
DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"
# A small word list for RandomPet: pet names carry no meaning to any check.
_PET_WORDS = ("able", "brave", "calm", "eager", "fond", "glad", "keen", "lucky", "proud", "quick")
_PET_ANIMALS = ("badger", "crane", "dingo", "egret", "ferret", "gecko", "heron", "ibis",
                "koala", "lemur", "marten", "newt", "otter", "puffin", "quail", "robin")


def _flag(inputs: Mapping[str, Any], key: str, default: bool = True) -> bool:
    value = inputs.get(key)
    return default if value is None else bool(value)


def _count(inputs: Mapping[str, Any], key: str, name: str, default: int = 0) -> int:
    value = inputs.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value \
            or value < 0:
        raise EngineError(f"{name!r}: {key} must be a whole number of 0 or more, not {value!r}")
    return int(value)


def random_characters(inputs: Mapping[str, Any], name: str) -> str:
    """A value as ``RandomString``/``RandomPassword`` make it: ``length`` characters from the
    enabled classes, at least ``min_*`` of each, in random order."""
    length = _count(inputs, "length", name) if inputs.get("length") is not None else 0
    if length < 1:
        raise EngineError(f"{name!r}: length is required and must be at least 1")
    numeric = _flag(inputs, "numeric", _flag(inputs, "number"))
    classes = [
        (_flag(inputs, "upper"), string.ascii_uppercase, _count(inputs, "minUpper", name)),
        (_flag(inputs, "lower"), string.ascii_lowercase, _count(inputs, "minLower", name)),
        (numeric, string.digits, _count(inputs, "minNumeric", name)),
        (_flag(inputs, "special"), inputs.get("overrideSpecial") or DEFAULT_SPECIAL,
         _count(inputs, "minSpecial", name)),
    ]
    chosen: list[str] = []
    alphabet = ""
    for enabled, characters, minimum in classes:
        if enabled:
            alphabet += characters
            chosen.extend(secrets.choice(characters) for _ in range(minimum))
    if not alphabet:
        raise EngineError(f"{name!r}: every character class is turned off")
    if len(chosen) > length:
        raise EngineError(f"{name!r}: the minimum counts add up to more than length {length}")
    chosen.extend(secrets.choice(alphabet) for _ in range(length - len(chosen)))
    order = secrets.SystemRandom()
    order.shuffle(chosen)
    return "".join(chosen)


class _NothingInTheCloud:
    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        return None

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return False


@handles("pulumi:providers:random")
class RandomProvider(_NothingInTheCloud):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        return Created(str(uuid.uuid4()), {})


@handles("random:index/randomPassword:RandomPassword")
class RandomPassword(_NothingInTheCloud):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        value = random_characters(request.inputs, request.name)
        hashed = bcrypt.hashpw(value.encode(), bcrypt.gensalt(rounds=10)).decode()
        return Created("none", {"result": value, "bcryptHash": hashed},
                       secret_outputs=frozenset({"result", "bcryptHash"}))


@handles("random:index/randomString:RandomString")
class RandomString(_NothingInTheCloud):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        value = random_characters(request.inputs, request.name)
        return Created(value, {"result": value})


@handles("random:index/randomId:RandomId")
class RandomId(_NothingInTheCloud):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        size = _count(request.inputs, "byteLength", request.name)
        if size < 1:
            raise EngineError(f"{request.name!r}: byteLength is required and must be at least 1")
        raw = secrets.token_bytes(size)
        prefix = str(request.inputs.get("prefix") or "")
        b64_url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return Created(b64_url, {
            "b64Url": prefix + b64_url, "b64Std": prefix + base64.b64encode(raw).decode(),
            "hex": prefix + raw.hex(), "dec": prefix + str(int.from_bytes(raw, "big"))})


@handles("random:index/randomInteger:RandomInteger")
class RandomInteger(_NothingInTheCloud):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        low, high = request.inputs.get("min"), request.inputs.get("max")
        if not isinstance(low, (int, float)) or not isinstance(high, (int, float)) or low > high:
            raise EngineError(f"{request.name!r}: min and max are required, min <= max")
        value = int(low) + secrets.randbelow(int(high) - int(low) + 1)
        return Created(str(value), {"result": value})


@handles("random:index/randomUuid:RandomUuid")
class RandomUuid(_NothingInTheCloud):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        value = str(uuid.uuid4())
        return Created(value, {"result": value})


@handles("random:index/randomPet:RandomPet")
class RandomPet(_NothingInTheCloud):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        length = _count(request.inputs, "length", request.name, default=2) or 2
        separator = str(request.inputs.get("separator") or "-")
        words = [secrets.choice(_PET_WORDS) for _ in range(length - 1)]
        words.append(secrets.choice(_PET_ANIMALS))
        prefix = request.inputs.get("prefix")
        value = separator.join(([str(prefix)] if prefix else []) + words)
        return Created(value, {})
