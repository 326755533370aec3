"""Microsoft 365 backup: Microsoft 365 Backup active for every workload, or an attested other product."""

from __future__ import annotations

from hygiene.checkapi import CheckContext, Finding, NotAssessed, Outcome, check
from hygiene.model import ReasonKind

WORKLOADS = (("exchange", "Exchange"), ("oneDriveForBusiness", "OneDrive"), ("sharePoint", "SharePoint"))

#: backupServiceStatus values other than "enabled" that Learn documents, and what each means for a restore
#: (https://learn.microsoft.com/graph/api/resources/servicestatus); any other value is not assessed
SERVICE_PROBLEMS = {
    "disabled": "Microsoft 365 Backup is disabled",
    "protectionChangeLocked": "Microsoft 365 Backup is protectionChangeLocked: no protection can be added or "
    "changed (no active Backup Controller app, or an unhealthy billing profile, which also deactivates the "
    "policies); after 30 days restores are blocked too",
    "restoreLocked": "Microsoft 365 Backup is restoreLocked: no restore can be performed and no protection "
    "can be changed",
}
#: protectionPolicyStatus values that mean units are unprotected
#: (https://learn.microsoft.com/graph/api/resources/protectionpolicybase)
POLICY_FAILURES = {
    "inactive": "all units unprotected",
    "activeWithErrors": "some units protected, others unprotected",
}


@check(
    id="m365.backup.enabled",
    summary="{open} of {assessed} Microsoft 365 workloads have no backup",
    title="Microsoft 365 mailboxes, OneDrive and SharePoint are backed up",
    area="backup",
    platform="m365",
    severity="critical",
    # m365.backup is read inside: an attestation must win even when the backup API is out of reach
    requires=(),
    description="Passes when Microsoft 365 Backup is enabled (not disabled, protectionChangeLocked or "
    "restoreLocked) and every protection policy for Exchange, OneDrive and SharePoint is active (activeWithErrors "
    "and inactive fail; updating is not assessed until it settles), or when the organisation attests another "
    "backup product (shown as attested, not measured). Microsoft's retention is not a backup; third-party backup "
    "is invisible to Graph.",
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
    attested = ctx.attested_outcome()
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
    status = backup.service_status or "unknown"
    if status != "enabled":
        problem = SERVICE_PROBLEMS.get(status)
        if problem is None:
            # unknownFutureValue or a value this version does not know: never counted as working
            raise NotAssessed(
                ReasonKind.API_GAP,
                f"Microsoft 365 Backup reports a service status this version does not know ({status!r}); "
                "it is not counted as working",
            )
        if status == "disabled" and backup.disable_reason and backup.disable_reason != "none":
            problem += f" (disableReason {backup.disable_reason})"
        return Outcome(
            assessed=len(WORKLOADS),
            findings=[
                Finding(f"{tenant}/{key}", name, f"{problem}, and no other backup is attested")
                for key, name in WORKLOADS
            ],
        )
    findings = []
    unseen: list[tuple[ReasonKind, str]] = []
    for key, name in WORKLOADS:
        policies = [p for p in backup.policies if p.workload == key]
        states = ", ".join(f"{p.name}: {p.status}" for p in policies) or "no protection policy"
        failed = [p for p in policies if p.status in POLICY_FAILURES]
        pending = [p for p in policies if p.status != "active" and p.status not in POLICY_FAILURES]
        if not policies or failed:
            why = "; ".join(f"{p.name}: {p.status} ({POLICY_FAILURES[p.status]})" for p in failed)
            findings.append(Finding(f"{tenant}/{key}", name, f"not protected ({why or states})"))
        elif pending:
            # updating: a transitional state (units being protected, unprotected or removed), judged once it
            # settles; unknownFutureValue or a value this version does not know: never counted as protected
            updating = all(p.status == "updating" for p in pending)
            text = ", ".join(
                f"{p.name} is {p.status}"
                + (" (changes pending)" if p.status == "updating" else " (a status this version does not know)")
                for p in pending
            )
            unseen.append(
                (
                    ReasonKind.NOT_COLLECTED if updating else ReasonKind.API_GAP,
                    f"{name}: {text}; re-scan once the policy is active" if updating else f"{name}: {text}",
                )
            )
    return Outcome(assessed=len(WORKLOADS) - len(unseen), findings=findings, unseen=tuple(unseen))
