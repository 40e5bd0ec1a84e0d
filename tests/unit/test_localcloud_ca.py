"""The local CA: what it signs verifies for the names it was issued for, and nothing else."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from pgiam.localcloud.ca import CertificateAuthority


@pytest.fixture(scope="module")
def authority() -> CertificateAuthority:
    return CertificateAuthority.create()


def verify(authority: CertificateAuthority, cert_pem: bytes, name: x509.GeneralName) -> None:
    verifier = (PolicyBuilder().store(Store([authority.certificate]))
                .time(datetime.datetime.now(datetime.timezone.utc)).build_server_verifier(name))
    verifier.verify(x509.load_pem_x509_certificate(cert_pem), [])


def test_a_server_certificate_verifies_for_its_host_names_and_addresses(authority: CertificateAuthority) -> None:
    import ipaddress

    cert_pem, key_pem = authority.issue_server_certificate(
        ["db-1.cluster-abc.us-east-1.rds.localhost", "localhost"], ["127.0.0.1"])
    assert b"PRIVATE KEY" in key_pem
    verify(authority, cert_pem, x509.DNSName("db-1.cluster-abc.us-east-1.rds.localhost"))
    verify(authority, cert_pem, x509.DNSName("localhost"))
    verify(authority, cert_pem, x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    with pytest.raises(VerificationError):
        verify(authority, cert_pem, x509.DNSName("other.localhost"))


def test_another_authoritys_certificate_does_not_verify(authority: CertificateAuthority) -> None:
    cert_pem, _ = CertificateAuthority.create().issue_server_certificate(["localhost"])
    with pytest.raises(VerificationError):
        verify(authority, cert_pem, x509.DNSName("localhost"))


def test_the_ca_round_trips_through_pem(authority: CertificateAuthority) -> None:
    again = CertificateAuthority.from_pem(authority.cert_pem, authority.key_pem)
    assert again.certificate == authority.certificate
    assert again.sha1_thumbprint == authority.sha1_thumbprint and len(authority.sha1_thumbprint) == 40
    constraints = authority.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca is True and constraints.path_length == 0


def test_a_certificate_for_nothing_is_refused(authority: CertificateAuthority) -> None:
    with pytest.raises(ValueError):
        authority.issue_server_certificate([])
