"""findings.csv: one row per finding, for spreadsheets and ticketing imports.

The file is UTF-8 with a byte-order mark (so Excel shows accented names correctly) and CRLF line endings
(RFC 4180). Every cell that a spreadsheet would treat as a formula - one starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return - is prefixed with a single quote: resource names come from the
scanned tenant and must never execute in the reader's spreadsheet.
"""

from __future__ import annotations

import csv
import io

from hygiene.reports.analysis import ordered_findings
from hygiene.results import ScanReport, Status

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


def csv_safe(value: object) -> str:
    """The cell text, defused against CSV/formula injection."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_PREFIXES):
        return "'" + text
    return text


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
