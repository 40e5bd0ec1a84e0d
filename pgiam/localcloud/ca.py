"""The local certificate authority: the PEM in ``ca_bundle``, which signs the OIDC issuer's
certificate and the local database endpoints' (as the RDS CA bundle does on AWS).

Keys are ECDSA P-256: generating one takes well under a millisecond (an RSA-2048 key takes about
100 ms here), and every database server gets its own. Built on ``cryptography``'s x509 builder.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pgiam.localcloud.statedir import write_secret

CA_VALIDITY = datetime.timedelta(days=3650)
SERVER_VALIDITY = datetime.timedelta(days=825)
BACKDATE = datetime.timedelta(minutes=5)  # tolerate clocks a little behind ours


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


@dataclass(frozen=True)
class CertificateAuthority:
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, common_name: str = "pgiam local cloud CA") -> CertificateAuthority:
        key = _new_key()
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pgiam"),
                          x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = _now()
        public = key.public_key()
        cert = (x509.CertificateBuilder()
                .subject_name(name).issuer_name(name).public_key(public)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - BACKDATE).not_valid_after(now + CA_VALIDITY)
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
                .sign(key, hashes.SHA256()))
        return cls(cert, key)

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes) -> CertificateAuthority:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the local CA key must be an EC key")
        return cls(x509.load_pem_x509_certificate(cert_pem), key)

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return _key_pem(self.private_key)

    @property
    def sha1_thumbprint(self) -> str:
        """What IAM's ``ThumbprintList`` holds for an issuer whose chain ends at this CA."""
        return hashlib.sha1(self.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()

    def issue_server_certificate(self, hostnames: Sequence[str], ips: Sequence[str] = (),
                                 ) -> tuple[bytes, bytes]:
        """A TLS server certificate for ``hostnames`` (DNS SANs) and ``ips`` (IP SANs), signed by
        this CA: ``(cert_pem, key_pem)``; the key is unencrypted PKCS#8 (keep it 0600)."""
        if not hostnames and not ips:
            raise ValueError("a server certificate needs at least one host name or IP address")
        key = _new_key()
        common_name = hostnames[0] if hostnames else str(ips[0])
        sans: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        now = _now()
        public = key.public_key()
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])]))
                .issuer_name(self.certificate.subject).public_key(public)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - BACKDATE).not_valid_after(now + SERVER_VALIDITY)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=True,
                                             encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.private_key.public_key()), critical=False)
                .sign(self.private_key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def load_or_create(cert_path: os.PathLike[str] | str, key_path: os.PathLike[str] | str,
                   ) -> CertificateAuthority:
    """The CA stored at the two paths, created (key 0600) if the certificate is missing."""
    cert_file, key_file = Path(cert_path), Path(key_path)
    if cert_file.is_file() and key_file.is_file():
        return CertificateAuthority.from_pem(cert_file.read_bytes(), key_file.read_bytes())
    authority = CertificateAuthority.create()
    write_secret(key_file, authority.key_pem)
    cert_file.write_bytes(authority.cert_pem)
    os.chmod(cert_file, 0o644)
    return authority
