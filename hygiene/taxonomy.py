"""The vocabulary every layer shares: the areas a check belongs to, the severities it can have, and the report
formats a scan can write.

A leaf: it imports nothing of the package, so the check API, policy profiles, scoring and reports can all use it
without importing each other.
"""

from __future__ import annotations

from typing import Literal

Area = Literal["mfa", "accounts", "backup", "patching", "endpoint", "email"]
Severity = Literal["critical", "high", "medium", "low"]
AREAS: tuple[Area, ...] = ("mfa", "accounts", "backup", "patching", "endpoint", "email")
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")

#: the report formats, in the order files are written: the vocabulary the config validates ``formats`` against; the
#: renderers (and their file names) are registered in :mod:`hygiene.reports.formats`, a test keeps the two in step
REPORT_FORMATS: tuple[str, ...] = ("json", "csv", "html", "md", "ocsf")
#: what a scan writes unless told otherwise: the OCSF export is for SIEMs and is asked for by name
DEFAULT_REPORT_FORMATS: tuple[str, ...] = ("json", "html", "csv", "md")
