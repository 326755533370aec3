"""The renderer contract: every output file has one :class:`Renderer`, the report formats one registry."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import hygiene.reports
from hygiene.reports.formats import DEFAULT_FORMATS, FILE_NAMES, FORMATS, REPORT_RENDERERS, report_renderer
from hygiene.reports.interface import Renderer
from hygiene.taxonomy import DEFAULT_REPORT_FORMATS, REPORT_FORMATS


def _all_renderers() -> list[type[Renderer[object]]]:
    for module in pkgutil.iter_modules(hygiene.reports.__path__):
        importlib.import_module(f"hygiene.reports.{module.name}")
    found: list[type[Renderer[object]]] = []
    queue = list(Renderer.__subclasses__())
    while queue:
        cls = queue.pop()
        found.append(cls)
        queue += cls.__subclasses__()
    return found


def test_the_registry_is_the_formats_the_config_accepts() -> None:
    assert FORMATS == REPORT_FORMATS  # same formats, same order of writing
    assert DEFAULT_FORMATS == DEFAULT_REPORT_FORMATS
    assert set(DEFAULT_FORMATS) <= set(FORMATS)
    assert all(renderer.name == fmt for fmt, renderer in REPORT_RENDERERS.items())
    assert FILE_NAMES == {
        "json": "report.json",
        "csv": "findings.csv",
        "html": "report.html",
        "md": "summary.md",
        "ocsf": "findings.ocsf.jsonl",
    }


def test_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"'xlsx'; expected one of json, csv, html, md, ocsf"):
        report_renderer("xlsx")


def test_every_renderer_names_its_format_file_and_media_type() -> None:
    renderers = _all_renderers()
    names = {cls.__name__ for cls in renderers}
    assert {"AnswersCsv", "AnswersPdf", "SummaryPdf", "PortfolioHtml", "PortfolioJson"} <= names
    assert {type(r).__name__ for r in REPORT_RENDERERS.values()} <= names
    for cls in renderers:
        assert cls.name and cls.file_name and cls.media_type, cls
    assert len({cls.name for cls in renderers}) == len(renderers)
    assert len({cls.file_name for cls in renderers}) == len(renderers)
