"""What changed between two scans, from their reports: enough to decide whether to notify and what to say."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hygiene.results import CheckResult, ScanReport, Status


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

    @property
    def score_drop(self) -> float:
        return 0.0 if self.previous_score is None else max(0.0, self.previous_score - self.score)

    @property
    def regression(self) -> bool:
        return bool(self.new_failures or self.failing_sources or self.score_drop >= 1.0)

    def headline(self) -> str:
        parts = [f"{self.organisation}: score {self.score:.0f} ({self.grade})"]
        if self.previous_score is not None:
            parts.append(f"was {self.previous_score:.0f}")
        if self.new_failures:
            parts.append(f"{len(self.new_failures)} new failing check(s)")
        if self.failing_sources:
            parts.append(f"source problem: {', '.join(self.failing_sources)}")
        return "; ".join(parts)

    def lines(self) -> list[str]:
        out = [self.headline()]
        out += [f"NEW: {title}" for title in self.new_failures]
        out += [f"fixed: {title}" for title in self.resolved]
        out.append(f"{self.open_failures} check(s) failing in all (scan {self.scan_id})")
        return out


def _seen_by(report: ScanReport) -> Callable[[CheckResult], bool]:
    """Whether ``report`` looked at a check: not when it could not read the check's platform, nor when it was a
    partial scan without that check. What a scan did not see is neither a new failure nor a fix."""
    ids = {r.check_id for r in report.results}

    def seen(result: CheckResult) -> bool:
        if result.platform in report.scope.unread_platforms:
            return False
        return not report.scope.partial or result.check_id in ids

    return seen


def compare(current: ScanReport, previous: ScanReport | None) -> Change:
    seen_before = _seen_by(previous) if previous else lambda _: True
    failing_now = {r.check_id: r.title for r in current.results if r.status is Status.FAIL and seen_before(r)}
    seen_now = _seen_by(current)
    failing_before = (
        {r.check_id for r in previous.results if r.status is Status.FAIL and seen_now(r)} if previous else set()
    )
    titles_before = {r.check_id: r.title for r in previous.results} if previous else {}
    return Change(
        organisation=current.organisation_name,
        scan_id=current.scan_id,
        score=current.score.value,
        grade=current.score.grade,
        previous_score=previous.score.value if previous else None,
        new_failures=[title for cid, title in sorted(failing_now.items()) if cid not in failing_before],
        resolved=[titles_before[cid] for cid in sorted(failing_before - set(failing_now))],
        failing_sources=sorted(name for name, run in current.sources.items() if run.status == "error" or run.errors),
        open_failures=sum(r.status is Status.FAIL for r in current.results),
    )
