"""The report's "since last scan" and "since baseline" sections and its score trend, from the history."""

from __future__ import annotations

from pathlib import Path

from hygiene.history.compare import earlier_scans, store_url
from hygiene.history.diff import CheckChange, ScanDiff, diff_scans
from hygiene.history.models import ScanSummary, stored_from_report
from hygiene.history.store import HistoryError, HistoryStore
from hygiene.results import Drift, DriftItem, DriftSection, ScanReport, TrendPoint

TREND_LENGTH = 12


def _item(change: CheckChange, detail: str) -> DriftItem:
    return DriftItem(check_id=change.check_id, title=change.title, severity=change.severity, detail=detail)


def _section(kind: str, earlier: ScanSummary, diff: ScanDiff, score_now: float) -> DriftSection:
    def counts(change: CheckChange) -> str:
        return f"{change.failing_before} -> {change.failing_after} failing"

    return DriftSection(
        against=kind,
        against_scan_id=earlier.scan_id,
        against_finished_at=earlier.finished_at,
        score_before=earlier.score,
        score_delta=round(score_now - earlier.score, 1),
        new_failures=[
            _item(c, f"{c.failing_after} failing (was {c.status_before or 'absent'})") for c in diff.new_failures
        ],
        regressed=[_item(c, counts(c)) for c in diff.regressed],
        resolved=[_item(c, f"now {c.status_after or 'absent'}") for c in diff.resolved],
        no_longer_assessed=[_item(c, f"now {c.status_after or 'absent'}") for c in diff.no_longer_assessed],
        expired_exceptions=sorted(
            {f"{e.exception_id}: {e.check_id} {e.resource_name}" for e in diff.expired_exceptions}
        ),
        unchanged_failures=len(diff.unchanged),
        not_compared=len(diff.not_compared),
    )


def drift_for(target: str | Path, report: ScanReport) -> Drift | None:
    """Compare the report with the stored scans of its organisation (before it is itself recorded)."""
    try:
        with HistoryStore(store_url(target), create=False) as store:
            history = earlier_scans(store, report)
            if not history:
                return None
            current = stored_from_report(report)
            previous = history[-1]
            # the chosen baseline, else the first scan that could be one (a partial or incomplete scan never is)
            baseline = next((s for s in history if s.baseline), None) or next(
                (s for s in history if s.baseline_refusal is None), None
            )
            previous_section = _section(
                "previous", previous, diff_scans(store.load(previous.scan_id), current), report.score.value
            )
            baseline_section = None
            if baseline is not None and baseline.scan_id != previous.scan_id:
                baseline_section = _section(
                    "baseline", baseline, diff_scans(store.load(baseline.scan_id), current), report.score.value
                )
    except HistoryError:
        return None  # no store yet, or no scan of this organisation: nothing to compare with
    trend = [
        TrendPoint(scan_id=s.scan_id, finished_at=s.finished_at, score=s.score, grade=s.grade)
        for s in history[-(TREND_LENGTH - 1) :]
    ]
    trend.append(
        TrendPoint(
            scan_id=report.scan_id, finished_at=report.finished_at, score=report.score.value, grade=report.score.grade
        )
    )
    return Drift(since_previous=previous_section, since_baseline=baseline_section, trend=trend)
