"""The portfolio (``hygiene portfolio CONFIG_DIR``): one page over every client organisation a consultant scans.

Reads every organisation config (``*.toml``) in CONFIG_DIR, looks each organisation up in the scan history and
writes ``portfolio.html`` (self-contained: inline CSS and SVG, one inline script of its own for sorting and
filtering, no external loads, autoescaped) and ``portfolio.json`` (mode 0600, written atomically). Per organisation:
its tags, latest score, grade and coverage, the trend of the last scores, the change since the previous scan, the
worst open issues, whether the latest scan is incomplete (and why), the last scan time and whether it is stale, and
a link to its latest report (relative to the page's folder, so it works when the page is opened from the data
dir). Per tag: how many organisations, the worst grade, how many stale and incomplete. Partial scans
(``--checks``) are left out while a full one exists. Rows are ordered worst first (or by change, staleness or
name). A broken config is an error row, not fatal. Read-only: the history is never written.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from hygiene.atomic import atomic_write, private_dir
from hygiene.config import Config, load_config, organisation_config_files
from hygiene.errors import HygieneError, InputError
from hygiene.history.models import StoredScan
from hygiene.history.store import HistoryStore
from hygiene.reports.interface import ConfigErrorRow, Issue, OrgRow, Portfolio, TagGroup
from hygiene.reports.portfolio_html import PortfolioHtml
from hygiene.reports.portfolio_json import PortfolioJson
from hygiene.sources import platforms
from hygiene.taxonomy import SEVERITIES

TREND_POINTS = 10
WORST_ISSUES = 3
#: worst first; "-" is a scan in which nothing could be assessed
GRADE_ORDER = ("-", "F", "D", "C", "B", "A")
#: the orders of the rows: worst grade (then lowest score) first, biggest drop first, stalest first, by name
SORTS = ("worst", "change", "stale", "name")
#: report formats a row links to, the most readable first
LINKED_FORMATS = ("html", "json")
#: report.json is read (only for an incomplete scan, to name the platforms it could not read) up to this size
MAX_REPORT_BYTES = 256 * 1024 * 1024


# -- reading --------------------------------------------------------------------------------------------------


def read_configs(config_dir: Path) -> tuple[list[Config], list[ConfigErrorRow]]:
    """Every ``*.toml`` in ``config_dir`` (sorted); a broken or duplicate config becomes an error row."""
    paths = organisation_config_files(config_dir)
    if not paths:
        raise InputError(config_dir, "no organisation configs (*.toml) in this folder")
    configs: list[Config] = []
    errors: list[ConfigErrorRow] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            config = load_config(path)
        except HygieneError as exc:
            message = exc.message if isinstance(exc, InputError) else str(exc)
            errors.append(ConfigErrorRow(config=path.name, error=message))
            continue
        org = config.organisation.id
        if org in seen:
            errors.append(
                ConfigErrorRow(config=path.name, error=f"organisation id {org!r} already used by {seen[org]}")
            )
            continue
        seen[org] = path.name
        configs.append(config)
    return configs, errors


def open_history(url: str) -> HistoryStore | None:
    """The history store, read-only in spirit; None when the default SQLite file does not exist yet (nothing
    has been scanned). Any other problem (a bad URL, an unreachable server) is a HistoryError."""
    with contextlib.suppress(Exception):
        parsed = make_url(url)
        database = parsed.database or ""
        on_disk = database not in ("", ":memory:") and not database.startswith("file:")
        if parsed.get_backend_name() == "sqlite" and on_disk and not Path(database).exists():
            return None
    return HistoryStore(url, create=False)


def _issues(stored: StoredScan) -> list[Issue]:
    failing = [r for r in stored.results if r.status == "fail"]

    def rank(severity: str) -> int:
        return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)

    failing.sort(key=lambda r: (rank(r.severity), -r.failing, r.check_id))
    return [Issue(r.check_id, r.title, r.severity, r.failing) for r in failing[:WORST_ISSUES]]


def _report_file(stored: StoredScan, output: Path) -> tuple[str | None, str | None]:
    """The latest report the history recorded (HTML, else JSON) and the link to it from ``output``: a relative
    URL, or None when the file is no longer there."""
    files = {f.format: f.path for f in stored.files}
    recorded = next((files[f] for f in LINKED_FORMATS if f in files), None)
    for fmt in LINKED_FORMATS:
        path = files.get(fmt)
        if path is None or not Path(path).is_file():
            continue
        try:
            relative = Path(os.path.relpath(path, output.resolve())).as_posix()
        except ValueError:  # another drive (Windows): no relative path
            return path, Path(path).as_uri()
        return path, quote(relative)
    return recorded, None


def _unread_platforms(stored: StoredScan) -> list[str]:
    """The platforms the scan could not read at all (``sources.<platform>.status == "error"`` in its report.json),
    by title; empty when report.json is gone or unreadable."""
    path = next((Path(f.path) for f in stored.files if f.format == "json"), None)
    if path is None:
        return []
    try:
        if not path.is_file() or path.stat().st_size > MAX_REPORT_BYTES:
            return []
        sources = json.loads(path.read_bytes()).get("sources", {})
    except (OSError, ValueError, AttributeError):
        return []
    unread = [name for name, run in sorted(sources.items()) if isinstance(run, dict) and run.get("status") == "error"]
    return [_title(name) for name in unread]


def _title(platform: str) -> str:
    try:
        return platforms.platform(platform).title
    except KeyError:
        return platform


def _incomplete(stored: StoredScan) -> str | None:
    """Why the scan is incomplete, or None when it is complete."""
    if stored.summary.complete:
        return None
    # the history names the platforms not read at all (schema 2); older scans: their report.json
    unread = [_title(name) for name in stored.summary.unread_platforms] or _unread_platforms(stored)
    if unread:
        return f"{', '.join(unread)} could not be read"
    return "part of the data could not be fetched"


def organisation_row(
    config: Config,
    store: HistoryStore | None,
    known: set[str],
    stale_after: datetime,
    output: Path | None = None,
) -> OrgRow:
    org = config.organisation
    name = config.path.name if config.path else ""
    row = OrgRow(id=org.id, name=org.name, config=name, tags=list(org.tags))
    if store is None or org.id not in known:
        return row
    history = store.scans(org.id)
    # a partial scan (--checks/--platforms) says nothing about the rest: the row shows the latest full scan
    full = [s for s in history if not s.partial]
    latest = (full or history)[-1]
    stored = store.load(latest.scan_id)
    row.scanned = True
    row.scans = len(history)
    row.scan_id = latest.scan_id
    row.last_scan_at = latest.finished_at.astimezone(UTC).isoformat()
    row.score = latest.score
    row.grade = latest.grade
    row.coverage = latest.coverage
    row.complete = latest.complete
    row.incomplete = _incomplete(stored)
    row.unread_platforms = list(latest.unread_platforms)
    row.partial = latest.partial
    row.trend = [s.score for s in (full or history)[-TREND_POINTS:]]
    # the change since the previous scan that saw as much: never against (or from) an incomplete or partial one
    comparable = [s for s in history if s.baseline_refusal is None and s.finished_at < latest.finished_at]
    if latest.baseline_refusal is None and comparable:
        row.score_delta = round(latest.score - comparable[-1].score, 1)
    row.worst_issues = _issues(stored)
    row.stale = latest.finished_at < stale_after
    row.report_path, row.report_link = _report_file(stored, output or Path.cwd())
    return row


def _worst(row: OrgRow) -> tuple[int, int, float, str, str]:
    if not row.scanned:
        return (1, 0, 0.0, row.name.lower(), row.id)
    grade = GRADE_ORDER.index(row.grade) if row.grade in GRADE_ORDER else 0
    return (0, grade, row.score or 0.0, row.name.lower(), row.id)


def _by_change(row: OrgRow) -> tuple[object, ...]:
    return (row.score_delta is None, row.score_delta or 0.0, *_worst(row))


def _by_staleness(row: OrgRow) -> tuple[object, ...]:
    # never scanned is the stalest of all
    return (row.scanned, -(row.age_days or 0.0), *_worst(row))


def _by_name(row: OrgRow) -> tuple[object, ...]:
    return (row.name.lower(), row.id)


SORT_KEYS: dict[str, Callable[[OrgRow], tuple[object, ...]]] = {
    "worst": _worst,
    "change": _by_change,
    "stale": _by_staleness,
    "name": _by_name,
}


def sort_rows(rows: list[OrgRow], sort: str = "worst") -> list[OrgRow]:
    """The rows in the order ``sort`` names (one of :data:`SORTS`)."""
    if sort not in SORT_KEYS:
        raise InputError(None, f"unknown sort {sort!r}; choose from {', '.join(SORTS)}")
    return sorted(rows, key=SORT_KEYS[sort])


def tag_groups(rows: list[OrgRow]) -> list[TagGroup]:
    """One summary per tag, by tag name."""
    groups = []
    for tag in sorted({t for row in rows for t in row.tags}):
        members = [row for row in rows if tag in row.tags]
        grades = [row.grade for row in members if row.scanned and row.grade in GRADE_ORDER]
        groups.append(
            TagGroup(
                tag=tag,
                organisations=len(members),
                worst_grade=min(grades, key=GRADE_ORDER.index) if grades else None,
                stale=sum(row.stale for row in members),
                incomplete=sum(row.incomplete is not None for row in members),
            )
        )
    return groups


def build_portfolio(
    config_dir: Path,
    url: str,
    stale_days: int,
    now: datetime | None = None,
    *,
    output: Path | None = None,
    sort: str = "worst",
    tags: Sequence[str] = (),
) -> Portfolio:
    """The portfolio over every config in ``config_dir``; links to reports are relative to ``output`` (the folder the
    page is written to; default the current one); ``tags``, when given, keeps the organisations with any of them."""
    if sort not in SORT_KEYS:
        raise InputError(None, f"unknown sort {sort!r}; choose from {', '.join(SORTS)}")
    now = now or datetime.now(UTC)
    configs, errors = read_configs(config_dir)
    if tags:
        configs = [c for c in configs if set(tags) & set(c.organisation.tags)]
    stale_after = now - timedelta(days=stale_days)
    store = open_history(url)
    try:
        known = set(store.organisations()) if store else set()
        rows = [organisation_row(config, store, known, stale_after, output) for config in configs]
    finally:
        if store is not None:
            store.close()
    for row in rows:
        if row.last_scan_at is not None:
            age = now - datetime.fromisoformat(row.last_scan_at)
            row.age_days = round(max(age.total_seconds(), 0.0) / 86400, 1)
    return Portfolio(
        generated_at=now.astimezone(UTC).isoformat(),
        stale_days=stale_days,
        organisations=sort_rows(rows, sort),
        errors=errors,
        sort=sort,
        groups=tag_groups(rows),
    )


# -- writing (renderers: hygiene.reports.portfolio_json and portfolio_html) ---------------------------------


def write_portfolio(portfolio: Portfolio, output: Path) -> dict[str, Path]:
    """portfolio.json, then portfolio.html, into ``output``: format ("json", "html") -> path written."""
    private_dir(output)
    json_page, html_page = PortfolioJson(), PortfolioHtml(SORT_KEYS)
    files = {"html": output / html_page.file_name, "json": output / json_page.file_name}
    atomic_write(files["json"], json_page.render(portfolio))
    atomic_write(files["html"], html_page.render(portfolio))
    return files
