"""The token checker's TLS identity: what lets the PostgreSQL servers tell the real checker from
any process that binds its port.

The checker presents a self-signed Ed25519 certificate for ``127.0.0.1``, made at ``up``; each
server's libldap trusts that certificate alone (``LDAPTLS_CACERT`` names a copy of it,
``LDAPTLS_REQCERT=demand``). Its private key lives in the daemon's memory and a 0600 file of the
extension's directory, so a decoy cannot complete a handshake the servers accept.

Why pinned Ed25519 rather than a certificate from the local CA: every IAM login is a new backend
process whose libldap (GnuTLS) verifies the checker from scratch. With a CA-issued ECDSA P-256
certificate that is two P-256 signature checks per login (the CA's over the certificate and the
handshake's); with the pinned certificate it is one Ed25519 check, the cheapest GnuTLS offers
(benchmarks/iam_logins.py, docs/localcloud-rds.md). Trust is exactly as narrow: one certificate,
not everything the CA signs.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pgiam.localcloud.statedir import write_secret

CERTIFICATE_FILE = "checker.pem"
KEY_FILE = "checker-key.pem"
VALIDITY = datetime.timedelta(days=825)
BACKDATE = datetime.timedelta(minutes=5)


def pinned_certificate(address: str) -> tuple[bytes, bytes]:
    """A self-signed Ed25519 server certificate for the IP ``address``: ``(cert_pem, key_pem)``."""
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pgiam"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"pgiam token checker {address}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
                       critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, None))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def checker_tls_context(directory: Path, address: str) -> tuple[ssl.SSLContext, Path]:
    """A new pinned certificate for ``address`` written to ``directory`` (the key 0600), and the
    server context that presents it: ``(context, certificate file)``; the servers trust that
    file. TLS 1.3 only: one round trip fewer per login."""
    certificate, private_key = pinned_certificate(address)
    cert_file, key_file = directory / CERTIFICATE_FILE, directory / KEY_FILE
    cert_file.write_bytes(certificate)
    write_secret(key_file, private_key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.num_tickets = 0  # each login is a new backend process: a session ticket is never reused
    context.load_cert_chain(str(cert_file), str(key_file))
    return context, cert_file
