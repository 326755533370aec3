"""``hygiene permissions``."""

from __future__ import annotations

import click

from hygiene.cli.common import guard, out
from hygiene.sources.platforms import names as platform_names


@click.command("permissions")
@click.option("--source", type=click.Choice(platform_names()), default=None, help="Only this platform.")
@guard
def permissions(source: str | None) -> None:
    """The least-privilege, read-only permissions and licences each check needs."""
    from hygiene.permissions import describe

    out.print(describe(source), markup=False, highlight=False)
