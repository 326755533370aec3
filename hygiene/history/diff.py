"""What changed between two stored scans of one organisation: a pure function, no database.

A *failing resource* is a finding whose risk no exception accepts. For every check:

- **new failure**: failing now, not failing before (passed, accepted, not assessed, errored or absent);
- **new resources**: failing both times, with resources failing now that were not failing before;
- **resolved**: failing before, passing now; **resolved resources**: failing both times, resources no longer
  failing;
- **regressed**: failing both times, with more failing resources now;
- **unchanged**: failing both times, not more failing resources;
- **no longer assessed**: failing before, not assessed / errored / absent now (not a fix: unknown);
- **newly unassessed**: passing or accepted before, not assessed / errored now (nothing is known now: a check
  that loses its permission or breaks must not look like a quiet week);
- **expired exceptions**: findings accepted by an exception before and failing (not accepted) now;
- **not compared**: checks one of the two scans did not look at, because it was a partial scan that did not
  select them or could not read their platform at all: absence of evidence is never a change.
"""

from __future__ import annotations

from pydantic import Field

from hygiene.history.models import ScanSummary, StoredResult, StoredScan
from hygiene.strict import StrictModel as _Model

FAIL, PASS, ACCEPTED = "fail", "pass", "accepted"
UNASSESSED = frozenset({"not_assessed", "error"})


class Resource(_Model):
    resource_id: str
    resource_name: str


class CheckChange(_Model):
    check_id: str
    title: str
    severity: str
    status_before: str | None
    status_after: str | None
    failing_before: int
    failing_after: int
    new_resources: list[Resource] = Field(default_factory=list)
    resolved_resources: list[Resource] = Field(default_factory=list)


class ExpiredAcceptance(_Model):
    check_id: str
    resource_id: str
    resource_name: str
    exception_id: str


class ScanDiff(_Model):
    organisation_id: str
    before: ScanSummary
    after: ScanSummary
    new_failures: list[CheckChange] = Field(default_factory=list)
    new_resources: list[CheckChange] = Field(default_factory=list)
    resolved: list[CheckChange] = Field(default_factory=list)
    resolved_resources: list[CheckChange] = Field(default_factory=list)
    regressed: list[CheckChange] = Field(default_factory=list)
    unchanged: list[CheckChange] = Field(default_factory=list)
    no_longer_assessed: list[CheckChange] = Field(default_factory=list)
    newly_unassessed: list[CheckChange] = Field(default_factory=list)
    expired_exceptions: list[ExpiredAcceptance] = Field(default_factory=list)
    #: check id -> why it was not compared (outside a partial scan's selection, or its platform not read)
    not_compared: dict[str, str] = Field(default_factory=dict)

    @property
    def worse(self) -> bool:
        """Anything new to look at: new failures or resources, regressions, expired exceptions."""
        return bool(self.new_failures or self.new_resources or self.regressed or self.expired_exceptions)


def _failing(result: StoredResult | None) -> dict[str, Resource]:
    if result is None or result.status != FAIL:
        return {}
    return {
        f.resource_id: Resource(resource_id=f.resource_id, resource_name=f.resource_name)
        for f in result.findings
        if f.accepted_by is None
    }


def _count(result: StoredResult | None) -> int:
    if result is None or result.status != FAIL:
        return 0
    return result.failing or len(_failing(result))


def _not_seen(scan: StoredScan, result: StoredResult | None, platform: str) -> str | None:
    """Why ``scan`` says nothing about a check (``result`` is its result there, if any), or None when it does."""
    if result is None and scan.summary.partial:
        return f"not selected in the partial scan {scan.summary.scan_id}"
    if platform in scan.summary.unread_platforms:
        return f"{platform} could not be read in scan {scan.summary.scan_id}"
    return None


def diff_scans(before: StoredScan, after: StoredScan) -> ScanDiff:
    """Compare ``after`` (usually the latest scan) with ``before`` (the baseline or the previous scan)."""
    old = {r.check_id: r for r in before.results}
    new = {r.check_id: r for r in after.results}
    out = ScanDiff(organisation_id=after.summary.organisation_id, before=before.summary, after=after.summary)
    for check_id in sorted(set(old) | set(new)):
        was, now = old.get(check_id), new.get(check_id)
        latest = now or was
        assert latest is not None
        why = _not_seen(before, was, latest.platform) or _not_seen(after, now, latest.platform)
        if why:
            out.not_compared[check_id] = why
            continue
        failing_before, failing_after = _failing(was), _failing(now)
        change = CheckChange(
            check_id=check_id,
            title=latest.title,
            severity=latest.severity,
            status_before=was.status if was else None,
            status_after=now.status if now else None,
            failing_before=_count(was),
            failing_after=_count(now),
            new_resources=[r for key, r in sorted(failing_after.items()) if key not in failing_before],
            resolved_resources=[r for key, r in sorted(failing_before.items()) if key not in failing_after],
        )
        failed_before = was is not None and was.status == FAIL
        fails_now = now is not None and now.status == FAIL
        if fails_now and not failed_before:
            out.new_failures.append(change)
        elif failed_before and fails_now:
            if change.new_resources:
                out.new_resources.append(change)
            if change.resolved_resources:
                out.resolved_resources.append(change)
            if change.failing_after > change.failing_before:
                out.regressed.append(change)
            else:
                out.unchanged.append(change)
        elif failed_before and now is not None and now.status == PASS:
            out.resolved.append(change)
        elif failed_before and (now is None or now.status != ACCEPTED):
            out.no_longer_assessed.append(change)
        elif was is not None and was.status in (PASS, ACCEPTED) and now is not None and now.status in UNASSESSED:
            out.newly_unassessed.append(change)
        if was is not None and now is not None:
            still_failing = {f.resource_id for f in now.findings if f.accepted_by is None}
            for finding in was.findings:
                if finding.accepted_by is not None and finding.resource_id in still_failing:
                    out.expired_exceptions.append(
                        ExpiredAcceptance(
                            check_id=check_id,
                            resource_id=finding.resource_id,
                            resource_name=finding.resource_name,
                            exception_id=finding.accepted_by,
                        )
                    )
    return out
