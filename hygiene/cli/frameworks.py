"""``hygiene frameworks list`` and ``hygiene frameworks show NAME [ORG]``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from hygiene.cli.common import data_dir_option, guard, json_option, out
from hygiene.cli.tables import Listing, print_listing
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
    listing = Listing(("framework", "name", "controls", "covered by automated checks"), ids=("framework",))
    for row in rows:
        listing.add(str(row["id"]), str(row["name"]), str(row["controls"]), str(row["covered"]))
    print_listing(out, listing)


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
        out.print(
            Text.assemble((str(report["name"]), "bold"), f" ({name}): mapping only; add ORG for statuses"),
            soft_wrap=False,
        )
        listing = Listing(("control", "title", "checks"), ids=("control", "checks"))
        for c in controls:
            if c["automated"]:
                listing.add(c["id"], c["title"], "\n".join(s["check_id"] for s in c["checks"]) or "-")
            else:
                listing.add(c["id"], _manual(c["title"], c["note"] or "manual"), "-")
        print_listing(out, listing)
        return
    out.print(
        Text.assemble(
            (str(report["name"]), "bold"),
            f" ({name}) for ",
            (organisation, "bold"),
            f": scan {report['scan_id']} of {report['scanned_at']}",
            "" if report["complete"] else " (incomplete scan)",
        ),
        soft_wrap=False,
    )
    colours = {MET: "green", NOT_MET: "red", PARTIAL: "yellow", NOT_COVERED: "dim"}
    listing = Listing(("control", "title", "status", "checks"), ids=("control", "checks"))
    for c in controls:
        status = Text(c["status"], style=colours[c["status"]])
        if c["automated"]:
            checks = "\n".join(f"{s['check_id']} {s['status']}" for s in c["checks"])
            listing.add(c["id"], c["title"], status, checks or "-")
        else:
            listing.add(c["id"], _manual(c["title"], c["note"] or "manual control"), status, "-")
    print_listing(out, listing)
    summary: dict[str, int] = report["summary"]  # type: ignore[assignment]
    out.print(Text(", ".join(f"{count} {status}" for status, count in summary.items())), soft_wrap=False)


def _manual(title: str, note: str) -> Text:
    """A control no automated check covers: its title, then why (dim)."""
    return Text.assemble(title, (f"\n{NOT_COVERED}: {note}", "dim"))
