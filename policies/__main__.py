"""The pack's entry point: builds the PolicyPack, which serves the Analyzer protocol and blocks.
Rules live in the importable package ``iamdb_rules``; nothing here is imported by tests."""

from pulumi_policy import EnforcementLevel, PolicyPack

from iamdb_rules.pack import PACK_NAME, build_policies

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=build_policies(),
    description="IAM database authentication for PostgreSQL on AWS: RDS IAM auth, IRSA trust, "
                "rds-db:connect grants, rds_iam roles, Kubernetes credentials and TLS.",
)
