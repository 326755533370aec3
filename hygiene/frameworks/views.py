"""The frameworks as the ``hygiene frameworks`` commands show them: each framework's coverage by the checks of
the registry and, for an organisation, each control's status from its latest scan in the history store."""

from __future__ import annotations

from pathlib import Path

from hygiene.frameworks import STATUSES, assess, load, validate
from hygiene.history.store import HistoryStore, history_url
from hygiene.registry import Registry


def _registry_view() -> tuple[dict[str, dict[str, tuple[str, ...]]], dict[str, str]]:
    return Registry.load().framework_view()


def framework_summaries() -> list[dict[str, object]]:
    data = validate(None, Registry.load(entry_points_too=False).ids())
    check_frameworks, platforms = _registry_view()
    rows: list[dict[str, object]] = []
    for name, catalogue in data.catalogues.items():
        views = assess(catalogue, check_frameworks, platforms)
        rows.append(
            {
                "id": name,
                "name": data.mappings.frameworks[name] or catalogue.name,
                "controls": len(views),
                "covered": sum(1 for v in views if v.covered),
            }
        )
    return rows


def framework_report(name: str, organisation: str | None = None, data_dir: Path | None = None) -> dict[str, object]:
    """The controls of framework ``name``; with ``organisation`` their status from its latest recorded scan."""
    data = load()
    catalogue = data.catalogue(name)
    check_frameworks, platforms = _registry_view()
    report: dict[str, object] = {"framework": name, "name": catalogue.name}
    results: dict[str, tuple[str, str]] | None = None
    if organisation is not None:
        with HistoryStore(history_url(data_dir), create=False) as store:
            summary = store.find(organisation, "full")  # never a partial scan (--checks): it would look unmet
            scan = store.load(summary.scan_id)
        results = {r.check_id: (r.status, r.platform or platforms.get(r.check_id, "")) for r in scan.results}
        report.update(
            organisation=organisation,
            scan_id=summary.scan_id,
            scanned_at=summary.started_at.isoformat(),
            complete=summary.complete,
        )
    views = assess(catalogue, check_frameworks, platforms, results)
    report["controls"] = [v.as_dict() for v in views]
    if results is not None:
        report["summary"] = {s: sum(1 for v in views if v.status == s) for s in STATUSES}
    return report
