"""Hostile names (issue 12): the built-in Northwind scenarios with every free-text field a tenant controls
rewritten to carry markup, escape sequences, formulas, bidirectional overrides, lone surrogates, secret-looking
text, ``../`` paths and a few 1 MB strings.

Ids, UPNs, e-mail addresses and everything else the sources join records on are kept, so the scan still reads
the same objects; only the names change. Every hostile string contains :data:`MARKER`, so that a test can tell
whether a plain name leaked into an output that must not carry names (insurer and customer evidence packs).

The results of the hostile scan are not compared with the scenario's expected table: a device model or an
organisational-unit path is part of what some checks read. Tests assert properties of the outputs instead
(``tests/e2e/test_hostile_scenario.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hygiene_sandbox import northwind_dns as nw
from hygiene_sandbox.dns_server import DnsZone
from hygiene_sandbox.expectation import JsonDict
from hygiene_sandbox.northwind import northwind
from hygiene_sandbox.scenario import Scenario

if TYPE_CHECKING:  # the AWS sandbox needs moto, an optional extra
    from hygiene_sandbox.aws.scenario import AwsScenario
    from hygiene_sandbox.azure_scenario import AzureScenario
    from hygiene_sandbox.google import GoogleScenario

#: in every hostile string (case as written); a pack that must carry no names must not contain it
MARKER = "Zebulon"
#: in the organisation's name: the demo writes the tenant's name into the config, where it is the operator's name
#: for the client, which every pack (insurer and customer too) carries by design
ORG_MARKER = "Quillfeather"
#: the size of the few very long strings
BIG = 1_000_000
#: an AWS access key id in shape only (AKIA + 16 characters of the key alphabet): not a key
FAKE_KEY_ID = "AKIA" + "ZQXWVUTSRPONMLKJ"

#: every payload; ``{m}`` is replaced by the marker and a serial number
PAYLOADS: tuple[str, ...] = (
    "[link=http://evil.example]{m}[/link] [/] [bold red]x",
    "CA005 [/] legacy {m}",
    "\x1b[2J\x1b[31m{m}\x1b]8;;http://evil.example\x07click\x1b]8;;\x07\x07",
    "\x9b31m{m}\x9d8;;http://evil.example\x9c\x85\x90x\x9c",
    "\u202e{m}fdp.exe\u202c \u2066x\u2069 \u200f",
    "{m}\u2028line\u2029para\u0085nel\r\nCR\rLF\nVT\x0bFF\x0c",
    "=1+1 {m}",
    "x;=1337*2;y {m}",
    "@SUM(A1:A9) {m}",
    "+cmd|' /C calc'!A0 {m}",
    "-2+3 {m}",
    '{m}\t=HYPERLINK("http://evil.example")',
    "<img src=x onerror=\"document.title='pwned'\">{m}",
    "<script>document.title='pwned'</script>{m}",
    '"><svg onload=alert(1)>{m}',
    "javascript:alert(1)//{m}",
    "</td></tr></table><a href='http://evil.example'>{m}</a>",
    "[a](http://evil.example) | {m} | --- |\n| b | c |",
    "*{m}* _x_ `code` # heading <http://evil.example>",
    "<http://evil.example|{m} click> <!channel> @here",
    "{{{{7*7}}}} ${{7*7}} {m} %s %n",
    "../../etc/passwd {m}",
    "{m} \ud800 lone \udfff surrogates",
    f"{{m}} {FAKE_KEY_ID}",
    # secret-looking, not a key; the armour is assembled so that no key-shaped line is committed
    "-----BEGIN " + "PRIVATE KEY-----\n{m}\n-----END " + "PRIVATE KEY-----",
)


def _big(n: int) -> str:
    unit = f"<b>{MARKER}big{n}</b>;=1+1 \x1b[2J\u202e[link=http://evil.example]x[/link] | "
    return (unit * (BIG // len(unit) + 1))[:BIG]


def organisation_name() -> str:
    """A hostile organisation name: Slack and Teams link syntax, markup, controls, a lone surrogate."""
    return (
        f"<http://evil.example|{ORG_MARKER}> <!channel> [click](http://evil.example) **Ltd** "
        "[link=http://evil.example]x[/link] \x1b[2J\u202e \ud800 <img src=x onerror=alert(1)> =1+1"
    )


def xml_safe(text: str) -> str:
    """What an XML 1.0 answer (EC2, Organizations) can carry: no C0 controls but tab/LF/CR, no surrogates."""
    return "".join(
        c for c in text if (c >= " " or c in "\t\n\r") and not 0xD800 <= ord(c) <= 0xDFFF and c not in "\ufffe\uffff"
    )


class Names:
    """Hands out the payloads in turn, each with a serial-numbered marker (and 1 MB names on request)."""

    def __init__(self, *, xml: bool = False) -> None:
        self._serial = itertools.count(1)
        self._cycle: Iterator[str] = itertools.cycle(PAYLOADS)
        self._xml = xml

    def __call__(self) -> str:
        text = next(self._cycle).format(m=f"{MARKER}{next(self._serial)}")
        return xml_safe(text) if self._xml else text

    def big(self) -> str:
        """A 1 MB name."""
        return _big(next(self._serial))

    def marker(self) -> str:
        """The marker with the next serial number, alone."""
        return f"{MARKER}{next(self._serial)}"


#: failing resources whose names become 1 MB long (so that the caps are exercised where findings show them)
BIG_M365_DEVICE = "DANIEL-IMAC"
BIG_CA_POLICY = "CA005"
BIG_CHROME_SERIAL = "NXHPQEK001"


def _set(record: JsonDict, key: str, names: Names) -> None:
    if record.get(key):
        record[key] = names()


def hostile_m365(scenario: Scenario, names: Names | None = None) -> Scenario:
    """Microsoft 365 and (when present) the Google and Azure sides, renamed in place and returned."""
    names = names or Names()
    big_device = [d for d in scenario.managed_devices if d.get("deviceName") == BIG_M365_DEVICE]
    big_policy = [p for p in scenario.ca_policies if str(p.get("displayName", "")).startswith(BIG_CA_POLICY)]
    for user in scenario.users:
        for key in ("displayName", "givenName", "surname", "jobTitle", "department", "officeLocation"):
            _set(user, key, names)
    if scenario.users:
        scenario.users[0]["displayName"] = names.big()
    display = {u["id"]: u.get("displayName") for u in scenario.users}
    for row in scenario.registrations:
        if row.get("id") in display:
            row["userDisplayName"] = display[row["id"]]
    for group in scenario.groups.values():
        _set(group, "displayName", names)
        _set(group, "description", names)
    for device in scenario.directory_devices.values():
        _set(device, "displayName", names)
    for policy in scenario.ca_policies:
        _set(policy, "displayName", names)
    for policy in scenario.compliance_policies:
        _set(policy, "displayName", names)
        _set(policy, "description", names)
    for definition in scenario.role_definitions:
        if definition.get("isBuiltIn") is False:
            _set(definition, "displayName", names)
    for device in scenario.managed_devices:
        for key in ("deviceName", "managedDeviceName", "model", "manufacturer", "serialNumber", "userDisplayName"):
            _set(device, key, names)
        if device.get("userId") in display:
            device["userDisplayName"] = display[device["userId"]]
    # enterprise apps and app registrations: names and credential names are the tenant's (or a publisher's) text
    app_names: dict[str, str] = {}
    for sp in scenario.service_principals:
        _set(sp, "displayName", names)
        sp["appDisplayName"] = app_names[str(sp["appId"])] = sp["displayName"]
    for grant in scenario.graph_grants:
        grant["principalDisplayName"] = next(
            (sp["displayName"] for sp in scenario.service_principals if sp["id"] == grant["principalId"]), None
        )
    for app in scenario.applications:
        app["displayName"] = app_names.get(str(app["appId"])) or names()
        for credential in [*app.get("passwordCredentials", []), *app.get("keyCredentials", [])]:
            _set(credential, "displayName", names)
    for record, key in [*((d, "deviceName") for d in big_device), *((p, "displayName") for p in big_policy)]:
        record[key] = names.big()
    # Defender for Endpoint: machine names come from the devices themselves, software names from what is installed
    for machine in scenario.defender_machines:
        _set(machine, "computerDnsName", names)
        for index, _ in enumerate(machine.get("machineTags") or []):
            machine["machineTags"][index] = names()
    machine_names = {m["id"]: m.get("computerDnsName") for m in scenario.defender_machines}
    for row in scenario.defender_vulnerabilities:
        row["deviceName"] = machine_names.get(row["deviceId"], row.get("deviceName"))
        _set(row, "softwareName", names)
        _set(row, "recommendedSecurityUpdate", names)
    scenario.organization_name = organisation_name()
    if scenario.google is not None:
        hostile_google(scenario.google, names)
    if scenario.azure is not None:
        hostile_azure(scenario.azure, names)
    if scenario.dns is not None:
        hostile_dns(scenario.dns.zone, names)
    scenario.description = "Northwind with hostile names (issue 12)"
    return scenario


def hostile_google(google: GoogleScenario, names: Names) -> None:
    """The Leeds office, renamed in place."""
    for user in google.users:
        name = user.get("name") or {}
        for key in ("givenName", "familyName", "fullName"):
            _set(name, key, names)
        if user.get("orgUnitPath"):
            user["orgUnitPath"] = "/" + names()
    full = {u["primaryEmail"]: (u.get("name") or {}).get("fullName") for u in google.users}
    for role in google.roles:
        if not role.get("isSystemRole"):
            _set(role, "roleName", names)
        _set(role, "roleDescription", names)
    for group in google.groups:
        _set(group, "name", names)
        _set(group, "description", names)
    for device in google.mobile_devices:
        emails = device.get("email") or []
        device["name"] = [full.get(e) or names() for e in emails] or [names()]
        for key in ("model", "manufacturer", "brand", "hardware", "serialNumber", "buildNumber"):
            _set(device, key, names)
    big_chrome = [d for d in google.chromeos_devices if d.get("serialNumber") == BIG_CHROME_SERIAL]
    for device in google.chromeos_devices:
        for key in ("model", "annotatedLocation", "annotatedAssetId", "notes", "serialNumber", "annotatedUser"):
            _set(device, key, names)
        device["annotatedLocation"] = names()
        device["notes"] = names()
        if device.get("orgUnitPath"):
            device["orgUnitPath"] = "/" + names()
    for device in google.ci_devices:
        for key in ("model", "manufacturer", "hostname", "serialNumber"):
            _set(device, key, names)
    for device in big_chrome:
        device["serialNumber"] = names.big()
        device["annotatedUser"] = names.big()
    google.organization_name = organisation_name()


def hostile_azure(azure: AzureScenario, names: Names) -> None:
    """The Azure subscription renamed in place: what a tenant (or a compromised machine) controls as free text,
    ids and resource names (which ARM restricts to plain characters) kept. The subscription's display name, backup
    items' and Backup vault instances' friendly names (and the jobs that name them), update names, the OS name an
    Arc server's agent reports; one subscription name 1 MB long."""
    for subscription in azure.subscriptions:
        subscription.display_name = names()
    if azure.subscriptions:
        azure.subscriptions[0].display_name = names.big()
    renamed: dict[str, str] = {}
    for table in ("recoveryservicesresources", "dataprotectionresources"):
        for row in azure.tables.get(table, []):
            props = row.get("properties") or {}
            if row["type"].endswith(("/protecteditems", "/backupinstances")) and props.get("friendlyName"):
                renamed[props["friendlyName"]] = props["friendlyName"] = names()
    for table in ("recoveryservicesresources", "dataprotectionresources"):
        for row in azure.tables.get(table, []):
            props = row.get("properties") or {}
            for key in ("entityFriendlyName", "backupInstanceFriendlyName"):
                if props.get(key):
                    props[key] = renamed.get(props[key]) or names()
    for row in azure.tables.get("patchassessmentresources", []):
        _set(row.get("properties") or {}, "patchName", names)
    for row in azure.tables.get("resources", []):
        if row["type"] == "microsoft.hybridcompute/machines":
            _set(row["properties"], "osSku", names)


def _label(names: Names) -> str:
    """One DNS label (at most 63 bytes) carrying markup, an escape code and the marker."""
    return f"<svg/onload=alert(1)>\x1b[31m{names.marker()}"[:63]


def hostile_dns(zone: DnsZone, names: Names) -> None:
    """Northwind's DNS, rewritten in place: what a domain's owner (or whoever took over its DNS) publishes. The
    domains themselves stay (Microsoft 365 and Google list them); their TXT records carry the payloads: SPF terms,
    DMARC tags (``p``, ``sp`` inherited by a subdomain, a ``rua`` with a ``javascript:`` URI and one with markup),
    a DKIM CNAME to a name with markup in it, a record split in many character-strings across multi-byte
    characters, bytes that are not UTF-8 (``\\udcff`` becomes the byte 0xFF), lone surrogates, a 50 kB record."""
    records = zone.records
    records[nw.GOOD]["TXT"].append(f"hostile-verification={names()}")
    # SPF: unparsable terms beside real ones, in a domain's own record and in an included one
    records[nw.SOFT]["TXT"] = [f"v=spf1 include:spf.protection.outlook.com {names()} {names()} ~all"]
    records[nw.LEEDS]["TXT"] = ["google-site-verification=" + names(), f"v=spf1 include:_spf.google.com {names()} ~all"]
    records[f"_spf2.{nw.OFFERS}"]["TXT"] = [f"v=spf1 a:mail.{nw.OFFERS} mx ptr {names()} -all"]
    records[f"_spf3.{nw.OFFERS}"]["TXT"] = [
        f"v=spf1 exists:%{{i}}._ip.{nw.OFFERS} include:{_label(names)}.evil.example -all"
    ]
    # DMARC: hostile p and sp (the subdomain eu.northwind-dental.example inherits sp), rua with javascript: and markup
    records[f"_dmarc.{nw.SOFT}"]["TXT"] = [
        f"v=DMARC1; p={names()}; sp={names()}; rua=javascript:alert(1)//{names.marker()}"
    ]
    records[f"_dmarc.{nw.GOOD}"]["TXT"] = [
        f"v=DMARC1; p=reject; rua=mailto:dmarc-reports@{nw.GOOD},mailto:<script>alert(1)</script>{MARKER}@x.example"
    ]
    records[f"_dmarc.{nw.DOUBLE}"]["TXT"] = [
        f"v=DMARC1; p=quarantine; pct={names()}; rua=mailto:d@{nw.GOOD}; x=" + names.big()[:50_000]
    ]
    # DKIM: a selector CNAME to a name with markup and an escape code in its first label
    records[f"selector1._domainkey.{nw.SOFT}"] = {"CNAME": [f"{_label(names)}.evil.example"]}
    # a key record in many 255-byte strings, cut inside two-byte characters, with bytes that are not UTF-8
    records[f"google._domainkey.{nw.LEEDS}"]["TXT"] = [
        "v=DKIM1; k=rsa; n=" + "\u00e9" * 700 + f" {names()} \udcff\udcfe {MARKER}; p=" + names()
    ]


def hostile_aws(scenario: AwsScenario, names: Names | None = None) -> AwsScenario:
    """The AWS organisation renamed in place: account names, EC2 ``Name`` tags, the names AWS Backup reports
    for protected resources, SSM computer names. EC2 and Organizations answer in XML, so their names carry
    what XML 1.0 can (no C0 controls, no surrogates); the JSON services carry everything."""
    names = names or Names()
    xml = Names(xml=True)
    for account in scenario.accounts:
        # Organizations: 1-50 printable ASCII characters
        account.name = "".join(c for c in xml() if " " <= c <= "~")[:50]
        for instance in account.instances:
            if instance.name is not None:
                instance.name = xml()[:256]
        for resource in account.protected_resources:
            resource.name = names.big() if resource is account.protected_resources[0] else names()
        for node in account.managed_instances:
            node.computer_name = names()
    scenario.description = "Northwind AWS with hostile names (issue 12)"
    return scenario


def hostile_northwind(now: datetime | None = None, **variant: Any) -> Scenario:
    """Northwind Dental (Microsoft 365, the Leeds Google Workspace office, the Azure subscription) with hostile
    names."""
    return hostile_m365(northwind(now, **variant), Names())


def hostile_northwind_aws(now: datetime | None = None) -> AwsScenario:
    """Northwind Dental's AWS organisation with hostile names (1 MB names in AWS Backup's JSON)."""
    from hygiene_sandbox.aws.northwind import northwind_aws

    return hostile_aws(northwind_aws(now), Names())
