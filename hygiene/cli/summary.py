"""A scan's summary on the terminal (``hygiene scan``, ``evaluate`` and ``demo``) and the progress of its reads."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from hygiene.cli.common import err, out
from hygiene.cli.tables import Listing, print_listing
from hygiene.figures import format_percent, format_score
from hygiene.results import ScanReport, Status
from hygiene.safetext import inert
from hygiene.scoring import grade_for
from hygiene.sources.platforms import PLATFORMS
from hygiene.taxonomy import SEVERITIES

if TYPE_CHECKING:
    from rich.progress import TaskID

ORDER = {Status.FAIL: 0, Status.ERROR: 1, Status.NOT_ASSESSED: 2, Status.ACCEPTED: 3, Status.PASS: 4}
COLOURS = {
    Status.FAIL: "red",
    Status.ERROR: "magenta",
    Status.NOT_ASSESSED: "yellow",
    Status.ACCEPTED: "cyan",
    Status.PASS: "green",
}


def headline(report: ScanReport) -> list[Text]:
    """What matters first: the grade and score, what the grade's caps change (one line when nothing), and the count
    of results by status."""
    score = report.score
    lines = [
        Text.assemble(
            (inert(report.organisation_name), "bold"),
            ": grade ",
            (score.grade, "bold"),
            f", score {format_score(score.value)}/100, {format_percent(score.coverage)} of checks assessed",
            f" ({inert(report.profile.title)})",
        )
    ]
    if score.caps:
        uncapped = grade_for(score.value) if score.grade != "-" else "-"
        if uncapped == score.grade:
            caps = "1 grade cap applies" if len(score.caps) == 1 else f"{len(score.caps)} grade caps apply"
            lines.append(Text(f"  {caps}, none lower the grade: the score alone gives {score.grade}", style="dim"))
        else:
            lines.append(Text(f"  grade capped at {score.grade} (the score alone gives {uncapped}):"))
            lines += [Text(f"    {inert(cap)}") for cap in score.caps[:3]]
            if len(score.caps) > 3:
                lines.append(Text(f"    and {len(score.caps) - 3} more (see the report)"))
    counts = Counter(r.status for r in report.results)
    parts = [
        Text(f"{counts[status]} {status.value.replace('_', ' ')}", style=COLOURS[status])
        for status in ORDER
        if counts[status]
    ]
    lines.append(Text.assemble("  ", Text(" · ").join(parts)) if parts else Text("  no checks ran"))
    return lines


def print_summary(report: ScanReport, files: dict[str, Path]) -> None:
    for line in headline(report):
        out.print(line, soft_wrap=False)
    for scope_line in report.scope.lines():  # a partial or incomplete scan is never mistaken for a full one
        out.print(Text(inert(scope_line), style="bold yellow"), soft_wrap=False)
    listing = Listing(("status", "severity", "check", "result"), ids=("check",))
    for result in sorted(report.results, key=lambda r: (ORDER[r.status], SEVERITIES.index(r.severity), r.check_id)):
        listing.add(
            Text(result.status.value, style=COLOURS[result.status]),
            result.severity,
            inert(result.check_id),
            # the reason names tenant resources (users, devices, policies): never markup, never a control code
            inert(result.reason),
        )
    print_listing(out, listing)
    for kind, path in files.items():
        out.print(Text(f"{kind}: {inert(path)}"))
    if not report.complete:
        err.print(Text("scan incomplete: some data could not be read (see the report's method section)", "yellow"))


def scan_progress(platform: str, phase: str) -> None:
    """A line per platform on a terminal (the demo's); :class:`ScanProgress` shows datasets and counts too."""
    if err.is_terminal:
        err.print(Text(f"{'reading' if phase == 'start' else 'read'} {platform}…", style="dim"))


def live_progress_wanted(console: Console) -> bool:
    """A live display only on a terminal, and never in CI (``CI`` set): there the log has a line per dataset."""
    return console.is_terminal and not os.environ.get("CI")


class ScanProgress:
    """A scan's reads on stderr while it runs: per platform a line with the datasets read (of the catalogue's),
    the responses so far and the time, and the last dataset with its count; once a platform is done, one line
    that stays, with each dataset's count. Nothing at all when stderr is not a terminal or ``CI`` is set.

    Use as a context manager around the scan; pass the object as ``ScanOptions.progress`` (``(platform, phase)``)
    and its :meth:`read` as ``ScanOptions.reading``. Thread-safe: the sources call :meth:`read` from their pools.
    """

    def __init__(self, console: Console = err, live: bool | None = None) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # start-up time

        self.console = console
        self.live = live_progress_wanted(console) if live is None else live
        self._progress = Progress(
            SpinnerColumn(finished_text="✓"),
            TextColumn("{task.description}"),
            BarColumn(bar_width=16),
            TextColumn("{task.completed}/{task.total} datasets"),
            TextColumn("{task.fields[responses]:,} responses"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskID] = {}
        self._datasets: dict[str, dict[str, int]] = {}
        self._started: dict[str, float] = {}
        self._responses: dict[str, int] = {}

    def __enter__(self) -> ScanProgress:
        if self.live:
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.live:
            self._progress.stop()

    def __call__(self, platform: str, phase: str) -> None:
        """``ScanOptions.progress``: a platform's read starts or is done."""
        if not self.live:
            return
        with self._lock:
            if phase == "start":
                total = _dataset_count(platform)
                self._started[platform] = time.monotonic()
                self._datasets[platform] = {}
                self._tasks[platform] = self._progress.add_task(_title(platform), total=total or None, responses=0)
                return
            task = self._tasks.pop(platform, None)
            datasets = dict(self._datasets.get(platform, {}))
            responses = self._responses.get(platform, 0)
            took = time.monotonic() - self._started.get(platform, time.monotonic())
        if task is None:
            return
        self._progress.remove_task(task)
        total = _dataset_count(platform)
        counts = " · ".join(f"{name.split('.', 1)[-1]} {count:,}" for name, count in sorted(datasets.items()))
        self._progress.console.print(
            Text.assemble(
                ("✓ ", "green") if len(datasets) >= total else ("! ", "yellow"),
                (_title(platform), "bold"),
                f": {len(datasets)} of {total} datasets read, {responses:,} responses in {took:.1f} s",
                (f"  ({counts})" if counts else "", "dim"),
            )
        )

    def read(self, platform: str, dataset: str | None, count: int) -> None:
        """``ScanOptions.reading``: a response received, or a dataset (part) read with its count so far."""
        if not self.live:
            return
        with self._lock:
            task = self._tasks.get(platform)
            if task is None:
                return
            if dataset is None:
                self._responses[platform] = count
                self._progress.update(task, responses=count)
                return
            seen = self._datasets.setdefault(platform, {})
            seen[dataset] = count
            done = len(seen)
        self._progress.update(
            task, completed=done, description=f"{_title(platform)} · {dataset.split('.', 1)[-1]} {count:,}"
        )


def _title(platform: str) -> str:
    return next((p.title for p in PLATFORMS if p.name == platform), platform)


def _dataset_count(platform: str) -> int:
    return next((len(p.datasets) for p in PLATFORMS if p.name == platform), 0)
