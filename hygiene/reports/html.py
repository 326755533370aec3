"""report.html: one self-contained page for a business owner.

Inline CSS and inline SVG only - no scripts, no web fonts, no CDN - so the file can be mailed, archived
and opened offline, and prints cleanly. Everything from the scanned tenant is HTML-escaped (autoescape is
on for every template, including string templates). Each check shows at most
:data:`MAX_FINDINGS_PER_CHECK` findings; the rest are counted and left to findings.csv, so the page stays
small whatever the size of the tenant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from hygiene.figures import format_count, format_percent, format_score, format_score_delta
from hygiene.reports.analysis import (
    REASON_LABELS,
    STATUS_LABELS,
    LicenceWaste,
    area_title,
    areas_in,
    check_sort_key,
    format_money,
    format_utc,
    licence_waste,
    open_count,
    risk_sentence,
    score_sentence,
    status_counts,
    top_risks,
)
from hygiene.reports.charts import trend_chart
from hygiene.reports.interface import Renderer, ReportInput
from hygiene.reports.plainwords import Glossary, plain, plain_note, product_name
from hygiene.reports.plan import PlanBucket, build_plan, first_actions, unassessed_action
from hygiene.reports.reasons import ReasonGroup, grouped
from hygiene.results import AreaScore, CheckResult, FindingResult, ScanReport, Status

#: findings listed per check in the HTML; the rest are in findings.csv
MAX_FINDINGS_PER_CHECK = 50

TEMPLATE_NAME = "report.html.j2"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja environment: templates from the installed package, autoescaped, strict about typos."""
    env = Environment(
        loader=PackageLoader("hygiene.reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["utc"] = format_utc
    env.filters["pct"] = format_percent
    env.filters["score"] = format_score
    env.filters["delta"] = format_score_delta
    env.filters["count"] = format_count
    env.filters["plain"] = plain
    env.filters["note"] = plain_note
    env.filters["product"] = product_name
    env.filters["money"] = format_money
    env.filters["link_target"] = link_target
    env.filters["value_text"] = value_text
    return env


def link_target(url: str) -> str | None:
    """``url`` if it is safe to link to (http or https), else None (then it is shown as text)."""
    stripped = url.strip()
    if stripped.lower().startswith(("https://", "http://")) and not any(c.isspace() for c in stripped):
        return stripped
    return None


def value_text(value: Any) -> str:
    """A threshold or scope value as short text: scalars as is, lists and mappings as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class CheckView:
    result: CheckResult
    status_label: str
    reason_label: str | None
    open: int
    shown_findings: tuple[FindingResult, ...]
    hidden_findings: int
    #: a plain sentence for failing checks
    sentence: str | None
    #: how to get a not-assessed check assessed
    unassessed_action: str | None
    #: the findings by reason, biggest first (empty when every finding has its own reason)
    groups: tuple[ReasonGroup, ...] = ()


@dataclass(frozen=True)
class AreaView:
    key: str
    title: str
    score: AreaScore | None
    checks: tuple[CheckView, ...]
    counts: dict[Status, int]


def _check_view(result: CheckResult, limit: int) -> CheckView:
    findings, groups = grouped(result.findings) if limit else (list(result.findings), [])
    unassessed = result.status in (Status.NOT_ASSESSED, Status.ERROR)
    return CheckView(
        result=result,
        status_label=STATUS_LABELS[result.status],
        reason_label=REASON_LABELS.get(result.reason_kind) if result.reason_kind else None,
        open=open_count(result),
        shown_findings=tuple(findings[:limit]),
        hidden_findings=max(0, len(findings) - limit),
        sentence=risk_sentence(result) if result.status is Status.FAIL else None,
        unassessed_action=unassessed_action(result) if unassessed else None,
        groups=tuple(groups),
    )


def _area_views(report: ScanReport, limit: int) -> list[AreaView]:
    scores = {a.area: a for a in report.score.areas}
    views: list[AreaView] = []
    for area in areas_in(report.results):
        results = sorted((r for r in report.results if r.area == area), key=check_sort_key)
        if not results and area not in scores:
            continue
        views.append(
            AreaView(
                key=area,
                title=area_title(area),
                score=scores.get(area),
                checks=tuple(_check_view(r, limit) for r in results),
                counts=status_counts(results),
            )
        )
    return views


def _grade_colour(value: float) -> str:
    if value >= 80:
        return "#1b5e20"
    if value >= 60:
        return "#8a5a00"
    return "#b3261e"


def render_html(report: ScanReport, *, max_findings_per_check: int = MAX_FINDINGS_PER_CHECK) -> str:
    """The text of report.html."""
    limit = max(0, max_findings_per_check)
    plan: list[PlanBucket] = build_plan(report.results)
    waste: LicenceWaste = licence_waste(
        report.results, default_currency=str(report.profile.thresholds.get("currency") or "GBP")
    )
    unassessed = sorted(
        (r for r in report.results if r.status in (Status.NOT_ASSESSED, Status.ERROR)), key=check_sort_key
    )
    risks = [_check_view(r, 0) for r in top_risks(report.results)]
    score_value = max(0.0, min(100.0, report.score.value))
    context: dict[str, Any] = {
        "report": report,
        "score_value": score_value,
        "score_colour": _grade_colour(score_value),
        "counts": status_counts(report.results),
        "status_labels": STATUS_LABELS,
        "Status": Status,
        "risks": risks,
        "trend": trend_chart(report.drift.trend) if report.drift else None,
        "grade_colour": _grade_colour,
        "first": first_actions(report.results),
        "explain": Glossary(),
        "score_sentence": score_sentence(report.score),
        "areas": _area_views(report, limit),
        "plan": plan,
        "waste": waste,
        "unassessed": [_check_view(r, 0) for r in unassessed],
        "controls": report.controls,
        "limit": limit,
        "complete": report.complete,
        "sources": sorted(report.sources.items()),
    }
    return environment().get_template(TEMPLATE_NAME).render(context)


class HtmlReport(Renderer[ReportInput]):
    """report.html, UTF-8."""

    name = "html"
    file_name = "report.html"
    media_type = "text/html; charset=utf-8"

    def render(self, model: ReportInput) -> bytes:
        return render_html(model.report).encode("utf-8")
