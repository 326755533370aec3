"""The contract of the outputs layer: a :class:`Renderer` turns one already-computed model into the bytes of one
file, and the plain models renderers take.

A renderer never reads the history store, a file or the clock: whatever it shows is in its model, so the same model
always gives the same bytes (the PDFs too: reportlab's ``invariant=1``). Writing the bytes (atomically, mode 0600)
is the caller's business. One module per format implements it (``html.py``, ``markdown.py``, ``csv_report.py``,
``json_report.py``, ``ocsf.py`` for a scan's reports; ``answers_csv.py``, ``answers_pdf.py``, ``summary_pdf.py``,
``portfolio_html.py``, ``portfolio_json.py``); the report formats a scan writes are registered in
:mod:`hygiene.reports.formats`.

The models are defined here, below the layers that compute them (``hygiene.answers`` derives the answer sheet,
``hygiene.portfolio`` gathers the portfolio from the history, ``hygiene.evidence`` assembles packs), so that the
outputs layer depends on none of those.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from hygiene.results import ScanReport

M = TypeVar("M")


class Renderer(ABC, Generic[M]):
    """One output file rendered from a model of type ``M``."""

    #: the format's key, e.g. ``html`` (for the report formats: the value of ``--format`` and ``formats``)
    name: ClassVar[str]
    #: the file it is written to, e.g. ``report.html``
    file_name: ClassVar[str]
    #: the IANA media type of the bytes, e.g. ``text/html; charset=utf-8``
    media_type: ClassVar[str]

    @abstractmethod
    def render(self, model: M) -> bytes:
        """The bytes of the file."""


# -- a scan's reports -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportInput:
    """What a report format renders: the scan's report and the files written alongside it."""

    report: ScanReport
    #: the file names written with this one (summary.md points at the full report files among them)
    alongside: tuple[str, ...] = ()


#: a renderer of one of the report formats a scan writes (:mod:`hygiene.reports.formats`)
ReportRenderer = Renderer[ReportInput]


# -- the insurer answer sheet (derived by hygiene.answers) ----------------------------------------------------


@dataclass(frozen=True)
class Answer:
    question_id: str
    question: str
    #: "Yes", "No", "Partially" or "Not assessed"
    answer: str
    population: str
    #: the scan's finish time, UTC (ISO 8601)
    scan_date: str
    evidence: str
    check_ids: tuple[str, ...]
    gap: str = ""
    remediation: str = ""


@dataclass(frozen=True)
class AnswerSheet:
    """The answers to one questionnaire, with what the PDF's heading and metadata name."""

    answers: tuple[Answer, ...]
    #: the questionnaire's title
    title: str
    organisation: str = ""
    tool: str = "hygiene"


# -- an evidence pack's summary (assembled by hygiene.evidence) -----------------------------------------------


@dataclass(frozen=True)
class PackSummary:
    """What summary.pdf shows: the pack's report (pseudonymised for an insurer or customer pack) and audience."""

    report: ScanReport
    audience: str
    #: the pack's redaction of free text (grade caps, reasons): the identity for an internal pack
    redact: Callable[[str], str]


# -- the portfolio over organisations (gathered by hygiene.portfolio) -----------------------------------------


@dataclass
class Issue:
    check_id: str
    title: str
    severity: str
    failing: int


@dataclass
class OrgRow:
    id: str
    name: str
    config: str
    scanned: bool = False
    scans: int = 0
    scan_id: str | None = None
    last_scan_at: str | None = None
    score: float | None = None
    grade: str | None = None
    coverage: float | None = None
    complete: bool | None = None
    #: the latest scan could not read these platforms at all: its grade and "worst open issues" miss them
    unread_platforms: list[str] = field(default_factory=list)
    #: every recorded scan is partial (--checks/--platforms): the row shows the latest of them
    partial: bool = False
    score_delta: float | None = None
    trend: list[float] = field(default_factory=list)
    worst_issues: list[Issue] = field(default_factory=list)
    stale: bool = True


@dataclass
class ConfigErrorRow:
    config: str
    error: str


@dataclass
class Portfolio:
    generated_at: str
    stale_days: int
    organisations: list[OrgRow]
    errors: list[ConfigErrorRow]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
