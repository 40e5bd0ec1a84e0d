"""``pgiam preview`` on programs that use data sources and resources nobody wrote a synthesizer
for: they run to a report in both modes, the program's own code gets values it can use, and an
invented value never decides a rule (it is deferred), while real mistakes are still reported."""

from __future__ import annotations

import pytest

from preview_runner import PROGRAMS, preview

pytestmark = pytest.mark.integration


# program -> the fewest resources its report must count. generic_aws_lookups: data sources and
# resources without synthesizers; generic_reads: Resource.get from a Helm status, indexed map
# and list outputs; generic_methods: a resource method (pulumi_eks Cluster.get_kubeconfig),
# answered from its result class instead of ending on the mock monitor's missing ``Call``.
CLEAN_PROGRAMS = {"generic_aws_lookups": 14, "generic_reads": 5, "generic_methods": 4}


@pytest.mark.parametrize("mode", ["preview", "up"])
@pytest.mark.parametrize("program", sorted(CLEAN_PROGRAMS))
def test_programs_without_synthesizers_run_clean(program, mode):
    result = preview(PROGRAMS / program, "--mode", mode)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.report["violations"] == []
    assert result.report["resources"] >= CLEAN_PROGRAMS[program]


def test_a_required_secret_nobody_set_is_previewed_with_a_named_placeholder():
    result = preview(PROGRAMS / "generic_aws_lookups")
    assert result.returncode == 0, result.stderr
    assert any(warning.startswith("generic-aws-lookups:dbPassword is a required secret that is "
                                  "not set: previewed with a placeholder")
               for warning in result.report["warnings"])


@pytest.mark.parametrize("mode", ["preview", "up"])
def test_a_document_a_data_source_returns_is_deferred_not_judged(mode):
    result = preview(PROGRAMS / "generic_eks_lookups", "--mode", mode)
    assert result.returncode == 1, result.stdout + result.stderr
    db = "urn:pulumi:dev::generic-eks-lookups::aws:rds/cluster:Cluster::db"
    assert ("rds-iam-auth-enabled", db) in result.violations("mandatory")
    assert {urn for _, urn in result.violations()} == {db}
    for policy in ("copied-base", "extended-base"):
        urn = f"urn:pulumi:dev::generic-eks-lookups::aws:iam/policy:Policy::{policy}"
        assert ("iam-policy-document-valid", urn) in result.deferred()
