"""The token checker's TLS identity: a self-signed Ed25519 certificate for its loopback address,
its key readable by the owner only, presented over TLS 1.3 alone; a client that trusts that one
certificate completes a handshake with it, and one that trusts another does not."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519

from pgiam.localcloud.rds.checker_tls import checker_tls_context, pinned_certificate

pytestmark = pytest.mark.unit


def test_the_pinned_certificate_is_ed25519_for_the_address_and_self_signed() -> None:
    cert_pem, _ = pinned_certificate("127.0.0.1")
    certificate = x509.load_pem_x509_certificate(cert_pem)
    assert isinstance(certificate.public_key(), ed25519.Ed25519PublicKey)
    assert certificate.issuer == certificate.subject
    certificate.verify_directly_issued_by(certificate)
    sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_each_call_makes_a_new_key() -> None:
    assert pinned_certificate("127.0.0.1")[1] != pinned_certificate("127.0.0.1")[1]


def test_the_key_file_is_the_owners_alone_and_the_context_is_tls_1_3(tmp_path: Path) -> None:
    context, cert_file = checker_tls_context(tmp_path, "127.0.0.1")
    assert cert_file == tmp_path / "checker.pem"
    assert stat.S_IMODE((tmp_path / "checker-key.pem").stat().st_mode) == 0o600
    assert context.minimum_version == ssl.TLSVersion.TLSv1_3


def handshake(server_context: ssl.SSLContext, trusted: Path) -> bool:
    """A TLS 1.3 handshake to 127.0.0.1 from a client that trusts ``trusted`` only."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        connection, _ = listener.accept()
        try:
            with server_context.wrap_socket(connection, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = ssl.create_default_context(cafile=str(trusted))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                client.wrap_socket(raw, server_hostname="127.0.0.1"):
            return True
    except ssl.SSLCertVerificationError:
        return False
    finally:
        thread.join(timeout=5)
        listener.close()


def test_a_client_trusting_the_pinned_certificate_alone_accepts_it_and_no_other(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "other").mkdir()
    context, cert_file = checker_tls_context(tmp_path / "one", "127.0.0.1")
    _, other_file = checker_tls_context(tmp_path / "other", "127.0.0.1")
    assert handshake(context, cert_file)        # control: the pinned certificate is accepted
    assert not handshake(context, other_file)   # another checker's certificate is not
