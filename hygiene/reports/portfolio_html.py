"""portfolio.html: one self-contained page over every organisation a consultant scans (the model is gathered from the
history by :mod:`hygiene.portfolio`).

Inline CSS and inline SVG only, no scripts, no external loads; everything is autoescaped (the organisation names
come from configs, the issue titles from check metadata, but the page treats all of it as text).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, StrictUndefined, select_autoescape

from hygiene.reports.figures import format_percent, format_score, format_score_delta
from hygiene.reports.interface import Portfolio, Renderer

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
<td>{{ o.score|score }}</td>
<td>{% if o.score_delta is none %}&ndash;{% elif o.score_delta > 0 %}\
<span class="up">{{ o.score_delta|delta }}</span>{% elif o.score_delta < 0 %}\
<span class="down">{{ o.score_delta|delta }}</span>{% else %}{{ 0|delta }}{% endif %}</td>
<td>{{ o.coverage|pct }}</td>
<td>{% if o.spark %}<svg width="{{ w }}" height="{{ h }}" viewBox="0 0 {{ w }} {{ h }}" role="img" \
aria-label="score trend">{% if o.spark.points %}<polyline points="{{ o.spark.points }}"/>{% endif %}\
<circle cx="{{ o.spark.cx }}" cy="{{ o.spark.cy }}" r="2"/></svg>{% endif %}</td>
<td>{% if o.worst_issues %}<ul>{% for i in o.worst_issues %}<li><span class="sev">{{ i.severity }}</span>
{{ i.title or i.check_id }} ({{ i.failing }} failing)</li>{% endfor %}</ul>{% else %}none{% endif %}</td>
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


def render_portfolio_html(portfolio: Portfolio) -> str:
    """The text of portfolio.html."""
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True), undefined=StrictUndefined)
    env.filters.update(score=format_score, delta=format_score_delta, pct=format_percent)
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


class PortfolioHtml(Renderer[Portfolio]):
    """portfolio.html, UTF-8."""

    name = "portfolio-html"
    file_name = "portfolio.html"
    media_type = "text/html; charset=utf-8"

    def render(self, model: Portfolio) -> bytes:
        return render_portfolio_html(model).encode("utf-8")
