"""Microsoft 365 backup: Microsoft 365 Backup active for every workload, or an attested other product."""

from __future__ import annotations

from hygiene.checkapi import CheckContext, Finding, NotAssessed, Outcome, check
from hygiene.checklib.common import attested_outcome
from hygiene.model import ReasonKind

WORKLOADS = (("exchange", "Exchange"), ("oneDriveForBusiness", "OneDrive"), ("sharePoint", "SharePoint"))


@check(
    id="m365.backup.enabled",
    summary="{open} of {assessed} Microsoft 365 workloads have no backup",
    title="Microsoft 365 mailboxes, OneDrive and SharePoint are backed up",
    area="backup",
    platform="m365",
    severity="critical",
    # m365.backup is read inside: an attestation must win even when the backup API is out of reach
    requires=(),
    description="Passes when Microsoft 365 Backup is enabled with an active protection policy for Exchange, "
    "OneDrive and SharePoint, or when the organisation attests another backup product (shown as attested, "
    "not measured). Microsoft's retention is not a backup; third-party backup is invisible to Graph.",
    remediation="Either turn on Microsoft 365 Backup (Microsoft 365 admin center > Settings > Microsoft 365 "
    "Backup) with policies for all three workloads, or record your third-party backup product and the date of "
    "your last restore test as an attestation in the exceptions file.",
    references=(
        "https://learn.microsoft.com/microsoft-365/backup/backup-overview",
        "https://learn.microsoft.com/graph/api/resources/backuprestoreroot",
    ),
    permissions=("BackupRestore-Control.Read.All", "BackupRestore-Configuration.Read.All"),
)
def backup_enabled(ctx: CheckContext) -> Outcome:
    attested = attested_outcome(ctx)
    if attested is not None:
        return attested
    state = ctx.snapshot.dataset("m365.backup")
    data = ctx.snapshot.m365
    if not state.available or data is None or data.backup is None:
        raise NotAssessed(
            state.reason_kind or ReasonKind.NOT_COLLECTED,
            (state.reason or "Microsoft 365 Backup status was not collected")
            + "; a third-party backup product can be recorded as an attestation",
        )
    backup = data.backup
    tenant = data.tenant_id
    if backup.service_status not in ("enabled", "protectionChangeLocked", "restoreLocked"):
        return Outcome(
            assessed=len(WORKLOADS),
            findings=[
                Finding(
                    f"{tenant}/{key}",
                    name,
                    f"Microsoft 365 Backup is {backup.service_status} and no other backup is attested",
                )
                for key, name in WORKLOADS
            ],
        )
    findings = []
    for key, name in WORKLOADS:
        policies = [p for p in backup.policies if p.workload == key]
        if not any(p.status == "active" for p in policies):
            states = ", ".join(f"{p.name}: {p.status}" for p in policies) or "no protection policy"
            findings.append(Finding(f"{tenant}/{key}", name, f"not protected ({states})"))
    return Outcome(assessed=len(WORKLOADS), findings=findings)
