"""findings.csv: one row per finding, for spreadsheets and ticketing imports.

The file is UTF-8 with a byte-order mark (so Excel shows accented names correctly) and CRLF line endings
(RFC 4180). Every cell that a spreadsheet would treat as a formula - one starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return - is prefixed with a single quote: resource names come from the
scanned tenant and must never execute in the reader's spreadsheet. A reader may also split the file on another
separator than the comma (LibreOffice and Excel with European settings use ``;``), so a formula start right
after any of ``,``, ``;``, a tab or ``|`` inside a cell is defused the same way, and control characters are
replaced (:func:`hygiene.safetext.inert`).
"""

from __future__ import annotations

import csv
import io
import re

from hygiene.reports.analysis import ordered_findings
from hygiene.reports.interface import Renderer, ReportInput
from hygiene.results import ScanReport, Status
from hygiene.safetext import inert

CSV_COLUMNS: tuple[str, ...] = (
    "scan_id",
    "organisation_id",
    "check_id",
    "title",
    "area",
    "platform",
    "severity",
    "status",
    "resource_id",
    "resource_name",
    "detail",
    "accepted_by",
    "remediation",
)

CSV_ENCODING = "utf-8-sig"

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: a formula start after a separator some reader may split on (with the spaces and quotes a reader trims)
_FORMULA_AFTER_SEPARATOR = re.compile(r"""([,;|\t][\s"']*)([=+\-@])""")


def csv_safe(value: object) -> str:
    """The cell text, defused against CSV/formula injection whatever separator the reader splits on."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_PREFIXES):
        text = "'" + text
    return _FORMULA_AFTER_SEPARATOR.sub(r"\1'\2", inert(text, one_line=False))


def render_csv(report: ScanReport) -> str:
    """The text of findings.csv (encode with :data:`CSV_ENCODING`).

    ``status`` is the finding's own status: ``accepted`` when an exception accepts it, otherwise the status
    of its check.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    for result in report.results:
        for finding in ordered_findings(result):
            status = Status.ACCEPTED if finding.accepted_by else result.status
            row = (
                report.scan_id,
                report.organisation_id,
                result.check_id,
                result.title,
                result.area,
                result.platform,
                result.severity,
                status.value,
                finding.resource_id,
                finding.resource_name,
                finding.detail,
                finding.accepted_by or "",
                result.remediation,
            )
            writer.writerow([csv_safe(cell) for cell in row])
    return buffer.getvalue()


class CsvReport(Renderer[ReportInput]):
    """findings.csv, UTF-8 with a byte-order mark."""

    name = "csv"
    file_name = "findings.csv"
    media_type = "text/csv; charset=utf-8"

    def render(self, model: ReportInput) -> bytes:
        return render_csv(model.report).encode(CSV_ENCODING)
