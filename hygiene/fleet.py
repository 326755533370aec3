"""A fleet: every organisation config of a folder scanned in one run (``hygiene scan-all CONFIG_DIR``).

- **Shards.** ``--shard INDEX/COUNT`` scans the organisations whose id hashes to INDEX: the first 8 bytes of the
  SHA-256 of the id, modulo COUNT (stable across processes, machines and Python versions, unlike ``hash()``), so
  COUNT workers (a Kubernetes Indexed Job) scan every organisation exactly once between them. A config that does
  not load has no id: its file name is hashed instead, so exactly one shard names it.
- **Concurrency.** Scans wait on the vendors, so up to ``concurrency`` run at once on threads (measured against
  processes: docs/benchmarks.md), each under its organisation's lock (one scan per organisation at a time,
  whoever starts it); a slow or failing tenant holds one worker, never the others. Organisations sharing a
  credential share its vendor's throttling (:class:`hygiene.limits.SharedLimits`).
- **Bad input** is named and the rest still scanned: a broken config, or a second config using an id already
  used, is an outcome with exit code 2, never a stop.
- **Exit code**: the worst organisation's, worst first 2 (not scanned: bad config or credentials), 3
  (incomplete or errored), 1 (failures at ``--fail-on``), 0.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from structlog.contextvars import bound_contextvars

from hygiene.agent.lock import organisation_lock
from hygiene.config import Config, load_config, organisation_config_files
from hygiene.errors import HygieneError, InputError, one_line
from hygiene.limits import SharedLimits
from hygiene.paths import default_data_dir
from hygiene.results import EXIT_FAILURES, EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, Status, exit_code
from hygiene.scan import ScanOptions, ScanOutcome, new_scan_id, run_scan

log = structlog.get_logger(__name__)

SHARD = re.compile(r"([0-9]{1,6})/([0-9]{1,6})")
#: exit codes, best to worst: a scan that could not start (bad config or credential) is worse than an incomplete one
EXIT_SEVERITY = (EXIT_OK, EXIT_FAILURES, EXIT_INCOMPLETE, EXIT_USAGE)


def shard_of(key: str, count: int) -> int:
    """The shard (0 .. count-1) of an organisation id: SHA-256, first 8 bytes big-endian, modulo ``count``."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


@dataclass(frozen=True)
class Shard:
    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``INDEX/COUNT``, 0 <= INDEX < COUNT (Kubernetes' ``JOB_COMPLETION_INDEX`` counts from 0)."""
        match = SHARD.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not INDEX/COUNT (e.g. 0/4)")
        index, count = int(match[1]), int(match[2])
        if count < 1 or index >= count:
            raise ValueError(f"{text!r}: INDEX counts from 0 and must be below COUNT (e.g. 0/4 to 3/4)")
        return cls(index, count)

    def owns(self, key: str) -> bool:
        return shard_of(key, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


@dataclass(frozen=True)
class FleetEntry:
    """One organisation config of the folder: loaded, or the one-line reason it is not."""

    path: Path
    config: Config | None = None
    error: str | None = None

    @property
    def key(self) -> str:
        """What shards it: the organisation id, or the file name when the config does not load."""
        return self.config.organisation.id if self.config is not None else self.path.name


def read_fleet(config_dir: Path) -> list[FleetEntry]:
    """Every organisation config in ``config_dir`` (:func:`hygiene.config.organisation_config_files`); a broken
    config, or one whose id an earlier file (by name) already uses, is an entry with its error."""
    paths = organisation_config_files(config_dir)
    if not paths:
        raise InputError(config_dir, "no organisation configs (*.toml) in this folder")
    entries: list[FleetEntry] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            config = load_config(path)
        except HygieneError as exc:
            entries.append(FleetEntry(path, error=one_line(exc.message if isinstance(exc, InputError) else str(exc))))
            continue
        org = config.organisation.id
        if org in seen:
            entries.append(FleetEntry(path, error=f"organisation id {org!r} already used by {seen[org]}"))
            continue
        seen[org] = path.name
        entries.append(FleetEntry(path, config))
    return entries


class Interrupted(BaseException):
    """Raised in the main thread by a termination signal (SIGTERM: Kubernetes stopping a pod), like Ctrl-C."""


class FleetInterrupted(Exception):
    """The fleet scan was stopped: the scans that had started finished (``outcomes``), ``not_started`` did not."""

    def __init__(self, outcomes: list[OrgOutcome], not_started: int) -> None:
        super().__init__(f"interrupted: {not_started} organisation(s) not scanned")
        self.outcomes = outcomes
        self.not_started = not_started


@dataclass(frozen=True)
class OrgOutcome:
    """How one organisation of the fleet went."""

    org: str
    config: Path
    #: ok / failures / incomplete (as the agent says), or error (not scanned, or the scan raised)
    status: str
    exit_code: int
    seconds: float = 0.0
    name: str | None = None
    scan_id: str | None = None
    score: float | None = None
    grade: str | None = None
    failing: int = 0
    error: str | None = None
    output: Path | None = None


ScanFunction = Callable[[Config, ScanOptions], ScanOutcome]


@dataclass
class FleetOptions:
    #: reports go to ``output_dir/<org>/<scan id>/``
    output_dir: Path
    #: the history's database URL (every scan is recorded: the portfolio is built from it)
    history: str
    #: the organisation locks' folder (default: the platform data folder)
    data_dir: Path | None = None
    concurrency: int = 4
    shard: Shard = field(default_factory=Shard)
    fail_on: str | None = None
    limits: SharedLimits = field(default_factory=SharedLimits)
    operator: str | None = None
    keep_raw: bool = True
    environ: dict[str, str] | None = None
    #: the scan itself (tests put a slow or failing one in)
    scan: ScanFunction = run_scan


def _scan_one(entry: FleetEntry, options: FleetOptions, on_wait: Callable[[str], None]) -> OrgOutcome:
    """Scan one organisation under its lock; never raises (a problem is the outcome's error)."""
    started = time.monotonic()
    config = entry.config
    if config is None:
        return OrgOutcome(entry.key, entry.path, "error", EXIT_USAGE, error=entry.error)
    org = config.organisation.id

    def outcome_of(status: str, code: int, **more: Any) -> OrgOutcome:
        seconds = time.monotonic() - started
        return OrgOutcome(org, entry.path, status, code, seconds, config.organisation.name, **more)

    output = options.output_dir / org / new_scan_id(org, datetime.now(UTC))
    try:
        with (
            bound_contextvars(org=org),
            organisation_lock(options.data_dir or default_data_dir(), org, on_wait=lambda: on_wait(org)),
        ):
            outcome = options.scan(
                config,
                ScanOptions(
                    output_dir=output,
                    formats=config.reports.formats,
                    operator=options.operator,
                    keep_raw=options.keep_raw,
                    environ=options.environ,
                    history=options.history,
                    limits=options.limits,
                ),
            )
    except HygieneError as exc:  # a credential that cannot work, a bad profile: named, the rest go on
        error = one_line(str(exc))
        log.error("organisation not scanned", org=org, error=error)
        return outcome_of("error", exc.exit_code, error=error)
    except Exception as exc:  # one tenant's crash must not stop the fleet
        log.exception("organisation scan failed", org=org)
        return outcome_of("error", EXIT_INCOMPLETE, error=one_line(f"{type(exc).__name__}: {exc}"))
    report = outcome.report
    failing = sum(1 for r in report.results if r.status is Status.FAIL)
    status = "incomplete" if not report.complete else ("failures" if failing else "ok")
    return outcome_of(
        status,
        exit_code(report, options.fail_on),
        scan_id=report.scan_id,
        score=report.score.value,
        grade=report.score.grade,
        failing=failing,
        output=output,
    )


def scan_fleet(
    entries: Iterable[FleetEntry],
    options: FleetOptions,
    on_done: Callable[[OrgOutcome, int, int], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> list[OrgOutcome]:
    """Scan the entries of ``options.shard``, up to ``options.concurrency`` at once; ``on_done(outcome, done,
    total)`` is called (from this thread) as each finishes. Returns the outcomes ordered by organisation."""
    mine = [e for e in entries if options.shard.owns(e.key)]
    waiting = on_wait or (lambda org: log.info("waiting for the running scan of the organisation", org=org))
    outcomes: list[OrgOutcome] = []
    log.info("fleet scan", organisations=len(mine), shard=str(options.shard), concurrency=options.concurrency)
    with ThreadPoolExecutor(max_workers=max(1, options.concurrency), thread_name_prefix="hygiene-scan") as pool:
        futures = [pool.submit(_scan_one, entry, options, waiting) for entry in mine]
        reported: set[Future[OrgOutcome]] = set()

        def report(future: Future[OrgOutcome]) -> None:
            reported.add(future)
            outcomes.append(future.result())
            if on_done is not None:
                on_done(outcomes[-1], len(outcomes), len(futures))

        try:
            for future in as_completed(futures):
                report(future)
        except (KeyboardInterrupt, Interrupted):  # Ctrl-C, or SIGTERM (a pod being stopped) as the CLI raises it
            # no new scan starts; the running ones finish (a scan is recorded whole or not at all) and count
            cancelled = sum(1 for future in futures if future.cancel())
            running = [future for future in futures if not future.cancelled() and future not in reported]
            log.warning("fleet scan interrupted", running=len(running), not_started=cancelled)
            for future in as_completed(running):
                report(future)
            raise FleetInterrupted(sorted(outcomes, key=lambda o: o.org), cancelled) from None
    return sorted(outcomes, key=lambda o: o.org)


def worst_exit_code(outcomes: Iterable[OrgOutcome]) -> int:
    """The exit code of the fleet: its worst organisation's (:data:`EXIT_SEVERITY`), 0 for none."""
    return max((o.exit_code for o in outcomes), key=EXIT_SEVERITY.index, default=EXIT_OK)


def fleet_operator() -> str:
    return f"hygiene scan-all (pid {os.getpid()})"
