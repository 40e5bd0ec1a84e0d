"""The infra program under Pulumi's mock runtime: what it registers, in every scenario."""

from __future__ import annotations

import json

import pytest

from infra_scenarios import DEV_CA_BUNDLE, SCENARIOS
from infra_checks import (
    EKS_CLUSTER,
    IAM_ROLE,
    K8S_CONFIG_MAP,
    K8S_DEPLOYMENT,
    K8S_SERVICE_ACCOUNT,
    PG_PROVIDER,
    RDS_CLUSTER,
    RDS_INSTANCE,
    ROLE_POLICY,
    failing_checks,
    stack_from_run,
)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_stack_passes_every_check(stack_runs, scenario):
    """Every check of infra_checks.STACK_CHECKS (IAM auth, encryption, force_ssl, exposure, trust
    and connect policies evaluated, database roles and grants, service account, Deployment, no
    static credentials, outputs); the failure lists each failing check with its reason."""
    assert failing_checks(stack_from_run(stack_runs(scenario))) == {}


def test_master_password_stays_secret_wherever_it_goes(prod_run):
    password = prod_run.config["iam-postgres:masterPassword"]
    cluster = prod_run.mocks.one(RDS_CLUSTER)
    provider = prod_run.mocks.one(PG_PROVIDER)
    assert "masterPassword" in cluster.secret_inputs
    assert "password" in provider.secret_inputs
    holders = [r.name for r in prod_run.mocks.resources
               if password in json.dumps(r.inputs, default=str)]
    assert sorted(holders) == sorted([cluster.name, provider.name])
    assert password not in json.dumps(prod_run.outputs, default=str)


def test_partition_region_and_account_come_from_data_sources(prod_run):
    tokens = {call.token for call in prod_run.mocks.calls}
    assert {"aws:index/getPartition:getPartition", "aws:index/getRegion:getRegion",
            "aws:index/getCallerIdentity:getCallerIdentity"} <= tokens


@pytest.mark.parametrize("scenario", ["prod-aws-cn", "dev-us-gov"])
def test_other_partitions_get_their_own_arns(stack_runs, scenario):
    run = stack_runs(scenario)
    context = run.context
    policy = json.loads(run.mocks.one(ROLE_POLICY).inputs["policy"])
    resource = policy["Statement"][0]["Resource"]
    assert resource.startswith(f"arn:{context.partition}:rds-db:{context.region}:"
                               f"{context.account_id}:dbuser:cluster-")
    trust = json.loads(run.mocks.one(IAM_ROLE).inputs["assumeRolePolicy"])
    federated = trust["Statement"][0]["Principal"]["Federated"]
    assert federated.startswith(f"arn:{context.partition}:iam::{context.account_id}:oidc-provider/")
    assert run.outputs["iamRoleArn"].startswith(f"arn:{context.partition}:iam::")
    assert "arn:aws:" not in json.dumps([policy, trust])


def test_configured_names_flow_to_every_place_that_names_them(stack_runs):
    run = stack_runs("prod-aws-cn")
    trust = run.mocks.one(IAM_ROLE).inputs["assumeRolePolicy"]
    assert "system:serviceaccount:payments:ledger.api" in trust
    assert json.loads(run.mocks.one(ROLE_POLICY).inputs["policy"])["Statement"][0][
        "Resource"].endswith("/ledger_rw")
    assert run.outputs["dbName"] == "ledger"
    assert run.mocks.one(PG_PROVIDER).inputs["username"] == "admin_user"


def test_prod_cluster_is_protected_and_keeps_a_final_snapshot(prod_run):
    cluster = prod_run.mocks.one(RDS_CLUSTER).inputs
    assert cluster["deletionProtection"] is True and cluster["skipFinalSnapshot"] is False
    assert cluster["finalSnapshotIdentifier"] == "iam-postgres-unit-db-final"


def test_dev_stack_is_public_and_disposable(dev_run):
    cluster = dev_run.mocks.one(RDS_CLUSTER).inputs
    assert cluster["deletionProtection"] is False and cluster["skipFinalSnapshot"] is True
    assert dev_run.mocks.one(RDS_INSTANCE).inputs["publiclyAccessible"] is True


def test_prod_pod_verifies_the_database_with_the_rds_bundle_in_the_image(prod_run):
    assert prod_run.mocks.of_type(K8S_CONFIG_MAP) == []
    container = prod_run.mocks.one(K8S_DEPLOYMENT).inputs["spec"]["template"]["spec"][
        "containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["PGSSLROOTCERT"] == "/etc/ssl/certs/rds-global-bundle.pem"


def test_dev_ca_bundle_is_mounted_and_named_by_pgsslrootcert(dev_run):
    config_map = dev_run.mocks.one(K8S_CONFIG_MAP).inputs
    assert list(config_map["data"].values()) == [DEV_CA_BUNDLE]
    pod = dev_run.mocks.one(K8S_DEPLOYMENT).inputs["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    volume = next(v for v in pod["volumes"] if "configMap" in v)
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    assert mount["readOnly"] is True
    (file_name,) = config_map["data"]
    assert env["PGSSLROOTCERT"] == f"{mount['mountPath']}/{file_name}"


def test_deployer_verifies_the_server_when_given_the_ca_file(dev_run, prod_run):
    dev = dev_run.mocks.one(PG_PROVIDER).inputs
    assert (dev["sslmode"], dev["sslrootcert"]) == ("verify-full", "/etc/pgiam/local-ca.pem")
    assert not any("dbCaBundleFile" in warning for warning in dev_run.warnings)
    prod = prod_run.mocks.one(PG_PROVIDER).inputs
    assert prod["sslmode"] == "require" and "sslrootcert" not in prod
    assert any("dbCaBundleFile is not set" in warning for warning in prod_run.warnings)


def test_no_kubernetes_api_token_is_mounted(prod_run):
    account = prod_run.mocks.one(K8S_SERVICE_ACCOUNT).inputs
    pod = prod_run.mocks.one(K8S_DEPLOYMENT).inputs["spec"]["template"]["spec"]
    assert account["automountServiceAccountToken"] is False
    assert pod["automountServiceAccountToken"] is False


def test_eks_cluster_has_an_oidc_provider_and_private_nodes(prod_run):
    cluster = prod_run.mocks.one(EKS_CLUSTER).inputs
    assert cluster["createOidcProvider"] is True
    assert cluster["nodeAssociatePublicIpAddress"] is False


def test_preview_of_a_new_stack_runs_with_unknown_values(mock_runtime):
    from pulumi.output import Unknown

    from infra_stack import run_stack

    run = run_stack(preview=True)
    assert run.mocks.one(RDS_CLUSTER).inputs["iamDatabaseAuthenticationEnabled"] is True
    # Documents built from computed values (provider ARN, resource id) are unknown at preview.
    assert isinstance(run.mocks.one(IAM_ROLE).inputs["assumeRolePolicy"], Unknown)
    assert isinstance(run.mocks.one(ROLE_POLICY).inputs["policy"], Unknown)
