"""Plain words for owners: product names for licence part numbers, release names for Windows builds, notes
without API names, and a glossary of the terms a report uses (explained on first use).

Every function takes text and returns text (``str``), never markup, so whatever it is given - vendor text
included - is escaped by the template like any other value; only :class:`Glossary` returns markup, built by
escaping its input and wrapping the glossary's own constant terms.

The data is shipped with the package, dated: ``data/licence-names.csv`` (Microsoft's "Product names and
service plan identifiers for licensing") and the Windows 11 rows of ``policies/lifecycle/os.yaml``; it is read
once, like the templates, never from the scanned organisation.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from importlib import resources

from markupsafe import Markup, escape

from hygiene.policy import load_lifecycle

#: Windows 10 feature updates by build (https://learn.microsoft.com/windows/release-health/release-information);
#: Windows 11 releases come from the lifecycle table
WINDOWS_10_RELEASES: dict[int, str] = {
    10240: "1507",
    10586: "1511",
    14393: "1607",
    15063: "1703",
    16299: "1709",
    17134: "1803",
    17763: "1809",
    18362: "1903",
    18363: "1909",
    19041: "2004",
    19042: "20H2",
    19043: "21H1",
    19044: "21H2",
    19045: "22H2",
}

_WINDOWS_BUILD = re.compile(r"\b10\.0\.(\d{5})(\.\d+)?\b")
_WINDOWS_11_ENTRY = re.compile(r"10\.0\.(\d{5})")


@lru_cache(maxsize=1)
def licence_names() -> dict[str, str]:
    """Product display name by SKU part number, from the shipped CSV."""
    text = resources.files("hygiene.reports").joinpath("data/licence-names.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if line and not line.startswith("#"))
    return {row["String_Id"]: row["Product_Display_Name"] for row in rows}


def product_name(sku: str) -> str:
    """ "SPB" -> "Microsoft 365 Business Premium"; a part number not in the table is returned as it is."""
    return licence_names().get(sku, sku)


@lru_cache(maxsize=1)
def windows_releases() -> dict[int, str]:
    """Release name by Windows build number: Windows 10 from the table above, Windows 11 from os.yaml."""
    names = {build: f"Windows 10 {release}" for build, release in WINDOWS_10_RELEASES.items()}
    for entry in load_lifecycle().entries:
        match = _WINDOWS_11_ENTRY.fullmatch(entry.min_version)
        if entry.platform == "windows" and match and entry.name.startswith("Windows 11 "):
            names[int(match.group(1))] = entry.name
    return names


def windows_release(build: int) -> str | None:
    """ "Windows 11 24H2" for 26100, None for a build the tables do not know."""
    return windows_releases().get(build)


def _name_build(match: re.Match[str]) -> str:
    build = int(match.group(1))
    release = windows_release(build)
    full = f"{build}{match.group(2) or ''}"
    return f"{release}, build {full}" if release else f"Windows build {full}"


def name_os_builds(text: str) -> str:
    """Windows version numbers as release names: "10.0.26100.2033" -> "Windows 11 24H2, build 26100.2033"."""
    named = _WINDOWS_BUILD.sub(_name_build, text)
    # "Windows 10 (Windows 10 22H2, build 19045.6456)" -> "Windows 10 (22H2, build 19045.6456)"
    return re.sub(r"\b(Windows 1[01]) \(\1 ", r"\1 (", named)


_API_PREFIX = re.compile(r"^[a-z]+[A-Z]\w*:\s*")
_API_ACTION = re.compile(r",?\s*\b[a-z][a-z0-9-]*:[A-Z]\w+\b")
_API_NAME_ALONE = re.compile(r"^[a-z]+[A-Z]\w*$")


def plain_note(note: str) -> str:
    """A check's note without the API names it cites (they stay in report.json): "signInActivity: successful
    sign-ins only" -> "successful sign-ins only"; a note that is only an API name becomes ""."""
    text = note.strip()
    if _API_NAME_ALONE.match(text):
        return ""
    text = _API_PREFIX.sub("", text)
    text = _API_ACTION.sub("", text)
    text = re.sub(r"\(\s*\)", "", text)
    return " ".join(text.split()).strip(" ;,")


def plain(text: str | None) -> str:
    """Text for owners: Windows builds named."""
    return name_os_builds(text or "")


#: term -> what it means, in a line an owner understands
GLOSSARY: dict[str, str] = {
    "MFA": "multi-factor authentication: a second proof besides the password (an app prompt, a code, a key)",
    "2-Step Verification": "Google's name for multi-factor authentication (MFA)",
    "RPO": "recovery point objective: the most recent work you can afford to lose; a backup older than this misses it",
    "Conditional Access": "Microsoft Entra rules that decide when a sign-in must use MFA or is blocked",
    "Security defaults": "Microsoft's free baseline that turns on MFA for everyone",
    "PIM": "Privileged Identity Management: admin roles that are held only when activated",
    "IAM": "Identity and Access Management: AWS's users, roles and access keys",
    "root user": "the AWS account's all-powerful first login, meant to be locked away",
    "Vault Lock": "an AWS Backup setting that makes backups impossible to delete early, even by an administrator",
    "Systems Manager": "the AWS service that patches and inventories servers through an agent",
    "RDS": "Amazon's managed databases",
    "EC2": "Amazon's virtual servers",
    "Intune": "Microsoft's device management",
    "legacy authentication": "old mail protocols (IMAP, POP, SMTP) that accept a password alone, skipping MFA",
}

_TERMS = re.compile("|".join(rf"\b{re.escape(term)}\b" for term in sorted(GLOSSARY, key=len, reverse=True)))


class Glossary:
    """Explains each glossary term where a report first uses it (``<abbr title=…>``), once per report, and
    remembers which terms were used for the glossary at the end."""

    def __init__(self) -> None:
        self.used: list[str] = []

    def __call__(self, text: str | None) -> Markup:
        """``text`` escaped, with the first use in the report of each glossary term explained."""
        value = plain(text)
        out: list[Markup] = []
        position = 0
        for match in _TERMS.finditer(value):
            term = match.group(0)
            if term in self.used:
                continue
            self.used.append(term)
            out.append(escape(value[position : match.start()]))
            # Markup.format escapes its arguments: the term and its meaning are the glossary's constants anyway
            out.append(Markup('<abbr title="{}">{}</abbr>').format(GLOSSARY[term], term))
            position = match.end()
        out.append(escape(value[position:]))
        return Markup("").join(out)

    def entries(self) -> list[tuple[str, str]]:
        """The terms used so far with their meaning, in the order of first use."""
        return [(term, GLOSSARY[term]) for term in self.used]
