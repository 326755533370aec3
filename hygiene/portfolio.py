"""The portfolio (``hygiene portfolio CONFIG_DIR``): one page over every client organisation a consultant scans.

Reads every organisation config (``*.toml``) in CONFIG_DIR, looks each organisation up in the scan history and
writes ``portfolio.html`` (self-contained: inline CSS and SVG, no scripts, no external loads, autoescaped) and
``portfolio.json`` (mode 0600, written atomically). Per organisation: latest score, grade and coverage, the
trend of the last scores, the change since the previous scan, the worst open issues, the last scan time and
whether it is stale; an incomplete latest scan (a platform not read at all) is flagged as such, never shown as
having no open issues, and partial scans (``--checks``) are left out while a full one exists. A broken config is
an error row, not fatal. Read-only: the history is never written.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from hygiene.atomic import atomic_write, private_dir
from hygiene.config import Config, load_config
from hygiene.errors import HygieneError, InputError
from hygiene.history.store import HistoryStore
from hygiene.reports.interface import ConfigErrorRow, Issue, OrgRow, Portfolio
from hygiene.reports.portfolio_html import PortfolioHtml
from hygiene.reports.portfolio_json import PortfolioJson
from hygiene.taxonomy import SEVERITIES

TREND_POINTS = 10
WORST_ISSUES = 3
#: worst first; "-" is a scan in which nothing could be assessed
GRADE_ORDER = ("-", "F", "D", "C", "B", "A")


# -- reading --------------------------------------------------------------------------------------------------


def read_configs(config_dir: Path) -> tuple[list[Config], list[ConfigErrorRow]]:
    """Every ``*.toml`` in ``config_dir`` (sorted); a broken or duplicate config becomes an error row."""
    paths = sorted(p for p in config_dir.glob("*.toml") if p.is_file())
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


def _issues(store: HistoryStore, scan_id: str) -> list[Issue]:
    failing = [r for r in store.load(scan_id).results if r.status == "fail"]

    def rank(severity: str) -> int:
        return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)

    failing.sort(key=lambda r: (rank(r.severity), -r.failing, r.check_id))
    return [Issue(r.check_id, r.title, r.severity, r.failing) for r in failing[:WORST_ISSUES]]


def organisation_row(config: Config, store: HistoryStore | None, known: set[str], stale_after: datetime) -> OrgRow:
    org = config.organisation
    name = config.path.name if config.path else ""
    row = OrgRow(id=org.id, name=org.name, config=name)
    if store is None or org.id not in known:
        return row
    history = store.scans(org.id)
    # a partial scan (--checks/--platforms) says nothing about the rest: the row shows the latest full scan
    full = [s for s in history if not s.partial]
    latest = (full or history)[-1]
    row.scanned = True
    row.scans = len(history)
    row.scan_id = latest.scan_id
    row.last_scan_at = latest.finished_at.astimezone(UTC).isoformat()
    row.score = latest.score
    row.grade = latest.grade
    row.coverage = latest.coverage
    row.complete = latest.complete
    row.unread_platforms = list(latest.unread_platforms)
    row.partial = latest.partial
    row.trend = [s.score for s in (full or history)[-TREND_POINTS:]]
    # the change since the previous scan that saw as much: never against (or from) an incomplete or partial one
    comparable = [s for s in history if s.baseline_refusal is None and s.finished_at < latest.finished_at]
    if latest.baseline_refusal is None and comparable:
        row.score_delta = round(latest.score - comparable[-1].score, 1)
    row.worst_issues = _issues(store, latest.scan_id)
    row.stale = latest.finished_at < stale_after
    return row


def _sort_key(row: OrgRow) -> tuple[int, int, float, str, str]:
    if not row.scanned:
        return (1, 0, 0.0, row.name.lower(), row.id)
    grade = GRADE_ORDER.index(row.grade) if row.grade in GRADE_ORDER else 0
    return (0, grade, row.score or 0.0, row.name.lower(), row.id)


def build_portfolio(config_dir: Path, url: str, stale_days: int, now: datetime | None = None) -> Portfolio:
    now = now or datetime.now(UTC)
    configs, errors = read_configs(config_dir)
    stale_after = now - timedelta(days=stale_days)
    store = open_history(url)
    try:
        known = set(store.organisations()) if store else set()
        rows = [organisation_row(config, store, known, stale_after) for config in configs]
    finally:
        if store is not None:
            store.close()
    rows.sort(key=_sort_key)
    return Portfolio(
        generated_at=now.astimezone(UTC).isoformat(), stale_days=stale_days, organisations=rows, errors=errors
    )


# -- writing (renderers: hygiene.reports.portfolio_json and portfolio_html) ---------------------------------


def write_portfolio(portfolio: Portfolio, output: Path) -> dict[str, Path]:
    """portfolio.json, then portfolio.html, into ``output``: format ("json", "html") -> path written."""
    private_dir(output)
    json_page, html_page = PortfolioJson(), PortfolioHtml()
    files = {"html": output / html_page.file_name, "json": output / json_page.file_name}
    atomic_write(files["json"], json_page.render(portfolio))
    atomic_write(files["html"], html_page.render(portfolio))
    return files
