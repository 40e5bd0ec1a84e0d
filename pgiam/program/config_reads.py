"""Which configuration keys a program needs, read from its source and its ``Pulumi.yaml``.

A program says what it needs in two places: ``Pulumi.yaml``'s ``config`` block (a key with no
default is required; ``secret: true`` marks a secret) and its code (``cfg.require("x")``,
``cfg.require_secret("x")``, ``pulumi.Config("aws").require("region")``). An ephemeral stack has
no stack file, so a run has to know both before it starts: a required secret gets a throw-away
value, anything else required and not given is an error naming the key.

The code is read with :mod:`ast`, never run. A ``Config`` made with a literal namespace and kept
in a name is followed; a receiver this reading cannot place (``self.cfg``) counts as the
project's own namespace, which is what ``pulumi.Config()`` means.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from pgiam.program.loader import PulumiProject
from pgiam.program.preflight import python_files

_REQUIRE = "require"
_SECRET = "secret"


@dataclass(frozen=True)
class ConfigRead:
    key: str          # full key, ``project:name`` or ``aws:region``
    required: bool
    secret: bool
    where: str        # ``file:line`` or ``Pulumi.yaml``


def _config_namespace(call: ast.AST, project: str) -> str | None:
    """``pulumi.Config()`` / ``Config("aws")`` -> its namespace; anything else -> None."""
    if not isinstance(call, ast.Call):
        return None
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name != "Config":
        return None
    if not call.args:
        return project
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


def _namespaces(tree: ast.AST, project: str) -> dict[str, str]:
    """Names bound to a ``Config`` with a known namespace (``cfg = pulumi.Config("db")``)."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            namespace = _config_namespace(node.value, project)
            if namespace is not None and isinstance(target, ast.Name):
                bound[target.id] = namespace
    return bound


def _reads_in(tree: ast.AST, project: str, shown: str) -> Iterator[ConfigRead]:
    bound = _namespaces(tree, project)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method = node.func.attr
        if not (method.startswith(_REQUIRE) or method.startswith("get")):
            continue
        if not node.args or not (isinstance(node.args[0], ast.Constant)
                                 and isinstance(node.args[0].value, str)):
            continue
        receiver = node.func.value
        namespace = _config_namespace(receiver, project)
        if namespace is None and isinstance(receiver, ast.Name):
            namespace = bound.get(receiver.id)
        if namespace is None:
            if not method.startswith(_REQUIRE):
                continue  # a plain .get("x") on anything is too common to mean config
            namespace = project
        key = node.args[0].value
        full = key if ":" in key else f"{namespace}:{key}"
        yield ConfigRead(full, method.startswith(_REQUIRE), _SECRET in method,
                         f"{shown}:{node.lineno}")


def config_reads(project: PulumiProject) -> list[ConfigRead]:
    """Every key the project declares or its code reads, in source order (declarations first)."""
    reads = [ConfigRead(key, not declaration.has_default, declaration.secret, "Pulumi.yaml")
             for key, declaration in project.declarations.items()]
    program_dir = project.main if project.main.is_dir() else project.main.parent
    for path in python_files(program_dir):
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, OSError):
            continue  # the preflight check reports it
        reads.extend(_reads_in(tree, project.name, str(path.relative_to(project.directory))))
    return reads


def required_keys(project: PulumiProject) -> dict[str, ConfigRead]:
    """Full key -> the first read that requires it; ``secret`` if any read of it is secret."""
    reads = config_reads(project)
    secret = {read.key for read in reads if read.secret}
    required: dict[str, ConfigRead] = {}
    for read in reads:
        if read.required and read.key not in required:
            required[read.key] = ConfigRead(read.key, True, read.key in secret, read.where)
    return required


def required_secrets(project: PulumiProject) -> list[str]:
    """The full keys of the secrets the program requires (declared or read as secret)."""
    return [key for key, read in required_keys(project).items() if read.secret]
