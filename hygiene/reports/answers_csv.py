"""answers.csv: the insurer answer sheet (:mod:`hygiene.answers`) as one row per question, for the insurer's forms.

Like findings.csv: UTF-8 with a byte-order mark, CRLF line endings, every cell defused against formula injection
(:func:`hygiene.reports.csv_report.csv_safe`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from hygiene.reports.csv_report import CSV_ENCODING, csv_safe
from hygiene.reports.interface import Answer, AnswerSheet, Renderer

ANSWER_CSV_COLUMNS: tuple[str, ...] = (
    "question_id",
    "question",
    "answer",
    "population",
    "scan_date",
    "evidence",
    "gap",
    "remediation",
)


def render_answers_csv(answers: Iterable[Answer]) -> str:
    """The text of answers.csv: CRLF line endings (encode as UTF-8 with BOM, like findings.csv)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(ANSWER_CSV_COLUMNS)
    for a in answers:
        row = [a.question_id, a.question, a.answer, a.population, a.scan_date, a.evidence, a.gap, a.remediation]
        writer.writerow([csv_safe(cell) for cell in row])
    return buffer.getvalue()


class AnswersCsv(Renderer[AnswerSheet]):
    """answers.csv, UTF-8 with a byte-order mark."""

    name = "answers-csv"
    file_name = "answers.csv"
    media_type = "text/csv; charset=utf-8"

    def render(self, model: AnswerSheet) -> bytes:
        return render_answers_csv(model.answers).encode(CSV_ENCODING)
