"""Loading a Pulumi Python project the way the Pulumi CLI and its Python language host do.

* ``Pulumi.yaml`` (or ``Pulumi.yml``): ``name``, ``runtime`` (``python``, as a string or
  ``{name, options}``), ``main`` (the program's file or directory, relative to the project;
  default the project directory), ``stackConfigDir`` and the project-level ``config``
  declarations (``key: {type, default, secret, description}``, ``key: <default>``, and
  ``{value: ...}`` for other namespaces such as ``aws:region``).
* ``Pulumi.<stack>.yaml`` in ``stackConfigDir`` (default: the project directory): ``config:``
  values keyed ``namespace:key``; a key without a namespace is the project's. Scalars become
  their text (``true``, ``5432``), objects and lists their JSON, as the CLI hands them to the
  program. ``{secure: v1:...}`` values are decrypted when the stack uses the passphrase secrets
  provider (``encryptionsalt``) and ``PULUMI_CONFIG_PASSPHRASE`` or
  ``PULUMI_CONFIG_PASSPHRASE_FILE`` is set; otherwise (a cloud KMS, Pulumi Cloud, no passphrase)
  the value cannot be read offline and a placeholder secret stands in, named in
  :attr:`StackConfig.placeholders` (pass the real value with an override to use it).
* Overrides (``--config KEY=VALUE``) win over both files; a key that is secret in the stack file
  or declared ``secret: true`` stays secret.
* A key the project declares without a default and that the stack does not set is an error, as
  the CLI reports it ("Stack 'dev' is missing configuration value ...").

The passphrase decryption follows pulumi's ``pkg/secrets/passphrase`` and
``sdk/go/common/resource/config/crypt.go``: the state ``v1:<salt>:v1:<nonce>:<ciphertext>``,
PBKDF2-HMAC-SHA256 with 1,000,000 iterations to a 32-byte key, AES-256-GCM, and the check value
``pulumi``. No library reads Pulumi stack files, so this is written here.
"""

from __future__ import annotations

import base64
import functools
import binascii
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pgiam.errors import PgiamError

PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")
PLACEHOLDER_SECRET = "pgiam-preview-placeholder-secret"
_PBKDF2_ITERATIONS = 1_000_000
_PASSPHRASE_CHECK = b"pulumi"
_CONFIG_KEY = re.compile(r"^[A-Za-z0-9_.-]+:[A-Za-z0-9_./-]+$")


class ProjectError(PgiamError):
    """The directory is not a Pulumi Python project, or its configuration cannot be read."""


@dataclass(frozen=True)
class ConfigDeclaration:
    """One key of ``Pulumi.yaml``'s ``config`` block."""

    key: str
    type: str | None = None
    default: str | None = None
    secret: bool = False
    has_default: bool = False


@dataclass(frozen=True)
class PulumiProject:
    """A Pulumi Python project as read from its ``Pulumi.yaml``."""

    name: str
    directory: Path
    main: Path
    runtime_options: Mapping[str, Any]
    description: str | None
    stack_config_dir: Path
    declarations: Mapping[str, ConfigDeclaration] = field(default_factory=dict)

    def stack_file(self, stack: str) -> Path:
        """``Pulumi.<stack>.yaml`` (or ``.yml`` when only that exists)."""
        for suffix in ("yaml", "yml"):
            candidate = self.stack_config_dir / f"Pulumi.{stack}.{suffix}"
            if candidate.is_file():
                return candidate
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def full_key(self, key: str) -> str:
        """``key`` with the project's namespace when it has none (``dbName`` ->
        ``iam-postgres:dbName``)."""
        return key if ":" in key else f"{self.name}:{key}"


@dataclass(frozen=True)
class StackConfig:
    """The configuration a stack's program runs with: full keys to the strings the CLI passes."""

    project: str
    stack: str
    values: Mapping[str, str]
    secret_keys: frozenset[str]
    placeholders: tuple[str, ...] = ()
    stack_file: Path | None = None
    # required secrets nobody set that got a placeholder (``unset_secrets`` of load_stack_config)
    placeholder_secrets: tuple[str, ...] = ()

    def environment(self) -> dict[str, str]:
        """``PULUMI_CONFIG`` and ``PULUMI_CONFIG_SECRET_KEYS`` as the CLI sets them for plugins."""
        return {"PULUMI_CONFIG": json.dumps(dict(self.values), sort_keys=True),
                "PULUMI_CONFIG_SECRET_KEYS": json.dumps(sorted(self.secret_keys))}


# ------------------------------------------------------------------------------------------
# Pulumi.yaml
# ------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _yaml12_loader() -> type:
    """PyYAML's safe loader reading booleans as YAML 1.2 (and Go's yaml.v3, which the Pulumi CLI
    uses) does: only true/false; ``yes``, ``no``, ``on``, ``off`` stay strings."""
    import re as _re

    import yaml

    class Yaml12Loader(yaml.SafeLoader):
        pass

    Yaml12Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    Yaml12Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", _re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"))
    return Yaml12Loader


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_yaml12_loader())  # noqa: S506
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ProjectError(f"{path}:{where} is not valid YAML: "
                           f"{getattr(error, 'problem', None) or error}") from None
    except OSError as error:
        raise ProjectError(f"cannot read {path}: {error.strerror}") from None


def find_project_file(directory: Path) -> Path:
    """The project file of ``directory``; :class:`ProjectError` when there is none."""
    if not directory.exists():
        raise ProjectError(f"program directory {directory} does not exist")
    if not directory.is_dir():
        raise ProjectError(f"program directory {directory} is not a directory")
    for name in PROJECT_FILES:
        if (directory / name).is_file():
            return directory / name
    raise ProjectError(f"{directory} is not a Pulumi project: no Pulumi.yaml in it")


def _runtime(raw: Any, path: Path) -> tuple[str, Mapping[str, Any]]:
    if isinstance(raw, str):
        return raw, {}
    if isinstance(raw, Mapping) and isinstance(raw.get("name"), str):
        options = raw.get("options") or {}
        if not isinstance(options, Mapping):
            raise ProjectError(f"{path}: runtime.options must be a mapping")
        return raw["name"], dict(options)
    raise ProjectError(f"{path}: runtime must be a name or {{name, options}}")


def _config_text(value: Any) -> str:
    """A config value as the CLI hands it to the program: text, or JSON for structures."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(_string_keys(value), sort_keys=True)


def _string_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _string_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_string_keys(item) for item in value]
    return value


def _declarations(raw: Any, project: str, path: Path) -> dict[str, ConfigDeclaration]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ProjectError(f"{path}: config must be a mapping of keys")
    declarations: dict[str, ConfigDeclaration] = {}
    for key, spec in raw.items():
        full = key if ":" in str(key) else f"{project}:{key}"
        if isinstance(spec, Mapping) and ({"type", "default", "secret", "description", "value",
                                           "items"} & set(spec)):
            if "value" in spec:
                declarations[full] = ConfigDeclaration(full, None, _config_text(spec["value"]),
                                                       bool(spec.get("secret")), True)
                continue
            has_default = "default" in spec
            declarations[full] = ConfigDeclaration(
                full, spec.get("type"),
                _config_text(spec["default"]) if has_default else None,
                bool(spec.get("secret")), has_default)
        else:
            declarations[full] = ConfigDeclaration(full, None, _config_text(spec), False, True)
    return declarations


def load_project(directory: str | os.PathLike[str]) -> PulumiProject:
    """Read ``directory``'s ``Pulumi.yaml``; refuse anything that is not a Python project whose
    program exists."""
    directory = Path(directory).resolve()
    path = find_project_file(directory)
    raw = _read_yaml(path)
    if not isinstance(raw, Mapping):
        raise ProjectError(f"{path}: expected a mapping with name and runtime")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ProjectError(f"{path}: name must be letters, digits, '-', '_' or '.' "
                           f"(got {name!r})")
    runtime, options = _runtime(raw.get("runtime"), path)
    if runtime != "python":
        raise ProjectError(f"{path}: runtime is {runtime!r}; only Python programs can be run "
                           "under the mock runtime")
    main = (directory / str(raw["main"])).resolve() if raw.get("main") else directory
    entry = main / "__main__.py" if main.is_dir() else main
    if not entry.is_file():
        raise ProjectError(f"{path}: the program {entry} does not exist "
                           "(a Python project needs __main__.py, or main: pointing at a file)")
    stack_dir = directory / str(raw["stackConfigDir"]) if raw.get("stackConfigDir") else directory
    return PulumiProject(name=name, directory=directory, main=main, runtime_options=options,
                         description=raw.get("description"), stack_config_dir=stack_dir,
                         declarations=_declarations(raw.get("config"), name, path))


# ------------------------------------------------------------------------------------------
# Pulumi.<stack>.yaml, secure values
# ------------------------------------------------------------------------------------------

def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProjectError(f"{what} is not valid base64") from None


class PassphraseCrypter:
    """Decrypts values of a stack that uses the passphrase secrets provider."""

    def __init__(self, passphrase: str, encryption_salt: str) -> None:
        parts = encryption_salt.split(":", 2)
        if len(parts) != 3 or parts[0] != "v1":
            raise ProjectError("encryptionsalt: malformed (expected v1:<salt>:<check value>)")
        salt = _b64(parts[1], "encryptionsalt")
        self._key = hashlib.pbkdf2_hmac("sha256", passphrase.encode("utf-8"), salt,
                                        _PBKDF2_ITERATIONS, 32)
        check = self._decrypt_bytes(parts[2])
        if check is None or not hmac.compare_digest(check, _PASSPHRASE_CHECK):
            raise ProjectError("incorrect passphrase: PULUMI_CONFIG_PASSPHRASE does not unlock "
                               "this stack's secrets")

    def _decrypt_bytes(self, value: str) -> bytes | None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        parts = value.split(":")
        if len(parts) != 3 or parts[0] != "v1":
            return None
        try:
            return AESGCM(self._key).decrypt(_b64(parts[1], "nonce"), _b64(parts[2], "secret"),
                                             None)
        except (InvalidTag, ValueError):
            return None

    def decrypt(self, value: str, key: str) -> str:
        plain = self._decrypt_bytes(value)
        if plain is None:
            raise ProjectError(f"{key}: the secure value cannot be decrypted with this passphrase")
        return plain.decode("utf-8")


def _passphrase() -> str | None:
    if "PULUMI_CONFIG_PASSPHRASE" in os.environ:
        return os.environ["PULUMI_CONFIG_PASSPHRASE"]
    path = os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as error:
            raise ProjectError(f"PULUMI_CONFIG_PASSPHRASE_FILE: cannot read {path}: "
                               f"{error.strerror}") from None
    return None


def _is_secure(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"secure"} and isinstance(value["secure"],
                                                                                 str)


def _contains_secure(value: Any) -> bool:
    if _is_secure(value):
        return True
    if isinstance(value, Mapping):
        return any(_contains_secure(item) for item in value.values())
    if isinstance(value, list):
        return any(_contains_secure(item) for item in value)
    return False


class _SecureReader:
    """Turns ``{secure: ...}`` values into plain text, or placeholders when it cannot."""

    def __init__(self, stack_raw: Mapping[str, Any]) -> None:
        self._salt = stack_raw.get("encryptionsalt")
        provider = stack_raw.get("secretsprovider")
        self._passphrase_stack = isinstance(self._salt, str) and provider in (None, "passphrase")
        self._crypter: PassphraseCrypter | None = None
        self.placeholders: list[str] = []

    def _get_crypter(self) -> PassphraseCrypter | None:
        if not self._passphrase_stack:
            return None
        if self._crypter is None:
            phrase = _passphrase()
            if phrase is None:
                return None
            self._crypter = PassphraseCrypter(phrase, str(self._salt))
        return self._crypter

    def resolve(self, value: Any, key: str) -> Any:
        if _is_secure(value):
            crypter = self._get_crypter()
            if crypter is None:
                if key not in self.placeholders:
                    self.placeholders.append(key)
                return PLACEHOLDER_SECRET
            return crypter.decrypt(value["secure"], key)
        if isinstance(value, Mapping):
            return {k: self.resolve(v, key) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, key) for v in value]
        return value


def parse_config_overrides(items: Sequence[str]) -> dict[str, str]:
    """``["KEY=VALUE", ...]`` -> ``{KEY: VALUE}``; :class:`ProjectError` for a malformed item."""
    overrides: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ProjectError(f"--config {item!r}: expected KEY=VALUE")
        if ":" in key and not _CONFIG_KEY.match(key):
            raise ProjectError(f"--config {item!r}: {key!r} is not a config key "
                               "(namespace:name)")
        overrides[key] = value
    return overrides


def load_stack_config(project: PulumiProject, stack: str,
                      overrides: Mapping[str, str] | None = None, *,
                      unset_secrets: Iterable[str] = ()) -> StackConfig:
    """The configuration of ``stack``: project defaults, then the stack file, then
    ``overrides`` (keys without a namespace get the project's). Each key of ``unset_secrets``
    (full keys) that none of them sets gets :data:`PLACEHOLDER_SECRET`, as a secret, and is named
    in :attr:`StackConfig.placeholder_secrets` (a run that reads no secret value, such as an
    offline preview, needs no real one)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,2}", stack):
        raise ProjectError(f"stack name {stack!r}: use letters, digits, '-', '_' or '.'")
    stack_name = stack.rsplit("/", 1)[-1]
    values: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, declaration in project.declarations.items():
        if declaration.has_default and declaration.default is not None:
            values[key] = declaration.default
        if declaration.secret:
            secret_keys.add(key)

    stack_file = project.stack_file(stack_name)
    reader = _SecureReader({})
    if stack_file.is_file():
        raw = _read_yaml(stack_file) or {}
        if not isinstance(raw, Mapping):
            raise ProjectError(f"{stack_file}: expected a mapping")
        reader = _SecureReader(raw)
        config = raw.get("config") or {}
        if not isinstance(config, Mapping):
            raise ProjectError(f"{stack_file}: config must be a mapping")
        for key, value in config.items():
            full = project.full_key(str(key))
            if _contains_secure(value):
                secret_keys.add(full)
            values[full] = _config_text(reader.resolve(value, full))

    for key, value in (overrides or {}).items():
        full = project.full_key(key)
        values[full] = value
        if full in reader.placeholders:
            reader.placeholders.remove(full)

    filled = []
    for key in unset_secrets:
        full = project.full_key(key)
        if full not in values and full not in filled:
            values[full] = PLACEHOLDER_SECRET
            secret_keys.add(full)
            filled.append(full)

    missing = sorted(key for key, declaration in project.declarations.items()
                     if not declaration.has_default and key not in values)
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise ProjectError(
            f"stack {stack_name!r} is missing configuration value{plural} "
            f"{', '.join(repr(key) for key in missing)}: set {'them' if plural else 'it'} in "
            f"{stack_file.name} or pass --config KEY=VALUE")
    return StackConfig(project=project.name, stack=stack_name, values=values,
                       secret_keys=frozenset(secret_keys), placeholders=tuple(reader.placeholders),
                       stack_file=stack_file if stack_file.is_file() else None,
                       placeholder_secrets=tuple(filled))
