"""Platform-neutral reasoning shared by checks."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime

from hygiene.checkapi import CheckContext, Outcome
from hygiene.policy import LifecycleEntry, LifecycleTable, parse_version


@functools.lru_cache(maxsize=4096)
def version_key(text: str) -> tuple[int, ...]:
    """``hygiene.policy.parse_version``, memoised: a tenant's thousands of devices share a few dozen versions."""
    return parse_version(text)


def lifecycle_lookup(lifecycle: LifecycleTable) -> Callable[[str, str], LifecycleEntry | None]:
    """``lifecycle.lookup`` memoised per (platform, version) for one check run (the table is scanned linearly)."""
    cache: dict[tuple[str, str], LifecycleEntry | None] = {}

    def lookup(platform: str, version: str) -> LifecycleEntry | None:
        key = (platform, version)
        if key not in cache:
            cache[key] = lifecycle.lookup(platform, version)
        return cache[key]

    return lookup


def stale_reason(
    last_seen: datetime | None, created: datetime | None, now: datetime, inactive_days: int, grace_days: int
) -> str | None:
    """Why an account is stale, or None. Never-used accounts count once older than the grace period."""
    if last_seen is not None:
        age = (now - last_seen).days
        return f"no sign-in for {age} days (last {last_seen.date().isoformat()})" if age > inactive_days else None
    if created is None:
        return None
    age = (now - created).days
    return f"never signed in; created {age} days ago" if age > grace_days else None


def days_since(moment: datetime | date, now: datetime) -> int:
    day = moment.date() if isinstance(moment, datetime) else moment
    return (now.date() - day).days


def admin_count_detail(admins: list[str], low: int, high: int, role: str) -> str | None:
    """None when the count is within bounds, else what is wrong."""
    if low <= len(admins) <= high:
        return None
    listed = ", ".join(sorted(admins)) or "none"
    return f"{len(admins)} {role}s ({listed}); policy requires {low} to {high}"


def attested_outcome(ctx: CheckContext) -> Outcome | None:
    """A pass resting on the organisation's active attestations for this check, labelled attested; or None."""
    if not ctx.attestations:
        return None
    latest = max(ctx.attestations, key=lambda a: a.date)
    return Outcome(
        assessed=1,
        basis="attested",
        note=f"{latest.statement} (attested by {latest.attested_by} on {latest.date.isoformat()})",
        attestation_ids=tuple(a.id or "" for a in ctx.attestations),
    )
