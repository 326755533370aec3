"""``hygiene portfolio CONFIG_DIR``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hygiene.cli.common import data_dir_option, guard
from hygiene.history.store import history_url
from hygiene.portfolio import build_portfolio, write_portfolio


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
@click.option("--json", "as_json", is_flag=True, help="Print portfolio.json (every organisation) instead of the paths.")
@guard
def portfolio(config_dir: Path, data_dir: Path | None, output: Path, stale_days: int, as_json: bool) -> None:
    """One page over every organisation configured in CONFIG_DIR: grade, score trend, worst issues, staleness."""
    result = build_portfolio(config_dir, history_url(data_dir), stale_days)
    files = write_portfolio(result, output)
    for error in result.errors:
        click.echo(f"warning: {error.config}: {error.error}", err=True)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    click.echo(str(files["html"].resolve()))
    click.echo(str(files["json"].resolve()))
