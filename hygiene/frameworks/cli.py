"""The ``hygiene frameworks`` commands: each framework's controls with the checks of the registry mapped to them
and, for an organisation, their status from its latest scan in the history store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from hygiene.errors import one_line_errors
from hygiene.frameworks import MET, NOT_COVERED, NOT_MET, PARTIAL, STATUSES, assess, load, validate
from hygiene.history.store import HistoryStore, history_url
from hygiene.registry import Registry

# -- command line -------------------------------------------------------------------------------------------------


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
            summary = store.find(organisation, "latest")
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


out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


_guard = one_line_errors


@click.group("frameworks")
def frameworks() -> None:
    """Compliance frameworks: their controls, the checks mapped to them, and an organisation's status."""


@frameworks.command("list")
@click.option("--json", "as_json", is_flag=True)
@_guard
def frameworks_list(as_json: bool) -> None:
    """Each framework with its number of controls and how many automated checks cover."""
    rows = framework_summaries()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table("framework", "name", "controls", "covered by automated checks")
    for row in rows:
        table.add_row(str(row["id"]), str(row["name"]), str(row["controls"]), str(row["covered"]))
    out.print(table)


@frameworks.command("show")
@click.argument("name")
@click.argument("organisation", metavar="[ORG]", required=False)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder holding history.sqlite3 (default: HYGIENE_DATABASE_URL, else HYGIENE_DATA_DIR or the platform "
    "data folder).",
)
@click.option("--json", "as_json", is_flag=True)
@_guard
def frameworks_show(name: str, organisation: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Every control of framework NAME with its mapped checks; with ORG, each control's status from ORG's
    latest recorded scan."""
    report = framework_report(name, organisation, data_dir)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    controls: list[dict[str, Any]] = report["controls"]  # type: ignore[assignment]
    if organisation is None:
        out.print(f"[bold]{report['name']}[/bold] ({name}): mapping only; add ORG for statuses")
        table = Table("control", "title", "checks")
        for c in controls:
            checks = ", ".join(s["check_id"] for s in c["checks"])
            if not c["automated"]:
                checks = f"{NOT_COVERED} ({c['note'] or 'manual'})"
            table.add_row(c["id"], c["title"], checks or NOT_COVERED)
        out.print(table, highlight=False)
        return
    out.print(
        f"[bold]{report['name']}[/bold] ({name}) for [bold]{organisation}[/bold]: scan {report['scan_id']} "
        f"of {report['scanned_at']}" + ("" if report["complete"] else " (incomplete scan)"),
        highlight=False,
    )
    colours = {MET: "green", NOT_MET: "red", PARTIAL: "yellow", NOT_COVERED: "dim"}
    table = Table("control", "title", "status", "checks")
    for c in controls:
        checks = ", ".join(f"{s['check_id']} {s['status']}" for s in c["checks"])
        if not c["automated"]:
            checks = c["note"] or "manual control"
        table.add_row(c["id"], c["title"], f"[{colours[c['status']]}]{c['status']}[/]", checks)
    out.print(table, highlight=False)
    summary: dict[str, int] = report["summary"]  # type: ignore[assignment]
    out.print(", ".join(f"{count} {status}" for status, count in summary.items()), highlight=False)
