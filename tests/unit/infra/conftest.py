"""Fixtures of the infra unit tests: the program run under mocks once per scenario and worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra_scenarios import SCENARIOS

# Tests that need the Pulumi SDK (all of them through the `pulumi_sdk` fixture) cost about 2 s of
# CPU in the first test of every process that runs one (importing pulumi-aws and running the
# program once). xdist's default scheduler (--dist load) hands each worker runs of consecutive
# tests, so placing them first among this directory's tests, within the directory's own slots,
# lets one worker pay that while the other runs the pure tests. (Measured: --dist loadgroup with
# an xdist_group is slower here, it schedules the rest coarsely.)
HERE = Path(__file__).resolve().parent


def _needs_pulumi(item: pytest.Item) -> bool:
    return "pulumi_sdk" in getattr(item, "fixturenames", ())


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    slots = [index for index, item in enumerate(items)
             if HERE in Path(str(item.fspath)).resolve().parents]
    ours = sorted((items[index] for index in slots), key=lambda item: not _needs_pulumi(item))
    for index, item in zip(slots, ours):
        items[index] = item


@pytest.fixture(scope="session")
def pulumi_sdk():
    """The Pulumi SDK, imported by the tests that need it rather than at collection."""
    import pulumi

    return pulumi


@pytest.fixture(scope="session")
def mock_runtime(pulumi_sdk):
    """infra_stack.run_program: run a program under the mock runtime."""
    from infra_stack import run_program

    return run_program


@pytest.fixture(scope="session")
def stack_runs(mock_runtime):
    """Scenario name -> StackRun, each run once per worker on first use."""
    from pgiam.program.synth import CloudContext

    from infra_stack import run_stack

    cache: dict[str, Any] = {}

    def get(name: str):
        if name not in cache:
            config, context = SCENARIOS[name]
            cache[name] = run_stack(config, CloudContext(**context))
        return cache[name]

    return get


@pytest.fixture(scope="session")
def prod_run(stack_runs):
    return stack_runs("prod")


@pytest.fixture(scope="session")
def dev_run(stack_runs):
    return stack_runs("dev-us-gov")


@pytest.fixture(scope="session")
def prod_stack(prod_run):
    from infra_checks import stack_from_run

    return stack_from_run(prod_run)
