"""report.json and its published JSON Schema.

``report.json`` is ``ScanReport.model_dump(mode="json")`` written as UTF-8 JSON, indented by two spaces,
with keys sorted so that the same report always serialises to the same bytes (and two scans diff cleanly).

The schema (draft 2020-12) is generated from the pydantic models and committed as
``hygiene/reports/schema/report.schema.json``; a test keeps the file and the models in step. Regenerate
it after changing :mod:`hygiene.results` with::

    python -m hygiene.reports --write-schema
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hygiene.perf import gc_paused
from hygiene.reports.interface import Renderer, ReportInput
from hygiene.results import REPORT_SCHEMA_VERSION, ScanReport

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "report.schema.json"


def schema_id(version: str = REPORT_SCHEMA_VERSION) -> str:
    return f"urn:hygiene:schema:report:{version}"


def _dumps(data: Any, *, sort_keys: bool = True) -> str:
    return json.dumps(data, indent=2, sort_keys=sort_keys, ensure_ascii=False) + "\n"


def render_json(report: ScanReport) -> str:
    """The text of report.json."""
    with gc_paused():  # a dict per finding: tens of thousands of fresh objects at 50,000 users
        return _dumps(report.model_dump(mode="json"))


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of report.json, generated from :class:`ScanReport`."""
    generated = ScanReport.model_json_schema()
    generated.pop("title", None)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(),
        "title": f"hygiene scan report (report.json), schema version {REPORT_SCHEMA_VERSION}",
        "description": (
            "Results of a hygiene security-hygiene scan. The schema_version property of a report names "
            "the version of this schema it follows; a change that removes or retypes a field bumps it."
        ),
        "version": REPORT_SCHEMA_VERSION,
        **generated,
    }


def render_json_schema() -> str:
    """The text of report.schema.json as committed ($schema, $id, title and version first)."""
    return _dumps(report_json_schema(), sort_keys=False)


def load_committed_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    return data


def write_json_schema(path: Path = SCHEMA_PATH) -> Path:
    """(Re)generate the committed schema file."""
    path.write_text(render_json_schema(), encoding="utf-8")
    return path


class JsonReport(Renderer[ReportInput]):
    """report.json, UTF-8."""

    name = "json"
    file_name = "report.json"
    media_type = "application/json"

    def render(self, model: ReportInput) -> bytes:
        return render_json(model.report).encode("utf-8")
