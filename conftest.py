"""Root conftest: makes the Pulumi program (infra/) and the policy pack (policies/) importable
the way their own runtimes see them, and gives every test the marker of its layer."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
for program_dir in (ROOT / "infra", ROOT / "policies"):
    if str(program_dir) not in sys.path:
        sys.path.insert(0, str(program_dir))

LAYERS = ("unit", "integration", "e2e")


def _layers_deselected_by(markexpr: str) -> set[str]:
    """The layers a ``-m`` expression that names only layers can never select, so that
    ``pytest -m unit`` does not import (and pay for) the integration and e2e modules at all."""
    if not markexpr:
        return set()
    from _pytest.mark.expression import Expression  # pytest's own parser for -m

    expression = Expression.compile(markexpr)
    idents = getattr(expression, "idents", None)
    if idents is None or not set(idents()) <= set(LAYERS):
        return set()
    return {layer for layer in LAYERS
            if not expression.evaluate(lambda name, **_: name == layer)}


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    path = collection_path.resolve()
    parts = path.relative_to(ROOT).parts if path.is_relative_to(ROOT) else ()
    if len(parts) >= 2 and parts[0] == "tests" and parts[1] in LAYERS:
        if not hasattr(config, "_pgiam_skipped_layers"):
            config._pgiam_skipped_layers = _layers_deselected_by(config.getoption("markexpr"))
        if parts[1] in config._pgiam_skipped_layers:
            return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test's layer is its directory under tests/; a marker of another layer is an error."""
    _mark_layers(items)
    required = [layer for layer in os.environ.get("PGIAM_REQUIRE_LAYERS", "").split(",") if layer]
    collected = {marker.name for item in items for marker in item.iter_markers()}
    missing = [layer for layer in required if layer not in collected]
    if missing:
        # CI (`make test`) names the layers it runs: one that collects nothing is a failure, not
        # a quiet pass of the others.
        raise pytest.UsageError(f"no tests collected for layer(s) {', '.join(missing)}")


def _mark_layers(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(item.fspath).resolve().relative_to(ROOT).parts
        layer = parts[1] if len(parts) > 2 and parts[0] == "tests" else None
        if layer not in LAYERS:
            continue
        others = [m.name for m in item.iter_markers() if m.name in LAYERS and m.name != layer]
        if others:
            raise pytest.UsageError(f"{item.nodeid} lives in tests/{layer} but is marked {others}")
        item.add_marker(getattr(pytest.mark, layer))


def pytest_configure(config: pytest.Config) -> None:
    """The cyclic collector runs less often. The unit layer allocates millions of long-lived
    objects (the Pulumi providers' SDKs, hypothesis' engine) and few cycles; with the default
    thresholds a worker spent 0.6-1.6 s of CPU in the collector's passes over them, about 0.3 s
    with these (benchmarks/unit_layer.py; the peak memory barely moves)."""
    gc.set_threshold(20_000, 20, 20)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection imported (every test module and what it imports) lives until the end:
    out of the collector's reach, later passes do not walk it again."""
    gc.collect()
    gc.freeze()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Move what is left on the heap out of the collector's reach: a process that ran the Pulumi
    SDK holds a few hundred thousand objects, and the collections at interpreter teardown cost
    about 0.7 s per process (each xdist worker) for nothing."""
    gc.freeze()
