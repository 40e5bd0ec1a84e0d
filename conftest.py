"""Root conftest: makes the Pulumi program (infra/) and the policy pack (policies/) importable
the way their own runtimes see them, and gives every test the marker of its layer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
for program_dir in (ROOT / "infra", ROOT / "policies"):
    if str(program_dir) not in sys.path:
        sys.path.insert(0, str(program_dir))

LAYERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test's layer is its directory under tests/; a marker of another layer is an error."""
    for item in items:
        parts = Path(item.fspath).resolve().relative_to(ROOT).parts
        layer = parts[1] if len(parts) > 2 and parts[0] == "tests" else None
        if layer not in LAYERS:
            continue
        others = [m.name for m in item.iter_markers() if m.name in LAYERS and m.name != layer]
        if others:
            raise pytest.UsageError(f"{item.nodeid} lives in tests/{layer} but is marked {others}")
        item.add_marker(getattr(pytest.mark, layer))
