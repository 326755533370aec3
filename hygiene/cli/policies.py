"""``hygiene policies list`` and ``hygiene policies show NAME``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from hygiene.cli.common import guard, out


@click.group("policies")
def policies() -> None:
    """List and show policy profiles."""


@policies.command("list")
@guard
def policies_list() -> None:
    from hygiene.policy import available_profiles, load_profile

    table = Table("name", "title", "inactive days", "backup RPO (h)")
    for name in available_profiles():
        profile = load_profile(name)
        table.add_row(
            name, profile.title, str(profile.thresholds.inactive_days), str(profile.thresholds.backup_rpo_hours)
        )
    out.print(table)


@policies.command("show")
@click.argument("name")
@guard
def policies_show(name: str) -> None:
    from hygiene.policy import load_profile

    profile = load_profile(name, Path.cwd())
    out.print(f"[bold]{profile.name}[/bold] - {profile.title}\n{profile.description.strip()}")
    for basis in profile.basis:
        out.print(f"  basis: {basis}")
    out.print_json(profile.model_dump_json(include={"thresholds", "checks"}))
