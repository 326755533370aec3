"""``hygiene history ORG``, ``hygiene diff ORG`` and ``hygiene baseline set ORG [SCAN_ID]``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hygiene.cli.common import data_dir_option, guard, history_location, json_option, out
from hygiene.cli.tables import Listing, print_listing
from hygiene.figures import format_percent, format_score
from hygiene.history.compare import diff_recorded
from hygiene.history.render import render_diff
from hygiene.history.store import HistoryStore


def open_history(data_dir: Path | None) -> HistoryStore:
    """The existing history in ``data_dir`` (default by env); a missing one is an error, never created."""
    return HistoryStore(history_location(data_dir), create=False)


@click.command("history")
@click.argument("organisation", metavar="ORG")
@data_dir_option()
@json_option
@guard
def history(organisation: str, data_dir: Path | None, as_json: bool) -> None:
    """The recorded scans of ORG over time: score, grade, coverage and failing checks."""
    with open_history(data_dir) as store:
        rows = store.scans(organisation)
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    listing = Listing(("date", "scan id", "score", "grade", "coverage", "failing checks", "note"), ids=("scan id",))
    for r in rows:
        listing.add(
            r.started_at.strftime("%Y-%m-%d %H:%M"),
            r.scan_id,
            format_score(r.score),
            r.grade,
            format_percent(r.coverage),
            str(r.failing_checks),
            " ".join(
                flag
                for flag, on in (
                    ("baseline", r.baseline),
                    ("partial", r.partial),
                    (f"not read: {','.join(r.unread_platforms)}", bool(r.unread_platforms)),
                    ("incomplete", not r.complete and not r.unread_platforms),
                )
                if on
            ),
        )
    print_listing(out, listing)


@click.command("diff")
@click.argument("organisation", metavar="ORG")
@click.option(
    "--against",
    default="baseline",
    show_default=True,
    help="Compare with: baseline, previous (the scan before --scan), or a scan id.",
)
@click.option("--scan", "scan_id", default=None, help="The scan to look at (default: the latest).")
@data_dir_option()
@json_option
@guard
def diff(organisation: str, against: str, scan_id: str | None, data_dir: Path | None, as_json: bool) -> None:
    """What changed in ORG's scan since the baseline, the previous scan or another scan."""
    with open_history(data_dir) as store:
        result = diff_recorded(store, organisation, scan_id or "latest", against)
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
@data_dir_option()
@guard
def baseline_set(organisation: str, scan_id: str | None, data_dir: Path | None) -> None:
    """Make SCAN_ID (default: the latest scan) ORG's baseline."""
    with open_history(data_dir) as store:
        chosen = store.set_baseline(organisation, scan_id)
    click.echo(f"{organisation}: baseline is now {chosen.scan_id} (score {format_score(chosen.score)}, {chosen.grade})")
