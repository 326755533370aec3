"""``hygiene frameworks list`` and ``hygiene frameworks show NAME [ORG]``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from hygiene.cli.common import data_dir_option, guard, json_option, out
from hygiene.frameworks import MET, NOT_COVERED, NOT_MET, PARTIAL
from hygiene.frameworks.views import framework_report, framework_summaries


@click.group("frameworks")
def frameworks() -> None:
    """Compliance frameworks: their controls, the checks mapped to them, and an organisation's status."""


@frameworks.command("list")
@json_option
@guard
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
@data_dir_option()
@json_option
@guard
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
