"""The vocabulary every layer shares: the areas a check belongs to, the severities it can have, and the report
formats a scan can write.

A leaf: it imports nothing of the package, so the check API, policy profiles, scoring and reports can all use it
without importing each other.
"""

from __future__ import annotations

from typing import Literal

Area = Literal["mfa", "accounts", "backup", "patching"]
Severity = Literal["critical", "high", "medium", "low"]
AREAS: tuple[Area, ...] = ("mfa", "accounts", "backup", "patching")
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")

#: report format -> file name, in the order files are written (the renderers are in :mod:`hygiene.reports`)
REPORT_FILE_NAMES: dict[str, str] = {
    "json": "report.json",
    "csv": "findings.csv",
    "html": "report.html",
    "md": "summary.md",
    "ocsf": "findings.ocsf.jsonl",
}
REPORT_FORMATS: tuple[str, ...] = tuple(REPORT_FILE_NAMES)
#: what a scan writes unless told otherwise: the OCSF export is for SIEMs and is asked for by name
DEFAULT_REPORT_FORMATS: tuple[str, ...] = ("json", "html", "csv", "md")
