"""Evaluation: checks run over a snapshot, exceptions and attestations are applied, the result is scored.

Pure: nothing here does I/O, so ``hygiene evaluate`` gives the same results offline from a saved snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import structlog

from hygiene.checkapi import Check, CheckContext, NotAssessed, Outcome
from hygiene.model import ReasonKind, Snapshot
from hygiene.perf import gc_paused
from hygiene.policy import ControlsFile, LifecycleTable, Profile
from hygiene.registry import Registry
from hygiene.results import (
    AttestationRecord,
    CheckResult,
    ControlsRegister,
    ExceptionRecord,
    FindingResult,
    ProfileRef,
    ScanReport,
    ScanScope,
    Status,
)
from hygiene.safetext import RESOURCE_ID_CAP, RESOURCE_NAME_CAP, TEXT_CAP, clip
from hygiene.scoring import score

log = structlog.get_logger(__name__)


def _base_result(item: Check, severity: str) -> CheckResult:
    meta = item.meta
    return CheckResult(
        check_id=meta.id,
        title=meta.title,
        area=meta.area,
        platform=meta.platform,
        severity=severity,
        status=Status.NOT_ASSESSED,
        frameworks={k: list(v) for k, v in meta.frameworks.items()},
        remediation=meta.remediation,
        references=list(meta.references),
    )


def _missing_data(snapshot: Snapshot, item: Check) -> tuple[ReasonKind, str, list[str]] | None:
    for name in item.meta.requires:
        state = snapshot.dataset(name)
        if not state.available:
            kind = state.reason_kind or ReasonKind.ERROR
            platform = name.split(".", 1)[0]
            if platform != item.meta.platform and platform not in snapshot.sources:
                reason = (
                    f"this {item.meta.platform} check needs {platform} data ({name}), and {platform} was not scanned: "
                    f"configure [sources.{platform}] and scan both platforms together"
                )
                return ReasonKind.NOT_COLLECTED, reason, list(state.needs)
            return kind, state.reason or f"{name} is not available", list(state.needs)
    return None


def _needs_in(text: str) -> list[str]:
    """Permissions named in an unseen-scope text ("… needs backup:ListBackupJobs")."""
    marker = "needs "
    return [part.strip() for part in text.split(marker, 1)[1].split(",")] if marker in text else []


def _apply_outcome(
    result: CheckResult,
    outcome: Outcome,
    controls: ControlsFile,
    as_of: datetime,
    used: dict[str, int],
    summary: str = "",
) -> None:
    active = [e for e in controls.exceptions if e.check == result.check_id and e.is_active(as_of.date())]
    findings: list[FindingResult] = []
    for finding in outcome.findings:
        accepted_by = next((e.id for e in active if e.covers(finding.resource_id, finding.resource_name)), None)
        if accepted_by is not None:
            used[accepted_by] = used.get(accepted_by, 0) + 1
        findings.append(
            FindingResult(
                resource_id=clip(finding.resource_id, RESOURCE_ID_CAP),
                resource_name=clip(finding.resource_name, RESOURCE_NAME_CAP),
                detail=clip(finding.detail, TEXT_CAP),
                accepted_by=accepted_by,
                data=dict(finding.data),
            )
        )
    result.findings = findings
    result.assessed = outcome.assessed
    result.failing = len(findings)
    result.accepted = sum(f.accepted_by is not None for f in findings)
    result.note = outcome.note
    result.reservation = outcome.reservation
    result.basis = outcome.basis
    result.attestation_ids = list(outcome.attestation_ids)
    unseen = "; ".join(text for _, text in outcome.unseen)
    if unseen:
        result.note = f"{result.note}; not seen: {unseen}" if result.note else f"not seen: {unseen}"
    if not findings and outcome.unseen:
        result.status = Status.NOT_ASSESSED
        result.reason_kind = outcome.unseen[0][0]
        result.reason = f"{outcome.assessed} assessed resources pass, but part of the scope could not be read: {unseen}"
        result.permissions = sorted({p for _, text in outcome.unseen for p in _needs_in(text)})
    elif not findings:
        result.status = Status.PASS
        result.reason = (
            "attested: " + (outcome.note or "see the attestation register")
            if outcome.basis == "attested"
            else f"all {outcome.assessed} assessed resources pass"
        )
    elif result.accepted == result.failing:
        result.status = Status.ACCEPTED
        result.reason = f"{result.failing} of {outcome.assessed} fail, all covered by an unexpired exception"
    else:
        result.status = Status.FAIL
        open_count = result.failing - result.accepted
        counts = {"open": open_count, "assessed": outcome.assessed, "accepted": result.accepted}
        reason = summary.format(**counts) if summary else f"{open_count} of {outcome.assessed} fail"
        if summary and "{open}" not in summary and len(findings) == 1:
            reason += f": {findings[0].detail}"  # a tenant-level finding: say exactly what is wrong
        result.reason = reason + (f" ({result.accepted} more risk-accepted)" if result.accepted else "")


def evaluate_check(
    item: Check,
    snapshot: Snapshot,
    profile: Profile,
    controls: ControlsFile,
    lifecycle: LifecycleTable,
    used_exceptions: dict[str, int],
) -> CheckResult:
    """The check's result. Vendor text can be any length (a 1 MB policy name, a vendor error quoted in a reason):
    every output gets bounded fields (findings are capped as they are built), the snapshot keeps the whole."""
    result = _evaluated(item, snapshot, profile, controls, lifecycle, used_exceptions)
    if result.reason:
        result.reason = clip(result.reason, TEXT_CAP)
    if result.note:
        result.note = clip(result.note, TEXT_CAP)
    return result


def _evaluated(
    item: Check,
    snapshot: Snapshot,
    profile: Profile,
    controls: ControlsFile,
    lifecycle: LifecycleTable,
    used_exceptions: dict[str, int],
) -> CheckResult:
    severity = profile.checks.severity.get(item.meta.id, item.meta.severity)
    result = _base_result(item, severity)
    missing = _missing_data(snapshot, item)
    if missing is not None:
        result.reason_kind, result.reason, result.permissions = missing
        return result
    as_of = snapshot.collected_at.date()
    ctx = CheckContext(
        snapshot=snapshot,
        thresholds=profile.thresholds,
        attestations=tuple(a for a in controls.attestations if a.check == item.meta.id and a.is_active(as_of)),
        lifecycle=lifecycle,
    )
    try:
        outcome = item.run(ctx)
    except NotAssessed as exc:
        result.reason_kind = exc.kind
        result.reason = exc.reason
        return result
    except Exception as exc:
        log.error("check raised", check=item.meta.id, error=f"{type(exc).__name__}: {exc}", exc_info=True)
        result.status = Status.ERROR
        result.reason_kind = ReasonKind.ERROR
        result.reason = f"the check raised {type(exc).__name__}: {exc}"
        return result
    _apply_outcome(result, outcome, controls, snapshot.collected_at, used_exceptions, item.meta.summary)
    scope = _scope_of(snapshot, item)
    if scope:
        result.note = f"{result.note}; {scope}" if result.note else scope
    return result


def _scope_of(snapshot: Snapshot, item: Check) -> str:
    """What part of the platform the check's datasets cover (``DatasetState.scope``, e.g. the AWS regions read)."""
    run = snapshot.sources.get(item.meta.platform)
    if run is None:
        return ""
    scopes = [run.datasets[d].scope for d in item.meta.requires if d in run.datasets]
    return "; ".join(dict.fromkeys(s for s in scopes if s))


def _register(
    controls: ControlsFile, snapshot: Snapshot, used: dict[str, int], results: Iterable[CheckResult]
) -> ControlsRegister:
    as_of = snapshot.collected_at.date()
    used_attestations: dict[str, list[str]] = {}
    for result in results:
        for att_id in result.attestation_ids:
            used_attestations.setdefault(att_id, []).append(result.check_id)
    exceptions = []
    for exc in controls.exceptions:
        state = "expired" if not exc.is_active(as_of) else ("active" if used.get(exc.id or "", 0) else "unused")
        exceptions.append(ExceptionRecord(exception=exc, state=state, findings_covered=used.get(exc.id or "", 0)))
    attestations = []
    for att in controls.attestations:
        if att.date > as_of:
            att_state = "future"
        elif att.expires is not None and att.expires < as_of:
            att_state = "expired"
        else:
            att_state = "active"
        attestations.append(
            AttestationRecord(attestation=att, state=att_state, used_by=used_attestations.get(att.id or "", []))
        )
    return ControlsRegister(
        path=controls.path, exceptions=exceptions, attestations=attestations, rejected=list(controls.rejected)
    )


def evaluate(
    snapshot: Snapshot,
    registry: Registry,
    profile: Profile,
    controls: ControlsFile,
    lifecycle: LifecycleTable,
    *,
    scan_id: str,
    operator: str,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> ScanReport:
    in_scope = set(snapshot.sources)
    disabled = set(profile.checks.disabled)
    selection = snapshot.selection
    used: dict[str, int] = {}
    with gc_paused():  # a finding result per failing resource: tens of thousands of objects at 50,000 users
        results = [
            evaluate_check(item, snapshot, profile, controls, lifecycle, used)
            for item in registry
            if item.meta.id not in disabled
            and item.meta.platform in in_scope
            and (selection is None or selection.includes(item.meta.id, item.meta.platform))
        ]
    out_of_scope = sorted({c.meta.platform for c in registry} - in_scope)
    for expired in (e for e in controls.exceptions if not e.is_active(snapshot.collected_at.date())):
        log.warning(
            "exception expired: not applied", exception=expired.id, check=expired.check, expired=str(expired.expires)
        )
    for rejected in controls.rejected:
        log.warning(
            "exceptions file entry rejected: not applied",
            kind=rejected.kind,
            index=rejected.index,
            problem=rejected.problem,
        )
    return ScanReport(
        tool_version=snapshot.tool_version,
        organisation_id=snapshot.organisation.id,
        organisation_name=snapshot.organisation.name,
        scan_id=scan_id,
        started_at=started_at or snapshot.collected_at,
        finished_at=finished_at or snapshot.collected_at,
        evaluated_at=datetime.now(UTC),
        as_of=snapshot.collected_at.date(),
        operator=operator,
        profile=ProfileRef(
            name=profile.name,
            title=profile.title,
            source=profile.source_path,
            thresholds=profile.thresholds.model_dump(mode="json", exclude={"plugins"}),
        ),
        sources=dict(snapshot.sources),
        score=score(results),
        results=results,
        controls=_register(controls, snapshot, used, results),
        out_of_scope_platforms=out_of_scope,
        scope=scope_of(snapshot),
    )


def scope_of(snapshot: Snapshot) -> ScanScope:
    """Whether the snapshot is partial (a selection) or incomplete (a platform none of whose selected datasets
    could be read)."""
    unread = {
        platform: next(iter(run.errors), None)
        or next((d.reason for d in run.datasets.values() if d.selected and d.reason), "no data could be read")
        for platform, run in snapshot.sources.items()
        if run.status == "error"
    }
    return ScanScope(
        partial=snapshot.selection is not None,
        incomplete=bool(unread),
        selection=snapshot.selection,
        datasets_not_read=sorted(
            name for run in snapshot.sources.values() for name, state in run.datasets.items() if not state.selected
        ),
        unread_platforms={platform: clip(why, TEXT_CAP) for platform, why in unread.items()},
    )
