"""Report renderers: report.json, report.html, findings.csv, summary.md and the OCSF export (findings.ocsf.jsonl)
from one :class:`ScanReport`, and the other files hygiene writes (the insurer answer sheet, an evidence pack's
summary.pdf, the portfolio page).

Every renderer implements :class:`hygiene.reports.interface.Renderer`: a pure function of an already-computed model
returning bytes. The report formats a scan writes are registered in :mod:`hygiene.reports.formats`;
:func:`write_reports` writes the chosen ones atomically with mode 0600 (``hygiene.atomic``), because reports name
people.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hygiene.atomic import FILE_MODE as REPORT_FILE_MODE
from hygiene.atomic import atomic_write, private_dir
from hygiene.reports.csv_report import CSV_COLUMNS, CSV_ENCODING, render_csv
from hygiene.reports.formats import (
    DEFAULT_FORMATS,
    FILE_NAMES,
    FORMATS,
    REPORT_RENDERERS,
    normalise_formats,
    report_renderer,
)
from hygiene.reports.html import MAX_FINDINGS_PER_CHECK, render_html
from hygiene.reports.interface import Renderer, ReportInput, ReportRenderer
from hygiene.reports.json_report import render_json, report_json_schema
from hygiene.reports.markdown import render_markdown
from hygiene.reports.ocsf import OCSF_VERSION, render_ocsf
from hygiene.reports.plan import PlanBucket, PlanItem, build_plan
from hygiene.results import ScanReport

__all__ = [
    "CSV_COLUMNS",
    "CSV_ENCODING",
    "DEFAULT_FORMATS",
    "FILE_NAMES",
    "FORMATS",
    "MAX_FINDINGS_PER_CHECK",
    "OCSF_VERSION",
    "REPORT_FILE_MODE",
    "REPORT_RENDERERS",
    "PlanBucket",
    "PlanItem",
    "Renderer",
    "ReportInput",
    "ReportRenderer",
    "build_plan",
    "render",
    "render_csv",
    "render_html",
    "render_json",
    "render_markdown",
    "render_ocsf",
    "report_json_schema",
    "report_renderer",
    "write_reports",
]


def render(report: ScanReport, fmt: str, *, written_with: Iterable[str] = ()) -> bytes:
    """The bytes of one report file. ``written_with`` are the other formats written alongside (for the
    summary's pointer to the full report)."""
    renderer = report_renderer(fmt)
    alongside = tuple(FILE_NAMES[f] for f in written_with if f in FILE_NAMES)
    return renderer.render(ReportInput(report, alongside))


def write_reports(report: ScanReport, output_dir: Path, formats: Iterable[str]) -> dict[str, Path]:
    """Write the requested formats (the keys of :data:`REPORT_RENDERERS`: "json", "csv", "html", "md", "ocsf") into
    ``output_dir``.

    Returns format -> path written. The directory is created (mode 0700) if missing; each file is
    replaced atomically and has mode 0600. Unknown formats raise ValueError before anything is written.
    """
    wanted = normalise_formats(formats)
    output_dir = Path(output_dir)
    private_dir(output_dir)
    model = ReportInput(report, tuple(FILE_NAMES[f] for f in wanted))
    written: dict[str, Path] = {}
    for fmt in sorted(wanted, key=FORMATS.index):
        renderer = REPORT_RENDERERS[fmt]
        path = output_dir / renderer.file_name
        atomic_write(path, renderer.render(model))
        written[fmt] = path
    return written
