"""answers.csv: the insurer answer sheet (:mod:`hygiene.answers`) as one row per question, for the insurer's forms
and for scripts: one value per column (the answer, its sentence, the population of each platform, the evidence
references and what would make it a Yes), never several crammed into one cell.

Like findings.csv: UTF-8 with a byte-order mark, CRLF line endings, every cell defused against formula injection
(:func:`hygiene.reports.csv_report.csv_safe`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from hygiene.reports.csv_report import CSV_ENCODING, csv_safe
from hygiene.reports.interface import Answer, AnswerSheet, Renderer
from hygiene.sources import platforms

#: one column per platform hygiene reads: that platform's population ("30 of 33 accounts"), empty where it does not
#: answer the question
PLATFORM_COLUMNS: tuple[str, ...] = tuple(f"population_{name}" for name in platforms.names())

ANSWER_CSV_COLUMNS: tuple[str, ...] = (
    "question_id",
    "question",
    "answer",
    "basis",
    "sentence",
    "population",
    *PLATFORM_COLUMNS,
    "measured_on",
    "scan_id",
    "scan_date",
    "evidence_refs",
    "check_ids",
    "to_reach_yes",
)


def _row(answer: Answer, scan_id: str) -> list[str]:
    by_platform = {f"population_{c.platform}": c.figure() for c in answer.populations}
    # one step a line: what falls short, then what to do
    steps = "\n".join(f"{s.gap}: {s.action}" for s in answer.to_reach_yes)
    return [
        answer.question_id,
        answer.question,
        answer.answer,
        answer.basis,
        answer.sentence,
        answer.population,
        *(by_platform.get(column, "") for column in PLATFORM_COLUMNS),
        "; ".join(dict.fromkeys(c.on for c in answer.populations)),
        scan_id,
        answer.scan_date,
        " ".join(answer.evidence_refs),
        " ".join(answer.check_ids),
        steps,
    ]


def render_answers_csv(sheet: AnswerSheet | Iterable[Answer]) -> str:
    """The text of answers.csv: CRLF line endings (encode as UTF-8 with BOM, like findings.csv)."""
    answers = sheet.answers if isinstance(sheet, AnswerSheet) else tuple(sheet)
    scan_id = sheet.scan_id if isinstance(sheet, AnswerSheet) else ""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(ANSWER_CSV_COLUMNS)
    for answer in answers:
        writer.writerow([csv_safe(cell) for cell in _row(answer, scan_id)])
    return buffer.getvalue()


class AnswersCsv(Renderer[AnswerSheet]):
    """answers.csv, UTF-8 with a byte-order mark."""

    name = "answers-csv"
    file_name = "answers.csv"
    media_type = "text/csv; charset=utf-8"

    def render(self, model: AnswerSheet) -> bytes:
        return render_answers_csv(model).encode(CSV_ENCODING)
