"""Azure backup checks: a recent recovery point for every machine and backed-up workload, failed jobs, immutable
vaults, a tested restore. Everything from Resource Graph (docs/vendor-facts.md, "Azure")."""

from __future__ import annotations

from datetime import timedelta

from hygiene.checkapi import CheckContext, Finding, Outcome, check
from hygiene.checklib.azure import age, key, same, unseen
from hygiene.model import AzureBackupItem, AzureData

_BACKUP_DOC = "https://learn.microsoft.com/azure/backup/backup-overview"
_GRAPH_DOC = "https://learn.microsoft.com/azure/backup/query-backups-using-azure-resource-graph"
#: ``protectionState`` values under which backups run (ProtectionState in the Recovery Services specification;
#: a Backup vault instance's ``currentProtectionState`` ProtectionConfigured); IRPending (first backup pending),
#: ProtectionError, ProtectionStopped, ProtectionPaused, BackupsSuspended, BackupSchedulesSuspended,
#: ConfiguringProtection, SoftDeleted, Invalid and any unknown value are not
_PROTECTED = ("Protected", "ProtectionConfigured")
#: backup job statuses that are a failed or partial backup (JobStatus); unknown values count as failures too
_FAILED_JOBS = ("Failed", "CompletedWithWarnings")
_KNOWN_JOBS = ("InProgress", "Completed", "Failed", "CompletedWithWarnings", "Cancelled", "Cancelling")
#: immutability ``state`` that cannot be undone; soft delete states that keep deleted backups
_LOCKED = ("Locked",)
_SOFT_DELETE_ON = ("Enabled", "AlwaysON", "On", "AlwaysOn")


def _item_problem(items: list[AzureBackupItem], ctx: CheckContext, rpo: timedelta) -> str | None:
    """None when one of ``items`` is protected with a recovery point within the RPO, else why not."""
    if not items:
        return "no backup item: not protected by Azure Backup"
    good = [i for i in items if same(i.protection_state, *_PROTECTED) and i.last_recovery_point is not None]
    if any(ctx.now - i.last_recovery_point <= rpo for i in good if i.last_recovery_point is not None):
        return None
    reasons = []
    for item in items:
        point = item.last_recovery_point
        state = item.protection_state or "no protection state"
        when = f"newest recovery point {age(point, ctx.now)} old" if point else "no recovery point"
        status = f", last backup {item.last_backup_status}" if item.last_backup_status else ""
        reasons.append(f"{when} (protection {state}{status})")
    return "; ".join(reasons)


def _machine_items(data: AzureData) -> dict[str, list[AzureBackupItem]]:
    found: dict[str, list[AzureBackupItem]] = {}
    for item in data.backup_items:
        if item.source_resource_id:
            found.setdefault(key(item.source_resource_id), []).append(item)
    return found


@check(
    id="azure.backup.coverage",
    summary="{open} of {assessed} Azure machines and backed-up workloads have no recent recovery point",
    title="Every Azure VM, Arc server and backed-up workload has a recovery point within the RPO",
    area="backup",
    platform="azure",
    severity="critical",
    requires=("azure.machines", "azure.backup", "azure.dataprotection"),
    description="Fails for virtual machines and Arc-enabled servers without an Azure Backup item, and for any "
    "backup item (VMs, Arc servers, file shares, SQL in VMs) or Backup vault backup instance (disks, blobs, "
    "databases) whose protection state is not Protected (ProtectionConfigured) or whose newest recovery point is "
    "older than the policy RPO (for a Backup vault instance: its newest Completed backup job). Items are matched to "
    "machines by sourceResourceId, ignoring case.",
    remediation="Azure portal > Backup center (Azure Business Continuity Center) > + Backup: protect each VM with a "
    "daily policy; for a ProtectionStopped item choose Resume backup; for on-premises servers install the MARS "
    "agent or Azure Backup Server. Check Backup jobs the next morning.",
    references=(_BACKUP_DOC, _GRAPH_DOC),
    permissions=("Reader",),
)
def coverage(ctx: CheckContext) -> Outcome:
    data = ctx.of(AzureData)
    rpo = timedelta(hours=ctx.thresholds.backup_rpo_hours)
    by_source = _machine_items(data)
    findings = []
    matched: set[str] = set()
    for machine in data.machines:
        items = by_source.get(key(machine.id), [])
        matched.update(key(i.id) for i in items)
        why = _item_problem(items, ctx, rpo)
        if why:
            findings.append(Finding(machine.id, machine.name, why))
    workloads = [i for i in data.backup_items if key(i.id) not in matched]
    named = {key(f.resource_id) for f in findings}
    for item in workloads:
        why = _item_problem([item], ctx, rpo)
        if why:
            # the protected resource's id, unless another finding names it already (a storage account whose file
            # share and whose blobs are backed up apart): then the item's own id, so that each finding is one resource
            rid = (
                item.source_resource_id
                if item.source_resource_id and key(item.source_resource_id) not in named
                else item.id
            )
            named.add(key(rid))
            findings.append(Finding(rid, item.friendly_name or item.name, why))
    return Outcome(
        assessed=len(data.machines) + len(workloads),
        findings=findings,
        unseen=unseen(data, "azure.machines", "azure.backup", "azure.dataprotection"),
    )


@check(
    id="azure.backup.job_failures",
    summary="{open} Azure backups failed or completed with warnings recently",
    title="No failed or partial Azure Backup jobs",
    area="backup",
    platform="azure",
    severity="high",
    requires=("azure.backup", "azure.dataprotection"),
    description="Fails for each backed-up resource (Recovery Services vaults and Backup vaults) with a backup job "
    "that Failed or CompletedWithWarnings (or has a "
    "status hygiene does not know) within the look-back; Resource Graph keeps 14 days of jobs, so the look-back is "
    "at most 14 days.",
    remediation="Backup center > Backup jobs > filter Failed and Completed with warnings > open the job for the "
    "error code and its recommended action; then run Backup now and check it completes.",
    references=(_GRAPH_DOC, "https://learn.microsoft.com/azure/backup/backup-azure-monitoring-built-in-monitor"),
    permissions=("Reader",),
)
def job_failures(ctx: CheckContext) -> Outcome:
    data = ctx.of(AzureData)
    days = min(ctx.thresholds.backup_job_lookback_days, data.job_window_days)
    since = ctx.now - timedelta(days=days)
    jobs = [j for j in data.backup_jobs if same(j.operation, "Backup") and (j.start is None or j.start >= since)]
    bad: dict[str, list[str]] = {}
    ids: dict[str, str] = {}
    for job in jobs:
        if same(job.status, *_FAILED_JOBS) or not same(job.status, *_KNOWN_JOBS):
            entity = job.entity or job.id
            when = f"{age(job.start, ctx.now)} ago" if job.start else "at an unknown time"
            bad.setdefault(entity, []).append(f"{job.status or 'no status'} {when}")
            ids.setdefault(entity, job.id)
    findings = [Finding(ids[e], e, f"backup jobs in the last {days} days: {'; '.join(w)}") for e, w in bad.items()]
    return Outcome(
        assessed=len({j.entity or j.id for j in jobs}),
        findings=findings,
        unseen=unseen(data, "azure.backup", "azure.dataprotection"),
        note=f"backup jobs of the last {days} days (Resource Graph keeps {data.job_window_days})",
    )


@check(
    id="azure.backup.vault_immutable",
    summary="{open} of {assessed} Azure backup vaults are not locked immutable with soft delete",
    title="Azure backup vaults are immutable (Locked) with soft delete on",
    area="backup",
    platform="azure",
    severity="high",
    requires=("azure.vaults",),
    description="Fails for Recovery Services and Backup vaults whose immutability is not Locked (Disabled, or "
    "Unlocked: still removable by an administrator or an attacker with their account) or whose soft delete is off.",
    remediation="Vault > Properties > Immutable vault > Enable, then Lock (irreversible: check retention first); "
    "Properties > Security settings > Soft delete: Enable (or Always-on).",
    references=("https://learn.microsoft.com/azure/backup/backup-azure-immutable-vault-concept",),
    permissions=("Reader",),
)
def vault_immutable(ctx: CheckContext) -> Outcome:
    data = ctx.of(AzureData)
    findings = []
    for vault in data.vaults:
        problems = []
        if not same(vault.immutability, *_LOCKED):
            problems.append(f"immutability {vault.immutability or 'not set'}")
        if not same(vault.soft_delete, *_SOFT_DELETE_ON):
            problems.append(f"soft delete {vault.soft_delete or 'not set'}")
        if problems:
            findings.append(Finding(vault.id, vault.name, "; ".join(problems)))
    return Outcome(
        assessed=len(data.vaults), findings=findings, note=_cross_region(data), unseen=unseen(data, "azure.vaults")
    )


def _cross_region(data: AzureData) -> str | None:
    """Cross-region restore per vault, for the reader (not judged: a geo-redundant vault without it can still be
    restored in its own region, and Microsoft can fail the region over)."""
    if not data.vaults:
        return None
    on = [v.name for v in data.vaults if same(v.cross_region_restore, "Enabled")]
    off = [v.name for v in data.vaults if not same(v.cross_region_restore, "Enabled")]
    parts = [f"on for {', '.join(on)}"] if on else []
    parts += [f"off or not set for {', '.join(off)}"] if off else []
    return "cross-region restore " + "; ".join(parts)


@check(
    id="azure.backup.restore_tested",
    summary="{open} of {assessed} Azure backup vaults have no completed restore on record",
    title="A restore from each Azure backup vault has been tested",
    area="backup",
    platform="azure",
    severity="high",
    requires=("azure.backup", "azure.vaults", "azure.dataprotection"),
    description="Passes for a Recovery Services or Backup vault holding backup items when Resource Graph shows a "
    "Restore job of it that Completed. Resource Graph keeps only 14 days of jobs: without a completed restore in "
    "them the check fails unless the organisation attests a restore test (an attestation, never a pass on silence).",
    remediation="Restore a VM or files from the vault into a test resource group (Backup center > Restore), check "
    "the data, delete the copy; record it with an attestation when it is older than 14 days.",
    references=("https://learn.microsoft.com/azure/backup/backup-azure-arm-restore-vms",),
    permissions=("Reader",),
)
def restore_tested(ctx: CheckContext) -> Outcome:
    data = ctx.of(AzureData)
    holding = {key(i.vault_id) for i in data.backup_items}
    restored = {
        key(j.vault_id) for j in data.backup_jobs if same(j.operation, "Restore") and same(j.status, "Completed")
    }
    vaults = [v for v in data.vaults if key(v.id) in holding]
    findings = [
        Finding(v.id, v.name, f"no completed restore in the {data.job_window_days} days of jobs Resource Graph keeps")
        for v in vaults
        if key(v.id) not in restored
    ]
    if findings:
        attested = ctx.attested_outcome()
        if attested is not None:
            return attested
    seen = unseen(data, "azure.backup", "azure.vaults", "azure.dataprotection")
    return Outcome(assessed=len(vaults), findings=findings, unseen=seen)
