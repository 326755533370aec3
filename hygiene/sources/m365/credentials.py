"""The Entra app credentials (Microsoft 365, and Azure through the same app registration), checked offline before
any request (``hygiene scan``, ``hygiene config validate``) and loaded by the source: a client secret from an
environment variable, or a PEM file holding an unencrypted private key and its certificate. Loads no vendor SDK; a
problem never quotes the secret."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm as UnsupportedAlgorithmError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from hygiene.config import AzureConfig, M365Config
from hygiene.sources.interface import CredentialError, read_key_file

EntraConfig = M365Config | AzureConfig


def client_secret(config: EntraConfig, environ: Mapping[str, str], section: str = "m365") -> str:
    """The client secret named by ``client_secret_env`` of ``[sources.<section>]``."""
    assert config.client_secret_env is not None
    key = f"sources.{section}.client_secret_env"
    secret = environ.get(config.client_secret_env)
    if secret is None:
        raise CredentialError(f"{key}: environment variable {config.client_secret_env} is not set")
    if not secret.strip():
        raise CredentialError(f"{key}: environment variable {config.client_secret_env} is empty")
    return secret


def certificate(path: Path, section: str = "m365") -> tuple[bytes, PrivateKeyTypes, x509.Certificate]:
    """The PEM at ``path`` (``certificate_file`` of ``[sources.<section>]``): its bytes, its private key and its
    (first) certificate."""
    setting = f"sources.{section}.certificate_file"
    pem = read_key_file(path, setting, "a certificate PEM")
    expected = "expected a PEM holding an unencrypted private key and its certificate"
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:  # the key is encrypted: a password would be needed
        raise CredentialError(
            f"{setting}: the private key in {path} is encrypted; {expected} (openssl pkcs8 -nocrypt)"
        ) from None
    except (ValueError, UnsupportedAlgorithmError):
        raise CredentialError(f"{setting}: {path} holds no usable private key; {expected}") from None
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise CredentialError(f"{setting}: {path} holds no certificate; {expected}") from None
    return pem, key, cert


def check_credentials(config: EntraConfig, environ: Mapping[str, str], section: str = "m365") -> list[str]:
    """The problems with ``[sources.<section>]``'s credential, one ``key: problem`` line each."""
    try:
        if config.client_secret_env is not None:
            client_secret(config, environ, section)
        elif config.certificate_file is not None:
            certificate(config.certificate_file, section)
    except CredentialError as exc:
        return [str(exc)]
    return []
