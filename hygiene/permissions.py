"""What to grant: the read-only access each platform's datasets need (from the platform catalogues), and which
checks use them."""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from hygiene.registry import Registry
from hygiene.sources.interface import DatasetSpec
from hygiene.sources.platforms import PLATFORMS, platform


def required_permissions(name: str) -> list[str]:
    """Every distinct permission, scope or action the platform ``name`` needs, in catalogue order."""
    return platform(name).needs()


def _users(registry: Registry, dataset: DatasetSpec) -> list[str]:
    """The checks that use ``dataset``: those that require it or read it when present, or name one of its
    permissions (read when granted)."""
    return [
        c.meta.id
        for c in registry
        if dataset.name in (*c.meta.requires, *c.meta.optional)
        or any(p.split(" ")[0] in dataset.needs for p in c.meta.permissions)
    ]


def grant_json(only: str | None = None) -> object:
    """``hygiene permissions --json``: for one platform that takes a grant document (AWS: the IAM policy), that
    document alone, ready to apply; else per platform its permissions and each dataset with what it needs, its
    licence and the checks that use it."""
    if only is not None and (document := platform(only).grant_document) is not None:
        return document()
    registry = Registry.load(entry_points_too=False)
    described = [
        {
            "platform": spec.name,
            "title": spec.title,
            "permissions": spec.needs(),
            "datasets": [
                {
                    "name": d.name,
                    "what": d.what,
                    "needs": list(d.needs),
                    "licence": d.licence,
                    "optional": d.optional,
                    "used_by": _users(registry, d),
                }
                for d in spec.datasets
            ],
            **({"grant_document": spec.grant_document()} if spec.grant_document else {}),
        }
        for spec in PLATFORMS
        if only in (None, spec.name)
    ]
    return described[0] if only is not None else described


def describe(only: str | None = None) -> str:
    registry = Registry.load(entry_points_too=False)
    lines: list[str] = []
    for spec in PLATFORMS:
        if only not in (None, spec.name):
            continue
        lines.extend(spec.grant(spec))
        lines.append("\nWhat each dataset needs, and the checks that read it:")
        for dataset in spec.datasets:
            users = _users(registry, dataset)
            lines.append(f"  {dataset.name}: {dataset.what}")
            lines.append(f"      permissions: {', '.join(dataset.needs)}")
            if dataset.note:
                lines.append(f"      licence: {dataset.note}")
            if users:
                lines.append(f"      used by: {', '.join(users)}")
        lines.append("")
    return "\n".join(lines)


#: a tenant as the admin-consent endpoint takes it: its id (a GUID) or one of its verified domain names
TENANT_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
TENANT_DOMAIN = re.compile(r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.IGNORECASE)
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"


def admin_consent_url(
    tenant: str, client_id: str, authority_host: str = DEFAULT_AUTHORITY, redirect_uri: str | None = None
) -> str:
    """The link a customer's Global Administrator opens to consent to the (multi-tenant) app registration in their
    tenant: ``{authority}/{tenant}/adminconsent?client_id=...`` (Microsoft identity platform, "Grant tenant-wide
    admin consent to an application"). The tenant must be a GUID or a domain name, never "common" or
    "organizations" (that would consent in whichever tenant the admin happens to sign in to); ValueError else."""
    tenant = tenant.strip()
    if not (TENANT_GUID.fullmatch(tenant) or TENANT_DOMAIN.fullmatch(tenant)):
        raise ValueError(
            f"tenant {tenant!r}: give the customer's tenant id (a GUID) or one of its domain names "
            "(e.g. contoso.onmicrosoft.com)"
        )
    if not TENANT_GUID.fullmatch(client_id.strip()):
        raise ValueError(f"client id {client_id!r}: the app registration's application (client) id, a GUID")
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?", authority_host.rstrip("/")):
        raise ValueError(f"authority host {authority_host!r}: an https origin, e.g. {DEFAULT_AUTHORITY}")
    query = {"client_id": client_id.strip()}
    if redirect_uri is not None:
        query["redirect_uri"] = redirect_uri
    return f"{authority_host.rstrip('/')}/{quote(tenant.lower(), safe='')}/adminconsent?{urlencode(query)}"
