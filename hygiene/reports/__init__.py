"""Report renderers: report.json, report.html, findings.csv, summary.md and the OCSF export (findings.ocsf.jsonl)
from one :class:`ScanReport`.

Every renderer is a pure function of the report returning text; :func:`write_reports` writes the chosen
formats atomically with mode 0600 (``hygiene.atomic``), because reports name people.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hygiene.atomic import FILE_MODE as REPORT_FILE_MODE
from hygiene.atomic import atomic_write, private_dir
from hygiene.reports.csv_report import CSV_COLUMNS, CSV_ENCODING, render_csv
from hygiene.reports.html import MAX_FINDINGS_PER_CHECK, render_html
from hygiene.reports.json_report import render_json, report_json_schema
from hygiene.reports.markdown import render_markdown
from hygiene.reports.ocsf import OCSF_VERSION, render_ocsf
from hygiene.reports.plan import PlanBucket, PlanItem, build_plan
from hygiene.results import ScanReport
from hygiene.taxonomy import DEFAULT_REPORT_FORMATS, REPORT_FILE_NAMES, REPORT_FORMATS

#: format -> file name, in the order files are written; the formats; what a scan writes unless told otherwise
FILE_NAMES = REPORT_FILE_NAMES
FORMATS = REPORT_FORMATS
DEFAULT_FORMATS = DEFAULT_REPORT_FORMATS

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_FORMATS",
    "FILE_NAMES",
    "FORMATS",
    "MAX_FINDINGS_PER_CHECK",
    "OCSF_VERSION",
    "REPORT_FILE_MODE",
    "PlanBucket",
    "PlanItem",
    "build_plan",
    "render",
    "render_csv",
    "render_html",
    "render_json",
    "render_markdown",
    "render_ocsf",
    "report_json_schema",
    "write_reports",
]


def _normalise(formats: Iterable[str]) -> list[str]:
    wanted: list[str] = []
    for fmt in formats:
        key = fmt.strip().lower()
        if key not in FILE_NAMES:
            raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
        if key not in wanted:
            wanted.append(key)
    return wanted


def render(report: ScanReport, fmt: str, *, written_with: Iterable[str] = ()) -> bytes:
    """The bytes of one report file. ``written_with`` are the other formats written alongside (for the
    summary's pointer to the full report)."""
    if fmt == "json":
        return render_json(report).encode("utf-8")
    if fmt == "html":
        return render_html(report).encode("utf-8")
    if fmt == "csv":
        return render_csv(report).encode(CSV_ENCODING)
    if fmt == "md":
        others = [FILE_NAMES[f] for f in ("html", "csv", "json") if f in set(written_with)]
        return render_markdown(report, others).encode("utf-8")
    if fmt == "ocsf":
        return render_ocsf(report).encode("utf-8")
    raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")


def write_reports(report: ScanReport, output_dir: Path, formats: Iterable[str]) -> dict[str, Path]:
    """Write the requested formats ("json", "html", "csv", "md", "ocsf") into ``output_dir``.

    Returns format -> path written. The directory is created (mode 0700) if missing; each file is
    replaced atomically and has mode 0600. Unknown formats raise ValueError before anything is written.
    """
    wanted = _normalise(formats)
    output_dir = Path(output_dir)
    private_dir(output_dir)
    written: dict[str, Path] = {}
    for fmt in sorted(wanted, key=FORMATS.index):
        path = output_dir / FILE_NAMES[fmt]
        atomic_write(path, render(report, fmt, written_with=wanted))
        written[fmt] = path
    return written
