"""AWS backup checks: recent recovery points for every resource, failed jobs, vault lock, restore testing, RDS."""

from __future__ import annotations

from datetime import datetime, timedelta

from hygiene.checkapi import CheckContext, Finding, Outcome, check
from hygiene.checklib.aws import aws_data, instance_arn, seen_accounts, unseen, volume_arn
from hygiene.checklib.common import attested_outcome

_BACKUP_DOC = "https://docs.aws.amazon.com/aws-backup/latest/devguide/whatisbackup.html"
_COVERED_TYPES = ("EFS", "DynamoDB")


def _rpo_problem(times: list[datetime | None], now: datetime, rpo: timedelta) -> str | None:
    known = [t for t in times if t is not None]
    if not known:
        return "no recovery point"
    age = now - max(known)
    return None if age <= rpo else f"newest recovery point {age.days}d {age.seconds // 3600}h old"


@check(
    id="aws.backup.coverage",
    summary="{open} of {assessed} AWS resources have no recent backup",
    title="Every AWS resource has a recovery point within the RPO",
    area="backup",
    platform="aws",
    severity="critical",
    requires=("aws.backup", "aws.ec2", "aws.rds"),
    description="Fails for running EC2 instances, their EBS volumes, RDS instances and the EFS/DynamoDB resources "
    "AWS Backup knows of, whose newest recovery point is older than the policy RPO (or that have none). An EBS "
    "volume is covered by a backup of its instance.",
    remediation="AWS Backup console > Backup plans > create a daily plan and assign resources by tag (e.g. "
    "backup=daily) or all supported resources; then check AWS Backup > Jobs the next morning.",
    references=(_BACKUP_DOC, "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListProtectedResources.html"),
    permissions=("backup:ListProtectedResources", "ec2:DescribeInstances", "rds:DescribeDBInstances"),
)
def coverage(ctx: CheckContext) -> Outcome:
    data = aws_data(ctx)
    rpo = timedelta(hours=ctx.thresholds.backup_rpo_hours)
    findings = []
    assessed = 0
    for account in seen_accounts(data, "aws.backup"):
        latest = {r.arn: r.last_backup for r in account.protected_resources}

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
        targets.extend((db.arn, db.arn, (db.arn,)) for db in account.db_instances)
        targets.extend((r.arn, r.arn, (r.arn,)) for r in account.protected_resources if r.type in _COVERED_TYPES)
        for resource_id, name, arns in targets:
            assessed += 1
            why = _rpo_problem([latest.get(arn) for arn in arns], ctx.now, rpo)
            if why:
                findings.append(Finding(resource_id, name, why))
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
    data = aws_data(ctx)
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


@check(
    id="aws.backup.vault_immutable",
    summary="{open} of {assessed} backup vaults holding recovery points are not locked",
    title="Backup vaults holding recovery points are locked",
    area="backup",
    platform="aws",
    severity="high",
    requires=("aws.backup",),
    description="Fails for vaults that hold recovery points without AWS Backup Vault Lock: an attacker (or a "
    "mistake) with backup permissions could delete every backup.",
    remediation="AWS Backup console > Backup vaults > select > Vault lock > Create: governance mode first, then "
    "compliance mode after the cooling-off period once retention is right; or copy to a locked vault in another "
    "account.",
    references=("https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html",),
    permissions=("backup:ListBackupVaults",),
)
def vault_immutable(ctx: CheckContext) -> Outcome:
    data = aws_data(ctx)
    vaults = [(a, v) for a in seen_accounts(data, "aws.backup") for v in a.vaults if v.recovery_points > 0]
    findings = [
        Finding(
            f"{a.account_id}:{v.region}:{v.name}",
            f"{a.account_id}:{v.region}:{v.name}",
            f"{v.recovery_points} recovery points, no Vault Lock",
        )
        for a, v in vaults
        if not v.locked
    ]
    return Outcome(assessed=len(vaults), findings=findings, unseen=unseen(data, "aws.backup"))


@check(
    id="aws.backup.restore_tested",
    summary="{open} of {assessed} AWS accounts have no tested restore",
    title="Restores are tested in every AWS account",
    area="backup",
    platform="aws",
    severity="high",
    requires=("aws.backup",),
    description="Fails for accounts with no restore testing plan and no completed restore job within the policy's "
    "days. An attestation of a restore test may satisfy it (shown as attested).",
    remediation="AWS Backup console > Restore testing > Create restore testing plan (monthly, for your critical "
    "resource types); or restore a recent recovery point by hand and record it as an attestation.",
    references=("https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing.html",),
    permissions=("backup:ListRestoreTestingPlans", "backup:ListRestoreJobs"),
)
def restore_tested(ctx: CheckContext) -> Outcome:
    attested = attested_outcome(ctx)
    if attested is not None:
        return attested
    data = aws_data(ctx)
    since = ctx.now - timedelta(days=ctx.thresholds.restore_test_max_days)
    accounts = seen_accounts(data, "aws.backup")
    findings = []
    for account in accounts:
        recent = [r for r in account.restore_jobs if r.status == "COMPLETED" and r.completed and r.completed >= since]
        if account.restore_testing_plans == 0 and not recent:
            findings.append(
                Finding(
                    account.account_id,
                    account.account_id,
                    f"no restore testing plan and no completed restore in {ctx.thresholds.restore_test_max_days} days",
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
    description="Fails for RDS instances whose backup retention period is below the policy minimum (0 means "
    "automated backups are off).",
    remediation="RDS console > Databases > select > Modify > Backup retention period: at least the policy minimum "
    "(7 days or more); apply immediately.",
    references=("https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html",),
    permissions=("rds:DescribeDBInstances",),
)
def rds_backup_retention(ctx: CheckContext) -> Outcome:
    data = aws_data(ctx)
    minimum = ctx.thresholds.rds_min_backup_retention_days
    dbs = [db for a in seen_accounts(data, "aws.rds") for db in a.db_instances]
    findings = [
        Finding(
            db.arn,
            db.arn,
            "automated backups are off"
            if db.backup_retention_days == 0
            else f"retention {db.backup_retention_days} days (minimum {minimum})",
        )
        for db in dbs
        if db.backup_retention_days < minimum
    ]
    return Outcome(assessed=len(dbs), findings=findings, unseen=unseen(data, "aws.rds"))
