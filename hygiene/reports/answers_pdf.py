"""answers.pdf: the insurer answer sheet (:mod:`hygiene.answers`) as a document an underwriter can accept.

Page one answers: per question a short answer (Yes, No, Partially, Not assessed; "(attested)" when it rests on the
organisation's attestation) with its one sentence, the population per platform and the date it was read, and the
evidence references. Then "To reach Yes" (what falls short and the whole remediation), the evidence appendix (each
reference: check id and title, its result, the scan id and when the platform was read), how to read the sheet, and
a signer block for the person who signs the application.

Every text wraps (table cells are paragraphs; the long texts are paragraphs that flow across pages): nothing is cut.
Byte-reproducible (reportlab ``invariant=1``, fixed metadata, no export date); text is made inert (controls
replaced, reportlab's markup escaped).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    KeepTogether,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from hygiene.reports.interface import Answer, AnswerSheet, Renderer
from hygiene.reports.pdf import document, grid, markup
from hygiene.safetext import PDF_CELL_CAP, clip

#: how to read the sheet: the rule behind every answer
READING_NOTE = (
    "Yes means every answering check passed on the population the read-only APIs returned (failures accepted by a "
    "recorded risk exception count as passing), or on the organisation's own attestation, which is labelled "
    "attested. A check that could not be assessed, found nothing to measure or passed with a reservation never "
    "gives Yes. Populations are counted per platform on the day it was read."
)
DECLARATION = (
    "I have read these answers and the evidence they rest on, and I confirm that the attested statements are true "
    "to the best of my knowledge."
)
ANSWER_COLOURS = {"Yes": "#c6f6d5", "No": "#fed7d7", "Partially": "#fefcbf", "Not assessed": "#e2e8f0"}


def _day(iso: str) -> str:
    """``2026-12-03T10:45:47Z`` as ``3 Dec 2026 10:45 UTC``."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return f"{moment.day} {moment:%b %Y %H:%M} UTC"


def render_answers_pdf(
    sheet: AnswerSheet | Iterable[Answer], *, title: str = "", organisation: str = "", tool: str = "hygiene"
) -> bytes:
    """The answer sheet as a PDF, byte-reproducible (reportlab ``invariant=1``, fixed metadata, no export date).
    Given answers only (no sheet), it has no evidence appendix."""
    if not isinstance(sheet, AnswerSheet):
        sheet = AnswerSheet(tuple(sheet), title=title, organisation=organisation, tool=tool)
    answers = sheet.answers
    styles = getSampleStyleSheet()
    body = styles["BodyText"].clone("answers-body", fontSize=9, leading=11.5)
    small = styles["BodyText"].clone("answers-small", fontSize=8, leading=10)
    heading = styles["Heading2"].clone("answers-h2", spaceBefore=8, spaceAfter=4)
    question_style = styles["Heading4"].clone("answers-q", spaceBefore=6, spaceAfter=2)
    buf = io.BytesIO()
    organisation_text = clip(sheet.organisation, PDF_CELL_CAP, "report.json")
    doc_title = f"{sheet.title}: {organisation_text}" if organisation_text else sheet.title
    doc = document(
        buf, title=doc_title, author=sheet.tool, subject="insurer answer sheet", producer="hygiene answers (reportlab)"
    )

    story: list[object] = [Paragraph(markup(sheet.title), styles["Title"])]
    if organisation_text:
        story.append(Paragraph(f"Applicant: <b>{markup(organisation_text)}</b>", body))
    if sheet.scan_id:
        version = f" {sheet.tool_version}" if sheet.tool_version else ""
        story.append(
            Paragraph(
                markup(
                    f"Measured with {sheet.tool}{version} (read-only) in scan {sheet.scan_id}, finished "
                    f"{_day(sheet.scan_finished_at)}. The references E1, E2, ... point to the evidence appendix."
                ),
                small,
            )
        )
    for line in sheet.scope:  # a partial or incomplete scan: said before any answer
        story.append(Paragraph(f"<b>{markup(line[:1].upper() + line[1:])}.</b>", body))
    story.append(Spacer(1, 4 * mm))

    rows: list[list[object]] = [[Paragraph(f"<b>{h}</b>", small) for h in ("#", "Question", "Answer", "Population")]]
    style = grid()
    for number, a in enumerate(answers, 1):
        refs = f"<br/>Evidence: {markup(', '.join(a.evidence_refs))}" if a.evidence_refs else ""
        population = "<br/>".join(markup(c.text()) for c in a.populations) or markup(a.population)
        if a.populations:
            population += f"<br/>{markup('Read on ' + ', '.join(dict.fromkeys(c.on for c in a.populations)))}"
        rows.append(
            [
                Paragraph(str(number), small),
                Paragraph(f"<b>{markup(a.question)}</b><br/>{markup(a.sentence)}", small),
                Paragraph(f"<b>{markup(a.label)}</b>", small),
                Paragraph(population + refs, small),
            ]
        )
        style.add("BACKGROUND", (2, number), (2, number), colors.HexColor(ANSWER_COLOURS.get(a.answer, "#ffffff")))
    table = Table(rows, colWidths=[7 * mm, 98 * mm, 25 * mm, 50 * mm], repeatRows=1)
    table.setStyle(style)
    story.append(table)

    gaps = [(n, a) for n, a in enumerate(answers, 1) if a.to_reach_yes]
    if gaps:
        # the answers stand on their own first page(s); what to do follows
        story += [PageBreak(), Paragraph("To reach Yes", heading)]
        for number, a in gaps:
            story.append(Paragraph(f"{number}. {markup(a.question)} ({markup(a.label)})", question_style))
            for step in a.to_reach_yes:
                refs = f" ({markup(', '.join(step.refs))})" if step.refs else ""
                story.append(
                    Paragraph(f"<b>{markup(step.gap)}</b>{refs}: {markup(step.action)}", body, bulletText="\u2022")
                )

    if sheet.evidence:
        story.append(Paragraph("Evidence", heading))
        story.append(
            Paragraph(
                markup(
                    f"Every reference is a check's result in scan {sheet.scan_id}, finished "
                    f"{_day(sheet.scan_finished_at)}; report.json of that scan (in the evidence pack) holds each "
                    "one in full."
                ),
                small,
            )
        )
        evidence_rows: list[list[object]] = [
            [Paragraph(f"<b>{h}</b>", small) for h in ("Ref", "Check", "Result", "Platform read")]
        ]
        for item in sheet.evidence:
            result = item.status.replace("_", " ")
            if item.status in ("pass", "fail", "accepted"):
                result += f" ({item.failing - item.accepted:,} of {item.assessed:,} failing"
                result += f", {item.accepted:,} risk-accepted)" if item.accepted else ")"
            if item.basis == "attested":
                # the attestation's id and who made it stay in exceptions.json (redacted in insurer packs)
                result += " (attested)"
            evidence_rows.append(
                [
                    Paragraph(markup(item.ref), small),
                    Paragraph(f"{markup(item.check_id)}<br/>{markup(item.title)} ({markup(item.platform)})", small),
                    Paragraph(markup(result), small),
                    Paragraph(markup(_day(item.collected_at)), small),
                ]
            )
        evidence_table = Table(evidence_rows, colWidths=[12 * mm, 98 * mm, 40 * mm, 30 * mm], repeatRows=1)
        evidence_table.setStyle(grid())
        story.append(evidence_table)

    story += [Paragraph("How to read this sheet", heading), Paragraph(markup(READING_NOTE), small)]
    story.append(KeepTogether(_signer_block(heading, body, small)))
    doc.build(story)
    return buf.getvalue()


def _signer_block(heading: object, body: object, small: object) -> list[object]:
    """Name, role, date and a signature line for the person who signs the application (filled in by hand)."""
    line = "_" * 48
    rows = [[Paragraph(f"<b>{label}</b>", body), Paragraph(line, body)] for label in ("Name", "Role", "Date")]
    rows.append([Paragraph("<b>Signature</b>", body), Paragraph(line, body)])
    table = Table(rows, colWidths=[30 * mm, 110 * mm], rowHeights=[10 * mm] * 4)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    return [
        Paragraph("Signed for the applicant", heading),
        Paragraph(markup(DECLARATION), small),
        Spacer(1, 2 * mm),
        table,
    ]


class AnswersPdf(Renderer[AnswerSheet]):
    """answers.pdf."""

    name = "answers-pdf"
    file_name = "answers.pdf"
    media_type = "application/pdf"

    def render(self, model: AnswerSheet) -> bytes:
        return render_answers_pdf(model)
