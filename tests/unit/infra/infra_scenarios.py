"""The configurations the unit layer runs the infra program with."""

from __future__ import annotations

import json
from typing import Any

# A CA certificate in PEM, as the local e2e target passes the local cloud's CA (dbCaBundle).
DEV_CA_BUNDLE = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdzCCAR2gAwIBAgIUQ0FVTklUVEVTVENBQlVORExFMDEwCgYIKoZIzj0EAwIw\n"
    "-----END CERTIFICATE-----\n"
)

# name -> (configuration, CloudContext arguments)
SCENARIOS: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    "prod": ({}, {}),
    # A throw-away stack in GovCloud, with the CA of its database endpoint and a deployer block.
    "dev-us-gov": ({"environment": "dev", "dbCaBundle": DEV_CA_BUNDLE,
                   "dbCaBundleFile": "/etc/pgiam/local-ca.pem",
                   "dbAllowedCidrs": json.dumps(["198.51.100.7/32"])},
                  {"partition": "aws-us-gov", "region": "us-gov-west-1",
                   "account_id": "210987654321"}),
    # China, with every name configured away from its default.
    "prod-aws-cn": ({"namespace": "payments", "serviceAccount": "ledger.api",
                     "iamDbUser": "ledger_rw", "dbName": "ledger", "masterUsername": "admin_user",
                     "engineVersion": "15.7"},
                    {"partition": "aws-cn", "region": "cn-north-1", "account_id": "000011112222"}),
    # EKS Pod Identity instead of IRSA, with names away from their defaults.
    "pod-identity": ({"identityMode": "pod-identity", "namespace": "payments",
                      "serviceAccount": "ledger-api"}, {}),
    "pod-identity-dev-us-gov": ({"identityMode": "pod-identity", "environment": "dev",
                                 "dbCaBundle": DEV_CA_BUNDLE},
                                {"partition": "aws-us-gov", "region": "us-gov-west-1",
                                 "account_id": "210987654321"}),
}
