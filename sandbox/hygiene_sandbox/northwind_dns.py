"""Northwind Dental's mail domains and their DNS: the email-authentication scenario (SPF, DMARC, DKIM).

Microsoft 365 (Graph ``/domains``):
- northwind.example (default): all good. ``v=spf1 include:spf.protection.outlook.com -all``; DMARC p=reject with a
  rua address; selector1/selector2 CNAMEs to the tenant's onmicrosoft.com keys.
- northwind-dental.example: SPF ends ~all (a pass with a reservation); DMARC p=none, sp=none (fails); selector1 is
  published but selector2 is not (DKIM fails).
- northwindsmile.example: two SPF records (SPF fails: permerror); DMARC p=quarantine but pct=50 (fails); DKIM good
  in the May 2025 format (CNAMEs to ``*.dkim.mail.microsoft``; selector2 inactive: no key behind it yet).
- nwdental-offers.example: SPF needs 12 DNS lookups through its includes (fails); DMARC p=quarantine with sp=reject
  and rua (passes); no DKIM selector at all (fails).
- news.nwdental-offers.example: SPF and DKIM good, no DMARC record of its own: it inherits sp=reject from
  _dmarc.nwdental-offers.example, its organisational domain (RFC 7489 6.6.3: DMARC passes).
- eu.northwind-dental.example: SPF and DKIM good, no DMARC record of its own: it inherits sp=none from
  _dmarc.northwind-dental.example (p=none; sp=none: DMARC fails).
- northwinddental.onmicrosoft.com (the initial domain: Microsoft's DNS, not judged), an unverified domain and a
  verified domain without the Email service (neither judged).
Google Workspace, the Leeds office (Directory ``domains.list``):
- northwind-leeds.example (primary): SPF ``include:_spf.google.com ~all`` (a pass, reservation); DMARC p=quarantine
  with rua (passes); google._domainkey has an empty p= (a revoked key: DKIM fails).
- the alias leeds-smiles.example: its nameservers answer SERVFAIL to everything (not assessed for it; the checks
  fail on the other domains anyway).

The ``expected`` tables below are written by hand from these defects.
"""

from __future__ import annotations

from typing import Any

from hygiene_sandbox.dns_server import DnsScenario, DnsZone
from hygiene_sandbox.expectation import fails

JsonDict = dict[str, Any]

GOOD = "northwind.example"
SOFT = "northwind-dental.example"
DOUBLE = "northwindsmile.example"
OFFERS = "nwdental-offers.example"
#: subdomains with no DMARC record of their own: the one inherits sp=reject, the other sp=none
NEWS = f"news.{OFFERS}"
EU = f"eu.{SOFT}"
INITIAL = "northwinddental.onmicrosoft.com"
UNVERIFIED = "northwind-new.example"
NO_MAIL = "intranet.northwind.example"
LEEDS = "northwind-leeds.example"
LEEDS_ALIAS = "leeds-smiles.example"

#: the tenant's DKIM key records as Microsoft publishes them (a 1024-bit RSA key, base64, as a placeholder)
_KEY = (
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDGMjj8MVHEs5Dh2oELZk1ta4ZsJsgRTlNL3AOKjo6D6cEaTXW6N0Lw"
    "pNGRcYyvAjm5Y0oo2vpSZTXxdyCnp2g3U5sOeB4wsDGZ0sfdU5cHhBxpLAR+ofgc2aHcBjkCSqDWVnvT8m7Hq9d9wODmh1w2TdT4TXbT7pJ4V"
    "EfHrxbnjQIDAQAB"
)
_MS_SPF = "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/14 ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 -all"


def _selector_cnames(domain: str, *, new_format: bool = False) -> dict[str, dict[str, list[str]]]:
    """Microsoft's two selector CNAMEs and the keys behind them: the format of domains added before May 2025
    (targets under the initial domain, both keys published) or the newer one (targets under
    ``<prefix>.<partition>-v1.dkim.mail.microsoft``; only the active selector1 has a key, selector2 waits for a
    rotation)."""
    dashed = domain.replace(".", "-")
    out: dict[str, dict[str, list[str]]] = {}
    for number, selector in enumerate(("selector1", "selector2"), 1):
        where = f"northwinddental.r-v{number}.dkim.mail.microsoft" if new_format else INITIAL
        target = f"{selector}-{dashed}._domainkey.{where}"
        out[f"{selector}._domainkey.{domain}"] = {"CNAME": [target]}
        if not new_format or selector == "selector1":
            out[target] = {"TXT": [_KEY]}
    return out


def graph_domains() -> list[JsonDict]:
    """The tenant's Graph ``domain`` objects (https://learn.microsoft.com/graph/api/resources/domain)."""

    def domain(name: str, *, verified: bool = True, default: bool = False, services: tuple[str, ...]) -> JsonDict:
        return {
            "id": name,
            "authenticationType": "Managed",
            "availabilityStatus": None,
            "isAdminManaged": True,
            "isDefault": default,
            "isInitial": name == INITIAL,
            "isRoot": True,
            "isVerified": verified,
            "supportedServices": list(services),
            "passwordNotificationWindowInDays": None,
            "passwordValidityPeriodInDays": None,
            "state": None,
        }

    mail = ("Email", "OfficeCommunicationsOnline")
    return [
        domain(GOOD, default=True, services=mail),
        domain(SOFT, services=mail),
        domain(DOUBLE, services=mail),
        domain(OFFERS, services=("Email",)),
        domain(NEWS, services=("Email",)),
        domain(EU, services=mail),
        domain(INITIAL, services=mail),
        domain(UNVERIFIED, verified=False, services=()),
        domain(NO_MAIL, services=("OfficeCommunicationsOnline",)),
    ]


def google_domains() -> list[JsonDict]:
    """The Leeds customer's Directory ``Domains`` resources (admin directory_v1 discovery, schema ``Domains``)."""
    return [
        {
            "kind": "admin#directory#domain",
            "etag": '"leeds-domain"',
            "domainName": LEEDS,
            "isPrimary": True,
            "verified": True,
            "creationTime": "1609459200000",
            "domainAliases": [
                {
                    "kind": "admin#directory#domainAlias",
                    "etag": '"leeds-alias"',
                    "domainAliasName": LEEDS_ALIAS,
                    "parentDomainName": LEEDS,
                    "verified": True,
                    "creationTime": "1640995200000",
                }
            ],
        }
    ]


def zone() -> DnsZone:
    records: dict[str, dict[str, list[str]]] = {
        # what the includes point at (Microsoft's and Google's published records, shortened)
        "spf.protection.outlook.com": {"TXT": [_MS_SPF]},
        "_spf.google.com": {"TXT": ["v=spf1 include:_netblocks.google.com include:_netblocks2.google.com ~all"]},
        "_netblocks.google.com": {"TXT": ["v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ~all"]},
        "_netblocks2.google.com": {"TXT": ["v=spf1 ip6:2001:4860:4000::/36 ~all"]},
        # the good domain, with an unrelated verification record beside its SPF record
        GOOD: {"TXT": ["MS=ms18457309", "v=spf1 include:spf.protection.outlook.com -all"]},
        f"_dmarc.{GOOD}": {"TXT": [f"v=DMARC1; p=reject; rua=mailto:dmarc-reports@{GOOD}; adkim=s"]},
        **_selector_cnames(GOOD),
        # ~all, p=none, selector2 missing
        SOFT: {"TXT": ["v=spf1 include:spf.protection.outlook.com ~all"]},
        f"_dmarc.{SOFT}": {"TXT": [f"v=DMARC1; p=none; sp=none; rua=mailto:dmarc-reports@{GOOD}"]},
        **{k: v for k, v in _selector_cnames(SOFT).items() if not k.startswith("selector2")},
        # two SPF records, pct=50
        DOUBLE: {
            "TXT": [
                "v=spf1 include:spf.protection.outlook.com -all",
                "v=spf1 ip4:203.0.113.25 -all",
            ]
        },
        f"_dmarc.{DOUBLE}": {"TXT": [f"v=DMARC1; p=quarantine; pct=50; rua=mailto:dmarc-reports@{GOOD}"]},
        **_selector_cnames(DOUBLE, new_format=True),
        # 12 lookups: 5 here, 3 in _spf1 (a, mx, include), 3 in _spf2 (a, mx, ptr), 1 in _spf3 (exists)
        OFFERS: {
            "TXT": [
                f"v=spf1 mx a include:_spf1.{OFFERS} include:_spf2.{OFFERS} include:spf.protection.outlook.com -all"
            ]
        },
        f"_spf1.{OFFERS}": {"TXT": [f"v=spf1 a mx include:_spf3.{OFFERS} -all"]},
        f"_spf2.{OFFERS}": {"TXT": ["v=spf1 a:mail.nwdental-offers.example mx ptr -all"]},
        f"_spf3.{OFFERS}": {"TXT": [f"v=spf1 exists:%{{i}}._ip.{OFFERS} -all"]},
        f"_dmarc.{OFFERS}": {"TXT": [f"v=DMARC1; p=quarantine; sp=reject; rua=mailto:dmarc-reports@{GOOD}"]},
        # subdomains without a DMARC record of their own (SPF and DKIM good): inheriting sp=reject, and sp=none
        NEWS: {"TXT": ["v=spf1 include:spf.protection.outlook.com -all"]},
        **_selector_cnames(NEWS),
        EU: {"TXT": ["v=spf1 include:spf.protection.outlook.com -all"]},
        **_selector_cnames(EU),
        # Google Workspace (Leeds): ~all, DMARC quarantine, a revoked DKIM key (empty p=)
        LEEDS: {"TXT": ["google-site-verification=Zk3fQ0aLeedsSite", "v=spf1 include:_spf.google.com ~all"]},
        f"_dmarc.{LEEDS}": {"TXT": [f"v=DMARC1; p=quarantine; rua=mailto:postmaster@{LEEDS}"]},
        f"google._domainkey.{LEEDS}": {"TXT": ["v=DKIM1; k=rsa; p="]},
        LEEDS_ALIAS: {"TXT": ["v=spf1 include:_spf.google.com -all"]},
    }
    return DnsZone(records=records, failing=[LEEDS_ALIAS])


def northwind_dns(*, google: bool) -> DnsScenario:
    """The zone, and the expected results with the Leeds office (``google``) scanned or not."""
    leeds = {LEEDS} if google else set()
    return DnsScenario(
        zone=zone(),
        expected={
            "email.spf": fails(DOUBLE, OFFERS),
            "email.dmarc": fails(SOFT, DOUBLE, EU),
            "email.dkim": fails(SOFT, OFFERS, *leeds),
        },
    )
