"""Azure Update Manager checks: every machine assessed recently, and no critical or security update left longer
than the patch window (Cyber Essentials v3.3: 14 days)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hygiene.checkapi import CheckContext, Finding, NotAssessed, Outcome, check
from hygiene.checklib.azure import age, key, same, unseen, whole_setting
from hygiene.model import AzureData, AzurePatchAssessment, ReasonKind

_UPDATE_MANAGER = "https://learn.microsoft.com/azure/update-manager/overview"
_QUERY_LOGS = "https://learn.microsoft.com/azure/update-manager/query-logs"
#: the profile setting of the patch window, in days: ``thresholds.plugins."azure.patch.missing".patch_window_days``
PATCH_WINDOW = "patch_window_days"
DEFAULT_PATCH_WINDOW_DAYS = 14
#: assessment statuses whose result can be relied on; InProgress, Failed, CompletedWithWarnings, Unknown and any
#: other value cannot
_COMPLETE = ("Succeeded",)
_NEVER = datetime.min.replace(tzinfo=UTC)


def _latest(data: AzureData) -> dict[str, AzurePatchAssessment]:
    found: dict[str, AzurePatchAssessment] = {}
    for assessment in data.patch_assessments:
        current = found.get(key(assessment.machine_id))
        if current is None or (assessment.assessed_at or _NEVER) > (current.assessed_at or _NEVER):
            found[key(assessment.machine_id)] = assessment
    return found


def patch_window_days(ctx: CheckContext) -> int:
    """The patch window from the profile (``thresholds.plugins."azure.patch.missing".patch_window_days``)."""
    try:
        return whole_setting(ctx.thresholds.plugins, "azure.patch.missing", PATCH_WINDOW, DEFAULT_PATCH_WINDOW_DAYS)
    except ValueError as exc:
        raise NotAssessed(ReasonKind.ERROR, str(exc)) from None


@check(
    id="azure.patch.assessed",
    summary="{open} of {assessed} Azure machines have no recent Update Manager assessment",
    title="Every Azure VM and Arc server is assessed for updates",
    area="patching",
    platform="azure",
    severity="high",
    requires=("azure.machines", "azure.patch"),
    description="Fails for virtual machines and Arc-enabled servers with no Azure Update Manager assessment in "
    "Resource Graph (which keeps the last 7 days), an assessment older than the policy's patch scan age, or a last "
    "assessment that did not succeed.",
    remediation="Azure Update Manager > Machines > select them > Update settings > Periodic assessment: Enable "
    "(or assign the built-in policy 'Configure periodic checking for missing system updates'); then Check for "
    "updates.",
    references=(_UPDATE_MANAGER, _QUERY_LOGS),
    permissions=("Reader",),
)
def assessed(ctx: CheckContext) -> Outcome:
    data = ctx.of(AzureData)
    latest = _latest(data)
    limit = timedelta(days=ctx.thresholds.patch_scan_max_age_days)
    findings = []
    for machine in data.machines:
        last = latest.get(key(machine.id))
        if last is None or last.assessed_at is None:
            why = "never assessed: no Update Manager assessment in Resource Graph (periodic assessment off?)"
        elif not same(last.status, *_COMPLETE):
            why = f"last assessment {last.status or 'without status'} ({age(last.assessed_at, ctx.now)} ago)"
        elif ctx.now - last.assessed_at > limit:
            why = f"last assessment {age(last.assessed_at, ctx.now)} old"
        else:
            continue
        findings.append(Finding(machine.id, machine.name, why))
    return Outcome(assessed=len(data.machines), findings=findings, unseen=unseen(data, "azure.machines", "azure.patch"))


@check(
    id="azure.patch.missing",
    summary="{open} of {assessed} Azure machines miss critical or security updates beyond the patch window",
    title="No critical or security update is left longer than the patch window on Azure machines",
    area="patching",
    platform="azure",
    severity="high",
    requires=("azure.machines", "azure.patch"),
    description="Fails for machines whose latest successful Update Manager assessment lists a Critical or Security "
    "update published more than the patch window ago (14 days by default, as Cyber Essentials v3.3 requires; "
    'profile setting thresholds.plugins."azure.patch.missing".patch_window_days). A machine without a successful '
    "assessment is not seen (azure.patch.assessed names it): never a pass.",
    remediation="Azure Update Manager > Machines > the machine > One-time update (Critical and Security), or a "
    "maintenance configuration that installs them weekly.",
    references=(_UPDATE_MANAGER, _QUERY_LOGS, "https://www.ncsc.gov.uk/cyberessentials/overview"),
    permissions=("Reader",),
)
def missing(ctx: CheckContext) -> Outcome:
    data = ctx.of(AzureData)
    window = patch_window_days(ctx)
    latest = _latest(data)
    patches: dict[str, list[str]] = {}
    for patch in data.missing_patches:
        published = patch.published
        if published is None or ctx.now - published > timedelta(days=window):
            when = f"published {age(published, ctx.now)} ago" if published else "publication date unknown"
            patches.setdefault(key(patch.machine_id), []).append(
                f"{patch.name} ({', '.join(patch.classifications)}, {when})"
            )
    findings = []
    blind: list[tuple[ReasonKind, str]] = list(unseen(data, "azure.machines", "azure.patch"))
    seen = 0
    for machine in data.machines:
        last = latest.get(key(machine.id))
        if last is None or not same(last.status, *_COMPLETE):
            blind.append((ReasonKind.NOT_COLLECTED, f"{machine.name}: no successful update assessment"))
            continue
        seen += 1
        overdue = patches.get(key(machine.id))
        if overdue:
            detail = f"{len(overdue)} update(s) older than the {window}-day patch window: " + "; ".join(overdue)
            findings.append(Finding(machine.id, machine.name, detail))
    return Outcome(assessed=seen, findings=findings, unseen=tuple(blind))
