"""Fixtures shared by the unit layer."""

from __future__ import annotations

import pytest

# Importing pulumi-aws and running the program under mocks costs about 2 s of CPU in the first
# test of every process that runs one. Under xdist's default scheduler (--dist load) each worker
# starts with a run of consecutive tests (a quarter of its share), so putting every test that
# needs the SDK first hands them all to one worker, which pays that once while the other runs the
# pure tests. (Measured: --dist loadgroup with an xdist_group is slower: it schedules the rest by
# whole modules.)


def _needs_pulumi(item: pytest.Item) -> bool:
    return "pulumi_sdk" in getattr(item, "fixturenames", ())


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not _needs_pulumi(item))


@pytest.fixture(scope="session")
def pulumi_sdk():
    """The Pulumi SDK, imported by the tests that need it rather than at collection."""
    import pulumi

    return pulumi
