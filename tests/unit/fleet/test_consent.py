"""`hygiene permissions --source m365 --consent-url TENANT`: the admin-consent link of a multi-tenant app."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from hygiene.cli import main

APP = "11111111-2222-3333-4444-555555555555"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def consent(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["permissions", "--source", "m365", *args])
    return result.exit_code, result.output + result.stderr


@pytest.mark.parametrize("tenant", [TENANT, TENANT.upper(), "contoso.onmicrosoft.com", "Northwind-Dental.co.uk"])
def test_consent_link_for_a_tenant_id_or_domain(tenant: str) -> None:
    code, output = consent("--consent-url", tenant, "--client-id", APP)
    assert code == 0, output
    url = urlsplit(output.strip())
    assert (url.scheme, url.netloc, url.path) == (
        "https",
        "login.microsoftonline.com",
        f"/{tenant.lower()}/adminconsent",
    )
    assert parse_qs(url.query) == {"client_id": [APP]}


@pytest.mark.parametrize(
    "tenant",
    ["common", "organizations", "../evil", "contoso.onmicrosoft.com/x", "a b.com", "evil.com?x=1", "x@y.com", ""],
)
def test_consent_link_refuses_what_is_not_one_tenant(tenant: str) -> None:
    code, output = consent("--consent-url", tenant, "--client-id", APP)
    assert code == 2 and "give the customer's tenant id (a GUID) or one of its domain names" in output


def test_consent_link_takes_the_client_and_authority_from_a_shared_config(tmp_path: Path) -> None:
    (tmp_path / "_msp.toml").write_text(
        f'[sources.m365]\nclient_id = "{APP}"\nclient_secret_env = "MSP_SECRET"\n'
        'authority_host = "https://login.microsoftonline.us"\n'
    )
    config = tmp_path / "acme.toml"
    config.write_text(
        'include = "_msp.toml"\n[organisation]\nid = "acme"\nname = "Acme"\n[sources.m365]\ntenant_id = "t"\n'
    )
    code, output = consent(
        "--consent-url", "acme.onmicrosoft.com", "--config", str(config), "--redirect-uri", "https://msp.example/ok"
    )
    assert code == 0, output
    url = urlsplit(output.strip())
    assert url.netloc == "login.microsoftonline.us" and url.path == "/acme.onmicrosoft.com/adminconsent"
    assert parse_qs(url.query) == {"client_id": [APP], "redirect_uri": ["https://msp.example/ok"]}


def test_consent_link_needs_a_client_id_and_an_entra_platform() -> None:
    code, output = consent("--consent-url", TENANT)
    assert code == 2 and "--client-id ID or --config FILE" in output
    code, output = consent("--consent-url", TENANT, "--client-id", "not-a-guid")
    assert code == 2 and "application (client) id, a GUID" in output
    result = CliRunner().invoke(main, ["permissions", "--source", "aws", "--consent-url", TENANT, "--client-id", APP])
    assert result.exit_code == 2 and "needs --source m365" in result.output + result.stderr
