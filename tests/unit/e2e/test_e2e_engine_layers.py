"""The local engine's modules import in one direction: contracts below, handlers above.

Every import counts, including those inside functions (a lazy import still closes a circle);
only ``if TYPE_CHECKING:`` blocks are left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pgiam.e2e.engine as engine_package

pytestmark = pytest.mark.unit

ENGINE_DIR = Path(engine_package.__file__).parent
PREFIX = "pgiam.e2e.engine"
CATALOG = "catalog"
CONTRACTS = "resources"


def _is_type_checking_block(node: ast.AST) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING")


def _runtime_nodes(tree: ast.AST):
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child for child in ast.iter_child_nodes(node)
                     if not _is_type_checking_block(child))


def engine_imports(module: str) -> set[str]:
    """The engine modules ``module`` imports at run time (short names)."""
    tree = ast.parse((ENGINE_DIR / f"{module}.py").read_text())
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == PREFIX:
                found.update(alias.name for alias in node.names)
            elif node.module.startswith(PREFIX + "."):
                found.add(node.module[len(PREFIX) + 1:].split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PREFIX + "."):
                    found.add(alias.name[len(PREFIX) + 1:].split(".")[0])
    return found - {module}


def engine_graph() -> dict[str, set[str]]:
    modules = sorted(p.stem for p in ENGINE_DIR.glob("*.py") if p.stem != "__init__")
    return {module: engine_imports(module) & set(modules) for module in modules}


def handler_modules() -> set[str]:
    """Modules that register a handler or a data source (``@handles`` / ``@answers``)."""
    found = set()
    for path in ENGINE_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                for decorator in node.decorator_list:
                    target = decorator.func if isinstance(decorator, ast.Call) else decorator
                    if isinstance(target, ast.Name) and target.id in {"handles", "answers"}:
                        found.add(path.stem)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_engine_imports_form_no_circle() -> None:
    assert find_cycle(engine_graph()) is None


def test_only_the_catalog_imports_resource_handlers() -> None:
    handlers = handler_modules()
    assert {"aws_iam", "aws_rds", "kubernetes"} <= handlers
    importers = {module: sorted(imports & handlers)
                 for module, imports in engine_graph().items()
                 if module != CATALOG and imports & handlers}
    assert importers == {}


def test_the_contract_module_imports_no_other_engine_module() -> None:
    assert engine_graph()[CONTRACTS] == set()


def test_the_catalog_loads_every_handler_module() -> None:
    assert handler_modules() <= engine_graph()[CATALOG]


def test_cycle_finder_reports_a_lazy_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
