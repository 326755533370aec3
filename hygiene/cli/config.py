"""``hygiene config validate CONFIG``."""

from __future__ import annotations

from pathlib import Path

import click

from hygiene.cli.common import err, guard, out
from hygiene.config import load_config


@click.group("config")
def config_group() -> None:
    """Work with configuration files."""


@config_group.command("validate")
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@guard
def config_validate(config_path: Path) -> None:
    """Validate CONFIG, its profile, exceptions file, extra checks and credentials (set, readable, well-formed),
    without contacting any vendor."""
    from hygiene.scan import check_credentials, load_policy

    config = load_config(config_path)
    policy = load_policy(config)
    check_credentials(config)
    out.print(
        f"{config_path}: valid - organisation {config.organisation.id}, sources "
        f"{', '.join(config.platforms())}, profile {policy.profile.name}, {len(policy.registry)} checks"
    )
    for warning in config.warnings:
        err.print(f"warning: {config_path}: {warning}", markup=False, highlight=False)
    for rejected in policy.controls.rejected:
        err.print(
            f"warning: {config.policy.exceptions}: {rejected.kind} #{rejected.index + 1} not applied: "
            f"{rejected.problem}",
            markup=False,
        )
