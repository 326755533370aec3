"""Synthetic AWS organisations of any size, for benchmarks and scale tests.

Every object is generated from a *kind* drawn at random (a console user without MFA, a key never used, an instance
whose newest backup is days old...), with values kept well away from the sme-baseline policy's thresholds (90 days
inactive / unused / rotation, 30-day grace, 24-hour RPO, 14-day job look-back, 365-day restore test, 7-day RDS
retention, 14-day patch scan), and ``expected`` is filled from the kinds as they are planted, never by
re-evaluating the data. The scanner reads IAM through the
credential report, so users exist only in the scenario (not in moto): 50,000 users build in about a second.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hygiene_sandbox.aws.scenario import (
    AWS_CHECK_IDS,
    AccessKey,
    Account,
    AwsScenario,
    BackupJob,
    BackupJobState,
    BackupPlan,
    BackupResourceType,
    DbInstance,
    Expectation,
    IamUser,
    Instance,
    ManagedInstance,
    PatchState,
    ProtectedResource,
    RestoreJob,
    RestoreTestingPlan,
    RootUser,
    Vault,
    aws_hex_id,
    days_ago,
)

_USER_KINDS: tuple[tuple[str, int], ...] = (
    ("console_ok", 30),
    ("console_no_mfa", 8),
    ("console_stale", 6),
    ("console_stale_no_mfa", 3),
    ("console_never_old", 4),
    ("console_never_new", 3),
    ("service_ok", 20),
    ("service_old_key", 8),
    ("service_stale_key", 6),
    ("service_never_used_key", 5),
    ("service_rotating", 5),
    ("service_inactive_key", 2),
)
_FAILED_STATES: tuple[BackupJobState, ...] = ("FAILED", "EXPIRED", "ABORTED", "PARTIAL")


def _pick(rng: random.Random, kinds: tuple[tuple[str, int], ...]) -> str:
    names = [k for k, _ in kinds]
    weights = [w for _, w in kinds]
    return rng.choices(names, weights=weights, k=1)[0]


class _Builder:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.expected: dict[str, set[str]] = defaultdict(set)

    def ago(self, low: float, high: float | None = None, *, hours: bool = False) -> datetime:
        value = low if high is None else self.rng.uniform(low, high)
        return days_ago(self.now, 0, value) if hours else days_ago(self.now, value)

    def fail(self, check_id: str, resource: str) -> None:
        self.expected[check_id].add(resource)

    # -- IAM ------------------------------------------------------------------------------------------------
    def user(self, account_id: str, index: int) -> IamUser:
        kind = _pick(self.rng, _USER_KINDS)
        name = f"user{index:06d}"
        ref = f"{account_id}:{name}"
        created = self.ago(120, 1500)
        if kind.startswith("console"):
            user = IamUser(name=name, created=created, password_enabled=True, mfa_active=True)
            if kind == "console_ok":
                user.password_last_used = self.ago(0, 60)
            elif kind == "console_no_mfa":
                user.password_last_used = self.ago(0, 60)
                user.mfa_active = False
                self.fail("aws.iam.console_mfa", ref)
            elif kind in ("console_stale", "console_stale_no_mfa"):
                user.password_last_used = self.ago(100, 110)
                self.fail("aws.iam.inactive_users", ref)
                if kind == "console_stale_no_mfa":
                    user.mfa_active = False
                    self.fail("aws.iam.console_mfa", ref)
            elif kind == "console_never_old":
                user.created = self.ago(40, 110)
                self.fail("aws.iam.inactive_users", ref)
            else:  # console_never_new
                user.created = self.ago(1, 20)
            return user
        user = IamUser(name=name, created=created)
        if kind == "service_ok":
            user.access_keys = [AccessKey(created=self.ago(5, 80), last_used=self.ago(0, 3))]
        elif kind == "service_old_key":
            user.access_keys = [AccessKey(created=self.ago(100, 900), last_used=self.ago(0, 30))]
            self.fail("aws.iam.access_key_age", f"{ref}:key1")
        elif kind == "service_stale_key":
            key_created = self.ago(200, 900)
            user.access_keys = [AccessKey(created=key_created, last_used=self.ago(100, 190))]
            self.fail("aws.iam.access_key_age", f"{ref}:key1")
            self.fail("aws.iam.unused_access_keys", f"{ref}:key1")
        elif kind == "service_never_used_key":
            user.access_keys = [AccessKey(created=self.ago(40, 85), last_used=None)]
            self.fail("aws.iam.unused_access_keys", f"{ref}:key1")
        elif kind == "service_rotating":
            user.access_keys = [
                AccessKey(created=self.ago(40, 80), last_used=self.ago(0, 2)),
                AccessKey(created=self.ago(1, 20), last_used=None),
            ]
        else:  # service_inactive_key: an old key, deactivated
            user.access_keys = [AccessKey(active=False, created=self.ago(300, 900), last_used=self.ago(200, 290))]
        oldest_key = min(k.created for k in user.access_keys)
        user.created = min(user.created, oldest_key - timedelta(days=1))
        return user

    def root(self, account_id: str) -> RootUser:
        root = RootUser(mfa_active=self.rng.random() < 0.6, password_last_used=self.ago(5, 200))
        if not root.mfa_active:
            self.fail("aws.root.mfa", f"{account_id}:root")
        if self.rng.random() < 0.3:
            root.access_keys = [AccessKey(created=self.ago(300, 2000), last_used=self.ago(100, 290))]
            self.fail("aws.root.access_keys", f"{account_id}:root")
        return root

    # -- resources ------------------------------------------------------------------------------------------
    def job(
        self, region: str, arn: str, kind: BackupResourceType, state: BackupJobState, completed: datetime
    ) -> BackupJob:
        return BackupJob(
            job_id=str(uuid.UUID(int=self.rng.getrandbits(128))).upper(),
            region=region,
            resource_arn=arn,
            resource_type=kind,
            state=state,
            created=completed - timedelta(hours=1),
            completed=completed,
            status_message=None if state == "COMPLETED" else f"Backup job {state.lower()} (synthetic).",
            size_bytes=self.rng.randint(1, 500) * 1024**3,
        )

    def backup_history(
        self, account: Account, region: str, arn: str, kind: BackupResourceType, coverage_name: str
    ) -> bool:
        """Protected-resource state and jobs for one backup-able resource, with its expectations. True when the
        resource has a recovery point within the RPO."""
        state = self.rng.choices(("fresh", "stale", "none"), weights=(70, 15, 15))[0]
        if state == "none":
            self.fail("aws.backup.coverage", coverage_name)
            return False
        last = self.ago(2, 20, hours=True) if state == "fresh" else self.ago(3, 12)
        account.protected_resources.append(
            ProtectedResource(arn=arn, resource_type=kind, region=region, last_backup=last)
        )
        account.backup_jobs.append(self.job(region, arn, kind, "COMPLETED", last))
        if state == "stale":
            self.fail("aws.backup.coverage", coverage_name)
        failure = self.rng.choices(("none", "recent", "old", "beyond_history"), weights=(60, 25, 10, 5))[0]
        failed_state = self.rng.choice(_FAILED_STATES)
        if failure == "recent":
            self.fail("aws.backup.job_failures", arn)
            account.backup_jobs.append(self.job(region, arn, kind, failed_state, self.ago(1, 12)))
        elif failure == "old":  # outside the 14-day look-back, inside the 30-day history
            account.backup_jobs.append(self.job(region, arn, kind, failed_state, self.ago(17, 28)))
        elif failure == "beyond_history":  # older than the 30 days ListBackupJobs returns
            account.backup_jobs.append(self.job(region, arn, kind, failed_state, self.ago(33, 60)))
        return state == "fresh"

    def instance(self, account: Account, region: str, index: int) -> None:
        rng = self.rng
        aid = account.account_id
        instance_id = aws_hex_id("i", aid, region, str(index))
        volumes = [aws_hex_id("vol", aid, region, str(index), str(v)) for v in range(rng.choice((1, 1, 2)))]
        running = rng.random() < 0.85
        inst = Instance(
            instance_id=instance_id,
            region=region,
            state="running" if running else "stopped",
            name=f"server-{index:04d}",
            platform="Windows" if rng.random() < 0.3 else "Linux/UNIX",
            instance_type=rng.choice(("t3.small", "t3.medium", "m5.large")),
            volume_ids=volumes,
        )
        account.instances.append(inst)
        if not running:
            return
        name = f"{aid}:{region}:{instance_id}"
        arn = inst.arn(aid)
        covered = self.backup_history(account, region, arn, "EC2", name)
        for volume in inst.volume_ids:
            # an EBS volume is covered by its instance's backup (AWS Backup's EC2 backups image every attached
            # volume); a volume of an instance without a recent backup fails with it
            if not covered:
                self.fail("aws.backup.coverage", inst.volume_arn(aid, volume))
        ssm = rng.choices(("online", "unmanaged", "lost"), weights=(75, 15, 10))[0]
        if ssm == "unmanaged":
            self.fail("aws.patch.ssm_managed", name)
            return
        windows = inst.platform == "Windows"
        account.managed_instances.append(
            ManagedInstance(
                instance_id=instance_id,
                region=region,
                ping_status="Online" if ssm == "online" else "ConnectionLost",
                last_ping=self.ago(0, 0.5) if ssm == "online" else self.ago(3, 40),
                platform_type="Windows" if windows else "Linux",
                platform_name="Microsoft Windows Server 2022 Datacenter" if windows else "Amazon Linux",
                platform_version="10.0.20348" if windows else "2023",
                ip_address=f"10.{index % 250}.{(index // 250) % 250}.{10 + index % 200}",
            )
        )
        if ssm == "lost":
            self.fail("aws.patch.ssm_managed", name)
        patch = rng.choices(
            ("ok", "other_only", "critical", "security", "failed", "reboot", "stale"),
            weights=(50, 10, 10, 8, 8, 7, 7),
        )[0]
        state = PatchState(instance_id=instance_id, region=region, operation_end=self.ago(0, 6))
        if patch == "other_only":
            state.missing = state.other_non_compliant = rng.randint(1, 6)
        elif patch == "critical":
            state.missing = state.critical_non_compliant = rng.randint(1, 4)
        elif patch == "security":
            state.missing = state.security_non_compliant = rng.randint(1, 4)
        elif patch == "failed":
            state.failed = rng.randint(1, 3)
        elif patch == "reboot":
            state.installed_pending_reboot = rng.randint(1, 3)
        elif patch == "stale":
            state.operation_end = self.ago(20, 90)
        if patch != "ok":  # missing "other" patches too: Patch Manager reports the node NON_COMPLIANT
            self.fail("aws.patch.compliance", name)
        account.patch_states.append(state)

    def database(self, account: Account, region: str, index: int) -> None:
        short = self.rng.random() < 0.3
        retention = self.rng.choice((0, 1, 3)) if short else self.rng.choice((7, 14, 35))
        db = DbInstance(
            identifier=f"db-{index:03d}",
            region=region,
            engine=self.rng.choice(("postgres", "mysql")),
            backup_retention_period=retention,
            latest_restorable_time=None if retention == 0 else self.ago(0, 0.2),
        )
        account.db_instances.append(db)
        arn = db.arn(account.account_id)
        if short:
            self.fail("aws.rds.backup_retention", arn)
        self.backup_history(account, region, arn, "RDS", arn)

    def file_store(self, account: Account, region: str, index: int) -> None:
        if self.rng.random() < 0.5:
            arn = f"arn:aws:elasticfilesystem:{region}:{account.account_id}:file-system/" + aws_hex_id(
                "fs", account.account_id, region, str(index)
            )
            kind: BackupResourceType = "EFS"
        else:
            arn = f"arn:aws:dynamodb:{region}:{account.account_id}:table/table-{index:03d}"
            kind = "DynamoDB"
        # only resources AWS Backup knows of are assessed: a file system with no recovery point is invisible
        fresh = self.rng.random() < 0.75
        last = self.ago(2, 20, hours=True) if fresh else self.ago(2, 9)
        account.protected_resources.append(
            ProtectedResource(arn=arn, resource_type=kind, region=region, last_backup=last)
        )
        if not fresh:
            self.fail("aws.backup.coverage", arn)

    def vaults_and_restores(self, account: Account, region: str) -> None:
        aid = account.account_id
        vaults = [Vault(name="Default", region=region, locked=False, recovery_points=self.rng.randint(0, 400))]
        if self.rng.random() < 0.5:
            # Vault Lock: compliance mode past its lock date (immutable), governance mode (no lock date), or
            # compliance mode in its grace time; only the first passes
            lock = self.rng.choices(("compliance", "governance", "grace"), weights=(60, 20, 20))[0]
            vaults.append(
                Vault(
                    name=f"locked-{region}",
                    region=region,
                    locked=True,
                    recovery_points=self.rng.randint(1, 900),
                    min_retention_days=30,
                    lock_date=None
                    if lock == "governance"
                    else self.ago(30, 300)
                    if lock == "compliance"
                    else self.now + timedelta(days=self.rng.uniform(3, 20)),
                )
            )
            if lock != "compliance":
                self.fail("aws.backup.vault_immutable", f"{aid}:{region}:{vaults[-1].name}")
        for vault in vaults:
            if vault.recovery_points > 0 and not vault.locked:
                self.fail("aws.backup.vault_immutable", f"{aid}:{region}:{vault.name}")
        account.vaults.extend(vaults)
        account.backup_plans.append(BackupPlan(name=f"daily-{region}", region=region, vault_name=vaults[-1].name))

    def restore_testing(self, account: Account) -> None:
        region = account.regions[0]
        kinds = ("plan", "plan_failing", "plan_unselected", "recent_job", "old_job", "never")
        kind = self.rng.choices(kinds, weights=(30, 5, 5, 30, 15, 15))[0]
        if kind.startswith("plan"):
            # a working plan; one whose restore jobs fail; one with no resource selection (never run)
            ran = self.ago(1, 30) if kind != "plan_unselected" else None
            account.restore_testing_plans.append(
                RestoreTestingPlan(
                    name="monthly_test",
                    region=region,
                    created=self.ago(60, 300),
                    last_execution=ran,
                    selections=[] if kind == "plan_unselected" else ["EBS"],
                )
            )
            if ran is not None:
                account.restore_jobs.append(
                    RestoreJob(
                        job_id=str(uuid.UUID(int=self.rng.getrandbits(128))),
                        region=region,
                        status="COMPLETED" if kind == "plan" else "FAILED",
                        created=days_ago(ran, 0, 1),
                        completed=ran,
                        testing_plan="monthly_test",
                        validation_status="SUCCESSFUL" if kind == "plan" else None,
                        status_message=None if kind == "plan" else "Restore failed (synthetic).",
                    )
                )
        elif kind in ("recent_job", "old_job"):
            completed = self.ago(10, 300) if kind == "recent_job" else self.ago(370, 395)
            account.restore_jobs.append(
                RestoreJob(
                    job_id=str(uuid.UUID(int=self.rng.getrandbits(128))),
                    region=region,
                    status="COMPLETED",
                    created=days_ago(completed, 0, 1),
                    completed=completed,
                )
            )
        if kind in ("old_job", "never", "plan_failing", "plan_unselected"):
            self.fail("aws.backup.restore_tested", account.account_id)


def generate_aws(
    n_users: int, seed: int = 0, now: datetime | None = None, *, accounts: int | None = None
) -> AwsScenario:
    """An organisation with ``n_users`` IAM users spread over its accounts (2 + one per 25,000 users unless
    ``accounts`` is given), about one EC2 instance per 200 users (at least three per account), databases, file
    systems, vaults and restore history, each planted healthy or with one of the defects the checks look for."""
    rng = random.Random(seed)
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    builder = _Builder(rng, now)
    count = accounts or min(10, 2 + n_users // 25000)
    ids: list[str] = []
    while len(ids) < count:
        candidate = str(rng.randint(10**11, 10**12 - 1))
        if candidate not in ids:
            ids.append(candidate)
    management = ids[0]
    built: list[Account] = []
    for position, account_id in enumerate(ids):
        regions = ["eu-west-2", "us-east-1"] if position == 0 else ["eu-west-2"]
        account = Account(
            account_id=account_id,
            name="management" if position == 0 else f"workload-{position:02d}",
            email=f"aws-{position:02d}@example.com",
            regions=regions,
            created=builder.ago(400, 3000),
            root=builder.root(account_id),
        )
        built.append(account)
    for index in range(n_users):
        account = built[index % count]
        account.users.append(builder.user(account.account_id, index))
    scanner = built[0]
    scanner.users.append(
        IamUser(name="hygiene-scanner", created=builder.ago(2), access_keys=[AccessKey(created=builder.ago(2))])
    )
    for account in built:
        per_account = max(3, len(account.users) // 200)
        for index in range(per_account):
            region = account.regions[index % len(account.regions)]
            builder.instance(account, region, index)
        for index in range(max(1, per_account // 10)):
            builder.database(account, account.regions[0], index)
            builder.file_store(account, account.regions[0], index)
        for region in account.regions:
            builder.vaults_and_restores(account, region)
        builder.restore_testing(account)
    expected = {
        check_id: Expectation("fail" if builder.expected.get(check_id) else "pass", set(builder.expected[check_id]))
        for check_id in AWS_CHECK_IDS
    }
    scenario = AwsScenario(
        name=f"generated-aws-{n_users}-{seed}",
        now=now,
        management_account_id=management,
        accounts=built,
        expected=expected,
        description=f"{count} accounts, {n_users} IAM users, seed {seed}",
    )
    return scenario
