"""Results of evaluating checks, and the scan report that carries them (``report.json``).

The report is a public, versioned format: ``hygiene/reports/schema/report.schema.json`` is generated from
these models (``python -m hygiene.reports --write-schema``) and a test keeps the two in step.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from hygiene.model import ReasonKind, SourceRun
from hygiene.policy import Attestation, RejectedEntry, RiskException
from hygiene.strict import StrictModel as _Model

REPORT_SCHEMA_VERSION = "1.0"


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ACCEPTED = "accepted"
    NOT_ASSESSED = "not_assessed"
    ERROR = "error"


class FindingResult(_Model):
    resource_id: str
    resource_name: str
    detail: str
    #: id of the unexpired exception that accepts this finding's risk
    accepted_by: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class CheckResult(_Model):
    check_id: str
    title: str
    area: str
    platform: str
    severity: str
    status: Status
    #: why the status is what it is: the not-assessed cause, the error, or a one-line summary
    reason: str | None = None
    reason_kind: ReasonKind | None = None
    basis: Literal["measured", "attested"] = "measured"
    assessed: int = 0
    failing: int = 0
    accepted: int = 0
    note: str | None = None
    #: what a pass does not guarantee although nothing failed (an answer sheet then answers Partially, not Yes)
    reservation: str | None = None
    findings: list[FindingResult] = Field(default_factory=list)
    frameworks: dict[str, list[str]] = Field(default_factory=dict)
    remediation: str = ""
    references: list[str] = Field(default_factory=list)
    attestation_ids: list[str] = Field(default_factory=list)
    #: the permissions whose absence made this check not_assessed, if that was the cause
    permissions: list[str] = Field(default_factory=list)


class AreaScore(_Model):
    area: str
    score: float | None
    coverage: float
    passed: int
    failed: int
    not_assessed: int


class Score(_Model):
    value: float
    grade: str
    #: share of the enabled checks' weight that was actually assessed (0-1)
    coverage: float
    #: why the grade is lower than the value alone would give, if it is
    caps: list[str] = Field(default_factory=list)
    areas: list[AreaScore] = Field(default_factory=list)


class ExceptionRecord(_Model):
    exception: RiskException
    state: Literal["active", "expired", "unused"]
    findings_covered: int = 0


class AttestationRecord(_Model):
    attestation: Attestation
    state: Literal["active", "expired", "future"]
    used_by: list[str] = Field(default_factory=list)


class ControlsRegister(_Model):
    path: str | None = None
    exceptions: list[ExceptionRecord] = Field(default_factory=list)
    attestations: list[AttestationRecord] = Field(default_factory=list)
    rejected: list[RejectedEntry] = Field(default_factory=list)


class ProfileRef(_Model):
    name: str
    title: str
    source: str | None = None
    thresholds: dict[str, Any] = Field(default_factory=dict)


class DriftItem(_Model):
    check_id: str
    title: str
    severity: str
    detail: str


class DriftSection(_Model):
    """What changed since an earlier scan (the previous one, or the baseline)."""

    against: Literal["previous", "baseline"]
    against_scan_id: str
    against_finished_at: datetime
    score_before: float
    score_delta: float
    new_failures: list[DriftItem] = Field(default_factory=list)
    regressed: list[DriftItem] = Field(default_factory=list)
    resolved: list[DriftItem] = Field(default_factory=list)
    no_longer_assessed: list[DriftItem] = Field(default_factory=list)
    expired_exceptions: list[str] = Field(default_factory=list)
    unchanged_failures: int = 0


class TrendPoint(_Model):
    scan_id: str
    finished_at: datetime
    score: float
    grade: str


class Drift(_Model):
    since_previous: DriftSection | None = None
    since_baseline: DriftSection | None = None
    #: oldest first, this scan last
    trend: list[TrendPoint] = Field(default_factory=list)


class ScanReport(_Model):
    schema_version: str = REPORT_SCHEMA_VERSION
    tool: str = "hygiene"
    tool_version: str
    organisation_id: str
    organisation_name: str
    scan_id: str
    started_at: datetime
    finished_at: datetime
    evaluated_at: datetime
    as_of: date
    operator: str
    profile: ProfileRef
    sources: dict[str, SourceRun]
    score: Score
    results: list[CheckResult]
    controls: ControlsRegister
    #: checks skipped because their platform was not part of this scan
    out_of_scope_platforms: list[str] = Field(default_factory=list)
    #: change over time, from the scan history (absent for a scan without history)
    drift: Drift | None = None

    @property
    def complete(self) -> bool:
        """False when data could not be fetched (a source or dataset failed, not merely a missing licence or
        permission) or a check errored: the scan must be re-run, exit code 3."""
        transient = {ReasonKind.ERROR, ReasonKind.UNREACHABLE}
        for run in self.sources.values():
            if run.status == "error":
                return False
            if any(d.reason_kind in transient for d in run.datasets.values() if not d.available):
                return False
        return not any(r.status is Status.ERROR for r in self.results)
