"""The local RDS endpoints: RDS-shaped names (as the AWS Advanced Wrappers recognise them), one
loopback address each, and the hosts file nss_wrapper reads."""

from __future__ import annotations

import ipaddress
import random
import re
from pathlib import Path

import pytest

from pgiam.localcloud.rds.endpoints import (
    BLOCK_SIZE,
    MAX_CLUSTER_INSTANCES,
    AddressBlock,
    Endpoint,
    EndpointNames,
    account_hash,
    parse_hosts,
    random_block,
    render_hosts,
)
from pgiam.localcloud.rds.model import RdsModel

pytestmark = pytest.mark.unit

# The AWS Advanced Python Wrapper's RdsUtils patterns (aws-advanced-python-wrapper,
# aws_advanced_python_wrapper/utils/rds_utils.py): its IAM plugin refuses any other host.
AURORA_DNS = re.compile(r"^(?P<instance>.+)\.(?P<dns>proxy-|cluster-|cluster-ro-|cluster-custom-)?"
                        r"(?P<domain>[a-zA-Z0-9]+\.(?P<region>[a-zA-Z0-9\-]+)\.rds\.amazonaws\.com)(?!\.cn)$")
AURORA_CHINA_DNS = re.compile(r"^(?P<instance>.+)\.(?P<dns>proxy-|cluster-|cluster-ro-|cluster-custom-)?"
                              r"(?P<domain>[a-zA-Z0-9]+\.rds\.(?P<region>[a-zA-Z0-9\-]+)\.amazonaws\.com\.cn)$")


@pytest.fixture
def names() -> EndpointNames:
    return EndpointNames("aws", "eu-west-1", "123456789012")


def test_names_have_rds_shapes_the_wrappers_recognise(names):
    for name, dns in ((names.cluster("Db1"), "cluster-"), (names.reader("db1"), "cluster-ro-"),
                      (names.instance("db1-1"), None)):
        match = AURORA_DNS.match(name)
        assert match, name
        assert (match["dns"], match["region"], match["instance"]) == (dns, "eu-west-1", name.split(".")[0])
    assert names.cluster("db1").startswith("db1.cluster-") and ".cluster-ro-" in names.reader("db1")


def test_china_names_use_the_cn_domain():
    china = EndpointNames("aws-cn", "cn-north-1", "123456789012")
    for name in (china.cluster("db1"), china.reader("db1"), china.instance("db1-1")):
        assert name.endswith(".rds.cn-north-1.amazonaws.com.cn") and AURORA_CHINA_DNS.match(name)
        assert not AURORA_DNS.match(name)


def test_hash_is_twelve_lowercase_characters_stable_per_account_and_region():
    first = account_hash("123456789012", "us-east-1")
    assert re.fullmatch(r"[a-z0-9]{12}", first)
    assert first == account_hash("123456789012", "us-east-1")
    assert len({first, account_hash("123456789013", "us-east-1"), account_hash("123456789012", "us-west-2")}) == 3


def test_address_blocks_are_loopback_below_the_pods_and_distinct_per_endpoint():
    rng = random.Random(7)
    for _ in range(200):
        block = random_block(rng)
        addresses = block.cluster_addresses()
        assert len(set(addresses)) == 2 + MAX_CLUSTER_INSTANCES <= BLOCK_SIZE - 1
        for address in addresses:
            ip = ipaddress.IPv4Address(address)
            assert ip.is_loopback and ip != ipaddress.IPv4Address("127.0.0.1")
            assert 2 <= ip.packed[1] <= 15  # pods are 127.16.0.0 and up (the engine's kubelet)
    with pytest.raises(ValueError):
        AddressBlock(0x7F020000).instance(MAX_CLUSTER_INSTANCES)


def test_model_lists_every_endpoint_of_a_cluster_on_its_own_address():
    model = RdsModel("us-east-1", "123456789012", "aws")
    cluster = model.add_cluster("db1", "cluster-A", iam_enabled=True, port=5432, block=AddressBlock(0x7F020020))
    model.add_instance("db1-1", cluster="db1")
    model.add_instance("db1-2", cluster="db1")
    model.add_standalone(model.add_instance("solo"), iam_enabled=True, port=6000, block=AddressBlock(0x7F030000))
    endpoints = {e.name: e for e in model.endpoints()}
    names = model.names
    assert {e.role for e in endpoints.values()} == {"writer", "reader", "instance"}
    assert len({e.address for e in endpoints.values()}) == len(endpoints) == 5
    assert endpoints[names.cluster("db1")].address == "127.2.0.33"
    assert endpoints[names.reader("db1")].address == "127.2.0.34"
    assert model.instance_endpoint("DB1-2").address == "127.2.0.36"
    assert model.target("cluster-A").hosts == {names.cluster("db1"), names.reader("db1"),
                                                names.instance("db1-1"), names.instance("db1-2")}
    model.remove_instance("db1-1")
    model.add_instance("db1-3", cluster="db1")  # the freed slot is reused
    assert model.instance_endpoint("db1-3").address == "127.2.0.35"
    model.rename_cluster("db1", "db9")
    assert names.cluster("db9") in {e.name for e in cluster.endpoints(names)}
    assert names.cluster("db1") not in {e.name for e in model.endpoints()}


def test_another_databases_names_are_not_this_ones_target():
    model = RdsModel("us-east-1", "123456789012", "aws")
    model.add_cluster("db1", "cluster-A", iam_enabled=True, port=5432, block=AddressBlock(0x7F020020))
    model.add_cluster("db2", "cluster-B", iam_enabled=True, port=5432, block=AddressBlock(0x7F020040))
    assert model.names.cluster("db2") not in model.target("cluster-A").hosts
    assert "localhost" not in model.target("cluster-A").hosts


def test_hosts_file_round_trips_and_has_no_comment_lines():
    endpoints = [Endpoint("b.cluster-x.us-east-1.rds.amazonaws.com", "127.2.0.1", "writer"),
                 Endpoint("a.x.us-east-1.rds.amazonaws.com", "127.2.0.3", "instance")]
    text = render_hosts(endpoints)
    assert "#" not in text  # nss_wrapper refuses the whole file for a comment line
    assert parse_hosts(text) == {e.name: e.address for e in endpoints}
    assert render_hosts([]) == ""


@pytest.mark.parametrize("kind", ["cluster", "instance"])
def test_server_certificates_verify_for_the_databases_names_and_not_for_others(kind):
    import datetime

    from cryptography import x509
    from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

    from pgiam.localcloud.ca import CertificateAuthority
    from pgiam.localcloud.rds.extension import ServerPool
    from pgiam.localcloud.rds.gateway import ServerRequest

    names = EndpointNames("aws", "us-east-1", "123456789012")
    authority = CertificateAuthority.create()
    request = ServerRequest(name=f"{kind}-db1", resource_id="cluster-X", master_username="pgadmin",
                            master_password=None, database_name=None, kind=kind, identifier="db1")
    cert_pem, _ = authority.issue_server_certificate(
        ServerPool(None, 0, names, Path("checker.pem")).certificate_names(request))
    certificate = x509.load_pem_x509_certificate(cert_pem)

    def verifies(name: str) -> bool:
        verifier = (PolicyBuilder().store(Store([authority.certificate]))
                    .time(datetime.datetime.now(datetime.timezone.utc)).build_server_verifier(x509.DNSName(name)))
        try:
            verifier.verify(certificate, [])
        except VerificationError:
            return False
        return True

    own = ([names.cluster("db1"), names.reader("db1"), names.instance("db1-7"), names.cluster("renamed")]
           if kind == "cluster" else [names.instance("db1"), names.instance("renamed")])
    assert all(verifies(name) for name in own), own
    other_account = EndpointNames("aws", "us-east-1", "210987654321")
    assert not verifies("localhost")
    assert not verifies(other_account.cluster("db1")) and not verifies(other_account.instance("db1"))
    if kind == "instance":
        assert not verifies(names.cluster("db1")) and not verifies(names.reader("db1"))
