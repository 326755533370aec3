"""An AWS sandbox scenario: an organisation's accounts, what each holds, and the check results a correct scan of
it must produce (``expected``).

Everything is plain data relative to ``now``. The sandbox (``hygiene_sandbox.aws.server``) turns it into real
wire responses: part of it is seeded into moto (Organizations, IAM principals, EC2, RDS, Backup plans and vaults),
the rest is served by the sandbox itself (the IAM credential report and account summary, Backup jobs, protected
resources and restores, SSM instance information and patch states).

Resource names used in ``expected`` follow the checks' conventions: IAM users ``<account>:<user>``, root
``<account>:root``, access keys ``<account>:<user>:key1``, EC2 instances and SSM managed nodes
``<account>:<region>:<instance id>``, vaults ``<account>:<region>:<vault>``, account-level findings ``<account>``,
everything else its ARN.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from hygiene_sandbox.expectation import Expectation, JsonDict, fails, not_assessed, passes

__all__ = [
    "AWS_CHECK_IDS",
    "AccessKey",
    "Account",
    "AwsScenario",
    "BackupJob",
    "BackupPlan",
    "DbCluster",
    "DbInstance",
    "Expectation",
    "IamUser",
    "Instance",
    "ManagedInstance",
    "PatchState",
    "ProtectedResource",
    "RecoveryPoint",
    "RestoreJob",
    "RestoreTestingPlan",
    "RootUser",
    "Vault",
    "aws_hex_id",
    "fails",
    "not_assessed",
    "passes",
]

#: the AWS checks a scenario carries expectations for
AWS_CHECK_IDS: tuple[str, ...] = (
    "aws.root.mfa",
    "aws.root.access_keys",
    "aws.iam.console_mfa",
    "aws.iam.inactive_users",
    "aws.iam.unused_access_keys",
    "aws.iam.access_key_age",
    "aws.backup.coverage",
    "aws.backup.job_failures",
    "aws.backup.vault_immutable",
    "aws.backup.restore_tested",
    "aws.rds.backup_retention",
    "aws.patch.ssm_managed",
    "aws.patch.compliance",
)

#: Organizations ``Account.State`` (botocore organizations model, shape AccountState)
AccountState = Literal["PENDING_ACTIVATION", "ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED"]
#: states in which an account can be used (and so holds what the scenario gives it)
USABLE_STATES: tuple[AccountState, ...] = ("ACTIVE", "PENDING_CLOSURE")
InstanceState = Literal["running", "stopped"]
#: EC2 ``Instance.PlatformDetails`` values for plain Linux and Windows instances
Platform = Literal["Linux/UNIX", "Windows"]
#: AWS Backup resource type names as ListProtectedResources reports them (``ResourceType`` in the botocore backup
#: model's documentation: Aurora, DocumentDB and Neptune are clusters)
BackupResourceType = Literal["EC2", "EBS", "RDS", "EFS", "DynamoDB", "Aurora", "DocumentDB", "Neptune"]
#: RecoveryPointStatus (botocore backup model)
RecoveryPointStatus = Literal["COMPLETED", "PARTIAL", "DELETING", "EXPIRED", "AVAILABLE", "STOPPED", "CREATING"]
#: RestoreValidationStatus (botocore backup model)
RestoreValidationStatus = Literal["FAILED", "SUCCESSFUL", "TIMED_OUT", "VALIDATING"]
#: VaultType (botocore backup model)
VaultType = Literal["BACKUP_VAULT", "LOGICALLY_AIR_GAPPED_BACKUP_VAULT", "RESTORE_ACCESS_BACKUP_VAULT"]
#: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupJob.html (State)
BackupJobState = Literal[
    "CREATED", "PENDING", "RUNNING", "ABORTING", "ABORTED", "COMPLETED", "FAILED", "EXPIRED", "PARTIAL"
]
RestoreJobStatus = Literal["PENDING", "RUNNING", "COMPLETED", "ABORTED", "FAILED"]
PingStatus = Literal["Online", "ConnectionLost", "Inactive"]


#: id shapes (the node pattern is SSM's InstanceId pattern in the botocore ssm model)
_INSTANCE_ID = re.compile(r"^i-([0-9a-f]{8}|[0-9a-f]{17})$")
_VOLUME_ID = re.compile(r"^vol-([0-9a-f]{8}|[0-9a-f]{17})$")
_NODE_ID = re.compile(r"(^i-(\w{8}|\w{17})$)|(^mi-\w{17}$)")


def aws_hex_id(prefix: str, *parts: str, length: int = 17) -> str:
    """A deterministic AWS-shaped id (``i-``/``vol-``/``fs-`` + 17 lower-case hex digits) for a named object."""
    digest = hashlib.blake2b("/".join(parts).encode(), digest_size=16).hexdigest()
    return f"{prefix}-{digest[:length]}"


def utc(value: datetime) -> datetime:
    return value if value.tzinfo is UTC else value.astimezone(UTC)


# -- IAM -----------------------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class AccessKey:
    """One access key slot of a user (or of the root user)."""

    active: bool = True
    #: creation (or last rotation) time: ``access_key_N_last_rotated``
    created: datetime
    #: ``access_key_N_last_used_date``; None = never used (the report says ``N/A``)
    last_used: datetime | None = None
    last_used_region: str = "eu-west-2"
    last_used_service: str = "s3"


@dataclass(kw_only=True)
class IamUser:
    name: str
    created: datetime
    password_enabled: bool = False
    #: None with a password = never signed in (``no_information``); ignored without a password (``N/A``)
    password_last_used: datetime | None = None
    #: when the password was last set (defaults to the creation time)
    password_last_changed: datetime | None = None
    mfa_active: bool = False
    #: up to two slots, in slot order
    access_keys: list[AccessKey] = field(default_factory=list)
    path: str = "/"

    def arn(self, account_id: str) -> str:
        return f"arn:aws:iam::{account_id}:user{self.path}{self.name}"


@dataclass(kw_only=True)
class RootUser:
    """The root user's credentials. ``password=False`` with no MFA and no keys is a root user whose credentials
    were deleted (centralised root access, "Delete root user credentials")."""

    mfa_active: bool = True
    #: GetAccountSummary AccountPasswordPresent
    password: bool = True
    access_keys: list[AccessKey] = field(default_factory=list)
    #: None = never signed in (``no_information``)
    password_last_used: datetime | None = None


# -- compute and databases -----------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class Instance:
    """An EC2 instance. ``volume_ids`` are its attached EBS volumes, the root volume first."""

    instance_id: str
    region: str
    state: InstanceState = "running"
    name: str | None = None
    platform: Platform = "Linux/UNIX"
    instance_type: str = "t3.medium"
    volume_ids: list[str] = field(default_factory=list)
    volume_sizes: list[int] = field(default_factory=list)

    def arn(self, account_id: str) -> str:
        return f"arn:aws:ec2:{self.region}:{account_id}:instance/{self.instance_id}"

    def volume_arn(self, account_id: str, volume_id: str) -> str:
        return f"arn:aws:ec2:{self.region}:{account_id}:volume/{volume_id}"


@dataclass(kw_only=True)
class DbInstance:
    identifier: str
    region: str
    engine: str = "postgres"
    instance_class: str = "db.t3.medium"
    allocated_storage: int = 100
    #: days of automated backups; 0 = automated backups off
    backup_retention_period: int = 7
    #: None when automated backups are off
    latest_restorable_time: datetime | None = None
    #: the DB cluster this instance is a member of (``DBInstance.DBClusterIdentifier``), if any
    cluster: str | None = None

    def arn(self, account_id: str) -> str:
        return f"arn:aws:rds:{self.region}:{account_id}:db:{self.identifier}"


@dataclass(kw_only=True)
class DbCluster:
    """A DB cluster (Aurora or Neptune here: moto 5 creates neither DocumentDB clusters nor instances); its
    members are the ``DbInstance`` entries whose ``cluster`` names it."""

    identifier: str
    region: str
    engine: Literal["aurora-postgresql", "aurora-mysql", "neptune"] = "aurora-postgresql"
    backup_retention_period: int = 7

    def arn(self, account_id: str) -> str:
        return f"arn:aws:rds:{self.region}:{account_id}:cluster:{self.identifier}"


# -- AWS Backup ----------------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class ProtectedResource:
    """A resource AWS Backup holds recovery points for (ListProtectedResources)."""

    arn: str
    resource_type: BackupResourceType
    region: str
    #: the newest recovery point, whatever its status (``LastBackupTime``); the sandbox also lists a recovery point
    #: at this time, in ``vault_name``, with ``last_status``
    last_backup: datetime
    name: str | None = None
    vault_name: str = "Default"
    last_status: RecoveryPointStatus = "COMPLETED"
    last_status_message: str | None = None


@dataclass(kw_only=True)
class RecoveryPoint:
    """A recovery point besides the newest one of each protected resource (which ``ProtectedResource`` implies)."""

    resource_arn: str
    resource_type: BackupResourceType
    region: str
    vault_name: str
    created: datetime
    status: RecoveryPointStatus = "COMPLETED"
    status_message: str | None = None


@dataclass(kw_only=True)
class BackupPlan:
    name: str
    region: str
    vault_name: str
    schedule: str = "cron(0 1 * * ? *)"
    delete_after_days: int = 35


@dataclass(kw_only=True)
class Vault:
    """A backup vault. A locked vault without ``lock_date`` is in governance mode; with one, in compliance mode (in
    its grace time until ``lock_date``, immutable after it)."""

    name: str
    region: str
    locked: bool = False
    recovery_points: int = 0
    min_retention_days: int | None = 7
    max_retention_days: int | None = 365
    lock_date: datetime | None = None
    vault_type: VaultType = "BACKUP_VAULT"


@dataclass(kw_only=True)
class BackupJob:
    job_id: str
    region: str
    resource_arn: str
    resource_type: BackupResourceType
    state: BackupJobState
    created: datetime
    completed: datetime | None = None
    status_message: str | None = None
    vault_name: str = "Default"
    size_bytes: int = 0


@dataclass(kw_only=True)
class RestoreTestingPlan:
    name: str
    region: str
    created: datetime
    schedule: str = "cron(0 5 ? * 1 *)"
    last_execution: datetime | None = None
    #: the ProtectedResourceType of each restore testing selection
    selections: list[str] = field(default_factory=lambda: ["EBS"])


@dataclass(kw_only=True)
class RestoreJob:
    job_id: str
    region: str
    status: RestoreJobStatus
    created: datetime
    completed: datetime | None = None
    resource_type: BackupResourceType = "EBS"
    source_arn: str | None = None
    status_message: str | None = None
    #: the restore testing plan (by name, same region) that started the job; None: a manual restore
    testing_plan: str | None = None
    validation_status: RestoreValidationStatus | None = None


# -- Systems Manager -----------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class ManagedInstance:
    """An SSM managed node: an EC2 instance (``i-``) or a hybrid-activated machine (``mi-``)."""

    instance_id: str
    region: str
    ping_status: PingStatus = "Online"
    last_ping: datetime
    platform_type: Literal["Windows", "Linux", "MacOS"] = "Linux"
    platform_name: str = "Amazon Linux"
    platform_version: str = "2023"
    agent_version: str = "3.3.1142.0"
    computer_name: str | None = None
    ip_address: str = "10.0.1.10"
    registered: datetime | None = None


@dataclass(kw_only=True)
class PatchState:
    instance_id: str
    region: str
    operation_end: datetime
    missing: int = 0
    failed: int = 0
    installed: int = 120
    installed_other: int = 4
    installed_pending_reboot: int = 0
    installed_rejected: int = 0
    critical_non_compliant: int = 0
    security_non_compliant: int = 0
    other_non_compliant: int = 0
    #: ``AvailableSecurityUpdateCount`` (Windows Server nodes); None: not in the answer
    available_security_updates: int | None = None
    not_applicable: int = 300
    operation: Literal["Scan", "Install"] = "Scan"
    baseline_id: str = "arn:aws:ssm:eu-west-2:aws:patchbaseline/pb-0c10e65780626b6de"
    patch_group: str = "default"


# -- accounts and the scenario -------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class Account:
    account_id: str
    name: str
    email: str
    #: served as ``Account.State`` only: ``Status`` was retired on September 9, 2026
    state: AccountState = "ACTIVE"
    #: regions the account uses (resources outside them do not exist)
    regions: list[str] = field(default_factory=lambda: ["eu-west-2"])
    #: regions DescribeRegions lists as enabled; None: ``regions``. (A real account lists every default region
    #: too: the sandbox lists only these, which keeps a discovering scan small.)
    enabled_regions: list[str] | None = None
    created: datetime
    root: RootUser = field(default_factory=RootUser)
    users: list[IamUser] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)
    db_instances: list[DbInstance] = field(default_factory=list)
    db_clusters: list[DbCluster] = field(default_factory=list)
    protected_resources: list[ProtectedResource] = field(default_factory=list)
    #: recovery points besides each protected resource's newest
    recovery_points: list[RecoveryPoint] = field(default_factory=list)
    backup_plans: list[BackupPlan] = field(default_factory=list)
    vaults: list[Vault] = field(default_factory=list)
    backup_jobs: list[BackupJob] = field(default_factory=list)
    restore_testing_plans: list[RestoreTestingPlan] = field(default_factory=list)
    restore_jobs: list[RestoreJob] = field(default_factory=list)
    managed_instances: list[ManagedInstance] = field(default_factory=list)
    patch_states: list[PatchState] = field(default_factory=list)

    @property
    def enabled(self) -> list[str]:
        return list(self.regions if self.enabled_regions is None else self.enabled_regions)

    def user(self, name: str) -> IamUser:
        for candidate in self.users:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def instance(self, instance_id: str) -> Instance:
        for candidate in self.instances:
            if candidate.instance_id == instance_id:
                return candidate
        raise KeyError(instance_id)

    def in_region(self, items: list[Any], region: str) -> list[Any]:
        return [item for item in items if item.region == region]


@dataclass(kw_only=True)
class AwsScenario:
    """One simulated AWS organisation. Everything the AWS sandbox serves comes from here."""

    name: str
    #: the moment the data is relative to
    now: datetime
    management_account_id: str
    organization_id: str = "o-n7w2d4e8x1"
    #: every account of the organisation, the management account included
    accounts: list[Account] = field(default_factory=list)
    #: the IAM user whose access key the sandbox hands out (``AwsSandbox.credentials``)
    scanner_user: str = "hygiene-scanner"
    #: a role in the management account the scanner may assume first (its ``role_arn``)
    scanner_role: str = "HygieneScanner"
    #: the role assumable in every member account (the scanner's ``organization_role``)
    organization_role: str = "HygieneReadOnly"
    #: IAM ListOrganizationsFeatures ``EnabledFeatures`` (centralised root access: RootCredentialsManagement,
    #: RootSessions); None: IAM trusted access is not enabled in Organizations (ServiceAccessNotEnabledException)
    root_access_features: list[str] | None = None
    #: account id -> operation names (``ListBackupJobs`` or ``backup:ListBackupJobs``) answered with AccessDenied;
    #: ``AssumeRole`` listed under a member account denies assuming its role
    access_denied: dict[str, set[str]] = field(default_factory=dict)
    expected: dict[str, Expectation] = field(default_factory=dict)
    description: str = ""

    @property
    def management(self) -> Account:
        return self.account(self.management_account_id)

    @property
    def members(self) -> list[Account]:
        return [a for a in self.accounts if a.account_id != self.management_account_id]

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.management_account_id}:role/{self.scanner_role}"

    @property
    def regions(self) -> list[str]:
        """Every region any account uses or has enabled, in first-seen order."""
        seen: list[str] = []
        for account in self.accounts:
            seen.extend(r for r in [*account.regions, *account.enabled] if r not in seen)
        return seen

    def account(self, account_id: str) -> Account:
        for candidate in self.accounts:
            if candidate.account_id == account_id:
                return candidate
        raise KeyError(account_id)

    def denied(self, account_id: str, service: str, operation: str) -> bool:
        names = self.access_denied.get(account_id) or set()
        return operation in names or f"{service}:{operation}" in names

    def replace(self, **changes: Any) -> AwsScenario:
        return dataclasses.replace(self, **changes)

    def expected_json(self) -> JsonDict:
        return {k: v.to_json() for k, v in sorted(self.expected.items())}

    def validate(self) -> None:
        """Internal consistency: ids unique, references resolvable, at most two keys per user. Raises ValueError."""
        problems: list[str] = []
        ids = [a.account_id for a in self.accounts]
        if len(set(ids)) != len(ids):
            problems.append("duplicate account ids")
        if self.management_account_id not in ids:
            problems.append("the management account is not among the accounts")
        for account in self.accounts:
            where = account.account_id
            if len(account.account_id) != 12 or not account.account_id.isdigit():
                problems.append(f"{where}: an account id is 12 digits")
            names = [u.name for u in account.users]
            if len(set(names)) != len(names):
                problems.append(f"{where}: duplicate user names")
            for user in account.users:
                if len(user.access_keys) > 2:
                    problems.append(f"{where}:{user.name}: more than two access keys")
                if user.password_last_used is not None and user.password_last_used < user.created:
                    problems.append(f"{where}:{user.name}: password used before the user existed")
                for key in user.access_keys:
                    if key.created < user.created - timedelta(minutes=5):
                        problems.append(f"{where}:{user.name}: an access key older than its user")
                    if key.last_used is not None and key.last_used < key.created:
                        problems.append(f"{where}:{user.name}: an access key used before it was created")
            if len(account.root.access_keys) > 2:
                problems.append(f"{where}: root has more than two access keys")
            instance_ids = {i.instance_id for i in account.instances}
            if len(instance_ids) != len(account.instances):
                problems.append(f"{where}: duplicate instance ids")
            for inst in account.instances:
                if not _INSTANCE_ID.match(inst.instance_id) or not all(_VOLUME_ID.match(v) for v in inst.volume_ids):
                    problems.append(f"{where}: {inst.instance_id} or its volume ids are not AWS-shaped")
                if inst.region not in account.regions:
                    problems.append(f"{where}: {inst.instance_id} is outside the account's regions")
                if not inst.volume_ids:
                    problems.append(f"{where}: {inst.instance_id} has no root volume")
            vaults = {(v.region, v.name) for v in account.vaults}
            for plan in account.backup_plans:
                if (plan.region, plan.vault_name) not in vaults:
                    problems.append(f"{where}: plan {plan.name} targets a missing vault")
            for node in account.managed_instances:
                if not _NODE_ID.match(node.instance_id):
                    problems.append(f"{where}: {node.instance_id} is not an SSM node id")
            managed = {(m.region, m.instance_id) for m in account.managed_instances}
            for state in account.patch_states:
                if (state.region, state.instance_id) not in managed:
                    problems.append(f"{where}: patch state for unmanaged {state.instance_id}")
            newest = {(r.region, r.arn): r.last_backup for r in account.protected_resources}
            for point in account.recovery_points:
                if (point.region, point.vault_name) not in vaults:
                    problems.append(f"{where}: a recovery point of {point.resource_arn} in a missing vault")
                last = newest.get((point.region, point.resource_arn))
                if last is None or point.created > last:
                    problems.append(f"{where}: {point.resource_arn} has a point newer than its LastBackupTime")
            for resource in account.protected_resources:
                if (resource.region, resource.vault_name) not in vaults:
                    problems.append(f"{where}: {resource.arn}'s newest recovery point is in a missing vault")
            clusters = {(c.region, c.identifier) for c in account.db_clusters}
            for db in account.db_instances:
                if db.cluster is not None and (db.region, db.cluster) not in clusters:
                    problems.append(f"{where}: {db.identifier} is in a missing cluster")
            plans = {(p.region, p.name) for p in account.restore_testing_plans}
            for restore in account.restore_jobs:
                if restore.testing_plan is not None and (restore.region, restore.testing_plan) not in plans:
                    problems.append(f"{where}: restore job {restore.job_id} from a missing testing plan")
            for job in account.backup_jobs:
                if job.completed is not None and job.completed < job.created:
                    problems.append(f"{where}: job {job.job_id} completes before it starts")
        for check_id in self.expected:
            if check_id not in AWS_CHECK_IDS:
                problems.append(f"unknown check {check_id}")
        if problems:
            raise ValueError("; ".join(problems))


def days_ago(now: datetime, days: float = 0.0, hours: float = 0.0) -> datetime:
    return utc(now) - timedelta(days=days, hours=hours)
