"""Stack configuration: documented defaults, and one clear error naming the key for a bad value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from infra_checks import K8S_DEPLOYMENT, RDS_CLUSTER, RDS_INSTANCE

PULUMI_YAML = Path(__file__).resolve().parents[3] / "infra" / "Pulumi.yaml"


@pytest.mark.parametrize("config, key", [
    ({"environment": "staging"}, "environment"),
    ({"namespace": "Demo"}, "namespace"),
    ({"namespace": "demo-*"}, "namespace"),
    ({"serviceAccount": "demo_app"}, "serviceAccount"),
    ({"iamDbUser": "pgadmin"}, "iamDbUser"),
    ({"iamDbUser": ""}, None),  # empty means unset: the default applies
    ({"iamDbUser": "app user"}, "iamDbUser"),
    ({"masterUsername": "admin*"}, "masterUsername"),
    ({"dbName": "1appdb"}, "dbName"),
    ({"engineVersion": "16"}, "engineVersion"),
    ({"instanceClass": "t3.micro"}, "instanceClass"),
    ({"vpcCidr": "10.0.0.0/8"}, "vpcCidr"),
    ({"dbAllowedCidrs": json.dumps(["203.0.113.9/32"])}, "dbAllowedCidrs"),
    ({"environment": "dev", "dbAllowedCidrs": json.dumps(["0.0.0.0/0"])}, "dbAllowedCidrs"),
    ({"environment": "dev", "dbAllowedCidrs": json.dumps(["10.0.0.300/32"])}, "dbAllowedCidrs"),
    ({"dbCaBundle": "not a certificate"}, "dbCaBundle"),
])
def test_a_bad_value_stops_the_program_naming_its_key(mock_runtime, config, key):
    import pulumi

    from iampg.config import load_settings

    if key is None:
        mock_runtime(lambda: {"user": load_settings().iam_db_user}, config)
        return
    with pytest.raises(pulumi.RunError, match=rf"^iam-postgres:{key}: "):
        mock_runtime(lambda: load_settings() and None, config)


def test_the_master_password_is_a_required_secret(mock_runtime):
    import pulumi

    from iampg.config import load_settings

    with pytest.raises(pulumi.ConfigMissingError, match="masterPassword"):
        mock_runtime(lambda: load_settings() and None, {"masterPassword": None})


def test_pulumi_yaml_documents_the_defaults_the_program_applies(prod_run):
    project = yaml.safe_load(PULUMI_YAML.read_text())
    assert project["name"] == "iam-postgres" and project["runtime"]["name"] == "python"
    defaults = {key.split(":", 1)[1]: spec["default"]
                for key, spec in project["config"].items() if "default" in spec}
    cluster = prod_run.mocks.one(RDS_CLUSTER).inputs
    container = prod_run.mocks.one(K8S_DEPLOYMENT).inputs["spec"]["template"]["spec"][
        "containers"][0]
    applied = {
        "environment": "prod" if cluster["deletionProtection"] else "dev",
        "dbName": prod_run.outputs["dbName"],
        "masterUsername": cluster["masterUsername"],
        "iamDbUser": prod_run.outputs["iamDbUser"],
        "namespace": prod_run.outputs["namespace"],
        "serviceAccount": prod_run.outputs["serviceAccount"],
        "instanceClass": prod_run.mocks.one(RDS_INSTANCE).inputs["instanceClass"],
        "engineVersion": cluster["engineVersion"],
        "appImage": container["image"],
        "vpcCidr": prod_run.mocks.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"],
        "identityMode": prod_run.outputs["identityMode"],
    }
    assert defaults == applied
    assert project["config"]["iam-postgres:masterPassword"] == {
        "type": "string", "secret": True,
        "description": project["config"]["iam-postgres:masterPassword"]["description"]}
