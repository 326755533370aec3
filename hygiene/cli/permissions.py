"""``hygiene permissions``."""

from __future__ import annotations

import click

from hygiene.cli.common import guard, out


@click.command("permissions")
@click.option("--source", type=click.Choice(["m365", "google", "aws"]), default=None, help="Only this platform.")
@guard
def permissions(source: str | None) -> None:
    """The least-privilege, read-only permissions and licences each check needs."""
    from hygiene.permissions import describe

    out.print(describe(source), markup=False, highlight=False)
