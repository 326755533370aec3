"""`hygiene history ORG`, `hygiene diff ORG` and `hygiene baseline set ORG [SCAN_ID]`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from hygiene.errors import one_line_errors
from hygiene.history.diff import CheckChange, ScanDiff, diff_scans
from hygiene.history.store import HistoryStore, history_url
from hygiene.safetext import inert

F = TypeVar("F", bound=Callable[..., Any])
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DATA_DIR_HELP = (
    "Folder holding history.sqlite3 (default: HYGIENE_DATABASE_URL, else HYGIENE_DATA_DIR or the platform data folder)."
)


def data_dir_option(fn: F) -> F:
    return click.option(
        "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=DATA_DIR_HELP
    )(fn)


def _open(data_dir: Path | None) -> HistoryStore:
    return HistoryStore(history_url(data_dir), create=False)


_guard = one_line_errors


@click.command("history")
@click.argument("organisation", metavar="ORG")
@data_dir_option
@click.option("--json", "as_json", is_flag=True)
@_guard
def history(organisation: str, data_dir: Path | None, as_json: bool) -> None:
    """The recorded scans of ORG over time: score, grade, coverage and failing checks."""
    with _open(data_dir) as store:
        rows = store.scans(organisation)
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    table = Table("date", "scan id", "score", "grade", "coverage", "failing checks", "")
    for r in rows:
        table.add_row(
            r.started_at.strftime("%Y-%m-%d %H:%M"),
            r.scan_id,
            f"{r.score:.0f}",
            r.grade,
            f"{r.coverage:.0%}",
            str(r.failing_checks),
            ("baseline " if r.baseline else "") + ("" if r.complete else "incomplete"),
        )
    out.print(table)


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


def render_diff(d: ScanDiff) -> str:
    a, b = d.before, d.after
    lines = [
        f"{d.organisation_id}: {b.scan_id} (score {b.score:.0f}, {b.grade}) against "
        f"{a.scan_id} (score {a.score:.0f}, {a.grade})",
    ]
    lines += _lines("new failures", d.new_failures, "new")
    lines += _lines("new failing resources", d.new_resources, "new")
    lines += _lines("regressed", d.regressed)
    lines += _lines("resolved", d.resolved, "resolved")
    lines += _lines("resolved resources", d.resolved_resources, "resolved")
    lines += _lines("no longer assessed", d.no_longer_assessed)
    lines += _lines("unchanged failures", d.unchanged)
    if d.expired_exceptions:
        lines.append(f"exceptions expired since ({len(d.expired_exceptions)}):")
        lines += [
            f"  {e.check_id}: {inert(e.resource_name)} ({inert(e.resource_id)}) was accepted by {inert(e.exception_id)}"
            for e in d.expired_exceptions
        ]
    if not d.worse:
        lines.append("nothing new: no new failures, regressions or expired exceptions")
    return "\n".join(lines)


@click.command("diff")
@click.argument("organisation", metavar="ORG")
@click.option(
    "--against",
    default="baseline",
    show_default=True,
    help="Compare with: baseline, previous (the scan before --scan), or a scan id.",
)
@click.option("--scan", "scan_id", default=None, help="The scan to look at (default: the latest).")
@data_dir_option
@click.option("--json", "as_json", is_flag=True)
@_guard
def diff(organisation: str, against: str, scan_id: str | None, data_dir: Path | None, as_json: bool) -> None:
    """What changed in ORG's scan since the baseline, the previous scan or another scan."""
    with _open(data_dir) as store:
        after = store.find(organisation, scan_id or "latest")
        if against == "previous":
            before = store.previous(organisation, after.scan_id)
        else:
            before = store.find(organisation, against)
        result = diff_scans(store.load(before.scan_id), store.load(after.scan_id))
    if as_json:
        click.echo(json.dumps({**result.model_dump(mode="json"), "worse": result.worse}, indent=2))
    else:
        click.echo(render_diff(result))


@click.group("baseline")
def baseline() -> None:
    """Choose the scan that `hygiene diff` compares with by default."""


@baseline.command("set")
@click.argument("organisation", metavar="ORG")
@click.argument("scan_id", required=False)
@data_dir_option
@_guard
def baseline_set(organisation: str, scan_id: str | None, data_dir: Path | None) -> None:
    """Make SCAN_ID (default: the latest scan) ORG's baseline."""
    with _open(data_dir) as store:
        chosen = store.set_baseline(organisation, scan_id)
    click.echo(f"{organisation}: baseline is now {chosen.scan_id} (score {chosen.score:.0f}, {chosen.grade})")


COMMANDS = [history, diff, baseline]
