"""``hygiene scan-all CONFIG_DIR``: every organisation of a folder, concurrently, then a summary and the portfolio."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hygiene.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    concurrency_option,
    data_dir_option,
    err,
    guard,
    history_location,
    log_into,
    out,
    per_credential_option,
)
from hygiene.cli.tables import Listing, print_listing
from hygiene.errors import HygieneError, one_line
from hygiene.safetext import inert
from hygiene.taxonomy import SEVERITIES

if TYPE_CHECKING:
    from hygiene.fleet import OrgOutcome, Shard


def _shard(ctx: click.Context, param: click.Parameter, value: str | None) -> Shard | None:
    from hygiene.fleet import Shard

    if value is None:
        return None
    try:
        return Shard.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _progress(outcome: OrgOutcome, done: int, total: int) -> None:
    width = len(str(total))
    if outcome.status == "error":
        what = f"{'not scanned' if outcome.exit_code == EXIT_USAGE else 'error'}: {outcome.error}"
    else:
        what = f"{outcome.status}, grade {outcome.grade} ({outcome.score:.0f}), {outcome.failing} failing"
    err.print(
        f"[{done:>{width}}/{total}] {outcome.org}: {inert(what)} ({outcome.seconds:.1f} s)",
        markup=False,
        highlight=False,
    )


def _summary(outcomes: list[OrgOutcome]) -> Listing:
    headers = ("organisation", "status", "grade", "score", "failing", "seconds", "exit", "note")
    listing = Listing(headers, ids=("organisation",))
    for o in outcomes:
        listing.add(
            o.org,
            o.status,
            o.grade or "-",
            "-" if o.score is None else f"{o.score:.0f}",
            str(o.failing),
            f"{o.seconds:.1f}",
            str(o.exit_code),
            inert(o.error or ""),
        )
    return listing


@click.command("scan-all")
@click.argument("config_dir", metavar="CONFIG_DIR", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--shard",
    default=None,
    callback=_shard,
    metavar="INDEX/COUNT",
    help="Scan only the organisations whose id hashes (SHA-256) to INDEX of COUNT shards, INDEX from 0 "
    "(e.g. --shard $JOB_COMPLETION_INDEX/4 in a Kubernetes Indexed Job).",
)
@concurrency_option
@per_credential_option
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the reports, OUTPUT/ORG/SCAN_ID, and hygiene.log (hygiene-shard-I-of-N.log with --shard) "
    "(default: HYGIENE_OUTPUT_DIR, else hygiene-output).",
)
@data_dir_option(
    "History (DIR/history.sqlite3) and locks (default: HYGIENE_DATABASE_URL for the history, HYGIENE_DATA_DIR or "
    "the platform data folder)."
)
@click.option(
    "--portfolio",
    "portfolio_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write portfolio.html and portfolio.json here at the end (default: OUTPUT; a --shard run writes none "
    "unless given: the other shards may still be running).",
)
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    default=None,
    help="Exit 1 for an organisation whose check of this severity or higher failed.",
)
@click.option("--operator", default=None, help="Who ran the scans, for the reports (default: hygiene scan-all).")
@click.option("--no-raw", is_flag=True, help="Do not keep raw vendor responses beside the reports.")
@click.pass_context
@guard
def scan_all(
    ctx: click.Context,
    config_dir: Path,
    shard: Shard | None,
    concurrency: int,
    per_credential: int,
    output: Path | None,
    data_dir: Path | None,
    portfolio_dir: Path | None,
    fail_on: str | None,
    operator: str | None,
    no_raw: bool,
) -> None:
    """Scan every organisation configured in CONFIG_DIR (one *.toml per organisation; files starting with '_'
    are shared defaults they include), several at once, then print a summary and write the portfolio.

    A broken config is named and the others are still scanned. Exit code: the worst organisation's (2 not
    scanned, 3 incomplete, 1 failures at --fail-on, 0); 130 when stopped by Ctrl-C or SIGTERM (the scans already
    running finish and are recorded, no new one starts)."""
    from hygiene.fleet import (
        FleetInterrupted,
        FleetOptions,
        Shard,
        fleet_operator,
        read_fleet,
        scan_fleet,
        worst_exit_code,
    )
    from hygiene.limits import SharedLimits

    entries = read_fleet(config_dir)
    output = output or Path(os.environ.get("HYGIENE_OUTPUT_DIR", "hygiene-output"))
    shard = shard or Shard()
    # shards may share the output folder (a volume every pod mounts): one log each
    log_into(ctx, output, "hygiene.log" if shard.count == 1 else f"hygiene-shard-{shard.index}-of-{shard.count}.log")
    history = history_location(data_dir)
    options = FleetOptions(
        output_dir=output,
        history=history,
        data_dir=data_dir,
        concurrency=concurrency,
        shard=shard,
        fail_on=fail_on,
        limits=SharedLimits(per_credential),
        operator=operator or fleet_operator(),
        keep_raw=not no_raw,
    )
    mine = sum(1 for e in entries if shard.owns(e.key))
    err.print(
        f"scanning {mine} of {len(entries)} organisation(s) (shard {shard}), {concurrency} at once",
        markup=False,
        highlight=False,
    )
    try:
        with _signals_interrupt():
            outcomes = scan_fleet(
                entries,
                options,
                on_done=_progress,
                on_wait=lambda org: err.print(f"waiting for the running scan of {org} to finish…", markup=False),
            )
    except FleetInterrupted as stopped:
        if stopped.outcomes:
            print_listing(out, _summary(stopped.outcomes))
        err.print(
            f"interrupted: {len(stopped.outcomes)} organisation(s) scanned, {stopped.not_started} not started; "
            "no portfolio written",
            markup=False,
            highlight=False,
        )
        sys.exit(EXIT_INTERRUPTED)
    print_listing(out, _summary(outcomes))
    out.print(f"reports: {output.resolve()}/ORG/SCAN_ID", markup=False, highlight=False)
    if portfolio_dir is None and shard.count == 1:
        portfolio_dir = output
    if portfolio_dir is not None:
        _write_portfolio(config_dir, history, portfolio_dir)
    elif shard.count > 1:
        err.print(
            "portfolio: not written by one shard; once every shard has finished run "
            f"`hygiene portfolio {config_dir}` (it reads the shared history)",
            markup=False,
            highlight=False,
        )
    sys.exit(worst_exit_code(outcomes))


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """Ctrl-C and SIGTERM (``kubectl delete``, a pod's end, ``systemctl stop``) stop the fleet: no new scan
    starts, the running ones finish (a scan is recorded whole or not at all); a second signal ends the process at
    once. Python's default for SIGTERM is to die at once, with every running scan lost, and a Ctrl-C alone would
    leave the thread pool to start every queued scan before exiting."""
    from hygiene.fleet import Interrupted

    received: list[int] = []

    def interrupt(signum: int, frame: object) -> None:
        del frame
        received.append(signum)
        if len(received) > 1:
            os._exit(EXIT_INTERRUPTED)  # the locks are the OS's (released); a history write is one transaction
        raise Interrupted()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _write_portfolio(config_dir: Path, history: str, folder: Path) -> None:
    from hygiene.portfolio import build_portfolio, write_portfolio

    try:
        files = write_portfolio(build_portfolio(config_dir, history, 14, output=folder), folder)
    except HygieneError as exc:  # the scans' exit code stands; the portfolio can be written again later
        err.print(f"portfolio not written: {one_line(str(exc))}", markup=False, highlight=False)
        return
    out.print(f"portfolio: {files['html'].resolve()}", markup=False, highlight=False)
