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
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, select_autoescape
from sqlalchemy.engine import make_url

from hygiene.atomic import atomic_write, private_dir
from hygiene.config import Config, load_config
from hygiene.errors import HygieneError, InputError
from hygiene.history.store import HistoryStore
from hygiene.taxonomy import SEVERITIES

TREND_POINTS = 10
WORST_ISSUES = 3
#: worst first; "-" is a scan in which nothing could be assessed
GRADE_ORDER = ("-", "F", "D", "C", "B", "A")


@dataclass
class Issue:
    check_id: str
    title: str
    severity: str
    failing: int


@dataclass
class OrgRow:
    id: str
    name: str
    config: str
    scanned: bool = False
    scans: int = 0
    scan_id: str | None = None
    last_scan_at: str | None = None
    score: float | None = None
    grade: str | None = None
    coverage: float | None = None
    complete: bool | None = None
    #: the latest scan could not read these platforms at all: its grade and "worst open issues" miss them
    unread_platforms: list[str] = field(default_factory=list)
    #: every recorded scan is partial (--checks/--platforms): the row shows the latest of them
    partial: bool = False
    score_delta: float | None = None
    trend: list[float] = field(default_factory=list)
    worst_issues: list[Issue] = field(default_factory=list)
    stale: bool = True


@dataclass
class ConfigErrorRow:
    config: str
    error: str


@dataclass
class Portfolio:
    generated_at: str
    stale_days: int
    organisations: list[OrgRow]
    errors: list[ConfigErrorRow]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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


# -- writing --------------------------------------------------------------------------------------------------

SPARK_W, SPARK_H = 120, 28

TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hygiene portfolio</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1f2933}
h1{font-size:1.4rem;margin-bottom:.2rem}
p.meta{color:#616e7c;margin-top:0}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{background:#f5f7fa}
.grade{font-weight:700;display:inline-block;min-width:1.6rem;text-align:center;border-radius:4px;padding:.1rem .3rem}
.g-A{background:#c6f6d5}.g-B{background:#e6fffa}.g-C{background:#fefcbf}.g-D{background:#feebc8}
.g-F,.g--{background:#fed7d7}
.stale{color:#b7791f;font-weight:600}
.never{color:#9b2c2c;font-weight:600}
.up{color:#2f855a}.down{color:#c53030}
.error td{background:#fff5f5;color:#9b2c2c}
ul{margin:0;padding-left:1rem}
.sev{font-size:.75rem;text-transform:uppercase;color:#616e7c}
svg polyline{fill:none;stroke:#3182ce;stroke-width:1.5}
svg circle{fill:#3182ce}
@media print{body{margin:0}}
</style>
</head>
<body>
<h1>Security hygiene portfolio</h1>
<p class="meta">{{ organisations|length }} organisation(s); generated {{ generated }};
a scan older than {{ stale_days }} days is stale.</p>
<table>
<thead><tr><th>organisation</th><th>grade</th><th>score</th><th>change</th><th>coverage</th><th>trend</th>
<th>worst open issues</th><th>last scan (UTC)</th></tr></thead>
<tbody>
{%- for o in organisations %}
<tr>
<td><strong>{{ o.name }}</strong><br><span class="sev">{{ o.id }}</span></td>
{%- if o.scanned %}
<td><span class="grade g-{{ o.grade }}">{{ o.grade }}</span></td>
<td>{{ "%.1f"|format(o.score) }}</td>
<td>{% if o.score_delta is none %}&ndash;{% elif o.score_delta > 0 %}\
<span class="up">+{{ "%.1f"|format(o.score_delta) }}</span>{% elif o.score_delta < 0 %}\
<span class="down">{{ "%.1f"|format(o.score_delta) }}</span>{% else %}0.0{% endif %}</td>
<td>{{ "%.0f"|format(o.coverage * 100) }}%</td>
<td>{% if o.spark %}<svg width="{{ w }}" height="{{ h }}" viewBox="0 0 {{ w }} {{ h }}" role="img" \
aria-label="score trend">{% if o.spark.points %}<polyline points="{{ o.spark.points }}"/>{% endif %}\
<circle cx="{{ o.spark.cx }}" cy="{{ o.spark.cy }}" r="2"/></svg>{% endif %}</td>
<td>{% if o.unread_platforms %}<span class="never">incomplete scan: could not read \
{{ o.unread_platforms|join(", ") }}</span>{% elif o.partial %}<span class="stale">partial scan</span>{% endif %}\
{% if o.worst_issues %}<ul>{% for i in o.worst_issues %}<li><span class="sev">{{ i.severity }}</span>
{{ i.title or i.check_id }} ({{ i.failing }} failing)</li>{% endfor %}</ul>\
{% elif not o.unread_platforms %}none{% endif %}</td>
<td>{{ o.last_scan }}{% if o.stale %}<br><span class="stale">stale</span>{% endif %}</td>
{%- else %}
<td colspan="7" class="never">never scanned</td>
{%- endif %}
</tr>
{%- endfor %}
{%- for e in errors %}
<tr class="error"><td>{{ e.config }}</td><td colspan="7">config error: {{ e.error }}</td></tr>
{%- endfor %}
</tbody>
</table>
</body>
</html>
"""


def sparkline(scores: list[float]) -> dict[str, Any] | None:
    """Coordinates of a small SVG line of scores on a fixed 0-100 scale (the template draws it)."""
    if not scores:
        return None

    def y(score: float) -> float:
        return round(SPARK_H - 2 - max(0.0, min(100.0, score)) / 100 * (SPARK_H - 4), 1)

    step = (SPARK_W - 4) / max(1, len(scores) - 1)
    points = [(round(2 + i * step, 1), y(s)) for i, s in enumerate(scores)]
    return {
        "points": " ".join(f"{x},{yy}" for x, yy in points) if len(points) > 1 else "",
        "cx": points[-1][0],
        "cy": points[-1][1],
    }


def _when(iso: str | None) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M") if iso else ""


def render_html(portfolio: Portfolio) -> str:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True), undefined=StrictUndefined)
    rows = [
        {**asdict(o), "spark": sparkline(o.trend), "last_scan": _when(o.last_scan_at)} for o in portfolio.organisations
    ]
    return env.from_string(TEMPLATE).render(
        organisations=rows,
        errors=[asdict(e) for e in portfolio.errors],
        generated=_when(portfolio.generated_at) + " UTC",
        stale_days=portfolio.stale_days,
        w=SPARK_W,
        h=SPARK_H,
    )


def write_portfolio(portfolio: Portfolio, output: Path) -> dict[str, Path]:
    private_dir(output)
    files = {"html": output / "portfolio.html", "json": output / "portfolio.json"}
    atomic_write(files["json"], (json.dumps(portfolio.to_json(), indent=2) + "\n").encode("utf-8"))
    atomic_write(files["html"], render_html(portfolio).encode("utf-8"))
    return files
