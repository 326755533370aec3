"""The vocabulary every layer shares: the areas a check belongs to and the severities it can have.

A leaf: it imports nothing of the package, so the check API, policy profiles, scoring and reports can all use it
without importing each other.
"""

from __future__ import annotations

from typing import Literal

Area = Literal["mfa", "accounts", "backup", "patching"]
Severity = Literal["critical", "high", "medium", "low"]
AREAS: tuple[Area, ...] = ("mfa", "accounts", "backup", "patching")
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
