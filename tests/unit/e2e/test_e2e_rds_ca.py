"""The local CA stands where a client of the stack expects Amazon's RDS bundle."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pgiam.e2e.engine.kubernetes import auto_name
from pgiam.e2e.engine.rds_ca import deployer_root_cert, names_rds_bundle


@pytest.mark.parametrize("path", [
    "/etc/ssl/certs/rds-global-bundle.pem", "/opt/certs/global-bundle.pem", "global-bundle.pem",
    "/certs/rds-combined-ca-bundle.pem", "/certs/eu-west-1-bundle.pem",
    "/certs/us-gov-west-1-bundle.pem", "/certs/rds-ca-rsa2048-g1.pem"])
def test_amazons_bundle_names_are_recognised(path: str) -> None:
    assert names_rds_bundle(path)


@pytest.mark.parametrize("path", ["/etc/pgiam/db-ca/ca.pem", "/etc/ssl/certs/ca-certificates.crt",
                                  "", None, "/certs/my-bundle.pem"])
def test_other_files_are_not_taken_for_the_rds_bundle(path) -> None:
    assert not names_rds_bundle(path)


def test_the_deployer_gets_the_local_ca_where_it_expects_the_rds_bundle(tmp_path: Path) -> None:
    local = str(tmp_path / "local-ca.pem")
    own = tmp_path / "team-ca.pem"
    own.write_text("-----BEGIN CERTIFICATE-----\n")
    assert deployer_root_cert("global-bundle.pem", "verify-full", local) == local
    assert deployer_root_cert(str(tmp_path / "missing.pem"), "verify-full", local) == local
    assert deployer_root_cert(None, "verify-full", local) == local
    assert deployer_root_cert(None, "require", local) is None
    assert deployer_root_cert(str(own), "verify-full", local) == str(own)   # the program's own


def test_objects_without_a_name_get_pulumi_kubernetes_auto_name() -> None:
    first, second = auto_name("orders-api-svc"), auto_name("orders-api-svc")
    assert first.startswith("orders-api-svc-") and len(first) == len("orders-api-svc-") + 8
    assert re.fullmatch(r"orders-api-svc-[a-z0-9]{8}", first)
    assert first != second
