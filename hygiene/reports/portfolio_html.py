"""portfolio.html: one self-contained page over every organisation a consultant scans (the model is gathered from the
history by :mod:`hygiene.portfolio`).

Inline CSS and inline SVG, no external loads; everything is autoescaped (the organisation names come from configs,
the issue titles from check metadata, but the page treats all of it as text). One inline script of the page's own
(:data:`SCRIPT`, allowed by its hash in the page's Content-Security-Policy, which allows nothing else) sorts the rows
and filters them by tag in the browser; without it the page reads the same, in the order the model gives (worst
first by default), every row shown. Each row's rank in every order is computed here, so the script only compares
numbers.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, StrictUndefined, select_autoescape

from hygiene.figures import format_percent, format_score, format_score_delta
from hygiene.reports.interface import OrgRow, Portfolio, Renderer

#: sorts the rows by the rank the server computed (``data-rank-<order>``) and filters them by tag; no framework
SCRIPT = """(function () {
  var table = document.getElementById("orgs");
  var controls = document.getElementById("controls");
  if (!table || !controls) { return; }
  controls.hidden = false;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.querySelectorAll("tr[data-rank-worst]"));
  var tail = Array.prototype.slice.call(body.querySelectorAll("tr.error"));
  function sortBy(order) {
    rows.sort(function (a, b) {
      return Number(a.getAttribute("data-rank-" + order)) - Number(b.getAttribute("data-rank-" + order));
    });
    rows.concat(tail).forEach(function (row) { body.appendChild(row); });
    controls.querySelectorAll("button").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-sort") === order));
    });
  }
  controls.querySelectorAll("button").forEach(function (button) {
    button.addEventListener("click", function () { sortBy(button.getAttribute("data-sort")); });
  });
  var filter = document.getElementById("tag-filter");
  filter.addEventListener("change", function () {
    var tag = filter.value;
    rows.forEach(function (row) {
      var tags = " " + row.getAttribute("data-tags") + " ";
      row.hidden = tag !== "" && tags.indexOf(" " + tag + " ") < 0;
    });
  });
})();
"""
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
#: the page loads nothing and runs nothing but its own script; links to the reports are navigation, not loads
CSP = f"default-src 'none'; style-src 'unsafe-inline'; script-src '{SCRIPT_HASH}'; base-uri 'none'; form-action 'none'"
ORDERS = {"worst": "worst first", "change": "biggest drop", "stale": "stalest", "name": "name"}

SPARK_W, SPARK_H = 120, 28

TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
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
.tag{display:inline-block;font-size:.75rem;background:#edf2f7;border-radius:3px;padding:0 .3rem;margin:.1rem .2rem 0 0}
.incomplete{color:#9b2c2c;font-weight:600}
#controls{margin:.6rem 0}
#controls button[aria-pressed=true]{font-weight:700}
table.groups{width:auto;margin-bottom:1rem}
svg polyline{fill:none;stroke:#3182ce;stroke-width:1.5}
svg circle{fill:#3182ce}
@media print{body{margin:0}#controls{display:none}}
</style>
</head>
<body>
<h1>Security hygiene portfolio</h1>
<p class="meta">{{ organisations|length }} organisation(s), {{ order }}; generated {{ generated }};
a scan older than {{ stale_days }} days is stale.</p>
{%- if groups %}
<table class="groups">
<thead><tr><th>tag</th><th>organisations</th><th>worst grade</th><th>stale</th><th>incomplete</th></tr></thead>
<tbody>
{%- for g in groups %}
<tr><td><span class="tag">{{ g.tag }}</span></td><td>{{ g.organisations }}</td>
<td>{% if g.worst_grade %}<span class="grade g-{{ g.worst_grade }}">{{ g.worst_grade }}</span>\
{% else %}&ndash;{% endif %}</td>
<td>{{ g.stale }}</td><td>{{ g.incomplete }}</td></tr>
{%- endfor %}
</tbody>
</table>
{%- endif %}
<div id="controls" hidden>sort:
{%- for key, label in orders.items() %}
<button type="button" data-sort="{{ key }}" aria-pressed="{{ 'true' if key == sort else 'false' }}">{{ label }}</button>
{%- endfor %}
<label>tag: <select id="tag-filter"><option value="">all</option>
{%- for g in groups %}<option value="{{ g.tag }}">{{ g.tag }}</option>{% endfor %}</select></label>
</div>
<table id="orgs">
<thead><tr><th>organisation</th><th>grade</th><th>score</th><th>change</th><th>coverage</th><th>trend</th>
<th>worst open issues</th><th>last scan (UTC)</th></tr></thead>
<tbody>
{%- for o in organisations %}
<tr class="org" data-tags="{{ o.tags|join(' ') }}"\
{% for key, rank in o.ranks.items() %} data-rank-{{ key }}="{{ rank }}"{% endfor %}>
<td><strong>{% if o.report_link %}<a href="{{ o.report_link }}">{{ o.name }}</a>\
{% else %}{{ o.name }}{% endif %}</strong>\
<br><span class="sev">{{ o.id }}</span>
{%- if o.tags %}<br>{% for t in o.tags %}<span class="tag">{{ t }}</span>{% endfor %}{% endif %}
{%- if o.scanned and not o.report_link %}<br><span class="sev">report file moved or deleted</span>{% endif %}</td>
{%- if o.scanned %}
<td><span class="grade g-{{ o.grade }}">{{ o.grade }}</span>\
{% if o.incomplete %}<br><span class="incomplete">incomplete</span>{% endif %}</td>
<td>{{ o.score|score }}</td>
<td>{% if o.score_delta is none %}&ndash;{% elif o.score_delta > 0 %}\
<span class="up">{{ o.score_delta|delta }}</span>{% elif o.score_delta < 0 %}\
<span class="down">{{ o.score_delta|delta }}</span>{% else %}{{ 0|delta }}{% endif %}</td>
<td>{{ o.coverage|pct }}</td>
<td>{% if o.spark %}<svg width="{{ w }}" height="{{ h }}" viewBox="0 0 {{ w }} {{ h }}" role="img" \
aria-label="score trend">{% if o.spark.points %}<polyline points="{{ o.spark.points }}"/>{% endif %}\
<circle cx="{{ o.spark.cx }}" cy="{{ o.spark.cy }}" r="2"/></svg>{% endif %}</td>
<td>{% if o.incomplete %}<span class="incomplete">incomplete scan: {{ o.incomplete }}</span>\
{% elif o.partial %}<span class="stale">partial scan</span>{% endif %}\
{% if o.worst_issues %}<ul>{% for i in o.worst_issues %}<li><span class="sev">{{ i.severity }}</span>
{{ i.title or i.check_id }} ({{ i.failing }} failing)</li>{% endfor %}</ul>\
{% elif o.incomplete %}<br>none found in what could be read{% else %}none{% endif %}</td>
<td>{{ o.last_scan }}<br>{{ o.age }}{% if o.stale %}<br><span class="stale">stale</span>{% endif %}</td>
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
<script>{{ script|safe }}</script>
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


def _age(days: float | None) -> str:
    if days is None:
        return ""
    if days < 1:
        return "today"
    whole = int(days)
    return f"{whole:,} day{'s' if whole != 1 else ''} ago"


def ranks(rows: list[OrgRow], keys: dict[str, Callable[[OrgRow], Any]]) -> list[dict[str, int]]:
    """Each row's position in every order (the script sorts by these)."""
    out: list[dict[str, int]] = [{} for _ in rows]
    for name, key in keys.items():
        for rank, index in enumerate(sorted(range(len(rows)), key=lambda i: key(rows[i]))):
            out[index][name] = rank
    return out


def render_portfolio_html(portfolio: Portfolio, sort_keys: dict[str, Callable[[OrgRow], Any]] | None = None) -> str:
    """The text of portfolio.html; ``sort_keys`` (order name -> key) give the orders the page can switch between
    (default: the model's own order only)."""
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True), undefined=StrictUndefined)
    env.filters.update(score=format_score, delta=format_score_delta, pct=format_percent)
    orgs = portfolio.organisations
    keys = sort_keys or {portfolio.sort: orgs.index}
    row_ranks = ranks(orgs, keys)
    rows = [
        {
            **asdict(o),
            "spark": sparkline(o.trend),
            "last_scan": _when(o.last_scan_at),
            "age": _age(o.age_days),
            "ranks": {"worst": r.get("worst", i), **r},
        }
        for i, (o, r) in enumerate(zip(orgs, row_ranks, strict=True))
    ]
    return env.from_string(TEMPLATE).render(
        organisations=rows,
        errors=[asdict(e) for e in portfolio.errors],
        groups=[asdict(g) for g in portfolio.groups],
        generated=_when(portfolio.generated_at) + " UTC",
        stale_days=portfolio.stale_days,
        order=ORDERS.get(portfolio.sort, portfolio.sort),
        orders={k: v for k, v in ORDERS.items() if k in keys},
        sort=portfolio.sort,
        csp=CSP,
        script=SCRIPT,
        w=SPARK_W,
        h=SPARK_H,
    )


class PortfolioHtml(Renderer[Portfolio]):
    """portfolio.html, UTF-8; ``sort_keys`` are the orders the page can switch between."""

    name = "portfolio-html"
    file_name = "portfolio.html"
    media_type = "text/html; charset=utf-8"

    def __init__(self, sort_keys: dict[str, Callable[[OrgRow], Any]] | None = None) -> None:
        self.sort_keys = sort_keys

    def render(self, model: Portfolio) -> bytes:
        return render_portfolio_html(model, self.sort_keys).encode("utf-8")
