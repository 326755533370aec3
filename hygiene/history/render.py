"""A :class:`ScanDiff` as plain text for the terminal (``hygiene diff``); names of tenant resources made inert."""

from __future__ import annotations

from hygiene.figures import format_score
from hygiene.history.diff import CheckChange, ScanDiff
from hygiene.history.models import ScanSummary
from hygiene.safetext import inert


def _lines(title: str, changes: list[CheckChange], resources: str | None = None) -> list[str]:
    if not changes:
        return []
    lines = [f"{title} ({len(changes)}):"]
    for c in changes:
        counts = f"{c.failing_before} -> {c.failing_after} failing"
        lines.append(f"  {c.check_id} [{c.severity}] {c.status_before or '-'} -> {c.status_after or '-'}, {counts}")
        items = c.new_resources if resources == "new" else c.resolved_resources if resources == "resolved" else []
        lines += [f"    {inert(r.resource_name)} ({inert(r.resource_id)})" for r in items]
    return lines


def _flags(scan: ScanSummary) -> str:
    """ ", partial" / ", incomplete": a score that does not cover everything says so next to it."""
    return (", partial" if scan.partial else "") + (", incomplete" if scan.unread_platforms else "")


def render_diff(d: ScanDiff) -> str:
    a, b = d.before, d.after
    lines = [
        f"{d.organisation_id}: {b.scan_id} (score {format_score(b.score)}, {b.grade}{_flags(b)}) against "
        f"{a.scan_id} (score {format_score(a.score)}, {a.grade}{_flags(a)})",
    ]
    lines += _lines("new failures", d.new_failures, "new")
    lines += _lines("new failing resources", d.new_resources, "new")
    lines += _lines("regressed", d.regressed)
    lines += _lines("resolved", d.resolved, "resolved")
    lines += _lines("resolved resources", d.resolved_resources, "resolved")
    lines += _lines("no longer assessed", d.no_longer_assessed)
    lines += _lines("newly unassessed (passing before)", d.newly_unassessed)
    lines += _lines("unchanged failures", d.unchanged)
    if d.expired_exceptions:
        lines.append(f"exceptions expired since ({len(d.expired_exceptions)}):")
        lines += [
            f"  {e.check_id}: {inert(e.resource_name)} ({inert(e.resource_id)}) was accepted by {inert(e.exception_id)}"
            for e in d.expired_exceptions
        ]
    if d.not_compared:
        reasons: dict[str, list[str]] = {}
        for check_id, why in d.not_compared.items():
            reasons.setdefault(why, []).append(check_id)
        lines.append(f"not compared ({len(d.not_compared)}):")
        lines += [f"  {len(ids)} check(s): {why}" for why, ids in reasons.items()]
    if not d.worse:
        lines.append("nothing new: no new failures, regressions or expired exceptions")
    return "\n".join(lines)
