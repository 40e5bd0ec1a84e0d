"""Fixtures of the infra unit tests: the program run under mocks once per scenario and worker."""

from __future__ import annotations

from typing import Any

import pytest

from infra_scenarios import SCENARIOS


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
