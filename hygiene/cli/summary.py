"""A scan's summary on the terminal (``hygiene scan``, ``evaluate`` and ``demo``) and the progress of its reads."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hygiene.cli.common import err, out
from hygiene.results import ScanReport, Status
from hygiene.safetext import inert
from hygiene.taxonomy import SEVERITIES


def print_summary(report: ScanReport, files: dict[str, Path]) -> None:
    score = report.score
    out.print(
        f"[bold]{escape(inert(report.organisation_name))}[/bold] - score [bold]{score.value:.0f}/100[/bold], grade "
        f"[bold]{score.grade}[/bold], {score.coverage:.0%} of checks assessed ({escape(inert(report.profile.title))})"
    )
    for cap in score.caps:
        out.print(Text(f"  grade capped: {inert(cap)}"))
    for line in report.scope.lines():  # a partial or incomplete scan is never mistaken for a full one
        out.print(Text(inert(line), style="bold yellow"))
    table = Table(show_header=True, header_style="bold")
    for column in ("status", "severity", "check", "result"):
        table.add_column(column)
    order = {Status.FAIL: 0, Status.ERROR: 1, Status.NOT_ASSESSED: 2, Status.ACCEPTED: 3, Status.PASS: 4}
    colours = {
        Status.FAIL: "red",
        Status.ERROR: "magenta",
        Status.NOT_ASSESSED: "yellow",
        Status.ACCEPTED: "cyan",
        Status.PASS: "green",
    }
    for result in sorted(report.results, key=lambda r: (order[r.status], SEVERITIES.index(r.severity), r.check_id)):
        table.add_row(
            Text(result.status.value, style=colours[result.status]),
            result.severity,
            Text(inert(result.check_id)),
            # the reason names tenant resources (users, devices, policies): never markup, never a control code
            Text(inert(result.reason)),
        )
    out.print(table)
    for kind, path in files.items():
        out.print(Text(f"{kind}: {inert(path)}"))
    if not report.complete:
        err.print("[yellow]scan incomplete: some data could not be read (see the report's method section)[/yellow]")


def scan_progress(platform: str, phase: str) -> None:
    if err.is_terminal:
        err.print(f"[dim]{'reading' if phase == 'start' else 'read'} {platform}…[/dim]")
