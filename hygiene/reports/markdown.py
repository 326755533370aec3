"""summary.md: a short summary to paste into an email or a ticket.

Score and coverage, counts per status, the top risks, the "Fix now" part of the plan, what could not be
checked, and where the full report is. Resource names never appear here (they stay in the full report).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hygiene.figures import format_percent, format_score, format_score_delta
from hygiene.reports.analysis import (
    REASON_LABELS,
    STATUS_LABELS,
    format_utc,
    join_names,
    plural,
    risk_sentence,
    status_counts,
    top_risks,
)
from hygiene.reports.interface import Renderer, ReportInput
from hygiene.reports.plan import build_plan
from hygiene.results import ScanReport, Status
from hygiene.safetext import inert

#: at most this many not-assessed checks are listed by name
MAX_NOT_ASSESSED = 10
#: the files of the full report the summary points at, in this order, when they are written alongside it
FULL_REPORT_FILES: tuple[str, ...] = ("report.html", "findings.csv", "report.json")

#: characters that start markup anywhere in a line; "_" only matters at a word boundary, and ">" or "#" only
#: at the start of a line (never the case here), so plain-text readers are spared most backslashes
_MD_SPECIAL = re.compile(r"([\\`*\[\]<|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def md_escape(text: str) -> str:
    """Plain text made inert in Markdown (no emphasis, links or raw HTML), on one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(inert(text).split()))


def render_markdown(
    report: ScanReport,
    full_report_files: Sequence[str] = FULL_REPORT_FILES,
) -> str:
    """The text of summary.md; ``full_report_files`` are the files written alongside it."""
    lines: list[str] = []
    add = lines.append
    score = report.score
    add(f"# Security hygiene summary: {md_escape(report.organisation_name)}")
    add("")
    add(
        f"Scanned {format_utc(report.finished_at)} with the {md_escape(report.profile.title)} profile "
        f"(scan `{report.scan_id}`)."
    )
    add("")
    add(
        f"**Score {format_score(score.value)}/100, grade {md_escape(score.grade)}.** "
        f"{format_percent(score.coverage)} of checks could be assessed."
    )
    for cap in score.caps:
        add(f"- Grade capped: {md_escape(cap)}")
    if not report.complete:
        add("")
        add("**This scan is incomplete** (a source or check failed): re-run it before relying on the score.")
    for line in report.scope.lines():
        add("")
        add(f"**{md_escape(line)}**")
    add("")
    counts = status_counts(report.results)
    add(
        "Checks: "
        + ", ".join(
            f"{counts[s]} {STATUS_LABELS[s].lower()}"
            for s in (Status.PASS, Status.FAIL, Status.ACCEPTED, Status.NOT_ASSESSED, Status.ERROR)
        )
        + "."
    )

    drift = report.drift.since_previous if report.drift else None
    if drift is not None:
        add("")
        since = drift.against_finished_at.date().isoformat()
        add(f"## Since the last scan ({since}): score {format_score_delta(drift.score_delta)}")
        add("")
        changes = [f"- New: {md_escape(i.title)} ({md_escape(i.detail)})" for i in drift.new_failures]
        changes += [f"- Worse: {md_escape(i.title)} ({md_escape(i.detail)})" for i in drift.regressed]
        changes += [f"- Exception expired: {md_escape(e)}" for e in drift.expired_exceptions]
        changes += [f"- Fixed: {md_escape(i.title)}" for i in drift.resolved]
        lines.extend(changes or ["No change in what fails."])

    risks = top_risks(report.results)
    add("")
    add("## Top risks")
    add("")
    if risks:
        for index, result in enumerate(risks, start=1):
            add(f"{index}. **{result.severity.upper()}** {md_escape(result.title)}: {md_escape(risk_sentence(result))}")
    else:
        add("No failing checks.")

    fix_now = next(b for b in build_plan(report.results) if b.key == "now")
    add("")
    add("## Fix now")
    add("")
    if fix_now.items:
        for item in fix_now.items:
            affected = f"{plural(item.resources, 'resource')}; " if item.resources else ""
            add(f"- **{md_escape(item.title)}**: {md_escape(item.action)} ({affected}effort {item.effort})")
    else:
        add("Nothing urgent.")

    unassessed = [r for r in report.results if r.status in (Status.NOT_ASSESSED, Status.ERROR)]
    if unassessed:
        add("")
        add("## Not assessed")
        add("")
        for result in unassessed[:MAX_NOT_ASSESSED]:
            kind = REASON_LABELS.get(result.reason_kind or "", STATUS_LABELS[result.status])
            needs = f" Needs: {md_escape(join_names(result.permissions))}." if result.permissions else ""
            reason = f": {md_escape(result.reason)}" if result.reason else ""
            add(f"- {md_escape(result.title)} ({kind}{reason}).{needs}")
        if len(unassessed) > MAX_NOT_ASSESSED:
            add(f"- … and {len(unassessed) - MAX_NOT_ASSESSED} more in the full report.")

    add("")
    add("## Full report")
    add("")
    descriptions = {
        "report.html": "the full report (open in a browser, prints well)",
        "findings.csv": "every finding, one row each",
        "report.json": "machine-readable results",
    }
    others = [name for name in full_report_files if name != "summary.md"]
    if others:
        for name in others:
            add(f"- `{name}`: {descriptions.get(name, 'report file')}")
    else:
        add("Only this summary was written; re-run with the html format for the full report.")
    add("")
    return "\n".join(lines)


class MarkdownSummary(Renderer[ReportInput]):
    """summary.md, UTF-8: points at the full report files written alongside it."""

    name = "md"
    file_name = "summary.md"
    media_type = "text/markdown; charset=utf-8"

    def render(self, model: ReportInput) -> bytes:
        alongside = set(model.alongside)
        return render_markdown(model.report, [f for f in FULL_REPORT_FILES if f in alongside]).encode("utf-8")
