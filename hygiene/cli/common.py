"""The one set-up every command shares: the consoles, the one-line-error guard, the logging of a command that
writes an output folder, the shared options and the exit codes.

Exit codes: 0 done, 1 failures at/above --fail-on, 2 usage or input error, 3 scan incomplete (a source or dataset
could not be read, or a check errored). 3 wins over 1.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import click
from rich.console import Console

from hygiene.errors import one_line_errors
from hygiene.logsetup import configure
from hygiene.results import ScanReport, Status
from hygiene.taxonomy import SEVERITIES

EXIT_OK, EXIT_FAILURES, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3

#: no highlighting: rich's highlighter colours digits and paths inside words ("Windows1\x1b[..m0"), ids and vendor
#: text included; what is styled is styled on purpose
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

#: a HygieneError becomes one line on stderr and its exit code, never a traceback
guard = one_line_errors

F = TypeVar("F", bound=Callable[..., Any])

HISTORY_DATA_DIR_HELP = (
    "Folder holding history.sqlite3 (default: HYGIENE_DATABASE_URL, else HYGIENE_DATA_DIR or the platform data folder)."
)


def data_dir_option(help_text: str | None = HISTORY_DATA_DIR_HELP) -> Callable[[F], F]:
    """``--data-dir DIR``: the folder of the history (and of keys, locks and the heartbeat), default by env."""
    return click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help=help_text)


def json_option(fn: F) -> F:
    """``--json``: print JSON instead of a table."""
    return click.option("--json", "as_json", is_flag=True)(fn)


def checks_dir_option(help_text: str | None = None) -> Callable[[F], F]:
    """``--checks-dir DIR`` (repeatable): extra folders of check modules."""
    return click.option(
        "--checks-dir",
        "checks_dirs",
        multiple=True,
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        help=help_text,
    )


def log_into(ctx: click.Context, output: Path) -> None:
    """Log to ``output``/hygiene.log unless ``--log-file`` chose a file (the folder is created, owner-only)."""
    if ctx.obj.get("log_file") is None:
        output.mkdir(parents=True, exist_ok=True, mode=0o700)
        configure(ctx.obj["log_level"], output / "hygiene.log")


def exit_code(report: ScanReport, fail_on: str | None) -> int:
    """3 when the scan is incomplete, else 1 when a check of severity ``fail_on`` or higher failed, else 0."""
    if not report.complete:
        return EXIT_INCOMPLETE
    if fail_on:
        floor = SEVERITIES.index(fail_on)
        for result in report.results:
            if result.status is Status.FAIL and SEVERITIES.index(result.severity) <= floor:
                return EXIT_FAILURES
    return EXIT_OK


class OneLineUsageError(click.UsageError):
    """A usage error in one line on stderr: ``Error: <what is wrong> (see 'hygiene scan --help')``. Click's own
    form is three lines (the usage, a hint, the error), which scripts and logs cut apart."""

    def show(self, file: IO[Any] | None = None) -> None:
        hint = f" (see '{self.ctx.command_path} --help')" if self.ctx is not None else ""
        click.echo(f"Error: {self.format_message()}{hint}", file=file, err=file is None)


class OneLineUsageGroup(click.Group):
    """The ``main`` group: every usage error of it and of its commands (bad option, bad choice, missing argument,
    unknown command) becomes a :class:`OneLineUsageError`, exit code 2 as before."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line(exc) from None


def _one_line(exc: click.UsageError) -> click.UsageError:
    if isinstance(exc, OneLineUsageError):
        return exc
    return OneLineUsageError(exc.format_message(), exc.ctx)  # exit code 2, as every usage error
