"""What the history keeps of a scan: enough to list scans and to diff two of them (not the whole report)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from hygiene.results import ScanReport, baseline_refusal
from hygiene.strict import StrictModel

#: what no database text column holds: NUL (PostgreSQL refuses it) and lone surrogates (no UTF-8 encoder takes them)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str) -> str:
    """Vendor text as both backends store it, NUL and lone surrogates as U+FFFD: a tenant's hostile name never
    stops a scan from being recorded, and a stored scan diffs equal to the report it came from."""
    return _UNSTORABLE.sub("\ufffd", value)


class _Model(StrictModel):
    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable(value) if isinstance(value, str) else value


class StoredFinding(_Model):
    resource_id: str
    resource_name: str
    detail: str = ""
    accepted_by: str | None = None


class StoredResult(_Model):
    check_id: str
    title: str = ""
    status: str
    severity: str
    area: str = ""
    platform: str = ""
    assessed: int = 0
    failing: int = 0
    accepted: int = 0
    reason: str | None = None
    findings: list[StoredFinding] = Field(default_factory=list)


class StoredFile(_Model):
    format: str
    path: str
    sha256: str


class ScanSummary(_Model):
    organisation_id: str
    organisation_name: str
    scan_id: str
    started_at: datetime
    finished_at: datetime
    profile: str
    operator: str
    tool_version: str
    score: float
    grade: str
    coverage: float
    complete: bool
    baseline: bool = False
    failing_checks: int = 0
    #: limited by --checks/--platforms
    partial: bool = False
    #: platforms the scan could not read at all (it is incomplete)
    unread_platforms: list[str] = Field(default_factory=list)

    @property
    def baseline_refusal(self) -> str | None:
        """Why this scan cannot be a baseline, or None when it can."""
        return baseline_refusal(self.partial, self.unread_platforms)


class StoredScan(_Model):
    summary: ScanSummary
    results: list[StoredResult] = Field(default_factory=list)
    files: list[StoredFile] = Field(default_factory=list)


def stored_results(report: ScanReport) -> list[StoredResult]:
    return [
        StoredResult(
            check_id=r.check_id,
            title=r.title,
            status=r.status.value,
            severity=r.severity,
            area=r.area,
            platform=r.platform,
            assessed=r.assessed,
            failing=r.failing,
            accepted=r.accepted,
            reason=r.reason,
            findings=[
                StoredFinding(
                    resource_id=f.resource_id, resource_name=f.resource_name, detail=f.detail, accepted_by=f.accepted_by
                )
                for f in r.findings
            ],
        )
        for r in report.results
    ]


def summary_of(report: ScanReport, *, baseline: bool = False) -> ScanSummary:
    return ScanSummary(
        organisation_id=report.organisation_id,
        organisation_name=report.organisation_name,
        scan_id=report.scan_id,
        started_at=report.started_at,
        finished_at=report.finished_at,
        profile=report.profile.name,
        operator=report.operator,
        tool_version=report.tool_version,
        score=report.score.value,
        grade=report.score.grade,
        coverage=report.score.coverage,
        complete=report.complete,
        baseline=baseline,
        failing_checks=sum(1 for r in report.results if r.status.value == "fail"),
        partial=report.scope.partial,
        unread_platforms=list(report.scope.unread_platforms),
    )


def stored_from_report(report: ScanReport, *, baseline: bool = False) -> StoredScan:
    """The history's view of a report, as ``HistoryStore.load`` returns it after ``record`` (minus files)."""
    return StoredScan(summary=summary_of(report, baseline=baseline), results=stored_results(report))
