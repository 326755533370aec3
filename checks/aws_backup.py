"""AWS backup checks: recent recovery points for every resource, failed jobs, vault lock, restore testing, RDS."""

from __future__ import annotations

from datetime import datetime, timedelta

from hygiene.checkapi import CheckContext, Finding, Outcome, check
from hygiene.checklib.aws import instance_arn, seen_accounts, unseen, volume_arn
from hygiene.model import AwsAccount, AwsRecoveryPoint, AwsRestoreJob, AwsRestoreTestingPlan, AwsVault

_BACKUP_DOC = "https://docs.aws.amazon.com/aws-backup/latest/devguide/whatisbackup.html"
_COVERED_TYPES = ("EFS", "DynamoDB")
#: recovery point statuses that can be restored from (RecoveryPointStatus in the botocore backup model; AVAILABLE:
#: "the backup was successfully created"); every other value, unknown ones included, is no recovery point
_GOOD_POINTS = frozenset({"COMPLETED", "AVAILABLE"})


def _age(moment: datetime, now: datetime) -> str:
    age = now - moment
    return f"{age.days}d {age.seconds // 3600}h"


def _rpo_problem(
    arns: tuple[str, ...],
    points: dict[str, list[AwsRecoveryPoint]],
    last_backup: dict[str, datetime | None],
    now: datetime,
    rpo: timedelta,
    window_days: int | None,
) -> str | None:
    """None when one of ``arns`` has a COMPLETED/AVAILABLE recovery point within the RPO, else why not. Only
    recovery points created within the look-back were read; ``LastBackupTime`` (ListProtectedResources) counts
    points whatever their status, so it only ever explains a failure."""
    if window_days is None:
        return "recovery point statuses were not collected (snapshot from an older version): not judged as covered"
    seen = [p for arn in arns for p in points.get(arn, [])]
    good = [p.created for p in seen if p.status in _GOOD_POINTS and p.created is not None]
    if good and now - max(good) <= rpo:
        return None
    if good:
        newer = sorted({p.status or "no status" for p in seen if p.created is not None and p.created > max(good)})
        return f"newest completed recovery point {_age(max(good), now)} old" + (
            f"; newer ones are {', '.join(newer)}" if newer else ""
        )
    dated = [p for p in seen if p.created is not None]
    if dated:
        newest = max(dated, key=lambda p: p.created or now)
        statuses = ", ".join(sorted({p.status or "no status" for p in seen}))
        detail = f" ({newest.message})" if newest.message else ""
        return (
            f"no completed recovery point in the last {window_days} days: the newest "
            f"({_age(newest.created or now, now)} old) is {newest.status or 'without status'}{detail}; "
            f"statuses seen: {statuses}"
        )
    known = [t for arn in arns if (t := last_backup.get(arn)) is not None]
    if known:
        return (
            f"no recovery point in the last {window_days} days (AWS Backup's last backup of any status was "
            f"{_age(max(known), now)} ago)"
        )
    return "no recovery point"


def _db_targets(account: AwsAccount) -> list[tuple[str, str]]:
    """(ARN, what it is) of every database to back up: a DB cluster once (Aurora, DocumentDB, Neptune and Multi-AZ
    DB clusters are backed up at cluster level), each instance that is in no known cluster."""
    clusters = {(c.region, c.id): c for c in account.db_clusters}
    targets = [
        (c.arn, f"DB cluster ({c.engine or 'engine not given'}; members: {', '.join(c.members) or 'none'})")
        for c in account.db_clusters
    ]
    targets += [(db.arn, "") for db in account.db_instances if (db.region, db.cluster_id) not in clusters]
    return targets


def _labelled(label: str, detail: str) -> str:
    return f"{label}: {detail}" if label else detail


@check(
    id="aws.backup.coverage",
    summary="{open} of {assessed} AWS resources have no recent backup",
    title="Every AWS resource has a recovery point within the RPO",
    area="backup",
    platform="aws",
    severity="critical",
    requires=("aws.backup", "aws.ec2", "aws.rds"),
    description="Fails for running EC2 instances, their EBS volumes, RDS databases (a DB cluster once: Aurora, "
    "DocumentDB, Neptune and Multi-AZ DB clusters are backed up at cluster level, not per member instance) and the "
    "EFS/DynamoDB resources AWS Backup knows of, whose newest COMPLETED (or AVAILABLE) recovery point is older than "
    "the policy RPO or absent. Recovery points that are PARTIAL, EXPIRED, DELETING, STOPPED or still CREATING do "
    "not count (ListProtectedResources' LastBackupTime counts them all). An EBS volume is covered by a backup of "
    "its instance.",
    remediation="AWS Backup console > Backup plans > create a daily plan and assign resources by tag (e.g. "
    "backup=daily) or all supported resources; then check AWS Backup > Jobs the next morning. For PARTIAL or "
    "EXPIRED recovery points read the status message in AWS Backup > Backup vaults > the vault > Recovery points.",
    references=(
        _BACKUP_DOC,
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListRecoveryPointsByBackupVault.html",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListProtectedResources.html",
    ),
    permissions=(
        "backup:ListBackupVaults",
        "backup:ListRecoveryPointsByBackupVault",
        "backup:ListProtectedResources",
        "ec2:DescribeInstances",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
    ),
)
def coverage(ctx: CheckContext) -> Outcome:
    data = ctx.aws
    rpo = timedelta(hours=ctx.thresholds.backup_rpo_hours)
    findings = []
    assessed = 0
    for account in seen_accounts(data, "aws.backup"):
        latest = {r.arn: r.last_backup for r in account.protected_resources}
        points: dict[str, list[AwsRecoveryPoint]] = {}
        for point in account.recovery_points:
            points.setdefault(point.resource_arn, []).append(point)

        targets: list[tuple[str, str, tuple[str, ...]]] = []
        for inst in account.instances:
            if inst.state != "running":
                continue
            arn = instance_arn(account.account_id, inst.region, inst.id, partition=data.partition)
            targets.append((arn, f"{account.account_id}:{inst.region}:{inst.id}", (arn,)))
            targets.extend(
                (vol, vol, (vol, arn))
                for vol in (
                    volume_arn(account.account_id, inst.region, v, partition=data.partition) for v in inst.volume_ids
                )
            )
        labels = dict(_db_targets(account))
        targets.extend((arn, arn, (arn,)) for arn in labels)
        targets.extend((r.arn, r.arn, (r.arn,)) for r in account.protected_resources if r.type in _COVERED_TYPES)
        for resource_id, name, arns in targets:
            assessed += 1
            why = _rpo_problem(arns, points, latest, ctx.now, rpo, data.recovery_point_window_days)
            if why:
                findings.append(Finding(resource_id, name, _labelled(labels.get(resource_id, ""), why)))
    return Outcome(assessed=assessed, findings=findings, unseen=unseen(data, "aws.backup", "aws.ec2", "aws.rds"))


@check(
    id="aws.backup.job_failures",
    summary="{open} backup jobs failed recently",
    title="No failed AWS Backup jobs",
    area="backup",
    platform="aws",
    severity="high",
    requires=("aws.backup",),
    description="Fails for backup jobs in state FAILED, EXPIRED, ABORTED or PARTIAL created within the policy's "
    "look-back (AWS keeps job history for 30 days).",
    remediation="AWS Backup console > Jobs > filter by status: read each job's status message (often a missing "
    "IAM permission, a KMS key policy or a resource deleted mid-backup), fix it, and run an on-demand backup.",
    references=("https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListBackupJobs.html",),
    permissions=("backup:ListBackupJobs",),
)
def job_failures(ctx: CheckContext) -> Outcome:
    data = ctx.aws
    since = ctx.now - timedelta(days=ctx.thresholds.backup_job_lookback_days)
    jobs = [
        j for a in seen_accounts(data, "aws.backup") for j in a.backup_jobs if j.created is None or j.created >= since
    ]
    findings = [
        Finding(
            j.id, j.resource_arn, f"{j.state} on {j.created.date() if j.created else '?'}: {j.message or 'no message'}"
        )
        for j in jobs
        if j.state in ("FAILED", "EXPIRED", "ABORTED", "PARTIAL")
    ]
    return Outcome(assessed=len(jobs), findings=findings, unseen=unseen(data, "aws.backup"))


#: ``VaultType`` of a logically air-gapped vault: "equipped with AWS Backup Vault Lock's compliance mode"
#: (https://docs.aws.amazon.com/aws-backup/latest/devguide/logicallyairgappedvault.html)
_AIR_GAPPED = "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"


def _lock_mode(vault: AwsVault, now: datetime) -> tuple[str, bool]:
    """(the vault's lock mode as a reader should see it, whether it is immutable). Backup Vault Lock: without a
    ``LockDate`` it is in governance mode (``Locked`` is true, yet anyone with
    ``backup:DeleteBackupVaultLockConfiguration`` can remove it); with a future ``LockDate`` it is in compliance
    mode's grace time (still removable); only on and after ``LockDate`` is it immutable."""
    if not vault.locked:
        return "no Vault Lock", False
    if vault.lock_date is None:
        if vault.vault_type == _AIR_GAPPED:
            return "logically air-gapped vault (compliance mode)", True
        return (
            "Vault Lock in governance mode (no lock date: removable by anyone with "
            "backup:DeleteBackupVaultLockConfiguration)",
            False,
        )
    if vault.lock_date > now:
        return (
            f"Vault Lock in compliance mode, grace time until {vault.lock_date:%Y-%m-%d %H:%M} UTC (removable until "
            "then)",
            False,
        )
    return f"Vault Lock in compliance mode, immutable since {vault.lock_date:%Y-%m-%d}", True


@check(
    id="aws.backup.vault_immutable",
    summary="{open} of {assessed} backup vaults holding recovery points are not immutable",
    title="Backup vaults holding recovery points are locked in compliance mode",
    area="backup",
    platform="aws",
    severity="high",
    requires=("aws.backup",),
    description="Fails for vaults that hold recovery points unless AWS Backup Vault Lock is in compliance mode past "
    "its lock date (or the vault is logically air-gapped) and enforces a minimum retention of at least the policy's "
    "vault_lock_min_retention_days. Governance mode (no lock date) can be removed by anyone with "
    "backup:DeleteBackupVaultLockConfiguration, and compliance mode can be removed until its lock date (the grace "
    "time); without MinRetentionDays backups can be written to the vault with any short retention. The finding "
    "names the mode.",
    remediation="AWS Backup console > Backup vaults > select > Vault lock > Create (or Manage): set a minimum "
    "retention of at least the policy's days and choose compliance mode with a grace time; once the grace time is "
    "over the lock is immutable. Or copy backups to a logically air-gapped vault in another account.",
    references=(
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupVaultListMember.html",
    ),
    permissions=("backup:ListBackupVaults",),
)
def vault_immutable(ctx: CheckContext) -> Outcome:
    data = ctx.aws
    minimum = ctx.thresholds.vault_lock_min_retention_days
    vaults = []
    for account in seen_accounts(data, "aws.backup"):
        # NumberOfRecoveryPoints "can be an approximation": a vault with recent points listed holds some too
        listed = {(p.region, p.vault_name) for p in account.recovery_points}
        vaults += [(account, v) for v in account.vaults if v.recovery_points > 0 or (v.region, v.name) in listed]
    findings = []
    for account, vault in vaults:
        mode, immutable = _lock_mode(vault, ctx.now)
        problems = [] if immutable else [mode]
        if vault.locked and (vault.min_retention_days or 0) < minimum:
            retention = (
                "no minimum retention (MinRetentionDays absent)"
                if vault.min_retention_days is None
                else f"minimum retention {vault.min_retention_days} days"
            )
            problems.append(f"{mode}, {retention}; policy needs at least {minimum} days" if immutable else retention)
        if problems:
            name = f"{account.account_id}:{vault.region}:{vault.name}"
            held = (
                f"{vault.recovery_points} recovery points"
                if vault.recovery_points
                else "recent recovery points listed (NumberOfRecoveryPoints says 0)"
            )
            findings.append(Finding(name, name, f"{held}; " + "; ".join(problems)))
    return Outcome(assessed=len(vaults), findings=findings, unseen=unseen(data, "aws.backup"))


#: a restore job that ran and whose validation did not fail (RestoreJobStatus / RestoreValidationStatus in the
#: botocore backup model; None: no validation was configured)
_RESTORED = "COMPLETED"
_VALIDATION_OK = frozenset({None, "SUCCESSFUL"})
_FINISHED = frozenset({"COMPLETED", "FAILED", "ABORTED"})


def _good_restore(job: AwsRestoreJob) -> bool:
    return job.status == _RESTORED and job.validation_status in _VALIDATION_OK


def _job_time(job: AwsRestoreJob) -> datetime | None:
    return job.completed or job.created


def _plan_problem(plan: AwsRestoreTestingPlan, jobs: list[AwsRestoreJob], since: datetime, days: int) -> str | None:
    """None when the plan tests restores: it has selections, ran within the window, and for each resource type it
    restored within the window the newest finished restore job COMPLETED with no failed validation."""
    if not plan.selection_types:
        return "no resource selections (it restores nothing)"
    if plan.last_execution is None:
        return "never run"
    if plan.last_execution < since:
        return f"last run {plan.last_execution:%Y-%m-%d}, more than {days} days ago"
    recent = [j for j in jobs if j.status in _FINISHED and (t := _job_time(j)) is not None and t >= since]
    if not recent:
        return f"no finished restore job in {days} days"
    newest: dict[str, AwsRestoreJob] = {}
    for job in sorted(recent, key=lambda j: _job_time(j) or since):
        newest[job.resource_type or "?"] = job
    bad = [j for j in newest.values() if not _good_restore(j)]
    if bad:
        return "; ".join(
            f"newest {j.resource_type or ''} restore job {j.status}".replace("  ", " ")
            + (f", validation {j.validation_status}" if j.validation_status else "")
            + (f" ({j.message})" if j.message else "")
            for j in sorted(bad, key=lambda j: j.resource_type or "")
        )
    return None


@check(
    id="aws.backup.restore_tested",
    summary="{open} of {assessed} AWS accounts have no tested restore",
    title="Restores are tested in every AWS account",
    area="backup",
    platform="aws",
    severity="high",
    requires=("aws.backup",),
    description="Fails for accounts with neither a working restore testing plan nor a completed manual restore "
    "job within the policy's days. A restore testing plan works when it has resource selections, ran within the "
    "policy's days, and for each resource type its newest finished restore job COMPLETED (with validation, if any, "
    "SUCCESSFUL); a plan with no selections, never run, or whose restore jobs failed does not count. An "
    "attestation of a restore test may satisfy it (shown as attested).",
    remediation="AWS Backup console > Restore testing > Create restore testing plan (monthly, for your critical "
    "resource types) and assign resources to it; for failed restore tests read the restore job's status message "
    "(AWS Backup > Jobs > Restore jobs); or restore a recent recovery point by hand and record it as an "
    "attestation.",
    references=(
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing.html",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_RestoreJobsListMember.html",
    ),
    permissions=("backup:ListRestoreTestingPlans", "backup:ListRestoreTestingSelections", "backup:ListRestoreJobs"),
)
def restore_tested(ctx: CheckContext) -> Outcome:
    attested = ctx.attested_outcome()
    if attested is not None:
        return attested
    data = ctx.aws
    days = ctx.thresholds.restore_test_max_days
    since = ctx.now - timedelta(days=days)
    accounts = seen_accounts(data, "aws.backup")
    findings = []
    for account in accounts:
        manual = [
            r
            for r in account.restore_jobs
            if r.testing_plan_arn is None and _good_restore(r) and r.completed and r.completed >= since
        ]
        problems = {
            f"{plan.name} ({plan.region})": _plan_problem(
                plan, [j for j in account.restore_jobs if j.testing_plan_arn == plan.arn], since, days
            )
            for plan in account.restore_testing_plans
        }
        if manual or any(problem is None for problem in problems.values()):
            continue
        plans = "; ".join(f"plan {name}: {problem}" for name, problem in sorted(problems.items()))
        findings.append(
            Finding(
                account.account_id,
                account.account_id,
                (plans or "no restore testing plan") + f"; no completed manual restore in {days} days",
            )
        )
    return Outcome(assessed=len(accounts), findings=findings, unseen=unseen(data, "aws.backup"))


@check(
    id="aws.rds.backup_retention",
    summary="{open} of {assessed} RDS databases keep too few days of automated backups",
    title="RDS automated backups are kept long enough",
    area="backup",
    platform="aws",
    severity="high",
    requires=("aws.rds",),
    description="Fails for RDS databases whose backup retention period is below the policy minimum (0 means "
    "automated backups are off). A DB cluster (Aurora, DocumentDB, Neptune, Multi-AZ DB cluster) is judged once by "
    "its own retention, not per member instance.",
    remediation="RDS console > Databases > select the instance or the cluster > Modify > Backup retention period: "
    "at least the policy minimum (7 days or more); apply immediately.",
    references=(
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html",
        "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Managing.Backups.html",
    ),
    permissions=("rds:DescribeDBInstances", "rds:DescribeDBClusters"),
)
def rds_backup_retention(ctx: CheckContext) -> Outcome:
    data = ctx.aws
    minimum = ctx.thresholds.rds_min_backup_retention_days
    dbs: list[tuple[str, str, int]] = []
    for account in seen_accounts(data, "aws.rds"):
        retention = {c.arn: c.backup_retention_days for c in account.db_clusters}
        retention.update({db.arn: db.backup_retention_days for db in account.db_instances})
        dbs += [(arn, label, retention[arn]) for arn, label in _db_targets(account)]
    findings = [
        Finding(
            arn,
            arn,
            _labelled(label, f"retention {days} days (minimum {minimum})" if days else "automated backups are off"),
        )
        for arn, label, days in dbs
        if days < minimum
    ]
    return Outcome(assessed=len(dbs), findings=findings, unseen=unseen(data, "aws.rds"))
