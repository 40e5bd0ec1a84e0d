"""``pgiam preview`` on a program that calls a resource method (pulumi_eks'
``Cluster.get_kubeconfig``): the mock runtime answers the method from its result class, so the
program runs to a report in both modes instead of ending on the mock monitor's missing ``Call``."""

from __future__ import annotations

import pytest

from preview_runner import PROGRAMS, preview

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["preview", "up"])
def test_a_resource_method_call_lets_the_program_finish(mode):
    result = preview(PROGRAMS / "generic_methods", "--mode", mode)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.report["violations"] == []
    assert result.report["resources"] >= 4
