"""``hygiene agent CONFIG_DIR`` and ``hygiene agent status``."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hygiene.agent.heartbeat import agent_running, heartbeat_path, read_heartbeat
from hygiene.cli.common import concurrency_option, data_dir_option, guard, json_option, per_credential_option
from hygiene.errors import one_line
from hygiene.paths import default_data_dir
from hygiene.safetext import inert

if TYPE_CHECKING:
    from hygiene.agent.runner import Agent


class _AgentGroup(click.Group):
    """`hygiene agent CONFIG_DIR` runs the agent; `hygiene agent status` reports on it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "CONFIG_DIR [--data-dir DIR] [--concurrency N] [--per-credential N]")
        formatter.write_usage(ctx.command_path, "status [--data-dir DIR] [--json]", prefix="       ")


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


@click.group("agent", cls=_AgentGroup)
def agent() -> None:
    """Scan every organisation in CONFIG_DIR on its own schedule, in the foreground; `agent status` reports on it.

    CONFIG_DIR holds one config (*.toml) per organisation; each is scanned on its [schedule] cron (default:
    Mondays 02:00 UTC), and a scan missed while the machine was off runs at start. On start the agent says what
    it loaded and when each organisation runs next. Reports go to DIR/reports/ORG/, the history to
    DIR/history.sqlite3.

    \b
    Start it:
      hygiene agent /etc/hygiene/orgs --data-dir /var/lib/hygiene
    Check on it (exit 3 when it is not running):
      hygiene agent status --data-dir /var/lib/hygiene
    Stop it with Ctrl-C or SIGTERM (the running scan finishes first); SIGHUP reloads the configs.
    As a service: deploy/ has a systemd unit and a container image.
    """


@agent.command("run", hidden=True)
@click.argument("config_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@data_dir_option(
    "History (unless HYGIENE_DATABASE_URL is set), locks and heartbeat (default: HYGIENE_DATA_DIR or the platform "
    "data folder)."
)
@concurrency_option
@per_credential_option
@guard
def run(config_dir: Path, data_dir: Path | None, concurrency: int, per_credential: int) -> None:
    """Run the agent over CONFIG_DIR (what `hygiene agent CONFIG_DIR` does)."""
    from hygiene.agent.runner import Agent
    from hygiene.limits import SharedLimits

    folder = data_dir or default_data_dir()
    agent = Agent(config_dir, folder, concurrency=concurrency, limits=SharedLimits(per_credential))
    agent.run(on_start=lambda started: _started(started, config_dir, folder))


def _started(agent: Agent, config_dir: Path, data_dir: Path) -> None:
    """What the agent loaded and when each organisation runs next: the first thing it says (stdout, flushed)."""
    click.echo(
        f"hygiene agent (pid {os.getpid()}): {len(agent.planned)} organisation(s) from {config_dir}, "
        f"up to {agent.concurrency} at once"
    )
    for p in sorted(agent.planned, key=lambda p: p.org):
        when = "now (catching up a missed scan), then " if p.catch_up else ""
        click.echo(f"  {p.org} ({inert(p.name)}): cron '{p.cron}' {p.timezone}; next run {when}{_when(p.next_run)}")
    for path, why in agent.skipped:
        click.echo(f"  skipped {path.name}: {one_line(why)}")
    from hygiene.history.store import DATABASE_URL_ENV, redact

    database = os.environ.get(DATABASE_URL_ENV, "").strip()  # the agent's history when set (agent_history_url)
    where = f"history and reports in {data_dir}"
    if database:
        where = f"reports in {data_dir}, history in {redact(database)}"
    click.echo(f"{where}; stop with Ctrl-C or SIGTERM, reload the configs with SIGHUP")
    sys.stdout.flush()


@agent.command("status")
@data_dir_option("Where the agent keeps its heartbeat (default: HYGIENE_DATA_DIR or the platform data folder).")
@json_option
@click.pass_context
def status(ctx: click.Context, data_dir: Path | None, as_json: bool) -> Any:
    """The agent's heartbeat: last run, status and next run per organisation. Exit 3 when it is not running."""
    path = heartbeat_path(data_dir or default_data_dir())
    beat = read_heartbeat(path)
    if beat is None:
        if as_json:
            click.echo(json.dumps({"heartbeat": str(path), "running": False, "agent": None}, indent=2))
        else:
            click.echo(f"no agent heartbeat at {path}")
        ctx.exit(3)
        return
    running = agent_running(beat)
    if as_json:
        document = {"heartbeat": str(path), "running": running, "agent": beat.model_dump(mode="json")}
        click.echo(json.dumps(document, indent=2))
        ctx.exit(0 if running else 3)
        return
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
