"""``hygiene agent CONFIG_DIR`` and ``hygiene agent status``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from hygiene.agent.heartbeat import agent_running, heartbeat_path, read_heartbeat
from hygiene.cli.common import data_dir_option, guard
from hygiene.paths import default_data_dir


class _AgentGroup(click.Group):
    """`hygiene agent CONFIG_DIR` runs the agent; `hygiene agent status` reports on it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


@click.group("agent", cls=_AgentGroup)
def agent() -> None:
    """Scan every organisation in CONFIG_DIR on its own schedule (foreground); `agent status` reports on it."""


@agent.command("run", hidden=True)
@click.argument("config_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@data_dir_option("History, locks and heartbeat (default: HYGIENE_DATA_DIR or the platform data folder).")
@guard
def run(config_dir: Path, data_dir: Path | None) -> None:
    from hygiene.agent.runner import Agent

    Agent(config_dir, data_dir or default_data_dir()).run()


@agent.command("status")
@data_dir_option(None)
@click.pass_context
def status(ctx: click.Context, data_dir: Path | None) -> Any:
    """The agent's heartbeat: last run, status and next run per organisation. Exit 3 when it is not running."""
    path = heartbeat_path(data_dir or default_data_dir())
    beat = read_heartbeat(path)
    if beat is None:
        click.echo(f"no agent heartbeat at {path}")
        ctx.exit(3)
        return
    running = agent_running(beat)
    click.echo(
        f"agent pid {beat.pid}: {'running' if running else 'not running'} "
        f"(started {_when(beat.started_at)}, heartbeat {_when(beat.updated_at)})"
    )
    for org, org_beat in sorted(beat.organisations.items()):
        line = (
            f"  {org}: last run {_when(org_beat.last_run)} [{org_beat.last_status or 'never'}], "
            f"next run {_when(org_beat.next_run)}"
        )
        if org_beat.last_error:
            line += f" - {org_beat.last_error}"
        click.echo(line)
    ctx.exit(0 if running else 3)
