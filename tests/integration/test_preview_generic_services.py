"""``pgiam preview`` on a second, differently shaped program of unsynthesized resources and data
sources (a class-based component; SQS, DynamoDB, ECR, ECS Fargate, API Gateway v2, CloudFront,
Route 53 aliases, random names; SSM/Secrets Manager/RDS/VPC-endpoint lookups): the program's own
code (URL splitting, concatenation, JSON of outputs) runs in both modes, the real mistake is still
reported, and a document an unknown lookup returns is deferred, never judged."""

from __future__ import annotations

import pytest

from preview_runner import PROGRAMS, preview

pytestmark = pytest.mark.integration

PROJECT = "urn:pulumi:dev::generic-services::"
DB = f"{PROJECT}aws:rds/cluster:Cluster::orders-db"
EXTRA = f"{PROJECT}aws:iam/policy:Policy::worker-extra"


@pytest.fixture(scope="module", params=["preview", "up"])
def result(request):
    return preview(PROGRAMS / "generic_services", "--mode", request.param)


def test_component_program_of_unsynthesized_services_runs_to_a_report(result):
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.report["resources"] >= 20


def test_only_the_database_without_iam_auth_is_reported(result):
    assert ("rds-iam-auth-enabled", DB) in result.violations("mandatory")
    assert {urn for _, urn in result.violations()} == {DB}


def test_a_policy_document_read_from_an_ssm_lookup_is_deferred_not_judged(result):
    assert ("iam-policy-document-valid", EXTRA) in result.deferred()
    assert all(urn != EXTRA for _, urn in result.violations())


def test_the_unset_required_secret_is_named_in_a_warning(result):
    assert any(warning.startswith("generic-services:signingKey is a required secret")
               for warning in result.report["warnings"])
