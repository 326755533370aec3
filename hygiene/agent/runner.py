"""`hygiene agent CONFIG_DIR`: APScheduler 3.x in the foreground, one job per organisation config.

- each organisation's ``[schedule]`` (default: Mondays 02:00 UTC), standard crontab meaning;
- ``max_instances=1`` and coalescing: a slow scan is never overlapped by the next, missed fires collapse into one;
- organisations run concurrently, up to ``concurrency`` at once (default: ``hygiene.limits.default_concurrency``), on
  a thread pool: a slow or failing tenant holds one thread, never the others; organisations sharing a credential
  share its vendor's throttling (one ``SharedLimits`` slot count per credential);
- catch-up: an organisation whose last run (heartbeat) is older than a fire time that has passed is scanned once
  at start, so a machine that was off at 02:00 scans when it comes back;
- a per-organisation lock file serialises the agent and manual ``hygiene scan`` runs;
- SIGTERM/SIGINT: finish the running scan, then exit; SIGHUP: reload the configs and reschedule.
A failing scan (or a broken config) is logged and recorded in the heartbeat; it never stops the agent.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from hygiene.agent.heartbeat import Heartbeat, OrgBeat, heartbeat_path, read_heartbeat, write_heartbeat
from hygiene.agent.lock import scan_lock
from hygiene.config import Config, ScheduleConfig, load_config, organisation_config_files
from hygiene.errors import HygieneError, InputError
from hygiene.history import HistoryError
from hygiene.history.compare import since_previous
from hygiene.history.diff import ScanDiff
from hygiene.history.store import agent_history_url
from hygiene.limits import SharedLimits, default_concurrency
from hygiene.notify.change import change_since
from hygiene.notify.dispatch import notify
from hygiene.results import ScanReport
from hygiene.scan import ScanOptions, new_scan_id, run_scan
from hygiene.schedule import cron_trigger, missed_run, next_fire

log = structlog.get_logger(__name__)

ScanFunction = Callable[[Config, Path], tuple[str, str | None]]  # (config, data dir) -> (status, scan id)


@dataclass(frozen=True)
class Planned:
    """One organisation the agent has scheduled: what ``hygiene agent`` says on start."""

    org: str
    name: str
    config: Path | None
    cron: str
    timezone: str
    next_run: datetime | None
    #: a fire time passed since its last run (or it never ran): scanned now, at start
    catch_up: bool


def default_scan(config: Config, data_dir: Path, limits: SharedLimits | None = None) -> tuple[str, str | None]:
    """Run one scan into ``<data dir>/reports/<org>/<scan id>``, recorded in the history (always: the notifications
    compare with it): ``HYGIENE_DATABASE_URL``, else ``<data dir>``'s; its platform reads hold ``limits``' slot of
    their credential; return (ok / failures / incomplete, scan id)."""
    output = data_dir / "reports" / config.organisation.id / new_scan_id(config.organisation.id, datetime.now(UTC))
    history = agent_history_url(data_dir)
    options = ScanOptions(
        output_dir=output,
        formats=config.reports.formats,
        operator=f"hygiene agent (pid {os.getpid()})",
        history=history,
        limits=limits,
    )
    outcome = run_scan(config, options)
    report = outcome.report
    if config.notify is not None:
        change = change_since(report, previous_diff(history, report))
        sent = notify(config.notify, config.organisation.id, change, data_dir, dict(os.environ))
        log.info("notifications", org=config.organisation.id, sent=sent)
    if not report.complete:
        return "incomplete", report.scan_id
    return ("failures" if any(r.status.value == "fail" for r in report.results) else "ok"), report.scan_id


def previous_diff(history: str, report: ScanReport) -> ScanDiff | None:
    """The history's diff of ``report`` with the organisation's previous recorded scan (None: none recorded).

    A history that cannot be read is logged and treated as no previous scan: every failing check is then
    notified as new, which is noisy but never silences a regression."""
    try:
        return since_previous(history, report)
    except HistoryError as exc:
        log.warning("history unreadable: notifying as if this were the first scan", error=str(exc))
        return None


class Agent:
    def __init__(
        self,
        config_dir: Path,
        data_dir: Path,
        scan: ScanFunction = default_scan,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        concurrency: int | None = None,
        limits: SharedLimits | None = None,
    ) -> None:
        self.config_dir = config_dir
        self.data_dir = data_dir
        self.concurrency = concurrency or default_concurrency()
        self.limits = limits or SharedLimits()
        self.scan: ScanFunction = functools.partial(default_scan, limits=self.limits) if scan is default_scan else scan
        self.now = now
        self.scheduler = BlockingScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=self.concurrency)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600},
        )
        self.beat_path = heartbeat_path(data_dir)
        previous = read_heartbeat(self.beat_path)
        self.beat = Heartbeat(
            pid=os.getpid(),
            started_at=now(),
            updated_at=now(),
            organisations=previous.organisations if previous else {},
        )
        self._beat_lock = threading.Lock()
        self.configs: dict[str, Path] = {}
        #: each organisation's schedule, as last (re)scheduled
        self.triggers: dict[str, CronTrigger] = {}
        #: what the last (re)schedule planned, and the config files it skipped (file, why)
        self.planned: list[Planned] = []
        self.skipped: list[tuple[Path, str]] = []

    # -- configs and jobs ---------------------------------------------------------------------------------
    def load_configs(self) -> dict[str, Config]:
        loaded: dict[str, Config] = {}
        self.skipped = []
        for path in organisation_config_files(self.config_dir):
            try:
                config = load_config(path)
            except HygieneError as exc:
                log.error("config skipped", file=str(path), error=str(exc))
                self.skipped.append((path, str(exc)))
                continue
            if config.organisation.id in loaded:
                log.error("config skipped: organisation id used twice", file=str(path), org=config.organisation.id)
                self.skipped.append((path, f"organisation id {config.organisation.id!r} used twice"))
                continue
            loaded[config.organisation.id] = config
        return loaded

    def schedule(self) -> int:
        """(Re)build every job from the configs on disk; returns how many organisations are scheduled."""
        configs = self.load_configs()
        self.scheduler.remove_all_jobs()
        self.configs = {org: cfg.path for org, cfg in configs.items() if cfg.path is not None}
        now = self.now()
        self.planned = []
        triggers: dict[str, CronTrigger] = {}
        for org, config in configs.items():
            schedule = config.schedule or ScheduleConfig()
            trigger = cron_trigger(schedule.cron, schedule.timezone)
            triggers[org] = trigger
            self.scheduler.add_job(
                self.run_once, trigger, args=[org], id=org, name=f"scan {org}", replace_existing=True
            )
            beat = self.beat.organisations.setdefault(org, OrgBeat())
            beat.next_run = next_fire(trigger, now)
            missed = missed_run(trigger, beat.last_run, now)
            if missed is not None:
                log.info("catching up a missed scan", org=org, missed=missed.isoformat())
                self.scheduler.add_job(
                    self.run_once, "date", run_date=now, args=[org], id=f"{org}-catch-up", replace_existing=True
                )
            self.planned.append(
                Planned(
                    org=org,
                    name=config.organisation.name,
                    config=config.path,
                    cron=schedule.cron,
                    timezone=schedule.timezone,
                    next_run=beat.next_run,
                    catch_up=missed is not None,
                )
            )
        self.triggers = triggers
        for gone in set(self.beat.organisations) - set(configs):
            self.beat.organisations.pop(gone)
        self._write_beat()
        return len(configs)

    def run_once(self, org: str) -> str:
        """One scan of one organisation, under its lock; never raises."""
        path = self.configs.get(org)
        status, error, scan_id = "error", None, None
        try:
            if path is None:
                raise InputError(None, f"no config for {org}")
            config = load_config(path)
            with scan_lock(org, self.data_dir, on_wait=lambda: log.info("waiting for a running scan", org=org)):
                status, scan_id = self.scan(config, self.data_dir)
        except Exception as exc:  # the agent must outlive any one scan
            error = f"{type(exc).__name__}: {exc}"
            log.error("scheduled scan failed", org=org, error=error, exc_info=not isinstance(exc, HygieneError))
        with self._beat_lock:
            beat = self.beat.organisations.setdefault(org, OrgBeat())
            beat.last_run, beat.last_status, beat.last_error, beat.last_scan_id = self.now(), status, error, scan_id
            # never ask the scheduler here: its shutdown (SIGTERM) holds its job-store lock while it waits for the
            # running scans, so a scan finishing into get_job() would wait for ever
            trigger = self.triggers.get(org)
            beat.next_run = next_fire(trigger, self.now()) if trigger is not None else None
        self._write_beat()
        log.info("scheduled scan done", org=org, status=status)
        return status

    def _write_beat(self) -> None:
        with self._beat_lock:
            write_heartbeat(self.beat_path, self.beat)

    # -- running ------------------------------------------------------------------------------------------
    def _on_term(self, signum: int, frame: Any) -> None:
        log.info("stopping: letting the running scan finish", signal=signum)
        threading.Thread(target=self._stop, daemon=True).start()

    def _stop(self) -> None:
        """Shut the scheduler down once it runs: a signal during start-up must stop the agent too, not be lost."""
        while not self.scheduler.running:
            time.sleep(0.05)
        self.scheduler.shutdown(wait=True)

    def _on_hup(self, signum: int, frame: Any) -> None:
        count = self.schedule()
        log.info("configs reloaded", organisations=count)

    def run(self, on_start: Callable[[Agent], None] | None = None) -> None:
        """Schedule every organisation, then run until SIGTERM/SIGINT; ``on_start`` is called once the scheduler
        runs, to say what was planned (``planned``, ``skipped``)."""
        if self.schedule() == 0:
            raise InputError(self.config_dir, "no valid organisation config (*.toml) to schedule")
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, self._on_hup)
        log.info(
            "agent started",
            organisations=sorted(self.configs),
            concurrency=self.concurrency,
            heartbeat=str(self.beat_path),
            next_runs={p.org: p.next_run.isoformat() if p.next_run else None for p in self.planned},
            catch_up=[p.org for p in self.planned if p.catch_up],
        )
        if on_start is not None:  # once the scheduler runs, so that a signal after the message stops it
            self.scheduler.add_listener(lambda _: on_start(self), EVENT_SCHEDULER_STARTED)
        try:
            self.scheduler.start()
        finally:
            self.beat.state = "stopped"
            self._write_beat()
            log.info("agent stopped")
