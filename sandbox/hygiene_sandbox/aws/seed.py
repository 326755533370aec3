"""Seeding moto with a scenario: Organizations (the organisation and its accounts), the scanner's IAM principals,
EC2 instances with their volumes and Name tags, RDS instances with their retention, Backup plans, vaults and vault
locks. Everything goes through boto3 against the moto server, one account at a time (``x-moto-account-id``).

Three things the public API cannot express are set through moto's id generators while seeding, and verified
afterwards (a moto upgrade that breaks them fails loudly here rather than producing a different organisation):
the member account ids (moto draws random ones), EC2 instance and EBS volume ids (random too), and the management
account's name (moto calls it ``master``).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
from botocore.config import Config

from hygiene_sandbox.aws.scenario import USABLE_STATES, Account, AwsScenario, Instance

#: AMIs moto ships with (moto/ec2/resources/amis.json): Amazon Linux 2 and Windows Server 2016
LINUX_AMI = "ami-04681a1dbd79675a5"
WINDOWS_AMI = "ami-b7e93bce"
SEED_KEY = "AKIA_SANDBOX_SEEDER"  # not a real key: underscores keep it out of key-shaped patterns
_id_lock = threading.RLock()


class SeedError(RuntimeError):
    pass


@contextlib.contextmanager
def _fixed_ids(module: ModuleType, attribute: str, ids: list[str]) -> Iterator[deque[str]]:
    """Make ``module.attribute()`` hand out ``ids`` in order (then fall back to the original generator)."""
    original: Callable[[], str] = getattr(module, attribute)
    queue: deque[str] = deque(ids)

    def next_id() -> str:
        return queue.popleft() if queue else original()

    with _id_lock:
        setattr(module, attribute, next_id)
        try:
            yield queue
        finally:
            setattr(module, attribute, original)


class Seeder:
    def __init__(self, scenario: AwsScenario, moto_url: str) -> None:
        self.scenario = scenario
        self.moto_url = moto_url
        self._clients: dict[tuple[str, str, str], Any] = {}
        #: filled by seed(): the scanner user's access key
        self.access_key_id = ""
        self.secret_access_key = ""

    def client(self, service: str, account_id: str, region: str = "us-east-1") -> Any:
        key = (service, account_id, region)
        found = self._clients.get(key)
        if found is None:
            found = boto3.client(
                service,
                endpoint_url=self.moto_url,
                region_name=region,
                aws_access_key_id=SEED_KEY,
                aws_secret_access_key="sandbox-seed",  # noqa: S106 - moto does not check it
                config=Config(retries={"total_max_attempts": 1}),
            )

            def add_account(request: Any, **_: Any) -> None:
                request.headers["x-moto-account-id"] = account_id

            found.meta.events.register("before-sign", add_account)
            self._clients[key] = found
        return found

    def seed(self) -> None:
        self._organization()
        self._principals()
        for account in self.scenario.accounts:
            if account.state not in USABLE_STATES:
                continue
            for region in account.regions:
                self._ec2(account, region)
                self._rds(account, region)
                self._backup(account, region)

    # -- Organizations --------------------------------------------------------------------------------------
    def _organization(self) -> None:
        from moto.organizations import utils as org_utils
        from moto.organizations.models import organizations_backends

        scenario = self.scenario
        management = scenario.management
        org = self.client("organizations", management.account_id)
        org.create_organization(FeatureSet="ALL")
        members = scenario.members
        with _fixed_ids(org_utils, "make_random_account_id", [m.account_id for m in members]):
            for member in members:
                org.create_account(Email=member.email, AccountName=member.name, RoleName=scenario.organization_role)
        for member in members:
            if member.state in ("SUSPENDED", "CLOSED"):  # moto knows ACTIVE and SUSPENDED only
                org.close_account(AccountId=member.account_id)
        # moto names the management account "master"; real accounts keep the name they were given
        backend = organizations_backends[management.account_id]["aws"]
        for fake in backend.accounts:
            if fake.id == management.account_id:
                fake.name = management.name
                fake.email = management.email
        listed = {a["Id"]: a for page in org.get_paginator("list_accounts").paginate() for a in page["Accounts"]}
        for account in scenario.accounts:
            found = listed.get(account.account_id)
            moto_state = "SUSPENDED" if account.state in ("SUSPENDED", "CLOSED") else "ACTIVE"
            if found is None or found["Name"] != account.name or found["State"] != moto_state:
                raise SeedError(f"moto did not create account {account.account_id} ({account.name}) as asked")

    def _principals(self) -> None:
        scenario = self.scenario
        management = scenario.management_account_id
        iam = self.client("iam", management)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{management}:root"}, "Action": "sts:AssumeRole"}
            ],
        }
        iam.create_user(UserName=scenario.scanner_user)
        key = iam.create_access_key(UserName=scenario.scanner_user)["AccessKey"]
        self.access_key_id = str(key["AccessKeyId"])
        self.secret_access_key = str(key["SecretAccessKey"])
        iam.create_role(RoleName=scenario.scanner_role, AssumeRolePolicyDocument=json.dumps(trust))

    # -- EC2 ------------------------------------------------------------------------------------------------
    def _ec2(self, account: Account, region: str) -> None:
        from moto.ec2.models import elastic_block_store, instances

        wanted = account.in_region(account.instances, region)
        if not wanted:
            return
        ec2 = self.client("ec2", account.account_id, region)
        # the first call builds moto's EC2 backend for the account and region (its AMIs come with volumes and
        # snapshots): do it before handing out fixed volume ids
        ec2.describe_volumes()
        for inst in wanted:
            self._run_instance(ec2, inst, instances, elastic_block_store)
        stopped = [i.instance_id for i in wanted if i.state == "stopped"]
        if stopped:
            ec2.stop_instances(InstanceIds=stopped)
        found = {
            i["InstanceId"]: i
            for page in ec2.get_paginator("describe_instances").paginate()
            for r in page["Reservations"]
            for i in r["Instances"]
        }
        for inst in wanted:
            got = found.get(inst.instance_id)
            volumes = [m["Ebs"]["VolumeId"] for m in (got or {}).get("BlockDeviceMappings", [])]
            if got is None or volumes != inst.volume_ids:
                raise SeedError(f"moto did not create {inst.instance_id} with volumes {inst.volume_ids} as asked")

    @staticmethod
    def _run_instance(ec2: Any, inst: Instance, instances: ModuleType, ebs: ModuleType) -> None:
        windows = inst.platform == "Windows"
        root_device = "/dev/sda1" if windows else "/dev/xvda"
        sizes = inst.volume_sizes or [50 if windows else 20] + [100] * (len(inst.volume_ids) - 1)
        mappings = [
            {
                "DeviceName": root_device if index == 0 else f"/dev/sd{chr(ord('f') + index - 1)}",
                "Ebs": {"VolumeSize": sizes[index] if index < len(sizes) else 100, "VolumeType": "gp3"},
            }
            for index in range(len(inst.volume_ids))
        ]
        tags = [{"Key": "Name", "Value": inst.name}] if inst.name else []
        with (
            _fixed_ids(instances, "random_instance_id", [inst.instance_id]),
            _fixed_ids(ebs, "random_volume_id", list(inst.volume_ids)),
        ):
            ec2.run_instances(
                ImageId=WINDOWS_AMI if windows else LINUX_AMI,
                MinCount=1,
                MaxCount=1,
                InstanceType=inst.instance_type,
                BlockDeviceMappings=mappings,
                TagSpecifications=[{"ResourceType": "instance", "Tags": tags}] if tags else [],
            )

    # -- RDS ------------------------------------------------------------------------------------------------
    def _rds(self, account: Account, region: str) -> None:
        wanted = account.in_region(account.db_instances, region)
        clusters = account.in_region(account.db_clusters, region)
        if not wanted and not clusters:
            return
        rds = self.client("rds", account.account_id, region)
        for cluster in clusters:
            rds.create_db_cluster(
                DBClusterIdentifier=cluster.identifier,
                Engine=cluster.engine,
                MasterUsername="sandboxadmin",
                MasterUserPassword="not-a-real-password-1",  # moto only
                BackupRetentionPeriod=cluster.backup_retention_period,
                StorageEncrypted=True,
            )
        for db in wanted:
            if db.cluster is not None:  # a member: engine, storage and retention are the cluster's
                rds.create_db_instance(
                    DBInstanceIdentifier=db.identifier,
                    DBClusterIdentifier=db.cluster,
                    Engine=db.engine,
                    DBInstanceClass=db.instance_class,
                )
                continue
            rds.create_db_instance(
                DBInstanceIdentifier=db.identifier,
                Engine=db.engine,
                DBInstanceClass=db.instance_class,
                AllocatedStorage=db.allocated_storage,
                MasterUsername="sandboxadmin",
                MasterUserPassword="not-a-real-password-1",  # moto only
                BackupRetentionPeriod=db.backup_retention_period,
                StorageEncrypted=True,
            )

    # -- AWS Backup -----------------------------------------------------------------------------------------
    def _backup(self, account: Account, region: str) -> None:
        vaults = account.in_region(account.vaults, region)
        plans = account.in_region(account.backup_plans, region)
        if not vaults and not plans:
            return
        backup = self.client("backup", account.account_id, region)
        for vault in vaults:
            backup.create_backup_vault(BackupVaultName=vault.name)
            if vault.locked:
                # compliance mode needs ChangeableForDays (three at least); the sandbox then serves the scenario's
                # own LockDate (server.AwsSandbox._patch_vault)
                lock: dict[str, Any] = {"ChangeableForDays": 3} if vault.lock_date is not None else {}
                if vault.min_retention_days is not None:
                    lock["MinRetentionDays"] = vault.min_retention_days
                if vault.max_retention_days is not None:
                    lock["MaxRetentionDays"] = vault.max_retention_days
                backup.put_backup_vault_lock_configuration(BackupVaultName=vault.name, **lock)
        for plan in plans:
            backup.create_backup_plan(
                BackupPlan={
                    "BackupPlanName": plan.name,
                    "Rules": [
                        {
                            "RuleName": f"{plan.name}-rule",
                            "TargetBackupVaultName": plan.vault_name,
                            "ScheduleExpression": plan.schedule,
                            "StartWindowMinutes": 60,
                            "CompletionWindowMinutes": 180,
                            "Lifecycle": {"DeleteAfterDays": plan.delete_after_days},
                        }
                    ],
                }
            )
