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

The estate itself is data, ``data/northwind.yaml`` (built by ``hygiene_sandbox.scenario_data``); the names
below are the ids of what it holds, for ``expected`` and the tests. ``expected`` is written by hand from the
stories (the independent oracle a correct scan must reproduce), not derived from the data.
Thresholds assumed (the sme-baseline policy): inactive 90 days, never-signed-in grace 30 days, key unused 90 days
(never used: 30-day grace), key rotation 90 days, backup RPO 24 hours, job look-back 14 days, restore test within
365 days, RDS retention at least 7 days, Vault Lock minimum retention at least 7 days, patch scan at most 14 days
old.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hygiene_sandbox.aws.scenario import AwsScenario, fails
from hygiene_sandbox.scenario_data import build, load_data

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


def northwind_aws(now: datetime | None = None) -> AwsScenario:
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    data = load_data("hygiene_sandbox.aws", "data/northwind.yaml")
    scenario = build(AwsScenario, data, now, given={"now": now, "expected": {}})
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
