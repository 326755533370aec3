"""Azure reasoning shared by checks: gaps as ``Outcome.unseen``, ids compared case-insensitively, ages."""

from __future__ import annotations

from datetime import datetime

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
