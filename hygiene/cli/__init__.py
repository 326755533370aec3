"""The ``hygiene`` command line: the ``main`` group and its commands, one small module per command group, all
sharing :mod:`hygiene.cli.common` (consoles, error guard, options, exit codes). Commands only wire: parse the
options, call the layer below, print; a command's machinery is imported when it runs, so ``hygiene --help`` stays
fast and loads no vendor SDK.

Exit codes: 0 done, 1 failures at/above --fail-on, 2 usage or input error, 3 scan incomplete (a source or dataset
could not be read, or a check errored). 3 wins over 1.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from hygiene import __version__
from hygiene.cli.agent import agent
from hygiene.cli.checks import checks
from hygiene.cli.common import OneLineUsageGroup
from hygiene.cli.config import config_group
from hygiene.cli.demo import demo
from hygiene.cli.evidence import evidence
from hygiene.cli.fleet import scan_all
from hygiene.cli.frameworks import frameworks
from hygiene.cli.history import baseline, diff, history
from hygiene.cli.permissions import permissions
from hygiene.cli.policies import policies
from hygiene.cli.portfolio import portfolio
from hygiene.cli.scan import evaluate, scan
from hygiene.logsetup import configure


@click.group(cls=OneLineUsageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hygiene")
@click.option(
    "--log-level",
    default=lambda: os.environ.get("HYGIENE_LOG_LEVEL", "warning"),
    show_default="warning",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="JSON-lines log file (default: hygiene.log in the output folder of a scan).",
)
@click.pass_context
def main(ctx: click.Context, log_level: str, log_file: Path | None) -> None:
    """hygiene: is MFA really on, which accounts are stale, are backups happening, are devices patched?"""
    ctx.ensure_object(dict)
    ctx.obj["log_level"] = log_level
    ctx.obj["log_file"] = log_file
    configure(log_level, log_file)


for _command in (
    scan,
    scan_all,
    evaluate,
    demo,
    checks,
    policies,
    config_group,
    permissions,
    agent,
    history,
    diff,
    baseline,
    portfolio,
    evidence,
    frameworks,
):
    main.add_command(_command)

__all__ = ["main"]
