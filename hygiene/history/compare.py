"""What changed in a recorded scan of an organisation: the store look-ups around :func:`diff_scans` that pick the
two scans (the baseline, the previous scan or a named one)."""

from __future__ import annotations

from hygiene.history.diff import ScanDiff, diff_scans
from hygiene.history.store import HistoryStore


def diff_recorded(
    store: HistoryStore, organisation: str, scan_ref: str = "latest", against: str = "baseline"
) -> ScanDiff:
    """Compare ``scan_ref`` (a scan id or ``latest``) of ``organisation`` with ``against``: ``baseline``,
    ``previous`` (the scan before ``scan_ref``) or a scan id."""
    after = store.find(organisation, scan_ref)
    before = store.previous(organisation, after.scan_id) if against == "previous" else store.find(organisation, against)
    return diff_scans(store.load(before.scan_id), store.load(after.scan_id))
