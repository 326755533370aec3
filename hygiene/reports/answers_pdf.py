"""answers.pdf: the insurer answer sheet (:mod:`hygiene.answers`) as a table of questions, answers and what was
measured, byte-reproducible (reportlab ``invariant=1``, fixed metadata, no export date). Text is made inert
(controls replaced, reportlab's markup escaped) and cut to :data:`hygiene.safetext.PDF_CELL_CAP` per cell."""

from __future__ import annotations

import io
from collections.abc import Iterable

from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import Paragraph, Spacer, Table  # type: ignore[import-untyped]

from hygiene.reports.interface import Answer, AnswerSheet, Renderer
from hygiene.reports.pdf import document, escape, grid
from hygiene.safetext import PDF_CELL_CAP, clip, inert


def render_answers_pdf(
    answers: Iterable[Answer], *, title: str, organisation: str = "", tool: str = "hygiene"
) -> bytes:
    """The answer sheet as a PDF, byte-reproducible (reportlab ``invariant=1``, fixed metadata, no export date)."""

    def esc(text: object) -> str:
        # a cell taller than a page cannot be laid out (reportlab LayoutError): vendor text in a gap is cut
        return escape(clip(inert(text), PDF_CELL_CAP, "answers.csv"))

    rows_in = list(answers)
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("answers-small", fontSize=8, leading=10)
    buf = io.BytesIO()
    heading = f"{title}: {organisation}" if organisation else title
    producer = "hygiene answers (reportlab)"
    doc = document(buf, title=heading, author=tool, subject="insurer answer sheet", producer=producer)
    story: list[object] = [Paragraph(esc(heading), styles["Title"])]
    if rows_in:
        a0 = rows_in[0]
        story.append(
            Paragraph(esc(f"Answers from {a0.evidence.split(':', 1)[0]}, finished {a0.scan_date} (UTC)."), small)
        )
    story.append(Spacer(1, 4 * mm))
    table: list[list[object]] = [["Question", "Answer", "Measured"]]
    for a in rows_in:
        text = f"<b>{esc(a.question)}</b><br/>{esc(a.question_id)} - evidence: {esc(a.evidence)}"
        if a.gap:
            text += f"<br/><i>Gap: {esc(a.gap)}</i>"
        if a.remediation:
            text += f"<br/>Remediation: {esc(a.remediation)}"
        table.append(
            [Paragraph(text, small), Paragraph(f"<b>{esc(a.answer)}</b>", small), Paragraph(esc(a.population), small)]
        )
    sheet = Table(table, colWidths=[110 * mm, 22 * mm, 48 * mm], repeatRows=1)
    sheet.setStyle(grid())
    story += [
        sheet,
        Spacer(1, 4 * mm),
        Paragraph(
            esc(
                "Yes means every answering check in scope passed (failures risk-accepted count as passed); a check "
                "that was not assessed never gives Yes. Counts cover the complete population the read-only APIs "
                "returned; attested results are the organisation's own statements."
            ),
            small,
        ),
    ]
    doc.build(story)
    return buf.getvalue()


class AnswersPdf(Renderer[AnswerSheet]):
    """answers.pdf."""

    name = "answers-pdf"
    file_name = "answers.pdf"
    media_type = "application/pdf"

    def render(self, model: AnswerSheet) -> bytes:
        return render_answers_pdf(model.answers, title=model.title, organisation=model.organisation, tool=model.tool)
