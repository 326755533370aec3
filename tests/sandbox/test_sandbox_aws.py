"""The AWS sandbox over real HTTP with boto3: the operations it serves itself (credential report, account summary,
Backup jobs/protected resources/restores, SSM), what it forwards to moto (STS, Organizations, EC2, RDS, Backup plans
and vaults), account mapping through AssumeRole, throttling, access denied and refused writes; and the Northwind
and generated scenarios' internal consistency. Only 127.0.0.1 is contacted."""

from __future__ import annotations

import base64
import csv
import io
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from hygiene_sandbox.aws import AWS_CHECK_IDS, AwsSandbox, AwsScenario, generate_aws, northwind_aws
from hygiene_sandbox.aws import northwind as nw
from hygiene_sandbox.aws.scenario import ManagedInstance, PatchState
from hygiene_sandbox.aws.services import OwnApi
from hygiene_sandbox.aws.wire import ServiceError, decode_call
from hygiene_sandbox.vendor import CREDENTIAL_REPORT_COLUMNS

NOW = datetime.now(UTC).replace(microsecond=0)
NO_RETRY = Config(retries={"total_max_attempts": 1})
#: extra hybrid (mi-) nodes in production us-east-1, all online and patched, so that SSM answers span pages
#: without changing Northwind's expected results
EXTRA_NODES = 55


def _scenario() -> AwsScenario:
    scenario = northwind_aws(NOW)
    prod = scenario.management
    for n in range(EXTRA_NODES):
        node_id = f"mi-{n:017x}"
        prod.managed_instances.append(
            ManagedInstance(instance_id=node_id, region="us-east-1", last_ping=NOW, computer_name=f"PC-{n:02d}")
        )
        prod.patch_states.append(PatchState(instance_id=node_id, region="us-east-1", operation_end=NOW))
    return scenario


@pytest.fixture(scope="module")
def sandbox() -> Iterator[AwsSandbox]:
    with AwsSandbox(_scenario()) as running:
        yield running


_sessions: dict[tuple[str, ...], boto3.Session] = {}
_clients: dict[tuple[int, str, str, int], tuple[Any, Any]] = {}


def _session(sandbox: AwsSandbox) -> boto3.Session:
    creds = sandbox.credentials
    key = (creds.access_key_id,)
    if key not in _sessions:  # sessions (and clients) are slow to build: share them
        _sessions[key] = boto3.Session(
            aws_access_key_id=creds.access_key_id, aws_secret_access_key=creds.secret_access_key
        )
    return _sessions[key]


def _client(
    sandbox: AwsSandbox, service: str, region: str = "eu-west-2", session: Any = None, config: Any = None
) -> Any:
    session = session or _session(sandbox)
    config = config or NO_RETRY
    key = (id(session), service, region, id(config))
    if key not in _clients:  # the session is kept with its client, so that its id is not reused
        client = session.client(service, region_name=region, endpoint_url=sandbox.endpoint_url, config=config)
        _clients[key] = (session, client)
    return _clients[key][1]


def _assume(sandbox: AwsSandbox, account_id: str, role: str | None = None, via: Any = None) -> boto3.Session:
    sts = _client(sandbox, "sts", session=via)
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{role or sandbox.organization_role}", RoleSessionName="hygiene-test"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def _member(sandbox: AwsSandbox) -> boto3.Session:
    """The development account, through its organisation role (assumed once per module)."""
    key = ("member", sandbox.credentials.access_key_id)
    if key not in _sessions:
        _sessions[key] = _assume(sandbox, nw.DEV)
    return _sessions[key]


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: dict[str, Any] = exc.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


# -- IAM -----------------------------------------------------------------------------------------------------------


def test_credential_report_is_generated_then_served_as_base64_csv(sandbox: AwsSandbox) -> None:
    iam = _client(sandbox, "iam")
    with pytest.raises(ClientError) as missing:
        iam.get_credential_report()
    assert _error(missing) == ("ReportNotPresent", 410)

    first, second = iam.generate_credential_report(), iam.generate_credential_report()
    assert first["State"] == "STARTED" and "No report exists" in first["Description"]
    assert second["State"] == "COMPLETE"

    wire: list[bytes] = []
    iam.meta.events.register(
        "after-call.iam.GetCredentialReport", lambda http_response, **_: wire.append(http_response.content)
    )
    report = iam.get_credential_report()
    assert report["ReportFormat"] == "text/csv"
    assert abs(report["GeneratedTime"] - datetime.now(UTC)) < timedelta(minutes=1)
    content = re.search(rb"<Content>([^<]+)</Content>", wire[0])
    assert content is not None and base64.b64decode(content.group(1)) == report["Content"]

    rows = list(csv.reader(io.StringIO(report["Content"].decode())))
    assert tuple(rows[0]) == CREDENTIAL_REPORT_COLUMNS and len(CREDENTIAL_REPORT_COLUMNS) == 22
    table = {row[0]: dict(zip(CREDENTIAL_REPORT_COLUMNS, row, strict=True)) for row in rows[1:]}
    root = table["<root_account>"]
    assert root["arn"] == f"arn:aws:iam::{nw.PROD}:root"
    assert (root["password_enabled"], root["password_last_changed"], root["password_next_rotation"]) == (
        "not_supported",
        "not_supported",
        "not_supported",
    )
    assert root["mfa_active"] == "true" and root["access_key_1_active"] == "false"
    assert table["tom.baker"]["password_last_used"] == "no_information"  # a password never used
    script = table["backup-script"]
    assert (script["password_enabled"], script["password_last_used"], script["password_last_changed"]) == (
        "false",
        "N/A",
        "N/A",
    )
    assert script["access_key_2_active"] == "false" and script["access_key_2_last_rotated"] == "N/A"
    never = table["ci-deploy"]
    assert never["access_key_1_active"] == "true"
    assert [never[f"access_key_1_last_used_{c}"] for c in ("date", "region", "service")] == ["N/A"] * 3
    assert table["raj.patel"]["access_key_1_last_used_service"] == "ec2"
    assert all(row["cert_1_active"] == "false" and row["cert_2_last_rotated"] == "N/A" for row in table.values())
    created = datetime.fromisoformat(table["helen.price"]["user_creation_time"])
    assert created.utcoffset() == timedelta(0) and (NOW - created).days == 900

    # the member account's report is its own: the root row without MFA but with an active key
    dev_iam = _client(sandbox, "iam", session=_member(sandbox))
    assert dev_iam.generate_credential_report()["State"] == "STARTED"
    dev_rows = list(csv.DictReader(io.StringIO(dev_iam.get_credential_report()["Content"].decode())))
    dev_root = next(r for r in dev_rows if r["user"] == "<root_account>")
    assert (dev_root["mfa_active"], dev_root["access_key_1_active"]) == ("false", "true")
    assert dev_root["arn"] == f"arn:aws:iam::{nw.DEV}:root"


def test_account_summary_reports_the_root_user_of_each_account(sandbox: AwsSandbox) -> None:
    prod = _client(sandbox, "iam").get_account_summary()["SummaryMap"]
    dev = _client(sandbox, "iam", session=_member(sandbox)).get_account_summary()["SummaryMap"]
    assert (prod["AccountMFAEnabled"], prod["AccountAccessKeysPresent"], prod["Users"]) == (1, 0, 10)
    assert (dev["AccountMFAEnabled"], dev["AccountAccessKeysPresent"], dev["Users"]) == (0, 1, 4)
    assert prod["UsersQuota"] == 5000


# -- STS, Organizations and the account mapping --------------------------------------------------------------------


def test_organization_lists_every_account_with_its_state_and_no_retired_status(sandbox: AwsSandbox) -> None:
    org = _client(sandbox, "organizations", "us-east-1")
    listed = [a for p in org.get_paginator("list_accounts").paginate() for a in p["Accounts"]]
    assert not [a for a in listed if "Status" in a]  # retired on September 9, 2026
    assert org.describe_account(AccountId=nw.OLD)["Account"]["State"] == "SUSPENDED"
    accounts = {a["Id"]: (a["Name"], a["State"]) for a in listed}
    assert accounts == {
        nw.PROD: ("northwind-prod", "ACTIVE"),
        nw.DEV: ("northwind-dev", "ACTIVE"),
        nw.LOGS: ("northwind-logs", "ACTIVE"),
        nw.OLD: ("northwind-sandbox-2021", "SUSPENDED"),
    }


def test_describe_regions_lists_the_enabled_regions(sandbox: AwsSandbox) -> None:
    ec2 = _client(sandbox, "ec2")
    enabled = ec2.describe_regions()["Regions"]
    assert [(r["RegionName"], r["OptInStatus"]) for r in enabled] == [
        ("eu-west-2", "opt-in-not-required"),
        ("us-east-1", "opt-in-not-required"),
    ]
    assert enabled[0]["Endpoint"] == "ec2.eu-west-2.amazonaws.com"
    every = ec2.describe_regions(AllRegions=True)["Regions"]
    assert ("af-south-1", "not-opted-in") in [(r["RegionName"], r["OptInStatus"]) for r in every]
    opted_out = ec2.describe_regions(AllRegions=True, Filters=[{"Name": "opt-in-status", "Values": ["not-opted-in"]}])
    assert {r["OptInStatus"] for r in opted_out["Regions"]} == {"not-opted-in"}
    assert [r["RegionName"] for r in ec2.describe_regions(RegionNames=["us-east-1"])["Regions"]] == ["us-east-1"]


def test_root_access_features_answer_the_management_account_only(sandbox: AwsSandbox) -> None:
    features = _client(sandbox, "iam").list_organizations_features()
    assert features["EnabledFeatures"] == ["RootCredentialsManagement", "RootSessions"]
    assert features["OrganizationId"] == sandbox.scenario.organization_id
    member = _assume(sandbox, nw.DEV, via=_assume(sandbox, nw.PROD, sandbox.scenario.scanner_role))
    with pytest.raises(ClientError) as refused:
        _client(sandbox, "iam", session=member).list_organizations_features()
    assert refused.value.response["Error"]["Code"] == "AccountNotManagementOrDelegatedAdministratorException"
    summary = _client(
        sandbox, "iam", session=_assume(sandbox, nw.LOGS, via=_assume(sandbox, nw.PROD, sandbox.scenario.scanner_role))
    ).get_account_summary()["SummaryMap"]
    assert {k: summary[k] for k in ("AccountMFAEnabled", "AccountAccessKeysPresent", "AccountPasswordPresent")} == {
        "AccountMFAEnabled": 0,
        "AccountAccessKeysPresent": 0,
        "AccountPasswordPresent": 0,
    }


def test_assumed_role_credentials_map_to_the_member_account(sandbox: AwsSandbox) -> None:
    base = _session(sandbox)
    assert _client(sandbox, "sts").get_caller_identity()["Arn"] == f"arn:aws:iam::{nw.PROD}:user/hygiene-scanner"
    # role chaining as the scanner does it: the management account's role first, then each member's
    scanner = _assume(sandbox, nw.PROD, sandbox.scenario.scanner_role, via=base)
    member = _assume(sandbox, nw.DEV, via=scanner)
    identity = _client(sandbox, "sts", session=member).get_caller_identity()
    assert identity["Account"] == nw.DEV
    assert identity["Arn"] == f"arn:aws:sts::{nw.DEV}:assumed-role/{sandbox.organization_role}/hygiene-test"

    instances = {
        i["InstanceId"]: i
        for r in _client(sandbox, "ec2", session=member).describe_instances()["Reservations"]
        for i in r["Instances"]
    }
    assert set(instances) == {nw.DEV_PMS, nw.DEV_BUILD, nw.DEV_OLD}
    assert instances[nw.DEV_PMS]["PlatformDetails"] == "Windows" and instances[nw.DEV_PMS]["Platform"] == "windows"
    assert instances[nw.DEV_BUILD]["Tags"] == [{"Key": "Name", "Value": "dev-build"}]
    assert instances[nw.DEV_OLD]["State"]["Name"] == "stopped"
    assert [m["Ebs"]["VolumeId"] for m in instances[nw.DEV_BUILD]["BlockDeviceMappings"]] == [nw.DEV_BUILD_ROOT]

    dev_rds = _client(sandbox, "rds", session=member)
    dev_dbs = {d["DBInstanceIdentifier"]: d for d in dev_rds.describe_db_instances()["DBInstances"]}
    assert set(dev_dbs) == {"dev-db", "dev-referrals-graph-1"}
    db = dev_dbs["dev-db"]
    assert (db["DBInstanceArn"], db["BackupRetentionPeriod"]) == (nw.DEV_DB, 0)
    assert "LatestRestorableTime" not in db  # automated backups off
    assert "DBClusterIdentifier" not in db
    graph = dev_dbs["dev-referrals-graph-1"]
    assert (graph["Engine"], graph["DBClusterIdentifier"]) == ("neptune", "dev-referrals-graph")
    (cluster,) = dev_rds.describe_db_clusters()["DBClusters"]
    assert (cluster["DBClusterArn"], cluster["Engine"], cluster["BackupRetentionPeriod"]) == (
        nw.DEV_GRAPH_CLUSTER,
        "neptune",
        1,
    )
    assert [m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"]] == ["dev-referrals-graph-1"]
    prod_dbs = {
        d["DBInstanceIdentifier"]: d
        for d in _client(sandbox, "rds", session=base).describe_db_instances()["DBInstances"]
    }
    assert prod_dbs["pms-db"]["BackupRetentionPeriod"] == 14
    assert NOW - prod_dbs["pms-db"]["LatestRestorableTime"] < timedelta(minutes=10)

    # the management account's forgotten instance lives in us-east-1 only
    virginia = _client(sandbox, "ec2", "us-east-1", session=base).describe_instances()["Reservations"]
    assert [i["InstanceId"] for r in virginia for i in r["Instances"]] == [nw.MIGRATION_TEST]


def test_moto_itself_derives_the_account_from_assumed_role_keys(sandbox: AwsSandbox) -> None:
    """moto 5 maps keys it issued through AssumeRole to the role's account even without x-moto-account-id."""
    member = _assume(sandbox, nw.DEV)
    creds = member.get_credentials().get_frozen_credentials()
    raw = boto3.client(
        "ec2",
        region_name="eu-west-2",
        endpoint_url=sandbox.moto_url,
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
        config=NO_RETRY,
    )
    found = {i["InstanceId"] for r in raw.describe_instances()["Reservations"] for i in r["Instances"]}
    assert found == {nw.DEV_PMS, nw.DEV_BUILD, nw.DEV_OLD}


def test_assume_role_is_refused_for_suspended_accounts_and_unknown_roles(sandbox: AwsSandbox) -> None:
    for account, role in ((nw.OLD, sandbox.organization_role), (nw.DEV, "AdminRole"), ("123456789012", "X")):
        with pytest.raises(ClientError) as denied:
            _assume(sandbox, account, role)
        assert _error(denied) == ("AccessDenied", 403)
        assert "sts:AssumeRole on resource" in str(denied.value)


def test_unknown_access_keys_are_rejected(sandbox: AwsSandbox) -> None:
    stranger = boto3.Session(aws_access_key_id="AKIAUNKNOWNUNKNOWN00", aws_secret_access_key="x")
    with pytest.raises(ClientError) as sts:
        _client(sandbox, "sts", session=stranger).get_caller_identity()
    assert _error(sts) == ("InvalidClientTokenId", 403)
    with pytest.raises(ClientError) as ssm:
        _client(sandbox, "ssm", session=stranger).describe_instance_information()
    assert _error(ssm) == ("UnrecognizedClientException", 403)


# -- AWS Backup ----------------------------------------------------------------------------------------------------


def test_backup_plans_and_vaults_come_from_moto_with_recovery_points(sandbox: AwsSandbox) -> None:
    backup = _client(sandbox, "backup")
    assert [p["BackupPlanName"] for p in backup.list_backup_plans()["BackupPlansList"]] == ["northwind-daily"]
    vaults = {v["BackupVaultName"]: v for v in backup.list_backup_vaults()["BackupVaultList"]}
    assert (vaults["Default"]["Locked"], vaults["Default"]["NumberOfRecoveryPoints"]) == (False, 42)
    assert (vaults["northwind-locked"]["Locked"], vaults["northwind-locked"]["NumberOfRecoveryPoints"]) == (True, 180)
    assert vaults["northwind-locked"]["MinRetentionDays"] == 30
    locked = backup.describe_backup_vault(BackupVaultName="northwind-locked")
    assert (locked["Locked"], locked["NumberOfRecoveryPoints"]) == (True, 180)
    dev = _client(sandbox, "backup", session=_member(sandbox))
    assert {v["BackupVaultName"]: v["NumberOfRecoveryPoints"] for v in dev.list_backup_vaults()["BackupVaultList"]} == {
        "Default": 12,
        "dev-vault": 0,
        "dev-locked": 8,
        "dev-archive": 5,
    }
    assert _client(sandbox, "backup", "us-east-1").list_backup_vaults()["BackupVaultList"] == []


def test_backup_jobs_page_filter_and_keep_thirty_days(sandbox: AwsSandbox) -> None:
    backup = _client(sandbox, "backup")
    pages = list(backup.get_paginator("list_backup_jobs").paginate(PaginationConfig={"PageSize": 4}))
    jobs = [j for p in pages for j in p["BackupJobs"]]
    assert len(pages) > 3 and all(len(p["BackupJobs"]) <= 4 for p in pages)
    assert len({j["BackupJobId"] for j in jobs}) == len(jobs)
    planted = [j for j in sandbox.scenario.management.backup_jobs if j.region == "eu-west-2"]
    assert len(jobs) == len(planted) - 1  # the 35-day-old failure is beyond AWS Backup's 30-day history
    assert all(NOW - j["CreationDate"] <= timedelta(days=30) for j in jobs)

    recent = backup.list_backup_jobs(ByCreatedAfter=NOW - timedelta(days=14), ByState="FAILED")["BackupJobs"]
    assert {j["ResourceArn"] for j in recent} == {nw._ec2(nw.PROD, nw.LONDON, nw.IMAGING)}
    assert all("not authorized" in j["StatusMessage"] for j in recent)
    running = backup.list_backup_jobs(ByState="RUNNING")["BackupJobs"]
    assert [(j["ResourceArn"], j.get("CompletionDate")) for j in running] == [(nw.PMS_DB, None)]
    dev_jobs = _client(sandbox, "backup", session=_member(sandbox)).list_backup_jobs(
        ByCreatedAfter=NOW - timedelta(days=14)
    )["BackupJobs"]
    assert {j["State"] for j in dev_jobs} == {"COMPLETED", "EXPIRED", "PARTIAL"}

    with pytest.raises(ClientError) as bad_token:
        backup.list_backup_jobs(NextToken="not-a-token")
    assert _error(bad_token)[0] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as too_many:
        backup.list_backup_jobs(MaxResults=1001)
    assert _error(too_many)[0] == "ValidationException"


def test_protected_resources_and_restore_history(sandbox: AwsSandbox) -> None:
    backup = _client(sandbox, "backup")
    first = backup.list_protected_resources(MaxResults=3)
    assert len(first["Results"]) == 3 and first["NextToken"]
    everything = [
        r
        for p in backup.get_paginator("list_protected_resources").paginate(PaginationConfig={"PageSize": 3})
        for r in p["Results"]
    ]
    by_arn = {r["ResourceArn"]: r for r in everything}
    assert len(everything) == 9
    assert {r["ResourceType"] for r in everything} == {"EC2", "EBS", "RDS", "EFS", "DynamoDB", "Aurora"}
    assert NOW - by_arn[nw.APPOINTMENTS]["LastBackupTime"] > timedelta(days=4)
    assert by_arn[nw.PMS_DB]["LastRecoveryPointArn"].startswith(f"arn:aws:rds:eu-west-2:{nw.PROD}:snapshot:awsbackup:")

    (plan,) = backup.list_restore_testing_plans()["RestoreTestingPlans"]
    assert plan["RestoreTestingPlanName"] == "monthly_restore_test"
    restores = backup.list_restore_jobs(ByCreatedAfter=NOW - timedelta(days=400))["RestoreJobs"]
    assert sorted((r["Status"], (NOW - r["CompletionDate"]).days) for r in restores) == [
        ("COMPLETED", 11),
        ("COMPLETED", 11),
        ("COMPLETED", 60),
    ]
    manual = [r for r in restores if "CreatedBy" not in r]
    assert len(manual) == 1 and "ValidationStatus" not in manual[0]
    tests = backup.list_restore_jobs(ByRestoreTestingPlanArn=plan["RestoreTestingPlanArn"])["RestoreJobs"]
    assert {r["CreatedBy"]["RestoreTestingPlanArn"] for r in tests} == {plan["RestoreTestingPlanArn"]}
    assert {(r["ResourceType"], r["ValidationStatus"], r["DeletionStatus"]) for r in tests} == {
        ("EBS", "SUCCESSFUL", "SUCCESSFUL"),
        ("RDS", "SUCCESSFUL", "SUCCESSFUL"),
    }

    dev = _client(sandbox, "backup", session=_member(sandbox))
    dev_plans = {p["RestoreTestingPlanName"]: p for p in dev.list_restore_testing_plans()["RestoreTestingPlans"]}
    assert set(dev_plans) == {"dev_restore_test", "dev_rds_restore_test"}
    assert "LastExecutionTime" not in dev_plans["dev_restore_test"]  # never run
    dev_restores = dev.list_restore_jobs(ByCreatedAfter=NOW - timedelta(days=400))["RestoreJobs"]
    assert sorted(r["Status"] for r in dev_restores) == ["COMPLETED", "FAILED", "FAILED"]
    assert dev.list_restore_jobs(ByStatus="COMPLETED", ByCreatedAfter=NOW - timedelta(days=365))["RestoreJobs"] == []


def test_restore_testing_selections(sandbox: AwsSandbox) -> None:
    backup = _client(sandbox, "backup")
    selections = backup.list_restore_testing_selections(RestoreTestingPlanName="monthly_restore_test")
    assert [s["ProtectedResourceType"] for s in selections["RestoreTestingSelections"]] == ["EBS", "RDS"]
    assert all(s["RestoreTestingPlanName"] == "monthly_restore_test" for s in selections["RestoreTestingSelections"])
    dev = _client(sandbox, "backup", session=_member(sandbox))
    empty = dev.list_restore_testing_selections(RestoreTestingPlanName="dev_restore_test")
    assert empty["RestoreTestingSelections"] == []
    with pytest.raises(ClientError) as missing:
        backup.list_restore_testing_selections(RestoreTestingPlanName="no_such_plan")
    assert _error(missing)[0] == "ResourceNotFoundException"


def test_vault_lock_modes(sandbox: AwsSandbox) -> None:
    """Locked is true in all three modes; LockDate tells them apart (absent: governance; future: compliance in its
    grace time; past: compliance, immutable)."""
    prod = {v["BackupVaultName"]: v for v in _client(sandbox, "backup").list_backup_vaults()["BackupVaultList"]}
    assert {v["VaultType"] for v in prod.values()} == {"BACKUP_VAULT"}
    assert {v["VaultState"] for v in prod.values()} == {"AVAILABLE"}
    assert prod["Default"]["Locked"] is False and "LockDate" not in prod["Default"]
    assert prod["northwind-locked"]["Locked"] is True and prod["northwind-locked"]["LockDate"] < NOW
    assert prod["northwind-locked"]["MinRetentionDays"] == 30
    assert prod["northwind-offsite"]["Locked"] is True and prod["northwind-offsite"]["LockDate"] > NOW
    dev_backup = _client(sandbox, "backup", session=_member(sandbox))
    dev = {v["BackupVaultName"]: v for v in dev_backup.list_backup_vaults()["BackupVaultList"]}
    assert dev["dev-locked"]["Locked"] is True and "LockDate" not in dev["dev-locked"]
    assert dev["dev-archive"]["LockDate"] < NOW and "MinRetentionDays" not in dev["dev-archive"]
    described = dev_backup.describe_backup_vault(BackupVaultName="dev-locked")
    assert (described["Locked"], described.get("LockDate"), described["VaultType"]) == (True, None, "BACKUP_VAULT")


def test_recovery_points_by_vault(sandbox: AwsSandbox) -> None:
    """ListProtectedResources' LastBackupTime is the newest recovery point whatever its status; the vault's listing
    gives each point's status."""
    backup = _client(sandbox, "backup")
    points = [
        p
        for page in backup.get_paginator("list_recovery_points_by_backup_vault").paginate(
            BackupVaultName="northwind-locked", PaginationConfig={"PageSize": 2}
        )
        for p in page["RecoveryPoints"]
    ]
    photos = [(p["Status"], (NOW - p["CreationDate"]).days) for p in points if p["ResourceArn"] == nw.CLINICAL_PHOTOS]
    assert photos == [("PARTIAL", 0), ("EXPIRED", 1), ("COMPLETED", 3)]  # newest first
    last = {r["ResourceArn"]: r for r in backup.list_protected_resources()["Results"]}[nw.CLINICAL_PHOTOS]
    assert last["LastBackupTime"] == max(p["CreationDate"] for p in points if p["ResourceArn"] == nw.CLINICAL_PHOTOS)
    recent = backup.list_recovery_points_by_backup_vault(
        BackupVaultName="northwind-locked", ByCreatedAfter=NOW - timedelta(days=2), ByResourceArn=nw.CLINICAL_PHOTOS
    )["RecoveryPoints"]
    assert [p["Status"] for p in recent] == ["PARTIAL", "EXPIRED"]
    assert all(p["BackupVaultName"] == "northwind-locked" for p in points)
    assert {p["ResourceArn"] for p in points} >= {nw.PMS_DB, nw.BOOKING_CLUSTER}
    with pytest.raises(ClientError) as missing:
        backup.list_recovery_points_by_backup_vault(BackupVaultName="no-such-vault")
    assert _error(missing)[0] == "ResourceNotFoundException"


# -- Systems Manager -----------------------------------------------------------------------------------------------


def test_ssm_instance_information_pages_up_to_fifty(sandbox: AwsSandbox) -> None:
    ssm = _client(sandbox, "ssm", "us-east-1")
    pages = list(ssm.get_paginator("describe_instance_information").paginate(PaginationConfig={"PageSize": 50}))
    assert [len(p["InstanceInformationList"]) for p in pages] == [50, EXTRA_NODES - 50]
    with pytest.raises(ClientError) as too_big:
        ssm.describe_instance_information(MaxResults=51)
    code, status = _error(too_big)
    assert (code, status) == ("ValidationException", 400)
    assert "less than or equal to 50" in str(too_big.value)
    default = ssm.describe_instance_information()
    assert len(default["InstanceInformationList"]) == 10 and default["NextToken"]

    london = {
        i["InstanceId"]: i for i in _client(sandbox, "ssm").describe_instance_information()["InstanceInformationList"]
    }
    assert set(london) == {nw.PMS_APP, nw.IMAGING, nw.OLD_WEB, nw.VPN, nw.SURGERY_PC}
    assert london[nw.VPN]["PingStatus"] == "ConnectionLost"
    assert (london[nw.SURGERY_PC]["ResourceType"], london[nw.PMS_APP]["ResourceType"]) == (
        "ManagedInstance",
        "EC2Instance",
    )
    online = _client(sandbox, "ssm").describe_instance_information(
        Filters=[{"Key": "PingStatus", "Values": ["Online"]}]
    )
    assert {i["InstanceId"] for i in online["InstanceInformationList"]} == {nw.PMS_APP, nw.IMAGING, nw.SURGERY_PC}


def test_ssm_patch_states_take_at_most_fifty_ids(sandbox: AwsSandbox) -> None:
    ssm = _client(sandbox, "ssm", "us-east-1")
    ids = [f"mi-{n:017x}" for n in range(EXTRA_NODES)]
    with pytest.raises(ClientError) as too_many:
        ssm.describe_instance_patch_states(InstanceIds=ids[:51])
    assert _error(too_many)[0] == "ValidationException"
    assert "length less than or equal to 50" in str(too_many.value)
    pages = list(
        ssm.get_paginator("describe_instance_patch_states").paginate(
            InstanceIds=ids[:50], PaginationConfig={"PageSize": 20}
        )
    )
    assert [len(p["InstancePatchStates"]) for p in pages] == [20, 20, 10]
    assert [s["InstanceId"] for p in pages for s in p["InstancePatchStates"]] == ids[:50]

    london = _client(sandbox, "ssm").describe_instance_patch_states(
        InstanceIds=[nw.IMAGING, nw.VPN, nw.FILE_SERVER, nw.PMS_APP]
    )["InstancePatchStates"]
    states = {s["InstanceId"]: s for s in london}
    assert set(states) == {nw.IMAGING, nw.VPN, nw.PMS_APP}  # the file server is not managed
    assert (states[nw.IMAGING]["MissingCount"], states[nw.IMAGING]["CriticalNonCompliantCount"]) == (5, 2)
    assert states[nw.VPN]["InstalledPendingRebootCount"] == 2
    assert states[nw.PMS_APP]["OperationEndTime"] < states[nw.IMAGING]["OperationEndTime"]


# -- throttling, access denied, writes -----------------------------------------------------------------------------


def test_throttling_uses_each_protocols_code_and_boto3_retries_it(sandbox: AwsSandbox) -> None:
    base = _session(sandbox)
    calls: list[tuple[str, Callable[[Any], Any]]] = [
        ("Throttling", lambda c: _client(sandbox, "iam", session=base, config=c).get_account_summary()),
        ("RequestLimitExceeded", lambda c: _client(sandbox, "ec2", session=base, config=c).describe_instances()),
        (
            "ThrottlingException",
            lambda c: _client(sandbox, "ssm", session=base, config=c).describe_instance_information(),
        ),
        ("TooManyRequestsException", lambda c: _client(sandbox, "organizations", "us-east-1", base, c).list_accounts()),
        ("ThrottlingException", lambda c: _client(sandbox, "backup", session=base, config=c).list_backup_jobs()),
    ]
    retrying = Config(retries={"mode": "standard", "max_attempts": 3})
    before = sandbox.throttled_count
    try:
        for code, call in calls:
            sandbox.throttle_every = sandbox.request_count + 1  # the very next request
            with pytest.raises(ClientError) as throttled:
                call(NO_RETRY)
            assert _error(throttled) == (code, 400)
        sandbox.throttle_every = sandbox.request_count + 1
        assert (
            _client(sandbox, "ssm", session=base, config=retrying).describe_instance_information()["ResponseMetadata"][
                "RetryAttempts"
            ]
            == 1
        )
    finally:
        sandbox.throttle_every = 0
    assert sandbox.throttled_count - before == 6
    last = sandbox.requests[-2:]
    assert [(r.operation, r.status) for r in last] == [
        ("DescribeInstanceInformation", 400),
        ("DescribeInstanceInformation", 200),
    ]


def test_access_denied_names_the_action_in_each_protocol(sandbox: AwsSandbox) -> None:
    sandbox.scenario.access_denied = {
        nw.DEV: {"ListBackupJobs", "iam:GetAccountSummary", "DescribeInstancePatchStates", "DescribeInstances"}
    }
    try:
        dev = _member(sandbox)
        cases: list[tuple[Callable[[], Any], str, int]] = [
            (lambda: _client(sandbox, "backup", session=dev).list_backup_jobs(), "AccessDeniedException", 403),
            (lambda: _client(sandbox, "iam", session=dev).get_account_summary(), "AccessDenied", 403),
            (
                lambda: _client(sandbox, "ssm", session=dev).describe_instance_patch_states(InstanceIds=[nw.DEV_PMS]),
                "AccessDeniedException",
                400,
            ),
            (lambda: _client(sandbox, "ec2", session=dev).describe_instances(), "UnauthorizedOperation", 403),
        ]
        for call, code, status in cases:
            with pytest.raises(ClientError) as denied:
                call()
            assert _error(denied) == (code, status)
            action = re.search(r"perform: (\w+:\w+)", str(denied.value))
            assert action is not None and action.group(1).endswith(":" + denied.value.operation_name)
        # the same operations still work in the management account and for what is not denied
        assert _client(sandbox, "backup").list_backup_jobs()["BackupJobs"]
        assert _client(sandbox, "ssm", session=dev).describe_instance_information()["InstanceInformationList"]
        with pytest.raises(ClientError) as role:
            sandbox.scenario.access_denied = {nw.DEV: {"AssumeRole"}}
            _assume(sandbox, nw.DEV)
        assert _error(role) == ("AccessDenied", 403)
    finally:
        sandbox.scenario.access_denied = {}


def test_writes_are_refused_and_recorded(sandbox: AwsSandbox) -> None:
    base = _session(sandbox)
    dev = _member(sandbox)
    before = len(sandbox.refused_writes)
    attempts: list[tuple[Callable[[], Any], str]] = [
        (
            lambda: _client(sandbox, "ec2", session=dev).terminate_instances(InstanceIds=[nw.DEV_BUILD]),
            "UnauthorizedOperation",
        ),
        (lambda: _client(sandbox, "iam", session=base).create_user(UserName="intruder"), "AccessDenied"),
        (
            lambda: _client(sandbox, "backup", session=base).delete_backup_vault(BackupVaultName="Default"),
            "AccessDeniedException",
        ),
        (
            lambda: _client(sandbox, "ssm", session=base).send_command(
                InstanceIds=[nw.PMS_APP], DocumentName="AWS-RunPatchBaseline"
            ),
            "AccessDeniedException",
        ),
        (
            lambda: _client(sandbox, "organizations", "us-east-1", base).remove_account_from_organization(
                AccountId=nw.DEV
            ),
            "AccessDeniedException",
        ),
        (
            lambda: _client(sandbox, "rds", session=base).modify_db_instance(
                DBInstanceIdentifier="reporting-db", BackupRetentionPeriod=7
            ),
            "AccessDenied",
        ),
    ]
    for attempt, code in attempts:
        with pytest.raises(ClientError) as refused:
            attempt()
        assert _error(refused)[0] == code
    refused_now = sandbox.refused_writes[before:]
    assert [(w.service, w.operation, w.account) for w in refused_now] == [
        ("ec2", "TerminateInstances", nw.DEV),
        ("iam", "CreateUser", nw.PROD),
        ("backup", "DeleteBackupVault", nw.PROD),
        ("ssm", "SendCommand", nw.PROD),
        ("organizations", "RemoveAccountFromOrganization", nw.PROD),
        ("rds", "ModifyDBInstance", nw.PROD),
    ]
    # nothing changed behind the refusals
    states = {
        i["InstanceId"]: i["State"]["Name"]
        for r in _client(sandbox, "ec2", session=dev).describe_instances()["Reservations"]
        for i in r["Instances"]
    }
    assert states[nw.DEV_BUILD] == "running"
    assert "Default" in {
        v["BackupVaultName"] for v in _client(sandbox, "backup").list_backup_vaults()["BackupVaultList"]
    }


def test_reads_outside_the_sandbox_are_not_implemented_and_latency_applies(sandbox: AwsSandbox) -> None:
    with pytest.raises(ClientError) as missing:
        _client(sandbox, "iam").list_users()  # the credential report is the sandbox's only view of IAM users
    assert _error(missing) == ("NotImplemented", 501)
    sandbox.latency_ms = 150
    try:
        started = time.monotonic()
        _client(sandbox, "sts").get_caller_identity()
        assert time.monotonic() - started >= 0.15
    finally:
        sandbox.latency_ms = 0


def test_credential_report_can_take_time_to_generate() -> None:
    scenario = northwind_aws(NOW)
    api = OwnApi(scenario, report_delay=60)
    body = b"Action=GenerateCredentialReport&Version=2010-05-08"
    generate = decode_call("iam", "POST", "/", {"content-type": "application/x-www-form-urlencoded"}, body)
    get = decode_call("iam", "POST", "/", {}, b"Action=GetCredentialReport&Version=2010-05-08")
    states = [
        re.search(rb"<State>(\w+)</State>", api.serve(generate, scenario.management, "us-east-1").body) for _ in "ab"
    ]
    assert [m.group(1) for m in states if m] == [b"STARTED", b"INPROGRESS"]
    with pytest.raises(ServiceError) as pending:
        api.serve(get, scenario.management, "us-east-1")
    assert (pending.value.code, pending.value.status) == ("ReportInProgress", 404)


def test_request_log_holds_no_credentials(sandbox: AwsSandbox) -> None:
    _client(sandbox, "sts").get_caller_identity()
    creds = sandbox.credentials
    logged = repr(sandbox.requests) + repr(sandbox.refused_writes)
    assert creds.access_key_id not in logged and creds.secret_access_key not in logged
    assert creds.secret_access_key not in repr(creds) + str(creds)
    assert sandbox.request_count == len(sandbox.requests)
    record = sandbox.requests[-1]
    assert (record.service, record.operation, record.account, record.status) == (
        "sts",
        "GetCallerIdentity",
        nw.PROD,
        200,
    )
    assert record.region == "eu-west-2"


# -- scenarios -----------------------------------------------------------------------------------------------------


def test_northwind_is_internally_consistent() -> None:
    scenario = northwind_aws(NOW)
    scenario.validate()
    assert set(scenario.expected) == set(AWS_CHECK_IDS)
    assert all(e.status == "fail" and e.resources for e in scenario.expected.values())  # a defect of every kind
    prod, dev = scenario.account(nw.PROD), scenario.account(nw.DEV)
    assert [a.state for a in scenario.accounts] == ["ACTIVE", "ACTIVE", "ACTIVE", "SUSPENDED"]
    assert scenario.regions == ["eu-west-2", "us-east-1"]
    accounts = {a.account_id: a for a in scenario.accounts}
    arns: set[str] = set()
    for account in (prod, dev):
        aid = account.account_id
        arns |= {d.arn(aid) for d in account.db_instances} | {r.arn for r in account.protected_resources}
        arns |= {c.arn(aid) for c in account.db_clusters}
        for inst in account.instances:
            arns |= {inst.arn(aid)} | {inst.volume_arn(aid, v) for v in inst.volume_ids}
    for check_id, expectation in scenario.expected.items():
        for name in expectation.resources:
            parts = name.split(":")
            if name.startswith("arn:"):
                assert name in arns, (check_id, name)
            elif len(parts) == 1:
                assert name in accounts, (check_id, name)
            elif parts[1] == "root":
                assert parts[0] in accounts
            elif re.fullmatch(r"[a-z]{2}-[a-z]+-\d", parts[1]):
                account = accounts[parts[0]]
                if check_id == "aws.backup.vault_immutable":
                    assert any((v.region, v.name) == (parts[1], parts[2]) for v in account.vaults)
                elif check_id == "aws.patch.compliance":
                    assert any((m.region, m.instance_id) == (parts[1], parts[2]) for m in account.managed_instances)
                else:
                    inst = account.instance(parts[2])
                    assert (inst.region, inst.state) == (parts[1], "running"), (check_id, name)
            else:
                user = accounts[parts[0]].user(parts[1])
                if len(parts) == 3:
                    key = user.access_keys[int(parts[2].removeprefix("key")) - 1]
                    assert key.active, name
    # every job failure names a resource with a failed job in the last 14 days, and every running instance that
    # SSM does not list is an ssm_managed finding
    for arn in scenario.expected["aws.backup.job_failures"].resources:
        account = prod if f":{nw.PROD}:" in arn else dev
        assert any(
            j.resource_arn == arn and j.state != "COMPLETED" and NOW - j.created < timedelta(days=14)
            for j in account.backup_jobs
        )
    unmanaged = {
        f"{a.account_id}:{i.region}:{i.instance_id}"
        for a in (prod, dev)
        for i in a.instances
        if i.state == "running" and i.instance_id not in {m.instance_id for m in a.managed_instances}
    }
    assert unmanaged <= scenario.expected["aws.patch.ssm_managed"].resources


def test_generator_builds_fifty_thousand_users_deterministically() -> None:
    # how long it takes is measured by the benchmarks (docs/benchmarks.md), never asserted here
    big = generate_aws(50_000, seed=7, now=NOW)
    big.validate()
    assert sum(len(a.users) for a in big.accounts) == 50_001  # plus the scanner's own user
    assert len(big.accounts) == 4 and big.management_account_id == big.accounts[0].account_id
    assert set(big.expected) == set(AWS_CHECK_IDS)
    assert all(
        big.expected[c].status == "fail" for c in AWS_CHECK_IDS if c not in ("aws.root.mfa", "aws.root.access_keys")
    )
    small_a, small_b = generate_aws(300, seed=5, now=NOW), generate_aws(300, seed=5, now=NOW)
    assert small_a.expected_json() == small_b.expected_json()
    assert generate_aws(300, seed=6, now=NOW).expected_json() != small_a.expected_json()
    for check_id, expectation in big.expected.items():
        assert expectation.status == ("fail" if expectation.resources else "pass"), check_id
