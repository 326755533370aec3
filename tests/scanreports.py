"""Small hand-made scan reports (a few checks, named resources), for the history and the notifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hygiene.results import CheckResult, ControlsRegister, FindingResult, ProfileRef, ScanReport, Score, Status

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def result(
    check_id: str, status: str, *resources: str, accepted: tuple[str, ...] = (), title: str | None = None
) -> CheckResult:
    findings = [
        FindingResult(
            resource_id=f"id-{r}",
            resource_name=r,
            detail=f"{r} is bad",
            accepted_by="EXC-1" if r in accepted else None,
        )
        for r in resources
    ]
    return CheckResult(
        check_id=check_id,
        title=title or f"title of {check_id}",
        area="identity",
        platform="m365",
        severity="high",
        status=Status(status),
        assessed=10,
        failing=sum(1 for f in findings if f.accepted_by is None) if status == "fail" else 0,
        accepted=sum(1 for f in findings if f.accepted_by is not None),
        findings=findings,
    )


def report(
    scan_id: str,
    results: list[CheckResult],
    org: str = "acme",
    at: datetime = T0,
    score: float = 72.5,
    grade: str = "C",
) -> ScanReport:
    return ScanReport(
        tool_version="test",
        organisation_id=org,
        organisation_name=org.title(),
        scan_id=scan_id,
        started_at=at,
        finished_at=at + timedelta(minutes=1),
        evaluated_at=at,
        as_of=at.date(),
        operator="tester",
        profile=ProfileRef(name="sme-baseline", title="SME baseline"),
        sources={},
        score=Score(value=score, grade=grade, coverage=0.9),
        results=results,
        controls=ControlsRegister(),
    )
