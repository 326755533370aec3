"""What the PDFs share (summary.pdf, answers.pdf): an A4 document whose bytes depend on its content only (reportlab's
``invariant=1``, fixed metadata, no date of the export itself), the grid of their tables, and vendor text made inert
as reportlab paragraph markup."""

from __future__ import annotations

from typing import BinaryIO

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import SimpleDocTemplate, TableStyle  # type: ignore[import-untyped]

from hygiene.safetext import inert


def markup(text: object) -> str:
    """Paragraph markup made inert: control characters replaced, reportlab's mini-HTML escaped."""
    return escape(inert(text))


def escape(text: str) -> str:
    """reportlab's mini-HTML escaped (``&``, ``<``, ``>``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def document(buf: BinaryIO, *, title: str, author: str, subject: str, producer: str) -> SimpleDocTemplate:
    """An A4 document with 15 mm margins, reproducible byte for byte; ``author`` is also its creator."""
    return SimpleDocTemplate(
        buf,
        pagesize=A4,
        invariant=1,
        title=title,
        author=author,
        subject=subject,
        creator=author,
        producer=producer,
        keywords="",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )


def grid() -> TableStyle:
    """The style of every table: a thin grey grid, a grey heading row, 8 pt text aligned to the top."""
    return TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
