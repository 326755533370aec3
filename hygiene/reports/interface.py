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
class PlatformCount:
    """What one platform measured for one question: how many of the counted items pass, and when."""

    #: the platform's name in the report ("m365") and its title ("Microsoft 365")
    platform: str
    title: str
    #: the day the platform was read, UTC ("3 Dec 2026")
    on: str
    #: what the counted items are ("accounts")
    unit: str = "items"
    assessed: int = 0
    passing: int = 0
    accepted: int = 0
    #: every counted result of the platform rests on the organisation's attestation, not on a measurement
    attested: bool = False
    #: some counted results rest on an attestation (the figure counts the measured ones)
    part_attested: bool = False
    #: some answering check of the platform could not be assessed (the figure covers the others)
    incomplete: bool = False

    @property
    def measured(self) -> bool:
        return self.assessed > 0 and not self.attested

    def text(self) -> str:
        """``Microsoft 365: 30 of 33 accounts`` (or ``attested by the organisation``, ``not assessed``)."""
        return f"{self.title}: {self.figure()}"

    def figure(self) -> str:
        """``30 of 33 accounts``, ``attested by the organisation``, ``not assessed``, ``..., part not assessed``."""
        unit = self.unit
        if self.attested:
            figure = "attested by the organisation"
        elif self.assessed == 0:
            figure = "not assessed" if self.incomplete else f"no {unit} to measure"
        else:
            figure = f"{self.passing:,} of {self.assessed:,} {unit}"
            if self.accepted:
                figure += f" ({self.accepted:,} risk-accepted)"
            if self.part_attested:
                figure += ", part attested"
            if self.incomplete:
                figure += ", part not assessed"
        return figure


@dataclass(frozen=True)
class EvidenceItem:
    """One entry of the sheet's evidence appendix: a check's result in the scan (E1, E2, ...)."""

    ref: str
    check_id: str
    title: str
    platform: str
    #: the result's status (pass, fail, accepted, not_assessed, error) or "no result" (disabled, not run)
    status: str
    basis: str
    assessed: int
    failing: int
    accepted: int
    scan_id: str
    #: when the platform was read, UTC (ISO 8601)
    collected_at: str


@dataclass(frozen=True)
class Step:
    """One step of "to reach Yes": what falls short and what to do about it, with its evidence."""

    platform: str
    gap: str
    action: str
    refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    question_id: str
    question: str
    #: "Yes", "No", "Partially" or "Not assessed"
    answer: str
    #: one sentence saying why
    sentence: str
    #: "measured", "attested", "measured and attested", or "" (not assessed)
    basis: str
    #: what the counted items are ("accounts", "devices")
    unit: str
    #: per platform, in the questionnaire's order
    populations: tuple[PlatformCount, ...]
    #: the populations in one line: "Microsoft 365: 30 of 33 accounts; Google Workspace: 8 of 14 accounts, on 3 Dec
    #: 2026"
    population: str
    #: the scan's finish time, UTC (ISO 8601)
    scan_date: str
    #: the evidence appendix's entries behind this answer ("E1", "E2")
    evidence_refs: tuple[str, ...]
    check_ids: tuple[str, ...]
    #: what to do to answer Yes (empty for a Yes)
    to_reach_yes: tuple[Step, ...] = ()

    @property
    def label(self) -> str:
        """The answer as printed: "Yes (attested)" when the organisation's attestation carries it."""
        return (
            f"{self.answer} (attested)" if self.basis == "attested" and self.answer != "Not assessed" else self.answer
        )

    @property
    def gap(self) -> str:
        """Why the answer is not a plain Yes (the sentence), or ""."""
        return "" if self.answer == "Yes" else self.sentence

    @property
    def remediation(self) -> str:
        return " ".join(dict.fromkeys(step.action for step in self.to_reach_yes))


@dataclass(frozen=True)
class AnswerSheet:
    """The answers to one questionnaire, their evidence appendix, and what the PDF's heading and metadata name."""

    answers: tuple[Answer, ...]
    #: the questionnaire's title
    title: str
    organisation: str = ""
    tool: str = "hygiene"
    tool_version: str = ""
    scan_id: str = ""
    #: the scan's finish time, UTC (ISO 8601)
    scan_finished_at: str = ""
    evidence: tuple[EvidenceItem, ...] = ()
    #: a partial or incomplete scan, one line each (``ScanScope.lines``): the sheet says so under its heading
    scope: tuple[str, ...] = ()


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
    #: the organisation's tags (its config's ``[organisation] tags``)
    tags: list[str] = field(default_factory=list)
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
    #: days since the last scan (at the portfolio's generation time)
    age_days: float | None = None
    #: why the latest scan is incomplete (a platform it could not read at all, data it could not fetch), or None
    incomplete: str | None = None
    #: the latest scan's report as the history recorded it (HTML, else JSON): absolute path, and the link to it
    #: relative to the folder the portfolio is written to (None when the file is no longer there)
    report_path: str | None = None
    report_link: str | None = None


@dataclass
class TagGroup:
    """The organisations sharing a tag, summarised."""

    tag: str
    organisations: int
    worst_grade: str | None
    stale: int
    incomplete: int


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
    #: how the rows are ordered (``worst``, ``change``, ``stale``, ``name``)
    sort: str = "worst"
    groups: list[TagGroup] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
