"""The Azure credentials, checked offline before any request (``hygiene scan``, ``hygiene config validate``): the
same Entra app credential as Microsoft 365 (a client secret from an environment variable, or a PEM holding an
unencrypted private key and its certificate), named under ``[sources.azure]``. Loads no vendor SDK."""

from __future__ import annotations

from collections.abc import Mapping

from hygiene.config import AzureConfig
from hygiene.sources.m365 import credentials as entra


def check_credentials(config: AzureConfig, environ: Mapping[str, str]) -> list[str]:
    """The problems with ``[sources.azure]``'s credential, one ``key: problem`` line each."""
    return entra.check_credentials(config, environ, "azure")
