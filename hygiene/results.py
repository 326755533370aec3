"""Results of evaluating checks, and the scan report that carries them (``report.json``).

The report is a public, versioned format: ``hygiene/reports/schema/report.schema.json`` is generated from
these models (``python -m hygiene.reports --write-schema``) and a test keeps the two in step.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from hygiene.model import ReasonKind, ScanSelection, SourceRun
from hygiene.policy import Attestation, RejectedEntry, RiskException
from hygiene.strict import StrictModel as _Model
from hygiene.taxonomy import SEVERITIES

REPORT_SCHEMA_VERSION = "1.1"


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
    #: checks one of the two scans did not look at (a partial scan, a platform not read): not compared
    not_compared: int = 0


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


class ScanScope(_Model):
    """What the scan covered. A *partial* scan (``hygiene scan --checks/--platforms``) ran only the selected checks
    and read only their data; an *incomplete* one could not read a configured platform at all (every dataset it
    tried unavailable: authentication refused, the vendor unreachable). Neither is ever a baseline."""

    partial: bool = False
    incomplete: bool = False
    #: what a partial scan was limited to
    selection: ScanSelection | None = None
    #: datasets a partial scan did not read (no selected check needs them)
    datasets_not_read: list[str] = Field(default_factory=list)
    #: platform -> why it could not be read at all
    unread_platforms: dict[str, str] = Field(default_factory=dict)

    def lines(self) -> list[str]:
        """One line each for a partial and an incomplete scan (none for a full, complete one), for every output."""
        out = []
        if self.partial and self.selection is not None:
            chosen = self.selection
            parts = [f"checks {', '.join(chosen.checks)}" if chosen.checks else "every check"]
            if chosen.platforms:
                parts.append(f"platforms {', '.join(chosen.platforms)}")
            if chosen.platforms_not_scanned:
                parts.append(f"not scanned: {', '.join(chosen.platforms_not_scanned)}")
            if self.datasets_not_read:
                parts.append(f"data not read: {', '.join(self.datasets_not_read)}")
            out.append("partial scan: " + "; ".join(parts) + " (never a baseline)")
        if self.incomplete:
            unread = "; ".join(f"{platform}: {why}" for platform, why in self.unread_platforms.items())
            out.append(f"incomplete scan: could not read {unread} (never a baseline; scan again)")
        return out


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
    #: whether the scan was partial (a selection) or incomplete (a platform not read at all)
    scope: ScanScope = Field(default_factory=ScanScope)

    @property
    def baseline_refusal(self) -> str | None:
        """Why this scan cannot be a baseline (a partial or incomplete scan), or None when it can."""
        return baseline_refusal(self.scope.partial, list(self.scope.unread_platforms))

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


def baseline_refusal(partial: bool, unread_platforms: list[str]) -> str | None:
    """Why a scan cannot be a baseline: it is partial (a selection) or could not read a platform; None: it can."""
    if partial:
        return "it is a partial scan (--checks/--platforms), and a baseline must cover every check"
    if unread_platforms:
        return (
            f"it is incomplete (could not read {', '.join(unread_platforms)}), and a baseline must see every platform"
        )
    return None


#: exit codes: 0 done, 1 failures at/above ``--fail-on``, 2 usage or input error, 3 scan incomplete (3 wins over 1)
EXIT_OK, EXIT_FAILURES, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3


def exit_code(report: ScanReport, fail_on: str | None) -> int:
    """3 when the scan is incomplete, else 1 when a check of severity ``fail_on`` or higher failed, else 0."""
    if not report.complete:
        return EXIT_INCOMPLETE
    if fail_on:
        floor = SEVERITIES.index(fail_on)
        for result in report.results:
            if result.status is Status.FAIL and SEVERITIES.index(result.severity) <= floor:
                return EXIT_FAILURES
    return EXIT_OK
