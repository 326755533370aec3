"""What the email-authentication platform reads: public DNS records, for the domains the identity platforms list.

It has no credential and nothing to grant in a vendor console: the domains come from ``m365.domains``
(``Domain.Read.All``) and ``google.domains`` (``admin.directory.domain.readonly``), read before it in the scan, and
the records from the resolver ``[dns]`` names (default: the system resolver).
"""

from __future__ import annotations

from hygiene.sources.interface import DatasetSpec, OcsfCloud, PlatformSpec

DATASETS = (
    DatasetSpec(
        "email.records",
        "SPF, DMARC and DKIM records (DNS TXT) of every verified mail domain",
        ("dns:TXT (queries over UDP and TCP port 53 to the [dns] nameservers or the system resolver)",),
    ),
)

#: the datasets of other platforms it reads from the snapshot: a partial scan of its checks reads them too
READS_FROM = ("m365.domains", "google.domains")

GRANT = """Email authentication (public DNS, nothing to grant)
The domains come from the identity platforms: Microsoft 365 needs Domain.Read.All, Google Workspace the scope
https://www.googleapis.com/auth/admin.directory.domain.readonly. Add [dns] to the config to run these checks
(nameservers = [...] and port to use a resolver other than the system's); the scanning host must reach it.
"""


def grant(platform: PlatformSpec) -> list[str]:
    return [GRANT, "Access needed:", *(f"  - {need}" for need in platform.needs())]


PLATFORM = PlatformSpec(
    name="email",
    title="Email authentication (DNS)",
    datasets=DATASETS,
    source="hygiene.sources.email.source:EmailSource",
    grant=grant,
    ocsf=OcsfCloud("DNS", 99, "Other"),
    reads_from=READS_FROM,
)
