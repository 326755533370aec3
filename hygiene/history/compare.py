"""What changed in a scan of an organisation: the store look-ups around :func:`diff_scans` that pick the two scans
(the baseline, the previous scan or a named one). The report's drift (``drift.py``), ``hygiene diff`` and the
agent's notifications all compare through here."""

from __future__ import annotations

from pathlib import Path

from hygiene.history.diff import ScanDiff, diff_scans
from hygiene.history.models import ScanSummary, stored_from_report
from hygiene.history.store import HistoryStore, sqlite_url
from hygiene.results import ScanReport


def diff_recorded(
    store: HistoryStore, organisation: str, scan_ref: str = "latest", against: str = "baseline"
) -> ScanDiff:
    """Compare ``scan_ref`` (a scan id or ``latest``) of ``organisation`` with ``against``: ``baseline``,
    ``previous`` (the scan before ``scan_ref``) or a scan id."""
    after = store.find(organisation, scan_ref)
    before = store.previous(organisation, after.scan_id) if against == "previous" else store.find(organisation, against)
    return diff_scans(store.load(before.scan_id), store.load(after.scan_id))


def earlier_scans(store: HistoryStore, report: ScanReport) -> list[ScanSummary]:
    """The organisation's recorded scans other than ``report``'s, oldest first (none recorded: []); the last is
    its previous scan, whether or not ``report`` is recorded yet."""
    if report.organisation_id not in store.organisations():
        return []
    return [s for s in store.scans(report.organisation_id) if s.scan_id != report.scan_id]


def store_url(target: str | Path) -> str:
    """A database URL, or a path to a SQLite file (as ``ScanOptions.history`` takes it)."""
    return sqlite_url(target) if isinstance(target, Path) else target


def since_previous(target: str | Path, report: ScanReport) -> ScanDiff | None:
    """What changed in ``report`` since its organisation's previous recorded scan: the diff behind the report's
    "since last scan" section and ``hygiene diff --against previous``, whether or not ``report`` is recorded yet.

    None when there is no earlier scan of the organisation (its first scan); HistoryError when the store cannot be
    read (a missing SQLite file included)."""
    with HistoryStore(store_url(target), create=False) as store:
        earlier = earlier_scans(store, report)
        return diff_scans(store.load(earlier[-1].scan_id), stored_from_report(report)) if earlier else None
