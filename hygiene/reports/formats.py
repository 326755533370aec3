"""The registry of the report formats a scan writes: format key -> :class:`ReportRenderer`, in the order files are
written. ``write_reports``, the command line's ``--format`` and the config's ``formats`` all use it; the keys are the
vocabulary of :data:`hygiene.taxonomy.REPORT_FORMATS` (the config, below this layer, validates against that), and a
test keeps the two in step."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from hygiene.reports.csv_report import CsvReport
from hygiene.reports.html import HtmlReport
from hygiene.reports.interface import ReportRenderer
from hygiene.reports.json_report import JsonReport
from hygiene.reports.markdown import MarkdownSummary
from hygiene.reports.ocsf import OcsfExport
from hygiene.taxonomy import DEFAULT_REPORT_FORMATS

REPORT_RENDERERS: Mapping[str, ReportRenderer] = MappingProxyType(
    {r.name: r for r in (JsonReport(), CsvReport(), HtmlReport(), MarkdownSummary(), OcsfExport())}
)
#: the formats, in the order files are written
FORMATS: tuple[str, ...] = tuple(REPORT_RENDERERS)
#: what a scan writes unless told otherwise: the OCSF export is for SIEMs and is asked for by name
DEFAULT_FORMATS: tuple[str, ...] = DEFAULT_REPORT_FORMATS
#: format -> file name
FILE_NAMES: Mapping[str, str] = MappingProxyType({fmt: r.file_name for fmt, r in REPORT_RENDERERS.items()})


def report_renderer(fmt: str) -> ReportRenderer:
    """The renderer of format ``fmt``; ValueError naming the formats if there is none."""
    try:
        return REPORT_RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}") from None


def normalise_formats(formats: Iterable[str]) -> list[str]:
    """The formats asked for, trimmed, lower-cased and without repeats; ValueError on an unknown one."""
    wanted: list[str] = []
    for fmt in formats:
        key = fmt.strip().lower()
        if key not in REPORT_RENDERERS:
            raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
        if key not in wanted:
            wanted.append(key)
    return wanted
