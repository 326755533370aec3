"""Platform-neutral reasoning shared by checks: plain functions of values (no check API, no policy)."""

from __future__ import annotations

from datetime import date, datetime


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
