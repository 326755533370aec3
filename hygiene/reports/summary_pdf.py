"""summary.pdf of an evidence pack: a one-to-few page summary of the scan (counts only, never a resource),
byte-reproducible: reportlab's ``invariant=1`` plus fixed metadata and no date of the export itself."""

from __future__ import annotations

import io
from collections.abc import Callable

from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import Paragraph, Spacer, Table  # type: ignore[import-untyped]

from hygiene.figures import format_percent, format_score
from hygiene.reports.interface import PackSummary, Renderer
from hygiene.reports.pdf import document
from hygiene.reports.pdf import grid as grid_style
from hygiene.reports.pdf import markup as _esc
from hygiene.results import ScanReport
from hygiene.safetext import PDF_CELL_CAP, clip


def _pct(value: float | None) -> str:
    return "-" if value is None else format_percent(value)


def _score(value: float | None) -> str:
    return "-" if value is None else format_score(value)


def render_summary_pdf(report: ScanReport, audience: str, redact: Callable[[str], str]) -> bytes:
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    buf = io.BytesIO()
    doc = document(
        buf,
        title=f"Security hygiene evidence - {report.organisation_name}",
        author=f"{report.tool} {report.tool_version}",
        subject=f"scan {report.scan_id}, {audience} pack",
        producer="hygiene evidence (reportlab)",
    )
    grid = grid_style()
    story: list[object] = [
        Paragraph(_esc(f"Security hygiene evidence: {report.organisation_name}"), styles["Title"]),
        Paragraph(
            _esc(
                f"Scan {report.scan_id} - {report.started_at:%Y-%m-%d %H:%M:%S} to {report.finished_at:%H:%M:%S} UTC "
                f"- {report.tool} {report.tool_version} - profile {report.profile.name} - {audience} pack"
            ),
            styles["BodyText"],
        ),
        Spacer(1, 4 * mm),
        Paragraph(
            _esc(
                f"Score {format_score(report.score.value)} / 100, grade {report.score.grade}, "
                f"coverage {_pct(report.score.coverage)} of the enabled checks' weight. "
                f"Scan {'complete' if report.complete else 'INCOMPLETE'}."
            ),
            styles["Heading3"],
        ),
    ]
    for line in report.scope.lines():  # a partial or incomplete scan, in the pack's own words
        story.append(Paragraph(_esc(clip(redact(line[:1].upper() + line[1:]), PDF_CELL_CAP, "report.json")), small))
    for cap in report.score.caps:
        story.append(Paragraph(_esc(f"Grade capped: {clip(redact(cap), PDF_CELL_CAP, 'report.json')}"), small))
    story.append(Spacer(1, 3 * mm))
    areas = [["Area", "Score", "Coverage", "Passed", "Failed", "Not assessed"]] + [
        [
            a.area,
            "-" if a.score is None else format_score(a.score),
            _pct(a.coverage),
            a.passed,
            a.failed,
            a.not_assessed,
        ]
        for a in report.score.areas
    ]
    table = Table(areas, repeatRows=1)
    table.setStyle(grid)
    story += [table, Spacer(1, 5 * mm), Paragraph("Checks", styles["Heading3"])]
    rows: list[list[object]] = [["Check", "Severity", "Status", "Assessed", "Failing", "Accepted"]]
    for r in report.results:
        title = f"<b>{_esc(r.title)}</b><br/>{_esc(r.check_id)}"
        if r.reason:
            # a row taller than a page cannot be laid out (reportlab LayoutError): long reasons are cut
            title += f"<br/><i>{_esc(clip(redact(r.reason), PDF_CELL_CAP, 'report.json'))}</i>"
        rows.append([Paragraph(title, small), r.severity, r.status.value, r.assessed, r.failing, r.accepted])
    checks = Table(rows, colWidths=[95 * mm, 18 * mm, 22 * mm, 15 * mm, 15 * mm, 15 * mm], repeatRows=1)
    checks.setStyle(grid)
    story += [checks, Spacer(1, 5 * mm)]
    story.append(
        Paragraph(
            _esc(
                "Counts cover the complete population the read-only APIs returned. The method, scope and permissions "
                "are in method.md; every file of this pack is listed with its SHA-256 in manifest.json, signed with "
                "Ed25519 in manifest.sig (see docs/evidence.md)."
            ),
            small,
        )
    )
    doc.build(story)
    return buf.getvalue()


class SummaryPdf(Renderer[PackSummary]):
    """summary.pdf of an evidence pack."""

    name = "summary-pdf"
    file_name = "summary.pdf"
    media_type = "application/pdf"

    def render(self, model: PackSummary) -> bytes:
        return render_summary_pdf(model.report, model.audience, model.redact)
