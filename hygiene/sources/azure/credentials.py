"""The Azure credentials, checked offline before any request (``hygiene scan``, ``hygiene config validate``): the
same Entra app credential as Microsoft 365 (a client secret from an environment variable, or a PEM holding an
unencrypted private key and its certificate), named under ``[sources.azure]``. Loads no vendor SDK; a problem never
quotes the secret."""

from __future__ import annotations

from collections.abc import Mapping

from hygiene.config import AzureConfig
from hygiene.sources.interface import CredentialError
from hygiene.sources.m365.credentials import certificate

SECRET_KEY = "sources.azure.client_secret_env"


def check_credentials(config: AzureConfig, environ: Mapping[str, str]) -> list[str]:
    """The problems with ``[sources.azure]``'s credential, one ``key: problem`` line each."""
    if config.client_secret_env is not None:
        secret = environ.get(config.client_secret_env)
        if secret is None:
            return [f"{SECRET_KEY}: environment variable {config.client_secret_env} is not set"]
        if not secret.strip():
            return [f"{SECRET_KEY}: environment variable {config.client_secret_env} is empty"]
    elif config.certificate_file is not None:
        try:
            certificate(config.certificate_file)
        except CredentialError as exc:  # worded for [sources.m365]: the same file rules, this section's key
            return [str(exc).replace("sources.m365.", "sources.azure.", 1)]
    return []
