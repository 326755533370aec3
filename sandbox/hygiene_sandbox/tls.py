"""Throw-away TLS material for the sandbox: a private CA, a server certificate for 127.0.0.1/localhost, and
RSA client certificates for certificate-credential (``private_key_jwt``) authentication.

msal refuses plain ``http://`` authorities, so the fake identity platform must speak HTTPS; a certificate
for an IP address needs a subjectAltName IP entry (the common name is ignored by modern TLS clients).
Microsoft Entra accepts only RSA keys (2048 bits or more) as application certificate credentials
(https://learn.microsoft.com/entra/identity-platform/certificate-credentials).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import ssl
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PRIVATE = 0o600


@dataclass(frozen=True)
class ServerMaterial:
    """A CA certificate and a server certificate (with its key) signed by that CA, all PEM."""

    ca_cert_pem: bytes
    server_cert_pem: bytes
    server_key_pem: bytes

    def write_ca(self, directory: Path) -> Path:
        """Write ``ca.pem`` (the CA certificate only: nothing secret) into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "ca.pem"
        path.write_bytes(self.ca_cert_pem)
        return path

    def server_context(self) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` for the server side, TLS 1.2 or later."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # load_cert_chain only reads files: use a private temporary file, removed at once
        fd, name = tempfile.mkstemp(prefix="hygiene-sandbox-", suffix=".pem")
        try:
            os.fchmod(fd, PRIVATE)
            with os.fdopen(fd, "wb") as handle:
                handle.write(self.server_key_pem + self.server_cert_pem)
            context.load_cert_chain(name)
        finally:
            Path(name).unlink(missing_ok=True)
        return context


@dataclass(frozen=True)
class ClientCertificate:
    """An RSA private key and its self-signed certificate, for certificate credentials."""

    private_key_pem: str
    certificate_pem: str
    #: SHA-1 of the DER certificate, lower-case hex: msal's ``thumbprint`` (JWT header ``x5t``)
    sha1_thumbprint: str
    #: SHA-256 of the DER certificate, lower-case hex (JWT header ``x5t#S256``)
    sha256_thumbprint: str

    @property
    def combined_pem(self) -> str:
        """One PEM holding both the "PRIVATE KEY" and the "CERTIFICATE" blocks."""
        return self.private_key_pem + self.certificate_pem

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem.encode())

    def write(self, path: Path) -> Path:
        """Write the combined PEM with mode 0600."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(self.combined_pem)
        os.chmod(path, PRIVATE)
        return path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hygiene sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def generate_server_material(valid_days: int = 30) -> ServerMaterial:
    """A fresh CA (EC P-256) and a server certificate for IP 127.0.0.1 and DNS localhost."""
    now = datetime.now(UTC)
    start = now - timedelta(minutes=5)
    end = now + timedelta(days=valid_days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("hygiene sandbox CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return ServerMaterial(
        ca_cert_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        server_cert_pem=server_cert.public_bytes(serialization.Encoding.PEM),
        server_key_pem=server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def generate_client_certificate(common_name: str = "hygiene scanner", valid_days: int = 365) -> ClientCertificate:
    """An RSA 2048 key and a self-signed certificate, as an app registration's certificate credential."""
    now = datetime.now(UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    return ClientCertificate(
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii"),
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        sha1_thumbprint=hashlib.sha1(der, usedforsecurity=False).hexdigest(),
        sha256_thumbprint=hashlib.sha256(der).hexdigest(),
    )


def thumbprint_b64url(certificate: x509.Certificate, algorithm: str) -> str:
    """The JOSE ``x5t`` (``sha1``) or ``x5t#S256`` (``sha256``) value of a certificate, without padding."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    digest = hashlib.sha1(der, usedforsecurity=False).digest() if algorithm == "sha1" else hashlib.sha256(der).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


_cache_lock = threading.Lock()
_cached_server: ServerMaterial | None = None
_cached_client: ClientCertificate | None = None


def shared_server_material() -> ServerMaterial:
    """Server material generated once per process (sandboxes are short-lived and local)."""
    global _cached_server
    with _cache_lock:
        if _cached_server is None:
            _cached_server = generate_server_material()
        return _cached_server


def shared_client_certificate() -> ClientCertificate:
    """A client certificate generated once per process (RSA key generation is the slow part)."""
    global _cached_client
    with _cache_lock:
        if _cached_client is None:
            _cached_client = generate_client_certificate()
        return _cached_client
