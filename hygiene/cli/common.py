"""The one set-up every command shares: the consoles, the one-line-error guard, the logging of a command that
writes an output folder, the shared options and the exit codes.

Exit codes: 0 done, 1 failures at/above --fail-on, 2 usage or input error, 3 scan incomplete (a source or dataset
could not be read, or a check errored). 3 wins over 1. 130: stopped by Ctrl-C (``scan-all``: or SIGTERM).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import click
from rich.console import Console

from hygiene.errors import one_line_errors
from hygiene.limits import DEFAULT_PER_CREDENTIAL, MAX_CONCURRENCY, default_concurrency
from hygiene.logsetup import configure

# the exit codes live with the report they judge; re-exported for the commands
from hygiene.results import EXIT_FAILURES as EXIT_FAILURES
from hygiene.results import EXIT_INCOMPLETE as EXIT_INCOMPLETE
from hygiene.results import EXIT_OK as EXIT_OK
from hygiene.results import EXIT_USAGE as EXIT_USAGE
from hygiene.results import exit_code as exit_code

#: no highlighting: rich's highlighter colours digits and paths inside words ("Windows1\x1b[..m0"), ids and vendor
#: text included; what is styled is styled on purpose
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

#: the exit code of a run stopped by Ctrl-C (or, for ``scan-all``, SIGTERM): 128 + SIGINT, as a shell reports it
EXIT_INTERRUPTED = 130

#: a HygieneError becomes one line on stderr and its exit code, never a traceback
guard = one_line_errors

F = TypeVar("F", bound=Callable[..., Any])

HISTORY_DATA_DIR_HELP = (
    "Folder holding history.sqlite3 (default: HYGIENE_DATABASE_URL, else HYGIENE_DATA_DIR or the platform data folder)."
)


def history_location(data_dir: Path | None) -> str:
    """The history's URL (:func:`hygiene.history.history_url`), saying so on stderr when ``--data-dir`` puts it in
    its SQLite file although ``HYGIENE_DATABASE_URL`` names a database: a shard or agent meant for the shared
    PostgreSQL would otherwise record into a local file without a word."""
    import os

    from hygiene.history import DATABASE_URL_ENV, history_url

    url = history_url(data_dir)
    if data_dir is not None and os.environ.get(DATABASE_URL_ENV, "").strip():
        err.print(
            f"history: {data_dir / 'history.sqlite3'} (--data-dir wins over {DATABASE_URL_ENV}; leave --data-dir "
            f"out and set HYGIENE_DATA_DIR for the locks to use the database)",
            markup=False,
        )
    return url


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


def _concurrency(ctx: click.Context, param: click.Parameter, value: int | None) -> int:
    if value is not None:
        return value
    try:
        return default_concurrency()
    except ValueError as exc:  # a bad HYGIENE_CONCURRENCY
        raise click.BadParameter(str(exc)) from None


def concurrency_option(fn: F) -> F:
    """``--concurrency N``: organisations scanned at once (default from the environment or the machine)."""
    return click.option(
        "--concurrency",
        type=click.IntRange(1, MAX_CONCURRENCY),
        default=None,
        callback=_concurrency,
        help="Organisations scanned at once (default: HYGIENE_CONCURRENCY, else min(32, 4 per CPU)).",
    )(fn)


def per_credential_option(fn: F) -> F:
    """``--per-credential N``: platform reads at once through one vendor credential, across organisations."""
    return click.option(
        "--per-credential",
        type=click.IntRange(1, MAX_CONCURRENCY),
        default=DEFAULT_PER_CREDENTIAL,
        show_default=True,
        help="Platform reads at once through one credential (one app registration, service account or AWS "
        "account), whichever organisations share it.",
    )(fn)


def log_into(ctx: click.Context, output: Path, name: str = "hygiene.log") -> None:
    """Log to ``output``/``name`` unless ``--log-file`` chose a file (the folder is created, owner-only)."""
    if ctx.obj.get("log_file") is None:
        output.mkdir(parents=True, exist_ok=True, mode=0o700)
        configure(ctx.obj["log_level"], output / name)


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
        except KeyboardInterrupt:
            # click would say "Aborted!" and exit 1, which a scheduler reads as "failures found" (--fail-on)
            err.print("interrupted", markup=False, highlight=False)
            sys.exit(EXIT_INTERRUPTED)


def _one_line(exc: click.UsageError) -> click.UsageError:
    if isinstance(exc, OneLineUsageError):
        return exc
    return OneLineUsageError(exc.format_message(), exc.ctx)  # exit code 2, as every usage error
