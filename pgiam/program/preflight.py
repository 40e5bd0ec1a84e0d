"""Does a program load at all? Checked before anything is started for it.

A program with a syntax error, or whose entry imports a package that is not installed, fails
the same way every time; an e2e run should say so at once instead of starting a local cloud,
deploying nothing and writing a whole report. Only what is certain without running the program
is checked: every ``.py`` file of the project compiles, and every top-level module the entry
imports unconditionally (not inside ``try``, a function or ``if``) can be found. Anything that
depends on running it is left to the run.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

from pgiam.errors import PgiamError
from pgiam.program.loader import PulumiProject

_SKIPPED_DIRS = {"__pycache__", ".venv", "venv", "node_modules", ".git", ".tox", "build", "dist"}


class ProgramLoadError(PgiamError):
    """The program cannot load: the message names the file, the line and what is wrong."""


def python_files(directory: Path) -> Iterator[Path]:
    """The project's ``.py`` files, leaving out virtualenvs, caches and build output."""
    for path in sorted(directory.rglob("*.py")):
        if not _SKIPPED_DIRS.intersection(path.relative_to(directory).parts[:-1]):
            yield path


def _compile(path: Path, shown: Path) -> ast.Module:
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as error:
        raise ProgramLoadError(f"the program does not load: {shown}:{error.lineno}: "
                               f"{error.msg}") from None
    except (OSError, ValueError) as error:
        raise ProgramLoadError(f"the program does not load: {shown}: {error}") from None


def _unconditional_imports(tree: ast.Module) -> Iterator[tuple[str, int]]:
    """Top-level absolute imports of a module body (statements directly in it)."""
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


def _findable(module: str, search_dirs: list[Path]) -> bool:
    if module in sys.builtin_module_names or module in sys.modules:
        return True
    for directory in search_dirs:
        if (directory / module).is_dir() or (directory / f"{module}.py").is_file():
            return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_program_loads(project: PulumiProject) -> None:
    """Raise :class:`ProgramLoadError` when ``project`` cannot load, naming file and line."""
    program_dir = project.main if project.main.is_dir() else project.main.parent
    entry = project.main / "__main__.py" if project.main.is_dir() else project.main
    trees = {path: _compile(path, path.relative_to(project.directory))
             for path in python_files(program_dir)}
    entry_tree = trees.get(entry) or _compile(entry, entry.relative_to(project.directory))
    search_dirs = [program_dir, project.directory]
    for module, line in _unconditional_imports(entry_tree):
        if not _findable(module, search_dirs):
            raise ProgramLoadError(
                f"the program does not load: {entry.relative_to(project.directory)}:{line}: "
                f"module {module!r} is not installed in this environment ({sys.executable})")
