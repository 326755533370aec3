"""Northwind Dental's AWS estate: the production/management account "northwind-prod", the member accounts
"northwind-dev" and "northwind-logs" (its root credentials deleted under centralised root access), plus a closed
2021 sandbox account that Organizations still lists as SUSPENDED (and that is named as not scanned).

A small practice's AWS as it really looks after a few years: a practice-management server and an imaging server
in London (eu-west-2), a test instance somebody forgot in us-east-1, a contractor without MFA, a departed
receptionist's login, access keys nobody rotates, a backup job failing since an IAM change, a reporting database
without automated backups, vaults without Vault Lock (or with a lock that can still be removed: governance mode,
compliance mode in its grace time, or no minimum retention), a file system whose newest recovery points are
PARTIAL and EXPIRED, restore testing plans that test nothing or whose restores fail, Aurora and Neptune clusters
backed up (or not) at cluster level, and an on-premises surgery PC registered with Systems Manager that stopped
scanning for patches.

``expected`` is written by hand from the stories below (the independent oracle a correct scan must reproduce).
Thresholds assumed (the sme-baseline policy): inactive 90 days, never-signed-in grace 30 days, key unused 90 days
(never used: 30-day grace), key rotation 90 days, backup RPO 24 hours, job look-back 14 days, restore test within
365 days, RDS retention at least 7 days, Vault Lock minimum retention at least 7 days, patch scan at most 14 days
old.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hygiene_sandbox.aws.scenario import (
    AccessKey,
    Account,
    AwsScenario,
    BackupJob,
    BackupPlan,
    DbCluster,
    DbInstance,
    IamUser,
    Instance,
    ManagedInstance,
    PatchState,
    ProtectedResource,
    RecoveryPoint,
    RestoreJob,
    RestoreTestingPlan,
    RootUser,
    Vault,
    days_ago,
    fails,
)

PROD = "402917583641"
DEV = "618205937254"
OLD = "739164052813"
LOGS = "527384916203"
LONDON = "eu-west-2"
VIRGINIA = "us-east-1"

# production, eu-west-2
PMS_APP = "i-07c3e1a9d2b4f6081"  # Windows practice-management server: backed up, managed, patched
PMS_APP_ROOT, PMS_APP_DATA = "vol-0e4f1a2b3c4d5e601", "vol-0e4f1a2b3c4d5e602"
IMAGING = "i-0b58d2e7f1a3c9402"  # x-ray imaging server: backups failing for two days, missing security patches
IMAGING_ROOT, IMAGING_DATA = "vol-03a9c7e5b1d2f4801", "vol-03a9c7e5b1d2f4802"  # the data volume has its own backup
FILE_SERVER = "i-0f21a6c8e3b7d5903"  # never added to a backup plan, no SSM agent
FILE_SERVER_ROOT = "vol-0c6d8e2f4a1b3c901"
OLD_WEB = "i-04d7b9e2c6a1f8304"  # stopped long ago; SSM still lists it (ConnectionLost), last scan 70 days ago
OLD_WEB_ROOT = "vol-0a7b9c1d3e5f2a401"
VPN = "i-09e3f5a7b2c4d6105"  # backed up; SSM agent lost its connection 9 days ago; patches waiting for a reboot
VPN_ROOT = "vol-0b2c4d6e8f1a3b501"
SURGERY_PC = "mi-0a3c5e7b9d1f2e406"  # on-premises PC registered with SSM (hybrid activation); last scan 20 days ago
PATIENT_DOCS = f"arn:aws:elasticfilesystem:{LONDON}:{PROD}:file-system/fs-0a1b2c3d4e5f60718"
APPOINTMENTS = f"arn:aws:dynamodb:{LONDON}:{PROD}:table/appointments"
PMS_DB = f"arn:aws:rds:{LONDON}:{PROD}:db:pms-db"
REPORTING_DB = f"arn:aws:rds:{LONDON}:{PROD}:db:reporting-db"
# production, us-east-1: the forgotten migration test box
MIGRATION_TEST = "i-0c8a2e4f6b1d3a706"
MIGRATION_TEST_ROOT = "vol-0d3e5f7a9b2c4d701"
# development, eu-west-2
DEV_PMS = "i-02f4a6c8e1b3d5907"
DEV_PMS_ROOT = "vol-01a3b5c7d9e2f4901"
DEV_BUILD = "i-06b8d1f3a5c7e2908"
DEV_BUILD_ROOT = "vol-05c7e9a1b3d6f8a01"
DEV_OLD = "i-0a1c3e5b7d9f2b409"
DEV_OLD_ROOT = "vol-09d1f3a5c7e2b4c01"
DEV_FILES = f"arn:aws:elasticfilesystem:{LONDON}:{DEV}:file-system/fs-0d2e4f6a8b1c3d5e7"
DEV_DB = f"arn:aws:rds:{LONDON}:{DEV}:db:dev-db"
#: clinical photographs (EFS): AWS Backup's LastBackupTime is 7 hours old, but that newest recovery point is
#: PARTIAL and the one before EXPIRED; the last COMPLETED one is 3 days old
CLINICAL_PHOTOS = f"arn:aws:elasticfilesystem:{LONDON}:{PROD}:file-system/fs-0c4e6a8b2d1f3e5a9"
#: the online-booking Aurora PostgreSQL cluster: backed up (by AWS Backup) and retained at cluster level
BOOKING_CLUSTER = f"arn:aws:rds:{LONDON}:{PROD}:cluster:booking-aurora"
#: the referral-network Neptune cluster in development: never backed up, retention 1 day
DEV_GRAPH_CLUSTER = f"arn:aws:rds:{LONDON}:{DEV}:cluster:dev-referrals-graph"


def _ec2(account: str, region: str, instance: str) -> str:
    return f"arn:aws:ec2:{region}:{account}:instance/{instance}"


def _vol(account: str, region: str, volume: str) -> str:
    return f"arn:aws:ec2:{region}:{account}:volume/{volume}"


def _job_id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "northwind-aws/" + "/".join(parts))).upper()


def _prod(now: datetime) -> Account:
    def ago(days: float = 0.0, hours: float = 0.0) -> datetime:
        return days_ago(now, days, hours)

    users = [
        # practice manager: console with MFA, signs in daily
        IamUser(
            name="helen.price", created=ago(900), password_enabled=True, password_last_used=ago(1), mfa_active=True
        ),
        # IT contractor: console without MFA; his CLI key is 400 days old (still used)
        IamUser(
            name="raj.patel",
            created=ago(400),
            password_enabled=True,
            password_last_used=ago(3),
            mfa_active=False,
            access_keys=[AccessKey(created=ago(400), last_used=ago(2), last_used_service="ec2")],
        ),
        # receptionist who left in the spring: console without MFA, last sign-in 200 days ago
        IamUser(
            name="sarah.jones", created=ago(700), password_enabled=True, password_last_used=ago(200), mfa_active=False
        ),
        # associate dentist who moved practice: MFA, but not signed in for 120 days
        IamUser(
            name="james.clark", created=ago(500), password_enabled=True, password_last_used=ago(120), mfa_active=True
        ),
        # new dentist: login created 45 days ago, never used
        IamUser(name="tom.baker", created=ago(45), password_enabled=True, password_last_used=None, mfa_active=True),
        # new hygienist: login created 10 days ago, never used (still within the grace period)
        IamUser(name="emma.wilson", created=ago(10), password_enabled=True, password_last_used=None, mfa_active=True),
        # an old backup script: key 500 days old, last used 150 days ago; its second key was deactivated
        IamUser(
            name="backup-script",
            created=ago(800),
            access_keys=[
                AccessKey(created=ago(500), last_used=ago(150), last_used_service="s3"),
                AccessKey(active=False, created=ago(700), last_used=ago(520), last_used_service="s3"),
            ],
        ),
        # CI deploy user: key 1 created 60 days ago and never used; key 2 in daily use
        IamUser(
            name="ci-deploy",
            created=ago(300),
            access_keys=[
                AccessKey(created=ago(60), last_used=None),
                AccessKey(created=ago(20), last_used=ago(1), last_used_service="s3"),
            ],
        ),
        # x-ray upload agent: key 1 in use, key 2 created 10 days ago for rotation and not used yet
        IamUser(
            name="xray-uploader",
            created=ago(600),
            access_keys=[
                AccessKey(created=ago(50), last_used=ago(0, 2), last_used_service="s3"),
                AccessKey(created=ago(10), last_used=None),
            ],
        ),
        # the scanner itself
        IamUser(
            name="hygiene-scanner",
            created=ago(2),
            access_keys=[AccessKey(created=ago(2), last_used=ago(0, 1), last_used_service="iam")],
        ),
    ]
    instances = [
        Instance(
            instance_id=PMS_APP,
            region=LONDON,
            name="pms-app-01",
            platform="Windows",
            instance_type="m5.large",
            volume_ids=[PMS_APP_ROOT, PMS_APP_DATA],
            volume_sizes=[80, 500],
        ),
        Instance(
            instance_id=IMAGING,
            region=LONDON,
            name="imaging-server",
            instance_type="r5.large",
            volume_ids=[IMAGING_ROOT, IMAGING_DATA],
            volume_sizes=[30, 2000],
        ),
        Instance(
            instance_id=FILE_SERVER,
            region=LONDON,
            name="file-server",
            platform="Windows",
            volume_ids=[FILE_SERVER_ROOT],
        ),
        Instance(instance_id=OLD_WEB, region=LONDON, state="stopped", name="old-website", volume_ids=[OLD_WEB_ROOT]),
        Instance(instance_id=VPN, region=LONDON, name="vpn-gateway", instance_type="t3.small", volume_ids=[VPN_ROOT]),
        Instance(
            instance_id=MIGRATION_TEST,
            region=VIRGINIA,
            name="migration-test",
            instance_type="t3.large",
            volume_ids=[MIGRATION_TEST_ROOT],
        ),
    ]
    protected = [
        ProtectedResource(
            arn=_ec2(PROD, LONDON, PMS_APP),
            resource_type="EC2",
            region=LONDON,
            last_backup=ago(0, 6),
            name="pms-app-01",
            vault_name="northwind-locked",
        ),
        ProtectedResource(
            arn=_ec2(PROD, LONDON, IMAGING),
            resource_type="EC2",
            region=LONDON,
            last_backup=ago(3, 1),
            name="imaging-server",
            vault_name="Default",
        ),
        ProtectedResource(
            arn=_vol(PROD, LONDON, IMAGING_DATA),
            resource_type="EBS",
            region=LONDON,
            last_backup=ago(0, 4),
            name="imaging-data",
            vault_name="northwind-locked",
        ),
        ProtectedResource(
            arn=_ec2(PROD, LONDON, VPN),
            resource_type="EC2",
            region=LONDON,
            last_backup=ago(0, 10),
            name="vpn-gateway",
            vault_name="northwind-locked",
        ),
        ProtectedResource(
            arn=PMS_DB,
            resource_type="RDS",
            region=LONDON,
            last_backup=ago(0, 3),
            name="pms-db",
            vault_name="northwind-locked",
        ),
        ProtectedResource(
            arn=PATIENT_DOCS,
            resource_type="EFS",
            region=LONDON,
            last_backup=ago(0, 5),
            name="patient-documents",
            vault_name="northwind-locked",
        ),
        ProtectedResource(
            arn=APPOINTMENTS,
            resource_type="DynamoDB",
            region=LONDON,
            last_backup=ago(4, 2),
            name="appointments",
            vault_name="Default",
        ),
        ProtectedResource(
            arn=CLINICAL_PHOTOS,
            resource_type="EFS",
            region=LONDON,
            last_backup=ago(0, 7),
            name="clinical-photos",
            vault_name="northwind-locked",
            last_status="PARTIAL",
            last_status_message="Some files could not be backed up because they were being modified.",
        ),
        ProtectedResource(
            arn=BOOKING_CLUSTER,
            resource_type="Aurora",
            region=LONDON,
            last_backup=ago(0, 4),
            name="booking-aurora",
            vault_name="northwind-locked",
        ),
    ]
    points = [
        RecoveryPoint(
            resource_arn=CLINICAL_PHOTOS,
            resource_type="EFS",
            region=LONDON,
            vault_name="northwind-locked",
            created=ago(1, 7),
            status="EXPIRED",
            status_message="The recovery point could not be deleted: insufficient permissions.",
        ),
        RecoveryPoint(
            resource_arn=CLINICAL_PHOTOS,
            resource_type="EFS",
            region=LONDON,
            vault_name="northwind-locked",
            created=ago(3, 7),
        ),
    ]
    denied_role = f"arn:aws:iam::{PROD}:role/service-role/AWSBackupDefaultServiceRole"
    jobs = [
        *(
            BackupJob(
                job_id=_job_id(PROD, "pms-app", str(d)),
                region=LONDON,
                resource_arn=_ec2(PROD, LONDON, PMS_APP),
                resource_type="EC2",
                state="COMPLETED",
                created=ago(d, 7),
                completed=ago(d, 6),
                vault_name="northwind-locked",
                size_bytes=580 * 1024**3,
            )
            for d in range(10)
        ),
        BackupJob(
            job_id=_job_id(PROD, "imaging", "ok"),
            region=LONDON,
            resource_arn=_ec2(PROD, LONDON, IMAGING),
            resource_type="EC2",
            state="COMPLETED",
            created=ago(3, 2),
            completed=ago(3, 1),
            size_bytes=2030 * 1024**3,
        ),
        *(
            BackupJob(
                job_id=_job_id(PROD, "imaging", "failed", str(d)),
                region=LONDON,
                resource_arn=_ec2(PROD, LONDON, IMAGING),
                resource_type="EC2",
                state="FAILED",
                created=ago(d, 2),
                completed=ago(d, 1),
                status_message=f"Access denied: {denied_role} is not authorized to perform ec2:CreateImage",
            )
            for d in (1, 2)
        ),
        BackupJob(
            job_id=_job_id(PROD, "imaging-data"),
            region=LONDON,
            resource_arn=_vol(PROD, LONDON, IMAGING_DATA),
            resource_type="EBS",
            state="COMPLETED",
            created=ago(0, 5),
            completed=ago(0, 4),
            vault_name="northwind-locked",
            size_bytes=1890 * 1024**3,
        ),
        BackupJob(
            job_id=_job_id(PROD, "vpn"),
            region=LONDON,
            resource_arn=_ec2(PROD, LONDON, VPN),
            resource_type="EC2",
            state="COMPLETED",
            created=ago(0, 11),
            completed=ago(0, 10),
            vault_name="northwind-locked",
            size_bytes=9 * 1024**3,
        ),
        BackupJob(
            job_id=_job_id(PROD, "pms-db"),
            region=LONDON,
            resource_arn=PMS_DB,
            resource_type="RDS",
            state="COMPLETED",
            created=ago(0, 4),
            completed=ago(0, 3),
            vault_name="northwind-locked",
            size_bytes=40 * 1024**3,
        ),
        BackupJob(
            job_id=_job_id(PROD, "pms-db", "running"),
            region=LONDON,
            resource_arn=PMS_DB,
            resource_type="RDS",
            state="RUNNING",
            created=ago(0, 0.5),
            vault_name="northwind-locked",
        ),
        BackupJob(
            job_id=_job_id(PROD, "efs"),
            region=LONDON,
            resource_arn=PATIENT_DOCS,
            resource_type="EFS",
            state="COMPLETED",
            created=ago(0, 6),
            completed=ago(0, 5),
            vault_name="northwind-locked",
            size_bytes=120 * 1024**3,
        ),
        BackupJob(
            job_id=_job_id(PROD, "ddb", "ok"),
            region=LONDON,
            resource_arn=APPOINTMENTS,
            resource_type="DynamoDB",
            state="COMPLETED",
            created=ago(4, 3),
            completed=ago(4, 2),
            size_bytes=2 * 1024**3,
        ),
        # outside the 14-day look-back: not a finding
        BackupJob(
            job_id=_job_id(PROD, "ddb", "aborted"),
            region=LONDON,
            resource_arn=APPOINTMENTS,
            resource_type="DynamoDB",
            state="ABORTED",
            created=ago(25),
            completed=ago(25),
            status_message="Backup job was stopped by user.",
        ),
        # outside AWS Backup's 30-day job history: ListBackupJobs no longer returns it
        BackupJob(
            job_id=_job_id(PROD, "reporting", "failed"),
            region=LONDON,
            resource_arn=REPORTING_DB,
            resource_type="RDS",
            state="FAILED",
            created=ago(35),
            completed=ago(35),
            status_message="No resource found with the given ARN.",
        ),
    ]
    return Account(
        account_id=PROD,
        name="northwind-prod",
        email="aws-prod@northwind-dental.co.uk",
        regions=[LONDON, VIRGINIA],
        created=ago(2200),
        root=RootUser(mfa_active=True, password_last_used=ago(40)),
        users=users,
        instances=instances,
        db_instances=[
            DbInstance(
                identifier="pms-db",
                region=LONDON,
                engine="postgres",
                backup_retention_period=14,
                latest_restorable_time=ago(0, 0.1),
            ),
            DbInstance(
                identifier="reporting-db",
                region=LONDON,
                engine="mysql",
                instance_class="db.t3.small",
                backup_retention_period=1,
                latest_restorable_time=ago(0, 0.1),
            ),
            *(
                DbInstance(
                    identifier=f"booking-aurora-{n}",
                    region=LONDON,
                    engine="aurora-postgresql",
                    instance_class="db.r6g.large",
                    backup_retention_period=14,
                    cluster="booking-aurora",
                )
                for n in (1, 2)
            ),
        ],
        db_clusters=[DbCluster(identifier="booking-aurora", region=LONDON, backup_retention_period=14)],
        protected_resources=protected,
        recovery_points=points,
        backup_plans=[BackupPlan(name="northwind-daily", region=LONDON, vault_name="northwind-locked")],
        vaults=[
            Vault(name="Default", region=LONDON, locked=False, recovery_points=42),
            # compliance mode, past its lock date: immutable
            Vault(
                name="northwind-locked",
                region=LONDON,
                locked=True,
                recovery_points=180,
                min_retention_days=30,
                lock_date=ago(150),
            ),
            # compliance mode still in its grace time: anyone with the permission can remove the lock for 10 days
            Vault(
                name="northwind-offsite",
                region=LONDON,
                locked=True,
                recovery_points=24,
                min_retention_days=30,
                lock_date=ago(-10),
            ),
        ],
        backup_jobs=jobs,
        restore_testing_plans=[
            RestoreTestingPlan(
                name="monthly_restore_test",
                region=LONDON,
                created=ago(200),
                last_execution=ago(12),
                selections=["EBS", "RDS"],
            )
        ],
        restore_jobs=[
            *(
                RestoreJob(
                    job_id=_job_id(PROD, "restore-test", kind),
                    region=LONDON,
                    status="COMPLETED",
                    created=ago(12, 1),
                    completed=ago(11, 23),
                    resource_type=kind,
                    source_arn=_vol(PROD, LONDON, IMAGING_DATA) if kind == "EBS" else PMS_DB,
                    testing_plan="monthly_restore_test",
                    validation_status="SUCCESSFUL",
                )
                for kind in ("EBS", "RDS")
            ),
            RestoreJob(
                job_id=_job_id(PROD, "restore", "manual"),
                region=LONDON,
                status="COMPLETED",
                created=ago(60, 2),
                completed=ago(60, 1),
                resource_type="EBS",
                source_arn=_vol(PROD, LONDON, IMAGING_DATA),
            ),
        ],
        managed_instances=[
            ManagedInstance(
                instance_id=PMS_APP,
                region=LONDON,
                last_ping=ago(0, 0.1),
                platform_type="Windows",
                platform_name="Microsoft Windows Server 2019 Datacenter",
                platform_version="10.0.17763",
                computer_name="PMS-APP-01",
                ip_address="10.20.1.10",
            ),
            ManagedInstance(
                instance_id=IMAGING,
                region=LONDON,
                last_ping=ago(0, 0.1),
                ip_address="10.20.1.20",
                agent_version="3.2.582.0",
            ),
            ManagedInstance(
                instance_id=OLD_WEB,
                region=LONDON,
                ping_status="ConnectionLost",
                last_ping=ago(70),
                platform_name="Amazon Linux",
                platform_version="2",
                ip_address="10.20.1.40",
                agent_version="3.1.1004.0",
            ),
            ManagedInstance(
                instance_id=VPN,
                region=LONDON,
                ping_status="ConnectionLost",
                last_ping=ago(9),
                ip_address="10.20.0.5",
            ),
            ManagedInstance(
                instance_id=SURGERY_PC,
                region=LONDON,
                last_ping=ago(0, 0.3),
                platform_type="Windows",
                platform_name="Microsoft Windows 10 Pro",
                platform_version="10.0.19045",
                computer_name="SURGERY-PC-01",
                ip_address="192.168.10.21",
                registered=ago(400),
            ),
        ],
        patch_states=[
            # three optional (non-security) updates missing: Patch Manager reports the node NON_COMPLIANT (3 other)
            PatchState(
                instance_id=PMS_APP,
                region=LONDON,
                operation_end=ago(1),
                missing=3,
                other_non_compliant=3,
                baseline_id="arn:aws:ssm:eu-west-2:aws:patchbaseline/pb-016a1b3c5d7e9f201",
            ),
            PatchState(
                instance_id=IMAGING,
                region=LONDON,
                operation_end=ago(0, 20),
                missing=5,
                critical_non_compliant=2,
                security_non_compliant=3,
            ),
            PatchState(instance_id=OLD_WEB, region=LONDON, operation_end=ago(70), missing=0),
            PatchState(
                instance_id=VPN, region=LONDON, operation_end=ago(9), installed_pending_reboot=2, operation="Install"
            ),
            PatchState(
                instance_id=SURGERY_PC,
                region=LONDON,
                operation_end=ago(20),
                baseline_id="arn:aws:ssm:eu-west-2:aws:patchbaseline/pb-016a1b3c5d7e9f201",
            ),
        ],
    )


def _dev(now: datetime) -> Account:
    def ago(days: float = 0.0, hours: float = 0.0) -> datetime:
        return days_ago(now, days, hours)

    return Account(
        account_id=DEV,
        name="northwind-dev",
        email="aws-dev@northwind-dental.co.uk",
        regions=[LONDON],
        enabled_regions=[LONDON, VIRGINIA],  # us-east-1 is enabled (every account has it) but holds nothing
        created=ago(1100),
        # the dev account's root user: no MFA and an access key from its first week, last used 400 days ago
        root=RootUser(
            mfa_active=False,
            access_keys=[
                AccessKey(created=ago(1095), last_used=ago(400), last_used_region=VIRGINIA, last_used_service="ec2")
            ],
        ),
        users=[
            IamUser(name="raj.patel", created=ago(380), password_enabled=True, password_last_used=ago(10)),
            IamUser(
                name="terraform",
                created=ago(700),
                access_keys=[AccessKey(created=ago(30), last_used=ago(1), last_used_service="ec2")],
            ),
            IamUser(
                name="lab-integration",
                created=ago(600),
                access_keys=[
                    AccessKey(created=ago(200), last_used=ago(5), last_used_service="s3"),
                    AccessKey(created=ago(10), last_used=None),
                ],
            ),
            IamUser(
                name="intern2023",
                created=ago(500),
                password_enabled=True,
                password_last_used=ago(300),
                access_keys=[AccessKey(active=False, created=ago(500), last_used=ago(310))],
            ),
        ],
        instances=[
            Instance(instance_id=DEV_PMS, region=LONDON, name="dev-pms", platform="Windows", volume_ids=[DEV_PMS_ROOT]),
            Instance(instance_id=DEV_BUILD, region=LONDON, name="dev-build", volume_ids=[DEV_BUILD_ROOT]),
            Instance(instance_id=DEV_OLD, region=LONDON, state="stopped", name="dev-old", volume_ids=[DEV_OLD_ROOT]),
        ],
        db_instances=[
            DbInstance(
                identifier="dev-db",
                region=LONDON,
                engine="postgres",
                instance_class="db.t3.micro",
                allocated_storage=20,
                backup_retention_period=0,
                latest_restorable_time=None,
            ),
            DbInstance(
                identifier="dev-referrals-graph-1",
                region=LONDON,
                engine="neptune",
                instance_class="db.t4g.medium",
                backup_retention_period=1,
                cluster="dev-referrals-graph",
            ),
        ],
        db_clusters=[
            DbCluster(identifier="dev-referrals-graph", region=LONDON, engine="neptune", backup_retention_period=1)
        ],
        protected_resources=[
            ProtectedResource(
                arn=_ec2(DEV, LONDON, DEV_PMS),
                resource_type="EC2",
                region=LONDON,
                last_backup=ago(0, 20),
                name="dev-pms",
            ),
            ProtectedResource(
                arn=_ec2(DEV, LONDON, DEV_BUILD),
                resource_type="EC2",
                region=LONDON,
                last_backup=ago(2, 1),
                name="dev-build",
            ),
            ProtectedResource(
                arn=DEV_FILES, resource_type="EFS", region=LONDON, last_backup=ago(0, 30), name="dev-files"
            ),
        ],
        backup_plans=[
            BackupPlan(name="dev-weekly", region=LONDON, vault_name="dev-vault", schedule="cron(0 2 ? * 1 *)")
        ],
        vaults=[
            Vault(name="Default", region=LONDON, locked=False, recovery_points=12),
            Vault(name="dev-vault", region=LONDON, locked=False, recovery_points=0),
            # governance mode (no lock date): Locked is true, yet the lock can be removed at any time
            Vault(name="dev-locked", region=LONDON, locked=True, recovery_points=8, min_retention_days=7),
            # compliance mode past its lock date, but with no minimum retention
            Vault(
                name="dev-archive",
                region=LONDON,
                locked=True,
                recovery_points=5,
                min_retention_days=None,
                max_retention_days=None,
                lock_date=ago(60),
            ),
        ],
        restore_testing_plans=[
            # created, never given a resource selection: it restores nothing
            RestoreTestingPlan(name="dev_restore_test", region=LONDON, created=ago(40), selections=[]),
            # runs, but every restore fails
            RestoreTestingPlan(
                name="dev_rds_restore_test",
                region=LONDON,
                created=ago(90),
                last_execution=ago(5),
                selections=["RDS"],
            ),
        ],
        backup_jobs=[
            *(
                BackupJob(
                    job_id=_job_id(DEV, "dev-pms", str(d)),
                    region=LONDON,
                    resource_arn=_ec2(DEV, LONDON, DEV_PMS),
                    resource_type="EC2",
                    state="COMPLETED",
                    created=ago(d, 21),
                    completed=ago(d, 20),
                    size_bytes=60 * 1024**3,
                )
                for d in range(3)
            ),
            BackupJob(
                job_id=_job_id(DEV, "dev-build", "ok"),
                region=LONDON,
                resource_arn=_ec2(DEV, LONDON, DEV_BUILD),
                resource_type="EC2",
                state="COMPLETED",
                created=ago(2, 2),
                completed=ago(2, 1),
                size_bytes=30 * 1024**3,
            ),
            BackupJob(
                job_id=_job_id(DEV, "dev-build", "expired"),
                region=LONDON,
                resource_arn=_ec2(DEV, LONDON, DEV_BUILD),
                resource_type="EC2",
                state="EXPIRED",
                created=ago(1, 10),
                completed=ago(1, 2),
                status_message="Backup job expired because it did not start within its start window.",
            ),
            BackupJob(
                job_id=_job_id(DEV, "efs", "partial"),
                region=LONDON,
                resource_arn=DEV_FILES,
                resource_type="EFS",
                state="PARTIAL",
                created=ago(5, 3),
                completed=ago(5, 1),
                status_message="Some files could not be backed up because they were being modified.",
            ),
            BackupJob(
                job_id=_job_id(DEV, "efs", "ok"),
                region=LONDON,
                resource_arn=DEV_FILES,
                resource_type="EFS",
                state="COMPLETED",
                created=ago(0, 31),
                completed=ago(0, 30),
                size_bytes=5 * 1024**3,
            ),
            BackupJob(
                job_id=_job_id(DEV, "dev-db", "failed"),
                region=LONDON,
                resource_arn=DEV_DB,
                resource_type="RDS",
                state="FAILED",
                created=ago(40),
                completed=ago(40),
                status_message="Automated backups are disabled for this DB instance.",
            ),
        ],
        restore_jobs=[
            RestoreJob(
                job_id=_job_id(DEV, "restore", "old"),
                region=LONDON,
                status="COMPLETED",
                created=ago(380, 2),
                completed=ago(380, 1),
                resource_type="EC2",
                source_arn=_ec2(DEV, LONDON, DEV_PMS),
            ),
            RestoreJob(
                job_id=_job_id(DEV, "restore", "failed"),
                region=LONDON,
                status="FAILED",
                created=ago(30, 2),
                completed=ago(30, 1),
                resource_type="EC2",
                source_arn=_ec2(DEV, LONDON, DEV_BUILD),
                status_message="The specified subnet does not exist.",
            ),
            RestoreJob(
                job_id=_job_id(DEV, "restore-test", "rds"),
                region=LONDON,
                status="FAILED",
                created=ago(5, 2),
                completed=ago(5, 1),
                resource_type="RDS",
                source_arn=DEV_DB,
                testing_plan="dev_rds_restore_test",
                status_message="The DB subnet group dev-private does not exist.",
            ),
        ],
        managed_instances=[
            ManagedInstance(
                instance_id=DEV_PMS,
                region=LONDON,
                last_ping=ago(0, 0.2),
                platform_type="Windows",
                platform_name="Microsoft Windows Server 2019 Datacenter",
                platform_version="10.0.17763",
                computer_name="DEV-PMS",
                ip_address="10.30.1.10",
            ),
            ManagedInstance(instance_id=DEV_BUILD, region=LONDON, last_ping=ago(0, 0.2), ip_address="10.30.1.20"),
        ],
        patch_states=[
            PatchState(instance_id=DEV_PMS, region=LONDON, operation_end=ago(2), failed=1, operation="Install"),
            # on the default baseline (its compliance levels are Unspecified): four patches missing and every
            # severity count 0, yet NON_COMPLIANT
            PatchState(instance_id=DEV_BUILD, region=LONDON, operation_end=ago(1), missing=4),
        ],
    )


def _logs(now: datetime) -> Account:
    """The log archive account, opened in 2025 after centralised root access was enabled: its root user's
    credentials were deleted from the management account (no password, keys or MFA device: nothing to protect)."""
    return Account(
        account_id=LOGS,
        name="northwind-logs",
        email="aws-logs@northwind-dental.co.uk",
        regions=[LONDON],
        enabled_regions=[LONDON, VIRGINIA],
        created=days_ago(now, 300),
        root=RootUser(mfa_active=False, password=False),
    )


def _old(now: datetime) -> Account:
    """The 2021 sandbox account, closed: Organizations lists it as SUSPENDED; nothing in it can be read."""
    return Account(
        account_id=OLD,
        name="northwind-sandbox-2021",
        email="aws-sandbox@northwind-dental.co.uk",
        state="SUSPENDED",
        regions=[LONDON],
        created=days_ago(now, 1500),
    )


def northwind_aws(now: datetime | None = None) -> AwsScenario:
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    scenario = AwsScenario(
        name="northwind-dental-aws",
        now=now,
        management_account_id=PROD,
        accounts=[_prod(now), _dev(now), _logs(now), _old(now)],
        root_access_features=["RootCredentialsManagement", "RootSessions"],
        description="Northwind Dental Ltd: production (management) and development accounts in eu-west-2, one "
        "forgotten instance in us-east-1, a log archive account without root credentials (centralised root "
        "access), and a closed (SUSPENDED) 2021 sandbox account.",
    )
    scenario.expected = {
        "aws.root.mfa": fails(f"{DEV}:root"),
        "aws.root.access_keys": fails(f"{DEV}:root"),
        "aws.iam.console_mfa": fails(
            f"{PROD}:raj.patel",
            f"{PROD}:sarah.jones",
            f"{DEV}:raj.patel",
            f"{DEV}:intern2023",
        ),
        "aws.iam.inactive_users": fails(
            f"{PROD}:sarah.jones",  # last sign-in 200 days ago
            f"{PROD}:james.clark",  # last sign-in 120 days ago
            f"{PROD}:tom.baker",  # created 45 days ago, never signed in
            f"{DEV}:intern2023",  # last sign-in 300 days ago
        ),
        "aws.iam.unused_access_keys": fails(
            f"{PROD}:backup-script:key1",  # last used 150 days ago
            f"{PROD}:ci-deploy:key1",  # never used, created 60 days ago
        ),
        "aws.iam.access_key_age": fails(
            f"{PROD}:raj.patel:key1",  # 400 days
            f"{PROD}:backup-script:key1",  # 500 days
            f"{DEV}:lab-integration:key1",  # 200 days
        ),
        "aws.backup.coverage": fails(
            # imaging-server: newest recovery point 3 days old; its root volume with it (the data volume has its
            # own recent EBS backup, so it passes)
            f"{PROD}:{LONDON}:{IMAGING}",
            _vol(PROD, LONDON, IMAGING_ROOT),
            # file-server: never backed up
            f"{PROD}:{LONDON}:{FILE_SERVER}",
            _vol(PROD, LONDON, FILE_SERVER_ROOT),
            # the forgotten us-east-1 instance
            f"{PROD}:{VIRGINIA}:{MIGRATION_TEST}",
            _vol(PROD, VIRGINIA, MIGRATION_TEST_ROOT),
            REPORTING_DB,  # never backed up by AWS Backup
            APPOINTMENTS,  # DynamoDB: newest recovery point 4 days old
            f"{DEV}:{LONDON}:{DEV_BUILD}",  # 2 days old
            _vol(DEV, LONDON, DEV_BUILD_ROOT),
            DEV_DB,  # never backed up
            DEV_FILES,  # EFS: 30 hours old
            # LastBackupTime 7 hours ago, but that point is PARTIAL and the one before EXPIRED: the newest
            # COMPLETED one is 3 days old
            CLINICAL_PHOTOS,
            # Neptune: judged once, as the cluster (its member instance is not a finding of its own); booking-aurora
            # is backed up at cluster level, so neither it nor its two instances fail
            DEV_GRAPH_CLUSTER,
        ),
        "aws.backup.job_failures": fails(
            _ec2(PROD, LONDON, IMAGING),  # FAILED yesterday and the day before
            _ec2(DEV, LONDON, DEV_BUILD),  # EXPIRED yesterday
            DEV_FILES,  # PARTIAL 5 days ago
        ),
        "aws.backup.vault_immutable": fails(
            f"{PROD}:{LONDON}:Default",  # no Vault Lock
            f"{PROD}:{LONDON}:northwind-offsite",  # compliance mode, grace time for 10 more days
            f"{DEV}:{LONDON}:Default",  # no Vault Lock
            f"{DEV}:{LONDON}:dev-locked",  # governance mode
            f"{DEV}:{LONDON}:dev-archive",  # compliance mode, no MinRetentionDays
        ),
        "aws.backup.restore_tested": fails(
            # a plan with no selections, a plan whose restores fail, a manual restore 380 days ago and a failed one
            DEV,
            LOGS,  # the log archive account has never tested a restore
        ),
        "aws.rds.backup_retention": fails(REPORTING_DB, DEV_DB, DEV_GRAPH_CLUSTER),  # 1 day; 0 (off); 1 day
        "aws.patch.ssm_managed": fails(
            f"{PROD}:{LONDON}:{FILE_SERVER}",  # no SSM agent
            f"{PROD}:{LONDON}:{VPN}",  # ConnectionLost
            f"{PROD}:{VIRGINIA}:{MIGRATION_TEST}",  # no SSM agent
        ),
        "aws.patch.compliance": fails(
            f"{PROD}:{LONDON}:{PMS_APP}",  # 3 missing, classified other (neither critical nor security)
            f"{PROD}:{LONDON}:{IMAGING}",  # 2 critical / 3 security patches missing
            f"{PROD}:{LONDON}:{OLD_WEB}",  # last scan 70 days ago
            f"{PROD}:{LONDON}:{VPN}",  # 2 installed, pending reboot
            f"{PROD}:{LONDON}:{SURGERY_PC}",  # last scan 20 days ago
            f"{DEV}:{LONDON}:{DEV_PMS}",  # 1 failed install
            f"{DEV}:{LONDON}:{DEV_BUILD}",  # 4 missing, no severity classified (default baseline)
        ),
    }
    return scenario
