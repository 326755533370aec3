"""``hygiene portfolio CONFIG_DIR``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hygiene.cli.common import data_dir_option, guard, history_location
from hygiene.portfolio import SORTS, build_portfolio, write_portfolio


@click.command("portfolio")
@click.argument("config_dir", metavar="CONFIG_DIR", type=click.Path(file_okay=False, exists=True, path_type=Path))
@data_dir_option()
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="Folder for portfolio.html and portfolio.json (default: the current folder).",
)
@click.option("--stale-days", type=click.IntRange(min=0), default=14, show_default=True, help="A scan older is stale.")
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    default="worst",
    show_default=True,
    help="Order of the rows: worst grade first, biggest score drop first, stalest first, or by name "
    "(the page can re-sort in the browser).",
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="TAG",
    help="Only organisations with this tag ([organisation] tags in their config); repeat for several.",
)
@click.option("--json", "as_json", is_flag=True, help="Print portfolio.json (every organisation) instead of the paths.")
@guard
def portfolio(
    config_dir: Path,
    data_dir: Path | None,
    output: Path,
    stale_days: int,
    sort: str,
    tags: tuple[str, ...],
    as_json: bool,
) -> None:
    """One page over every organisation configured in CONFIG_DIR: grade, change, score trend, worst issues,
    incomplete and stale scans, tags, and a link to each latest report.

    Open OUTPUT/portfolio.html in a browser; the report links are relative to OUTPUT (write the page into the
    data dir, or any folder beside it, and they work from there)."""
    result = build_portfolio(config_dir, history_location(data_dir), stale_days, output=output, sort=sort, tags=tags)
    files = write_portfolio(result, output)
    for error in result.errors:
        click.echo(f"warning: {error.config}: {error.error}", err=True)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    click.echo(str(files["html"].resolve()))
    click.echo(str(files["json"].resolve()))
