"""Azure reasoning shared by checks: gaps as ``Outcome.unseen``, ids compared case-insensitively, ages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hygiene.model import AzureData, ReasonKind


def unseen(data: AzureData, *datasets: str) -> tuple[tuple[ReasonKind, str], ...]:
    """The subscription gaps of these datasets, for Outcome.unseen: a check never passes what it did not see."""
    found: dict[tuple[ReasonKind, str], None] = {}
    for gap in data.gaps:
        if gap.dataset in datasets:
            needs = f"; needs {', '.join(gap.needs)}" if gap.needs and "grant" not in gap.reason else ""
            found.setdefault((gap.reason_kind, gap.reason + needs), None)
    return tuple(found)


def key(resource_id: str | None) -> str:
    """An ARM resource id as a comparison key: Azure returns ids in varying case (``/Subscriptions/...``)."""
    return (resource_id or "").rstrip("/").lower()


def age(moment: datetime, now: datetime) -> str:
    delta = now - moment
    return f"{delta.days}d {delta.seconds // 3600}h"


def same(value: str | None, *choices: str) -> bool:
    """``value`` is one of ``choices``, ignoring case (Azure's enum spellings vary between tables)."""
    return value is not None and value.lower() in {c.lower() for c in choices}


def whole_setting(plugins: dict[str, dict[str, Any]], check_id: str, name: str, default: int) -> int:
    """A check's own profile setting, ``thresholds.plugins."<check_id>".<name>``: a whole number from 1, else
    ValueError saying what the profile holds."""
    value = plugins.get(check_id, {}).get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"the profile's {name} must be a whole number from 1, not {value!r}")
    return value
