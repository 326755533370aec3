"""What a notification says about a scan: built from the history's diff with the previous recorded scan
(:func:`hygiene.history.drift.since_previous`), the same diff as the report's "since last scan" section and
``hygiene diff --against previous``, so the three never disagree.

A regression (what ``on = "regression"`` notifies) is any of:

- a **new failure**: failing now, not failing in the previous scan (passed, accepted, not assessed, errored or
  absent); on an organisation's first scan every failing check is new;
- a check **no longer assessed**: failing before and not assessed, errored or absent now, or passing (or accepted)
  before and not assessed or errored now: nothing is known about it now, which is not good news;
- a **score drop** of a point or more;
- a **source failing** in this scan.

A check failing before and accepted by an exception now is neither fixed nor a regression (the history's
meaning): it is not mentioned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hygiene.figures import format_score
from hygiene.history.diff import CheckChange, ScanDiff
from hygiene.results import ScanReport, Status


@dataclass
class Change:
    organisation: str
    scan_id: str
    score: float
    grade: str
    previous_score: float | None
    new_failures: list[str] = field(default_factory=list)  # check titles
    resolved: list[str] = field(default_factory=list)
    failing_sources: list[str] = field(default_factory=list)
    open_failures: int = 0
    no_longer_assessed: list[str] = field(default_factory=list)
    #: the scan compared with (None: the organisation's first recorded scan)
    previous_scan_id: str | None = None

    @property
    def score_drop(self) -> float:
        return 0.0 if self.previous_score is None else max(0.0, self.previous_score - self.score)

    @property
    def regression(self) -> bool:
        return bool(self.new_failures or self.no_longer_assessed or self.failing_sources or self.score_drop >= 1.0)

    def headline(self) -> str:
        parts = [f"{self.organisation}: score {format_score(self.score)} ({self.grade})"]
        if self.previous_score is not None:
            parts.append(f"was {format_score(self.previous_score)}")
        if self.new_failures:
            parts.append(f"{len(self.new_failures)} new failing check(s)")
        if self.no_longer_assessed:
            parts.append(f"{len(self.no_longer_assessed)} check(s) no longer assessed")
        if self.failing_sources:
            parts.append(f"source problem: {', '.join(self.failing_sources)}")
        return "; ".join(parts)

    def lines(self) -> list[str]:
        out = [self.headline()]
        out += [f"NEW: {title}" for title in self.new_failures]
        out += [f"NOT ASSESSED: {title}" for title in self.no_longer_assessed]
        out += [f"fixed: {title}" for title in self.resolved]
        out.append(f"{self.open_failures} check(s) failing in all (scan {self.scan_id})")
        return out


def _titles(changes: list[CheckChange]) -> list[str]:
    return [change.title or change.check_id for change in changes]  # an old history row may have no title


def change_since(report: ScanReport, diff: ScanDiff | None) -> Change:
    """The notification for ``report``, given the history's diff with the previous scan (None: no earlier scan)."""
    failing = [r for r in report.results if r.status is Status.FAIL]
    if diff is None:
        new_failures, resolved, unassessed = [r.title for r in sorted(failing, key=lambda r: r.check_id)], [], []
    else:
        new_failures = _titles(diff.new_failures)
        resolved = _titles(diff.resolved)
        unassessed = _titles(sorted(diff.no_longer_assessed + diff.newly_unassessed, key=lambda c: c.check_id))
    return Change(
        organisation=report.organisation_name,
        scan_id=report.scan_id,
        score=report.score.value,
        grade=report.score.grade,
        previous_score=diff.before.score if diff is not None else None,
        new_failures=new_failures,
        resolved=resolved,
        failing_sources=sorted(name for name, run in report.sources.items() if run.status == "error" or run.errors),
        open_failures=len(failing),
        no_longer_assessed=unassessed,
        previous_scan_id=diff.before.scan_id if diff is not None else None,
    )
