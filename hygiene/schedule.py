"""Cron schedules with standard crontab meaning, on APScheduler 3.x.

APScheduler's ``CronTrigger.from_crontab`` counts numeric weekdays from Monday = 0, so "1-5" would fire Tuesday
to Saturday; standard crontab (and the config's ``[schedule] cron``) counts Sunday = 0 (and 7). Numeric weekdays
are therefore translated to day names before the trigger is built.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NAMES = {name: index for index, name in enumerate(DAY_NAMES)}


class ScheduleError(ValueError):
    pass


def _day_number(token: str) -> int:
    token = token.strip().lower()
    if token.isdigit():
        number = int(token)
        if not 0 <= number <= 7:
            raise ScheduleError(f"day of week {token!r} is not 0-7")
        return number % 7
    if token[:3] in _NAMES:
        return _NAMES[token[:3]]
    raise ScheduleError(f"day of week {token!r} is not a number 0-7 or a day name")


def translate_day_of_week(field: str) -> str:
    """Standard crontab day-of-week field -> APScheduler's, as explicit day names (Sunday = 0 or 7)."""
    if field in ("*", "?"):
        return "*"
    days: list[int] = []
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise ScheduleError(f"bad step in day of week {field!r}")
            step = int(step_text)
        if part in ("*", "?"):
            start, end = 0, 6
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = _day_number(first), _day_number(last)
            if last.strip() == "7":
                end = 7
            if end < start:
                raise ScheduleError(f"day range {part!r} runs backwards")
        else:
            start = end = _day_number(part)
        days.extend(d % 7 for d in range(start, end + 1, step))
    ordered = sorted(set(days), key=lambda d: (d - 1) % 7)  # Monday first, as APScheduler lists them
    return ",".join(DAY_NAMES[d] for d in ordered)


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {name!r} (use an IANA name such as Europe/London)") from None


def cron_trigger(expression: str, timezone: str = "UTC") -> CronTrigger:
    """A trigger from a five-field crontab expression with standard meaning."""
    fields = re.split(r"\s+", expression.strip())
    if len(fields) != 5:
        raise ScheduleError(f"cron {expression!r}: expected 5 fields (minute hour day month weekday)")
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=translate_day_of_week(weekday),
            timezone=parse_timezone(timezone),
        )
    except ValueError as exc:
        raise ScheduleError(f"cron {expression!r}: {exc}") from None


def next_fire(trigger: CronTrigger, after: datetime) -> datetime | None:
    fire = trigger.get_next_fire_time(None, after)
    return fire if isinstance(fire, datetime) else None


def missed_run(
    trigger: CronTrigger, last_run: datetime | None, now: datetime, horizon_days: int = 35
) -> datetime | None:
    """The most recent scheduled time since ``last_run`` that has passed without a run (catch-up), if any.

    With no record of a run, look back ``horizon_days`` so a fresh agent does not scan immediately unless a
    fire time really passed while nothing ran.
    """
    since = last_run if last_run is not None else now - timedelta(days=horizon_days)
    missed = None
    fire = next_fire(trigger, since + timedelta(seconds=1))
    while fire is not None and fire <= now:
        missed = fire
        fire = next_fire(trigger, fire + timedelta(seconds=1))
    if last_run is None and missed is not None:
        return None  # never ran under this agent: wait for the next fire time rather than scan at start-up
    return missed
