"""One scan, end to end: sources collect -> snapshot -> checks evaluate -> results -> score -> reports."""

from __future__ import annotations

import contextlib
import contextvars
import getpass
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from hygiene import __version__
from hygiene.config import Config, PolicyConfig
from hygiene.engine import evaluate
from hygiene.errors import InputError
from hygiene.history import HistoryStore, sqlite_url
from hygiene.history.drift import drift_for
from hygiene.limits import SharedLimits
from hygiene.model import DatasetState, OrganisationRef, Snapshot
from hygiene.policy import ControlsFile, Profile, load_controls, load_lifecycle, load_profile
from hygiene.registry import Registry
from hygiene.reports import DEFAULT_FORMATS, write_reports
from hygiene.results import ScanReport
from hygiene.selection import ScanPlan
from hygiene.snapshot_io import save_snapshot
from hygiene.sources.interface import Collected, RawRecorder, ReadProgress, Source
from hygiene.sources.platforms import PLATFORMS
from hygiene.sources.platforms import platform as platform_spec

log = structlog.get_logger(__name__)

SNAPSHOT_NAME = "snapshot.json.gz"


def new_scan_id(org_id: str, at: datetime) -> str:
    return f"{org_id}-{at.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(2)}"


def default_operator() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def build_sources(
    config: Config, environ: dict[str, str] | None = None, platforms: Iterable[str] | None = None
) -> list[Source[Any]]:
    """A source per platform the config names (or those of ``platforms`` only), in the platforms' order; only
    those platforms' SDKs are loaded."""
    wanted = None if platforms is None else set(platforms)
    return [
        platform.open(section, environ=environ)
        for platform in PLATFORMS
        if (section := config.section(platform.name)) is not None and (wanted is None or platform.name in wanted)
    ]


def check_credentials(
    config: Config, environ: Mapping[str, str] | None = None, platforms: Iterable[str] | None = None
) -> None:
    """Fail fast, before any request: an InputError naming the config key and the problem (one line) when a
    platform's credential cannot work (an unset environment variable, an unreadable or malformed key, an AWS
    profile that does not exist), each platform checking its own (``PlatformSpec.check_credentials``)."""
    env = os.environ if environ is None else environ
    wanted = None if platforms is None else set(platforms)
    problems = [
        problem
        for platform in PLATFORMS
        if (section := config.section(platform.name)) is not None and (wanted is None or platform.name in wanted)
        for problem in platform.check_credentials(section, env)
    ]
    if problems:
        raise InputError(config.path, "; ".join(problems))


@dataclass
class ScanOptions:
    output_dir: Path
    formats: Iterable[str] = DEFAULT_FORMATS
    profile: str | None = None
    extra_check_dirs: list[Path] = field(default_factory=list)
    operator: str | None = None
    keep_raw: bool = True
    environ: dict[str, str] | None = None
    #: called with (platform, "start" | "done") so the CLI can show progress
    progress: Callable[[str, str], None] | None = None
    #: told of each response and each dataset read, as the sources read them (a progress display); each dataset
    #: read is logged too, whatever this is
    reading: ReadProgress | None = None
    #: where to record the scan: a database URL, or a path to a SQLite file; None: not recorded
    history: str | Path | None = None
    #: what to read (``hygiene scan --checks/--platforms``, see ``hygiene.selection.plan_scan``); None: everything
    plan: ScanPlan | None = None
    #: shared by the scans of a fleet: each platform read holds a slot of its credential
    #: (``PlatformSpec.credential_key``), so organisations sharing a credential share its vendor's throttling
    limits: SharedLimits | None = None


@dataclass
class ScanOutcome:
    report: ScanReport
    files: dict[str, Path]
    snapshot_path: Path


@dataclass
class Policy:
    profile: Profile
    controls: ControlsFile
    registry: Registry


def load_policy(
    config: Config | None,
    profile_override: str | None = None,
    extra_dirs: Iterable[Path] = (),
    exceptions_override: Path | None = None,
) -> Policy:
    """The profile, exceptions and checks that ``config`` names, each overridable; without a config (an offline
    evaluation of a snapshot) the default profile, no exceptions and the built-in checks."""
    policy = config.policy if config else PolicyConfig()
    base = config.path.parent if config and config.path else None
    profile = load_profile(profile_override or policy.profile, base)
    controls = load_controls(exceptions_override or policy.exceptions)
    registry = Registry.load([*(config.checks.extra_dirs if config else ()), *extra_dirs])
    return Policy(profile, controls, registry)


def collect(config: Config, options: ScanOptions) -> Snapshot:
    started = datetime.now(UTC)
    raw_dir = options.output_dir / "raw" if options.keep_raw else None
    snapshot = Snapshot(
        tool_version=__version__,
        organisation=OrganisationRef(id=config.organisation.id, name=config.organisation.name),
        collected_at=started,
    )
    plan = options.plan or ScanPlan()
    snapshot.selection = plan.selection
    sources = build_sources(config, options.environ, plan.datasets or None)

    def read(source: Source[Any]) -> Collected[Any]:
        if options.progress:
            options.progress(source.platform, "start")
        log.info("collecting", platform=source.platform)
        reading = _Reading(options.reading)
        with _credential_slot(config, source.platform, options.limits):
            collected = source.collect(
                RawRecorder(raw_dir, source.platform, progress=reading), plan.datasets.get(source.platform)
            )
        reading.finish(source.platform, collected.run.datasets)
        log.info("collected", platform=source.platform, status=collected.run.status, requests=collected.run.requests)
        if options.progress:
            options.progress(source.platform, "done")
        return collected

    # the platforms are read at once (a scan's time is its slowest platform's, not their sum: AWS's credential
    # report waits while Microsoft 365 is read); a platform that reads what others collected (email: the domains
    # they hold, ``PlatformSpec.reads_from``) after them. Attached in the platforms' order: the same snapshot
    for wave in (
        [s for s in sources if not platform_spec(s.platform).reads_from],
        [s for s in sources if platform_spec(s.platform).reads_from],
    ):
        for source in wave:
            source.read_after(snapshot)
        for source, collected in zip(wave, _at_once(read, wave), strict=True):
            snapshot.attach(source.platform, collected.run, collected.data)
    return snapshot


def _at_once(read: Callable[[Source[Any]], Collected[Any]], sources: list[Source[Any]]) -> list[Collected[Any]]:
    """``read`` of every source, each on a thread of its own (in the caller's context: its log bindings), in order;
    the first error is raised once every read has ended."""
    if len(sources) <= 1:
        return [read(source) for source in sources]
    with ThreadPoolExecutor(len(sources), thread_name_prefix="hygiene-platform") as pool:
        futures = [pool.submit(contextvars.copy_context().run, read, source) for source in sources]
        wait(futures)
    return [future.result() for future in futures]


def _credential_slot(
    config: Config, platform: str, limits: SharedLimits | None
) -> contextlib.AbstractContextManager[None]:
    if limits is None:
        return contextlib.nullcontext()
    return limits.hold(platform_spec(platform).credential_key(config.section(platform)))


class _Reading:
    """What the sources tell as they read: passed on to ``ScanOptions.reading`` and logged, one structured line per
    dataset (never one per response); :meth:`finish` adds the final count of every dataset read, those the source
    did not tell (read alongside another) too."""

    def __init__(self, reading: ReadProgress | None) -> None:
        self.reading = reading
        self.logged: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, platform: str, dataset: str | None, count: int) -> None:
        if dataset is not None:
            with self._lock:
                self.logged.add(dataset)
            log.info("dataset read", platform=platform, dataset=dataset, count=count)
        if self.reading is not None:
            self.reading(platform, dataset, count)

    def finish(self, platform: str, datasets: dict[str, DatasetState]) -> None:
        for name, state in datasets.items():
            if not state.available:
                continue
            if name not in self.logged:
                log.info("dataset read", platform=platform, dataset=name, count=state.records)
            if self.reading is not None:
                self.reading(platform, name, state.records)


def run_scan(config: Config, options: ScanOptions) -> ScanOutcome:
    policy = load_policy(config, options.profile, options.extra_check_dirs)
    check_credentials(config, options.environ, options.plan.datasets if options.plan else None)
    options.output_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    started = datetime.now(UTC)
    scan_id = new_scan_id(config.organisation.id, started)
    snapshot = collect(config, options)
    snapshot_path = options.output_dir / SNAPSHOT_NAME
    save_snapshot(snapshot, snapshot_path)
    report = evaluate(
        snapshot,
        policy.registry,
        policy.profile,
        policy.controls,
        load_lifecycle(),
        scan_id=scan_id,
        operator=options.operator or default_operator(),
        started_at=started,
        finished_at=datetime.now(UTC),
    )
    if options.history is not None:
        report.drift = drift_for(options.history, report)
    files = write_reports(report, options.output_dir, options.formats)
    if options.history is not None:
        record_history(options.history, report, {**files, "snapshot": snapshot_path})
    log.info(
        "scan finished",
        scan_id=scan_id,
        score=report.score.value,
        grade=report.score.grade,
        output=str(options.output_dir),
    )
    return ScanOutcome(report=report, files=files, snapshot_path=snapshot_path)


def record_history(target: str | Path, report: ScanReport, files: dict[str, Path]) -> None:
    url = sqlite_url(target) if isinstance(target, Path) else target
    with HistoryStore(url) as store:
        summary = store.record(report, files)
    log.info("scan recorded in the history", scan_id=report.scan_id, baseline=summary.baseline, store=store.where)


def default_output_dir(org_id: str) -> Path:
    return Path(os.environ.get("HYGIENE_OUTPUT_DIR", "hygiene-output")) / org_id
