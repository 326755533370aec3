"""Azure Update Manager checks: every machine assessed recently, no critical or security update left longer than
the patch window (Cyber Essentials v3.3: 14 days), installations that succeed; and every machine on an operating
system still supported (the lifecycle table)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hygiene.checkapi import CheckContext, Finding, NotAssessed, Outcome, check
from hygiene.checklib.azure import age, key, same, unseen, whole_setting
from hygiene.model import AzureData, AzurePatchAssessment, AzurePatchInstallation, ReasonKind
from hygiene.policy import lifecycle_lookup

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


#: installation statuses of a run that installed what it was asked to; InProgress runs are not judged (the run
#: before is); Failed, CompletedWithWarnings, Unknown and any other value fail
_INSTALLED = ("Succeeded",)
_RUNNING = ("InProgress",)


@check(
    id="azure.patch.installations",
    summary="{open} of {assessed} Azure machines' last update installation failed",
    title="Azure Update Manager installations succeed",
    area="patching",
    platform="azure",
    severity="high",
    requires=("azure.machines", "azure.patch_installations"),
    description="Fails for each machine whose latest finished Azure Update Manager installation run (Resource Graph "
    "keeps 30 days of them) Failed, CompletedWithWarnings (some updates not installed), stopped at the end of its "
    "maintenance window, or has a status hygiene does not know. A run still in progress is passed over for the one "
    "before; machines without a run in 30 days are named in the note (azure.patch.missing judges what they lack).",
    remediation="Azure Update Manager > History > the failed run > the machine: read the error, fix it (disk space, "
    "a pending reboot, a blocked update source), then One-time update; lengthen the maintenance window if runs "
    "stop at its end.",
    references=(_UPDATE_MANAGER, _QUERY_LOGS),
    permissions=("Reader",),
)
def installations(ctx: CheckContext) -> Outcome:
    data = ctx.of(AzureData)
    runs: dict[str, list[AzurePatchInstallation]] = {}
    for run in data.patch_installations:
        if not same(run.status, *_RUNNING):
            runs.setdefault(key(run.machine_id), []).append(run)
    findings = []
    without = []
    for machine in data.machines:
        finished = runs.get(key(machine.id))
        if not finished:
            without.append(machine.name)
            continue
        last = max(finished, key=lambda r: r.finished or r.started or _NEVER)
        when = f"{age(last.finished, ctx.now)} ago" if last.finished else "at an unknown time"
        failed = f", {last.failed} update(s) failed" if last.failed else ""
        if not same(last.status, *_INSTALLED):
            why = f"last installation {last.status or 'without status'} {when}{failed}"
        elif last.window_exceeded:
            why = f"last installation {when} stopped at the end of its maintenance window"
        else:
            continue
        findings.append(Finding(machine.id, machine.name, why))
    note = None
    if without:
        note = f"{len(without)} machine(s) without an installation run in 30 days: {', '.join(without[:5])}"
    return Outcome(
        assessed=len(data.machines) - len(without),
        findings=findings,
        note=note,
        unseen=unseen(data, "azure.machines", "azure.patch_installations"),
    )


def os_platform(name: str | None) -> str | None:
    """The lifecycle table's platform for an OS name as Azure reports it, or None when the table has none."""
    lowered = (name or "").lower()
    if "windows" in lowered:
        return "windows-server" if "server" in lowered else "windows"
    if "ubuntu" in lowered:
        return "ubuntu"
    return None


@check(
    id="azure.patch.os_supported",
    summary="{open} of {assessed} Azure machines run an operating system past its end of support",
    title="Azure VMs and Arc servers run a supported operating system",
    area="patching",
    platform="azure",
    severity="high",
    requires=("azure.machines",),
    description="Fails for virtual machines and Arc-enabled servers whose operating system (the name and version "
    "the VM agent or the Arc agent reports) is past its end of support in the dated lifecycle table "
    "(policies/lifecycle/os.yaml: Windows Server, Windows, Ubuntu LTS). A machine whose OS is not reported, or not "
    "in the table, is not seen: never a pass.",
    remediation="Upgrade the listed machines in place or rebuild them on a supported image (Windows Server 2022 or "
    "later, Ubuntu 24.04 LTS); until then, Arc-enabled Windows Server 2012 can take paid Extended Security Updates "
    "and Ubuntu Pro extends Ubuntu LTS maintenance.",
    references=(
        "https://learn.microsoft.com/windows-server/get-started/windows-server-release-info",
        "https://ubuntu.com/about/release-cycle",
        "https://learn.microsoft.com/azure/governance/resource-graph/reference/supported-tables-resources",
    ),
    permissions=("Reader",),
)
def os_supported(ctx: CheckContext) -> Outcome:
    data = ctx.of(AzureData)
    lookup = lifecycle_lookup(ctx.lifecycle)
    today = ctx.now.date()
    findings = []
    blind: list[tuple[ReasonKind, str]] = list(unseen(data, "azure.machines"))
    for machine in data.machines:
        platform = os_platform(machine.os_name)
        entry = lookup(platform, machine.os_version or "") if platform else None
        if entry is None:
            shown = " ".join(p for p in (machine.os_name, machine.os_version) if p) or "not reported by its agent"
            blind.append((ReasonKind.NOT_COLLECTED, f"{machine.name}: OS {shown} is not in the lifecycle table"))
            continue
        if entry.end_of_support is not None and entry.end_of_support < today:
            note = f" ({entry.note})" if entry.note else ""
            findings.append(
                Finding(
                    machine.id,
                    machine.name,
                    f"{entry.name} ({machine.os_version}) out of support since "
                    f"{entry.end_of_support.isoformat()}{note}",
                )
            )
    judged = len(data.machines) - sum(1 for kind, _ in blind if kind is ReasonKind.NOT_COLLECTED)
    return Outcome(
        assessed=judged,
        findings=findings,
        note=f"lifecycle table as of {ctx.lifecycle.as_of.isoformat()}",
        unseen=tuple(blind),
    )
