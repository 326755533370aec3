"""``hygiene permissions``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hygiene.cli.common import err, guard, out
from hygiene.sources.platforms import names as platform_names


@click.command("permissions")
@click.option("--source", type=click.Choice(platform_names()), default=None, help="Only this platform.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON alone: with --source aws the IAM policy document to attach; else each platform's datasets, "
    "what they need and the checks that use them.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write that JSON to FILE instead (e.g. hygiene-policy.json for `aws iam put-role-policy`).",
)
@click.option(
    "--consent-url",
    "consent_tenant",
    metavar="TENANT",
    default=None,
    help="With --source m365 (or azure): print the admin-consent link of the app registration for the customer "
    "tenant TENANT (its tenant id or a domain name), for a multi-tenant app; the client id from --client-id or "
    "--config.",
)
@click.option("--client-id", default=None, help="The app registration's application (client) id, for --consent-url.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Take the client id and authority host for --consent-url from this config's [sources.m365] (or azure).",
)
@click.option("--redirect-uri", default=None, help="Where Entra sends the admin after consent (optional).")
@guard
def permissions(
    source: str | None,
    as_json: bool,
    output: Path | None,
    consent_tenant: str | None,
    client_id: str | None,
    config_path: Path | None,
    redirect_uri: str | None,
) -> None:
    """The least-privilege, read-only permissions and licences each check needs; with --consent-url, the link a
    customer's administrator opens to grant them to a multi-tenant app registration."""
    from hygiene.permissions import describe, grant_json

    if consent_tenant is not None:
        click.echo(_consent_url(source, consent_tenant, client_id, config_path, redirect_uri))
        return
    if not as_json and output is None:
        out.print(describe(source), markup=False, highlight=False)
        return
    document = json.dumps(grant_json(source), indent=2) + "\n"
    if output is None:
        click.echo(document, nl=False)
        return
    from hygiene.atomic import atomic_write

    atomic_write(output, document.encode("utf-8"))
    err.print(f"wrote {output}", markup=False, highlight=False)


def _consent_url(
    source: str | None, tenant: str, client_id: str | None, config_path: Path | None, redirect_uri: str | None
) -> str:
    from hygiene.config import load_config
    from hygiene.errors import InputError
    from hygiene.permissions import DEFAULT_AUTHORITY, admin_consent_url

    if source not in ("m365", "azure"):
        raise click.UsageError("--consent-url needs --source m365 (or azure): it is an Entra app registration's")
    authority = DEFAULT_AUTHORITY
    if config_path is not None:
        config = load_config(config_path)
        section = config.sources.m365 if source == "m365" else config.sources.azure
        if section is None:
            raise InputError(config_path, f"sources.{source}: not configured, so there is no client id to consent to")
        client_id = client_id or section.client_id
        authority = section.authority_host
    if client_id is None:
        raise click.UsageError("--consent-url needs the app's client id: --client-id ID or --config FILE")
    try:
        return admin_consent_url(tenant, client_id, authority, redirect_uri)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--consent-url") from None
