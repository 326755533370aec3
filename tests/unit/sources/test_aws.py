"""AWS source and checks: moto for STS, Organizations, EC2 and RDS; botocore Stubber for IAM, Backup and SSM."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from awsfake import (
    AccountWorld,
    World,
    accounts_with_state_only,
    ago,
    patch_state,
    restore_test_job,
    set_account_state,
    user_row,
)
from moto import mock_aws

from hygiene.config import AwsConfig
from hygiene.engine import evaluate
from hygiene.model import OrganisationRef, ReasonKind, Snapshot
from hygiene.policy import ControlsFile, load_lifecycle, load_profile
from hygiene.registry import Registry
from hygiene.results import CheckResult, Status
from hygiene.sources.aws.credential_report import CredentialReportError, parse_credential_report
from hygiene.sources.aws.source import AwsSource
from hygiene.sources.interface import RawRecorder

ACCOUNT = "123456789012"
REGION = "eu-west-2"
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret-canary", "AWS_DEFAULT_REGION": REGION}


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(), accounts_with_state_only():
        yield


def launch(
    region: str = REGION, count: int = 1, name: str = "app", env: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    ec2 = boto3.client("ec2", region_name=region, **_creds(env))
    image = "ami-12c6146b"  # one of moto's built-in images (describing them all is slow)
    return ec2.run_instances(
        ImageId=image,
        MinCount=count,
        MaxCount=count,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
    )["Instances"]


def _creds(env: dict[str, str] | None) -> dict[str, str]:
    env = env or ENV
    out = {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}
    if "AWS_SESSION_TOKEN" in env:
        out["aws_session_token"] = env["AWS_SESSION_TOKEN"]
    return out


def database(identifier: str, retention: int, region: str = REGION) -> str:
    rds = boto3.client("rds", region_name=region, **_creds(None))
    db = rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="password123",
        BackupRetentionPeriod=retention,
    )["DBInstance"]
    return str(db["DBInstanceArn"])


def instance_arn(instance: dict[str, Any], region: str = REGION, account: str = ACCOUNT, partition: str = "aws") -> str:
    return f"arn:{partition}:ec2:{region}:{account}:instance/{instance['InstanceId']}"


def healthy(
    world: World, instances: list[dict[str, Any]], db_arns: list[str], account: str = ACCOUNT, region: str = REGION
) -> AccountWorld:
    acct = world.accounts.setdefault(account, AccountWorld())
    acct.rows += [user_row(account, "alice", key1=(30, 1)), user_row(account, "ci-bot", password=False, key1=(20, 1))]
    for inst in instances:
        acct.protected.append(
            {
                "ResourceArn": instance_arn(inst, region, account),
                "ResourceType": "EC2",
                "LastBackupTime": ago(0.5),
                "_region": region,
            }
        )
        acct.managed.append(
            {
                "InstanceId": inst["InstanceId"],
                "PingStatus": "Online",
                "LastPingDateTime": ago(0.01),
                "PlatformName": "Amazon Linux",
                "_region": region,
            }
        )
        acct.patch_states.append(patch_state(inst["InstanceId"]))
    acct.protected += [
        {"ResourceArn": arn, "ResourceType": "RDS", "LastBackupTime": ago(0.3), "_region": region} for arn in db_arns
    ]
    acct.vaults.append(
        {
            "BackupVaultName": "main",
            "BackupVaultArn": f"arn:aws:backup:{region}:{account}:backup-vault:main",
            "VaultType": "BACKUP_VAULT",
            "VaultState": "AVAILABLE",
            "Locked": True,
            "LockDate": ago(30),  # compliance mode, past its grace time: immutable
            "MinRetentionDays": 30,
            "NumberOfRecoveryPoints": 5,
            "_region": region,
        }
    )
    acct.testing_plans = 1
    acct.restores.append(restore_test_job(region, 0, f"rt-{region}", "COMPLETED", 2, ValidationStatus="SUCCESSFUL"))
    return acct


def scan(world: World, config: AwsConfig | None = None, env: dict[str, str] | None = None) -> dict[str, CheckResult]:
    source = AwsSource(config or AwsConfig(regions=[REGION]), environ=env or ENV, client_factory=world.factory)
    collected = source.collect(RawRecorder(None, "aws"))
    snapshot = Snapshot(
        tool_version="t",
        organisation=OrganisationRef(id="acme", name="Acme"),
        collected_at=collected.run.finished_at,
        sources={"aws": collected.run},
        aws=collected.data,
    )
    report = evaluate(
        snapshot,
        Registry.load(entry_points_too=False),
        load_profile("sme-baseline"),
        ControlsFile(),
        load_lifecycle(),
        scan_id="s",
        operator="pytest",
    )
    world.calls.append(f"status={collected.run.status}")
    return {r.check_id: r for r in report.results}


def names(result: CheckResult) -> set[str]:
    return {f.resource_name for f in result.findings}


def test_healthy_account_passes_all_thirteen(aws: None) -> None:
    world = World()
    instances = launch(count=2)
    healthy(world, instances, [database("orders", 7)])
    results = scan(world)
    assert len(results) == 13
    assert {c: r.reason for c, r in results.items() if r.status is not Status.PASS} == {}
    assert results["aws.backup.coverage"].assessed == 2 + 2 + 1  # two instances, their root volumes, one database


def test_root_and_iam_users(aws: None) -> None:
    world = World()
    acct = healthy(world, launch(), [])
    acct.mfa_enabled = False
    acct.root_keys = True
    acct.rows += [
        user_row(ACCOUNT, "nomfa", mfa=False),
        user_row(ACCOUNT, "olduser", last_login=120),
        user_row(ACCOUNT, "ghost", last_login=None, created=60),
        user_row(ACCOUNT, "newbie", last_login=None, created=5),
        user_row(ACCOUNT, "stalekey", password=False, key1=(200, 100)),
        user_row(ACCOUNT, "neverkey", password=False, key1=(40, None)),
        user_row(ACCOUNT, "freshkey", password=False, key1=(10, None)),
        user_row(ACCOUNT, "inactivekey", password=False, key1=(500, None), key1_active=False),
    ]
    results = scan(world)
    assert names(results["aws.root.mfa"]) == {f"{ACCOUNT}:root"}
    assert names(results["aws.root.access_keys"]) == {f"{ACCOUNT}:root"}
    assert names(results["aws.iam.console_mfa"]) == {f"{ACCOUNT}:nomfa"}
    assert names(results["aws.iam.inactive_users"]) == {f"{ACCOUNT}:olduser", f"{ACCOUNT}:ghost"}
    assert names(results["aws.iam.unused_access_keys"]) == {f"{ACCOUNT}:stalekey:key1", f"{ACCOUNT}:neverkey:key1"}
    assert names(results["aws.iam.access_key_age"]) == {f"{ACCOUNT}:stalekey:key1"}


def test_backup_outcomes(aws: None) -> None:
    world = World()
    covered, uncovered = launch(count=2)
    stopped = launch(name="old")[0]
    boto3.client("ec2", region_name=REGION, **_creds(None)).stop_instances(InstanceIds=[stopped["InstanceId"]])
    no_backups = database("legacy", 0)
    stale = database("reports", 7)
    acct = healthy(world, [covered], [])
    acct.protected.append({"ResourceArn": stale, "ResourceType": "RDS", "LastBackupTime": ago(3), "_region": REGION})
    acct.protected.append(
        {
            "ResourceArn": f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/fs-1",
            "ResourceType": "EFS",
            "LastBackupTime": ago(0.2),
            "_region": REGION,
        }
    )
    acct.jobs = [
        {
            "BackupJobId": "j1",
            "State": "FAILED",
            "ResourceArn": stale,
            "ResourceType": "RDS",
            "CreationDate": ago(2),
            "StatusMessage": "Insufficient privileges",
        },
        {"BackupJobId": "j2", "State": "COMPLETED", "ResourceArn": instance_arn(covered), "CreationDate": ago(1)},
        {"BackupJobId": "j3", "State": "EXPIRED", "ResourceArn": instance_arn(covered), "CreationDate": ago(20)},
    ]
    acct.vaults.append(
        {
            "BackupVaultName": "open",
            "BackupVaultArn": f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:open",
            "Locked": False,
            "NumberOfRecoveryPoints": 3,
        }
    )
    acct.vaults.append(
        {
            "BackupVaultName": "empty",
            "BackupVaultArn": f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:e",
            "Locked": False,
            "NumberOfRecoveryPoints": 0,
        }
    )
    acct.testing_plans = 0
    acct.restores = [
        {"RestoreJobId": "r1", "Status": "COMPLETED", "CompletionDate": ago(500), "CreationDate": ago(500)}
    ]
    results = scan(world)
    coverage = names(results["aws.backup.coverage"])
    assert f"{ACCOUNT}:{REGION}:{uncovered['InstanceId']}" in coverage
    assert no_backups in coverage and stale in coverage
    assert not any(covered["InstanceId"] in n for n in coverage)  # its volume is covered through the instance
    assert not any(stopped["InstanceId"] in n for n in coverage)
    assert names(results["aws.backup.job_failures"]) == {stale}  # j3 is older than the 14-day look-back
    assert names(results["aws.backup.vault_immutable"]) == {f"{ACCOUNT}:{REGION}:open"}
    assert names(results["aws.backup.restore_tested"]) == {ACCOUNT}
    assert names(results["aws.rds.backup_retention"]) == {no_backups}
    assert "automated backups are off" in results["aws.rds.backup_retention"].findings[0].detail


def test_patching(aws: None) -> None:
    world = World()
    fine, lost, missing, failing, rebooting, unscanned, unmanaged = launch(count=7)
    acct = healthy(world, [fine, lost, missing, failing, rebooting, unscanned], [])
    acct.managed[1]["PingStatus"] = "ConnectionLost"
    acct.patch_states = [
        patch_state(fine["InstanceId"]),
        patch_state(lost["InstanceId"]),
        patch_state(missing["InstanceId"], missing=3, critical=2),
        patch_state(failing["InstanceId"], failed=1),
        patch_state(rebooting["InstanceId"], reboot=2),
        patch_state(unscanned["InstanceId"], scanned=40),
    ]
    results = scan(world)
    prefix = f"{ACCOUNT}:{REGION}:"
    assert names(results["aws.patch.ssm_managed"]) == {prefix + lost["InstanceId"], prefix + unmanaged["InstanceId"]}
    assert names(results["aws.patch.compliance"]) == {
        prefix + i["InstanceId"] for i in (missing, failing, rebooting, unscanned)
    }


def test_patch_compliance_does_not_depend_on_severity_counts(aws: None) -> None:
    """On AWS's predefined baselines every approved patch's compliance level is UNSPECIFIED (ssm model,
    ApprovedPatchesComplianceLevel: "The default value is UNSPECIFIED"): missing patches then leave the critical
    and security counts at 0, and the node is still NON_COMPLIANT."""
    world = World()
    fine, unclassified, other, rejected, windows = launch(count=5)
    acct = healthy(world, [fine, unclassified, other, rejected, windows], [])
    acct.patch_states = [
        patch_state(fine["InstanceId"]),
        patch_state(unclassified["InstanceId"], missing=4),
        patch_state(other["InstanceId"], missing=2, other=2),
        patch_state(rejected["InstanceId"], rejected=1),
        {**patch_state(windows["InstanceId"]), "AvailableSecurityUpdateCount": 2},
    ]
    result = scan(world)["aws.patch.compliance"]
    details = {f.resource_name.rsplit(":", 1)[1]: f.detail for f in result.findings}
    assert details == {
        unclassified["InstanceId"]: "4 missing (severity not classified by the patch baseline)",
        other["InstanceId"]: "2 missing (2 other)",
        rejected["InstanceId"]: "1 installed though rejected by the baseline (severity not classified by the patch "
        "baseline)",
        windows["InstanceId"]: "2 security updates available but not approved",
    }


def test_access_denied_names_the_action_and_spares_other_data(aws: None) -> None:
    world = World()
    acct = healthy(world, launch(), [])
    acct.denied = {"backup:ListBackupJobs"}
    results = scan(world)
    for check_id in ("aws.backup.job_failures", "aws.backup.vault_immutable", "aws.backup.coverage"):
        assert results[check_id].status is Status.NOT_ASSESSED, check_id
    assert results["aws.backup.job_failures"].permissions == ["backup:ListBackupJobs"]
    assert results["aws.backup.job_failures"].reason_kind is ReasonKind.PERMISSION
    assert results["aws.patch.compliance"].status is Status.PASS
    assert results["aws.rds.backup_retention"].status is Status.PASS


def test_organisation_fan_out_across_accounts_and_regions(aws: None) -> None:
    org = boto3.client("organizations", region_name="us-east-1", **_creds(None))
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="dev", Email="dev@acme.test")["CreateAccountStatus"]["AccountId"]
    world = World()
    healthy(world, launch(), [])
    creds = boto3.client("sts", region_name=REGION, **_creds(None)).assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/HygieneAudit", RoleSessionName="setup"
    )["Credentials"]
    member_env = {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }
    forgotten = launch(region="us-east-1", name="forgotten", env=member_env)[0]
    dev = healthy(world, [], [], account=member)
    dev.mfa_enabled = False
    results = scan(world, AwsConfig(regions=[REGION, "us-east-1"], organization_role="HygieneAudit"))
    assert names(results["aws.root.mfa"]) == {f"{member}:root"}
    assert results["aws.root.mfa"].assessed == 2
    assert f"{member}:us-east-1:{forgotten['InstanceId']}" in names(results["aws.patch.ssm_managed"])
    assert len([c for c in world.calls if c == "ssm:DescribeInstanceInformation"]) == 4  # 2 accounts x 2 regions


def _member(org: Any, name: str, world: World) -> str:
    member = str(org.create_account(AccountName=name, Email=f"{name}@acme.test")["CreateAccountStatus"]["AccountId"])
    healthy(world, [], [], account=member)
    return member


def test_account_state_replaces_the_retired_status(aws: None) -> None:
    """Organizations answers with ``State`` only: active and pending-closure members are scanned, suspended and
    closed ones are named as not scanned, and a member in a transitional or unknown state is a gap."""
    org = boto3.client("organizations", region_name="us-east-1", **_creds(None))
    org.create_organization(FeatureSet="ALL")
    world = World()
    healthy(world, launch(), [])
    active, closing, suspended, closed, pending, novel = (
        _member(org, n, world) for n in ("active", "closing", "suspended", "closed", "pending", "novel")
    )
    for member, state in (
        (closing, "PENDING_CLOSURE"),
        (suspended, "SUSPENDED"),
        (closed, "CLOSED"),
        (pending, "PENDING_ACTIVATION"),
        (novel, "QUARANTINED"),
    ):
        set_account_state(member, state)
    assert "Status" not in org.list_accounts()["Accounts"][0]
    source = AwsSource(
        AwsConfig(regions=[REGION], organization_role="HygieneAudit"), environ=ENV, client_factory=world.factory
    )
    collected = source.collect(RawRecorder(None, "aws"))
    data = collected.data
    assert data is not None
    assert {a.account_id: a.state for a in data.accounts} == {
        ACCOUNT: "ACTIVE",
        active: "ACTIVE",
        closing: "PENDING_CLOSURE",
    }
    assert {(a.account_id, a.state) for a in data.not_scanned} == {(suspended, "SUSPENDED"), (closed, "CLOSED")}
    assert suspended in collected.run.scope["accounts_not_scanned"]
    gaps = {(g.account_id, g.dataset) for g in data.gaps}
    assert {(pending, "aws.iam"), (novel, "aws.iam"), (pending, "aws.ssm")} <= gaps
    assert {g.account_id for g in data.gaps} == {pending, novel}
    results = scan(world, AwsConfig(regions=[REGION], organization_role="HygieneAudit"))
    root = results["aws.root.mfa"]
    assert root.status is Status.NOT_ASSESSED  # every account seen has MFA, two could not be seen
    assert root.assessed == 3
    assert "PENDING_ACTIVATION" in (root.reason or "") and "QUARANTINED" in (root.reason or "")


@pytest.mark.parametrize(
    ("features", "member_fails"),
    [
        (["RootCredentialsManagement", "RootSessions"], False),
        (["RootSessions"], True),  # root sessions alone do not stop password recovery
        ("ServiceAccessNotEnabledException", True),
        ("AccessDenied", True),  # unknown: never a pass
    ],
)
def test_root_without_credentials_under_centralised_root_access(
    aws: None, features: list[str] | str, member_fails: bool
) -> None:
    org = boto3.client("organizations", region_name="us-east-1", **_creds(None))
    org.create_organization(FeatureSet="ALL")
    world = World(root_features=features)
    management = healthy(world, launch(), [])
    management.mfa_enabled, management.root_password = False, False  # the management account is never exempt
    member = _member(org, "workloads", world)
    removed = world.accounts[member]
    removed.mfa_enabled, removed.root_password = False, False
    results = scan(world, AwsConfig(regions=[REGION], organization_role="HygieneAudit"))
    root = results["aws.root.mfa"]
    assert root.assessed == 2
    failing = {f.resource_name: f.detail for f in root.findings}
    assert set(failing) == {f"{ACCOUNT}:root", *([f"{member}:root"] if member_fails else [])}
    assert "management account" in failing[f"{ACCOUNT}:root"]
    if member_fails:
        assert "centralised root access is not confirmed" in failing[f"{member}:root"]
    else:
        assert "no root credentials to protect (centralised root access" in (root.note or "")
        assert member in (root.note or "")
    assert "iam:ListOrganizationsFeatures" in world.calls


def test_root_with_a_password_needs_mfa_under_centralised_root_access(aws: None) -> None:
    org = boto3.client("organizations", region_name="us-east-1", **_creds(None))
    org.create_organization(FeatureSet="ALL")
    world = World(root_features=["RootCredentialsManagement"])
    healthy(world, launch(), [])
    member = _member(org, "workloads", world)
    world.accounts[member].mfa_enabled = False  # a password is still present
    results = scan(world, AwsConfig(regions=[REGION], organization_role="HygieneAudit"))
    assert names(results["aws.root.mfa"]) == {f"{member}:root"}


def test_region_discovery_denied_scans_the_profile_region_and_never_passes_the_rest(aws: None) -> None:
    world = World()
    acct = healthy(world, launch(), [database("orders", 7)])
    acct.denied = {"ec2:DescribeRegions"}
    results = scan(world, AwsConfig())  # no regions configured: discover them
    for check_id in ("aws.backup.coverage", "aws.rds.backup_retention", "aws.patch.compliance"):
        result = results[check_id]
        assert result.status is Status.NOT_ASSESSED, check_id
        assert "enabled regions not discovered" in (result.reason or ""), check_id
        assert "ec2:DescribeRegions" in result.permissions, check_id
        assert f"regions scanned: {REGION}" in (result.note or ""), check_id
    assert results["aws.root.mfa"].status is Status.PASS  # IAM is global: not affected
    assert results["aws.backup.coverage"].assessed == 3  # what the profile's region holds was read


def test_partition_comes_from_the_callers_arn(aws: None) -> None:
    """In AWS GovCloud every ARN starts ``arn:aws-us-gov:``: ARNs built with a constant ``aws`` match nothing that
    AWS Backup lists, and every instance would be reported unprotected."""
    gov = "us-gov-west-1"
    env = {**ENV, "AWS_DEFAULT_REGION": gov}
    instance = launch(region=gov)[0]
    world = World()
    acct = healthy(world, [], [], region=gov)
    acct.protected.append(
        {
            "ResourceArn": instance_arn(instance, gov, partition="aws-us-gov"),
            "ResourceType": "EC2",
            "LastBackupTime": ago(0.5),
            "_region": gov,
        }
    )
    source = AwsSource(AwsConfig(regions=[gov]), environ=env, client_factory=world.factory)
    collected = source.collect(RawRecorder(None, "aws"))
    assert collected.data is not None and collected.data.partition == "aws-us-gov"
    results = scan(world, AwsConfig(regions=[gov]), env=env)
    coverage = results["aws.backup.coverage"]
    assert (coverage.status, coverage.failing, coverage.assessed) == (Status.PASS, 0, 2), coverage.findings


def test_failed_assume_role_leaves_that_account_not_assessed(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    org = boto3.client("organizations", region_name="us-east-1", **_creds(None))
    org.create_organization(FeatureSet="ALL")
    org.create_account(AccountName="dev", Email="dev@acme.test")
    world = World()
    healthy(world, launch(), [])
    real = AwsSource._assume

    def refuse(self: AwsSource, session: Any, role_arn: str, region: str, counter: Any) -> dict[str, str]:
        if ACCOUNT not in role_arn:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")
        return real(self, session, role_arn, region, counter)

    monkeypatch.setattr(AwsSource, "_assume", refuse)
    results = scan(world, AwsConfig(regions=[REGION], organization_role="HygieneAudit"))
    assert results["aws.root.mfa"].status is Status.NOT_ASSESSED
    assert "sts:AssumeRole" in results["aws.root.mfa"].permissions
    assert "could not assume HygieneAudit" in (results["aws.root.mfa"].reason or "")


def test_bad_credentials_fail_the_source(aws: None) -> None:
    source = AwsSource(AwsConfig(regions=[REGION]), environ={}, client_factory=None)
    monkey = AwsSource._base_session

    def broken(self: AwsSource) -> boto3.Session:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "InvalidClientTokenId", "Message": "bad"}}, "GetCallerIdentity")

    AwsSource._base_session = broken  # type: ignore[method-assign]
    try:
        run = source.collect(RawRecorder(None, "aws")).run
    finally:
        AwsSource._base_session = monkey  # type: ignore[method-assign]
    assert run.status == "error" and "AWS credentials not usable" in run.errors[0]


class TestCredentialReport:
    def test_every_sentinel(self) -> None:
        from awsfake import HEADER, root_row

        rows = [
            HEADER,
            root_row(ACCOUNT, mfa=False, key=True),
            user_row(ACCOUNT, "never", last_login=None),
            user_row(ACCOUNT, "api", password=False, key1=(10, None)),
        ]
        root, users = parse_credential_report(("\n".join(rows) + "\n").encode())
        assert root is not None and not root.mfa_active and root.access_key_active
        never, api = users
        assert never.password_enabled and never.password_last_used is None
        assert never.password_last_used_note == "no_information"
        assert not api.password_enabled and api.password_last_used_note == "N/A"
        assert api.access_keys[0].active and api.access_keys[0].last_used is None
        assert never.access_keys == []

    @pytest.mark.parametrize(
        "content",
        [
            b"user,arn\nx,y\n",
            b"\xff\xfe",
            HEADER_BAD := b"user,arn,user_creation_time,"
            b"password_enabled,password_last_used,mfa_active\nbob,a,notadate,true,N/A,false\n",
        ],
    )
    def test_malformed(self, content: bytes) -> None:
        with pytest.raises(CredentialReportError):
            parse_credential_report(content)


# -- issue 11, items 11-14: what AWS Backup's fields really mean ---------------------------------------------------


def _vault(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "BackupVaultName": name,
        "BackupVaultArn": f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:{name}",
        "VaultType": "BACKUP_VAULT",
        "VaultState": "AVAILABLE",
        "NumberOfRecoveryPoints": 4,
        **fields,
    }


def test_vault_lock_mode_and_minimum_retention(aws: None) -> None:
    """Item 11: ``Locked`` is true in governance mode and in compliance mode's grace time; only a compliance lock
    past its LockDate (or a logically air-gapped vault) is immutable, and its MinRetentionDays must meet the policy."""
    world = World()
    acct = healthy(world, [], [])
    acct.vaults += [
        _vault("governance", Locked=True, MinRetentionDays=30, MaxRetentionDays=365),
        _vault("grace", Locked=True, MinRetentionDays=30, LockDate=ago(-5)),
        _vault("no-minimum", Locked=True, LockDate=ago(100)),
        _vault("short-minimum", Locked=True, MinRetentionDays=3, LockDate=ago(100)),
        _vault("air-gapped", VaultType="LOGICALLY_AIR_GAPPED_BACKUP_VAULT", Locked=True, MinRetentionDays=14),
        _vault("miscounted", Locked=False, NumberOfRecoveryPoints=0),
    ]
    acct.points = [
        {"ResourceArn": "arn:aws:ec2:eu-west-2:1:volume/vol-1", "Status": "COMPLETED", "CreationDate": ago(1)}
        | {"_vault": "miscounted"}
    ]
    results = scan(world)
    result = results["aws.backup.vault_immutable"]
    assert result.assessed == 7
    detail = {f.resource_name.rsplit(":", 1)[-1]: f.detail for f in result.findings}
    assert set(detail) == {"governance", "grace", "no-minimum", "short-minimum", "miscounted"}
    assert detail["miscounted"] == "recent recovery points listed (NumberOfRecoveryPoints says 0); no Vault Lock"
    assert "governance mode" in detail["governance"]
    assert "backup:DeleteBackupVaultLockConfiguration" in detail["governance"]
    assert "grace time until" in detail["grace"]
    assert "MinRetentionDays absent" in detail["no-minimum"]
    assert "minimum retention 3 days" in detail["short-minimum"] and "at least 7 days" in detail["short-minimum"]


def test_rpo_counts_only_completed_recovery_points(aws: None) -> None:
    """Item 12: LastBackupTime counts recovery points whatever their status; a resource whose newest points are
    PARTIAL/EXPIRED and whose last COMPLETED one is older than the RPO fails, naming the status."""
    world = World()
    broken, recovered = launch(count=2)
    acct = healthy(world, [broken, recovered], [])
    for entry in acct.protected:
        entry["LastBackupTime"] = ago(0.1)  # AWS Backup's last backup of any status: recent for both
        entry["_points"] = False
    acct.points = [
        {"ResourceArn": instance_arn(broken), "Status": "PARTIAL", "CreationDate": ago(0.1), "StatusMessage": "x"},
        {"ResourceArn": instance_arn(broken), "Status": "EXPIRED", "CreationDate": ago(0.5)},
        {"ResourceArn": instance_arn(broken), "Status": "COMPLETED", "CreationDate": ago(3)},
        {"ResourceArn": instance_arn(recovered), "Status": "PARTIAL", "CreationDate": ago(0.1)},
        {"ResourceArn": instance_arn(recovered), "Status": "COMPLETED", "CreationDate": ago(0.4)},
        {"ResourceArn": instance_arn(recovered), "Status": "COMPLETED", "CreationDate": ago(5)},  # an older one after
    ]
    results = scan(world)
    findings = {f.resource_name: f.detail for f in results["aws.backup.coverage"].findings}
    broken_name = f"{ACCOUNT}:{REGION}:{broken['InstanceId']}"
    assert set(findings) >= {broken_name}
    assert not any(recovered["InstanceId"] in name for name in findings)
    assert "newest completed recovery point 3d" in findings[broken_name]
    assert "EXPIRED" in findings[broken_name] and "PARTIAL" in findings[broken_name]


def test_rpo_names_the_status_when_no_point_completed(aws: None) -> None:
    world = World()
    (inst,) = launch()
    acct = healthy(world, [inst], [])
    acct.protected[0]["_points"] = False
    acct.points = [{"ResourceArn": instance_arn(inst), "Status": "STOPPED", "CreationDate": ago(0.2)}]
    detail = {f.resource_name: f.detail for f in scan(world)["aws.backup.coverage"].findings}
    # its age is ~4.8 h when written: the hour shown depends on how long the scan took on a loaded machine
    assert re.search(r"the newest \(0d [45]h old\) is STOPPED", detail[f"{ACCOUNT}:{REGION}:{inst['InstanceId']}"])


def test_rpo_without_points_in_the_look_back_cites_last_backup_time(aws: None) -> None:
    world = World()
    (inst,) = launch()
    acct = healthy(world, [inst], [])
    acct.protected[0]["_points"] = False  # LastBackupTime 12 h ago, but no recovery point listed in any vault
    detail = {f.resource_name: f.detail for f in scan(world)["aws.backup.coverage"].findings}
    assert detail[f"{ACCOUNT}:{REGION}:{inst['InstanceId']}"] == (
        "no recovery point in the last 8 days (AWS Backup's last backup of any status was 0d 12h ago)"
    )


def test_restore_testing_plans_must_select_run_and_succeed(aws: None) -> None:
    """Item 13: a plan with no selections, never run, or whose restore jobs failed is not a tested restore."""
    world = World()
    acct = healthy(world, [], [])
    acct.testing_plans = 3
    acct.selections = {0: []}
    acct.executed = {1: None}
    acct.restores = [
        restore_test_job(REGION, 2, "ok-old", "COMPLETED", 9, ValidationStatus="SUCCESSFUL"),
        restore_test_job(REGION, 2, "bad", "FAILED", 2, StatusMessage="The specified subnet does not exist."),
        restore_test_job(REGION, 0, "ok-unselected", "COMPLETED", 300),
    ]
    result = scan(world)["aws.backup.restore_tested"]
    (finding,) = result.findings
    assert "plan p0 (eu-west-2): no resource selections" in finding.detail
    assert "plan p1 (eu-west-2): never run" in finding.detail
    assert "newest EBS restore job FAILED (The specified subnet does not exist.)" in finding.detail

    world = World()
    acct = healthy(world, [], [])
    acct.restores = [restore_test_job(REGION, 0, "validated-bad", "COMPLETED", 1, ValidationStatus="FAILED")]
    (finding,) = scan(world)["aws.backup.restore_tested"].findings
    assert "validation FAILED" in finding.detail


def test_clustered_databases_are_judged_at_cluster_level(aws: None) -> None:
    """Item 14: Aurora (and DocumentDB, Neptune) member instances are backed up through their cluster."""
    rds = boto3.client("rds", region_name=REGION, **_creds(None))
    arns = {}
    for cluster, engine in (("orders", "aurora-postgresql"), ("graph", "neptune")):
        arns[cluster] = rds.create_db_cluster(
            DBClusterIdentifier=cluster,
            Engine=engine,
            MasterUsername="admin",
            MasterUserPassword="password123",
            BackupRetentionPeriod=7 if cluster == "orders" else 1,
        )["DBCluster"]["DBClusterArn"]
        for n in (1, 2):
            rds.create_db_instance(
                DBInstanceIdentifier=f"{cluster}-{n}",
                DBClusterIdentifier=cluster,
                Engine=engine,
                DBInstanceClass="db.r5.large",
            )
    # a Multi-AZ DB cluster (not Aurora): RDS backs it up as DB cluster snapshots, so also per cluster
    arns["multi-az"] = rds.create_db_cluster(
        DBClusterIdentifier="multi-az",
        Engine="postgres",
        DBClusterInstanceClass="db.m5d.large",
        AllocatedStorage=100,
        StorageType="io1",
        Iops=1000,
        MasterUsername="admin",
        MasterUserPassword="password123",
        BackupRetentionPeriod=7,
    )["DBCluster"]["DBClusterArn"]
    rds.create_db_instance(
        DBInstanceIdentifier="multi-az-1",
        DBClusterIdentifier="multi-az",
        Engine="postgres",
        DBInstanceClass="db.m5d.large",
    )
    world = World()
    acct = healthy(world, [], [])
    acct.protected += [
        {"ResourceArn": arns["orders"], "ResourceType": "Aurora", "LastBackupTime": ago(0.2), "_region": REGION},
        {"ResourceArn": arns["multi-az"], "ResourceType": "RDS", "LastBackupTime": ago(0.2), "_region": REGION},
    ]
    results = scan(world)
    assert names(results["aws.backup.coverage"]) == {arns["graph"]}
    assert results["aws.backup.coverage"].assessed == 3  # three clusters; none of their five instances
    assert "no recovery point" in results["aws.backup.coverage"].findings[0].detail
    assert names(results["aws.rds.backup_retention"]) == {arns["graph"]}
    assert results["aws.rds.backup_retention"].assessed == 3


def test_iam_only_selection_makes_no_regional_request(aws: None) -> None:
    """A partial scan (``hygiene scan --checks 'aws.iam.*'``) reads the credential report and nothing regional:
    no EC2, RDS, Backup or SSM request, no region discovery; the other datasets say they were not selected."""
    world = World()
    healthy(world, launch(count=2), [database("orders", 7)])

    def services(run: Any) -> set[str]:
        return {endpoint.split(":", 1)[0].split(".", 1)[0].lower() for endpoint in run.endpoints}

    source = AwsSource(AwsConfig(), environ=ENV, client_factory=world.factory)  # no regions: discovery if needed
    run = source.collect(RawRecorder(None, "aws"), frozenset({"aws.iam"})).run
    assert "iam" in services(run) and services(run) & {"ec2", "rds", "backup", "ssm"} == set(), run.endpoints
    assert run.status == "ok" and run.datasets["aws.iam"].available
    for name in ("aws.ec2", "aws.rds", "aws.backup", "aws.ssm"):
        state = run.datasets[name]
        assert not state.available and not state.selected and state.reason_kind is ReasonKind.NOT_COLLECTED

    # and the full read does make them: the assertion above can fail
    full = AwsSource(AwsConfig(), environ=ENV, client_factory=world.factory).collect(RawRecorder(None, "aws")).run
    assert {"ec2", "rds", "backup", "ssm"} <= services(full), full.endpoints


def test_sessions_share_built_in_handlers_and_client_classes_but_not_credentials() -> None:
    """A fleet builds 3-4 sessions and ~25 clients per organisation: the built-in handlers are registered once and
    copied, a service's client class is built once; what is a client's own (credentials, region) stays its own,
    and a session that is not hygiene's is built by botocore's own code."""
    import botocore.handlers
    import botocore.session

    from hygiene.sources.aws.transport import new_session

    ours = new_session(aws_access_key_id="AKIAEXAMPLEONE", aws_secret_access_key="one", region_name="eu-west-2")
    fresh = boto3.Session(region_name="eu-west-2")._session  # botocore's and boto3's handlers, registered anew

    def handlers(session: botocore.session.Session, event: str) -> list[str]:
        found = session._events._emitter._handlers.prefix_search(event)
        return [f"{getattr(h, '__module__', '')}.{getattr(h, '__qualname__', type(h).__name__)}" for h in found]

    for spec in botocore.handlers.BUILTIN_HANDLERS:
        assert handlers(ours._session, spec[0]) == handlers(fresh, spec[0]), spec[0]
    other = new_session(aws_access_key_id="AKIAEXAMPLETWO", aws_secret_access_key="two", region_name="us-east-1")
    a = ours.client("ec2", region_name="eu-west-2")
    b = other.client("ec2", region_name="us-east-1")
    assert type(a) is type(b)
    assert a._request_signer._credentials.access_key == "AKIAEXAMPLEONE"
    assert b._request_signer._credentials.access_key == "AKIAEXAMPLETWO"
    assert (a.meta.region_name, b.meta.region_name) == ("eu-west-2", "us-east-1")
    assert a.meta.events is not b.meta.events
    plain = boto3.Session(aws_access_key_id="AKIAEXAMPLE3", aws_secret_access_key="3", region_name="eu-west-2")
    assert type(plain.client("ec2")) is not type(a)
    from hygiene.sources.aws.transport import _ClassCachingCreator

    classes = len(_ClassCachingCreator._classes)
    for i in range(3):  # more sessions and clients: no more classes (the cache is keyed by what the loader keeps)
        new_session(aws_access_key_id=f"AKIAEXAMPLE{i}X", aws_secret_access_key="x", region_name="eu-west-2").client(
            "ec2", region_name="eu-west-2"
        )
    assert len(_ClassCachingCreator._classes) == classes


def test_assumed_role_sessions_are_scrubbed_during_the_scan_and_forgotten_after(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An assumed role's session secret is scrubbed from whatever the scan logs or keeps while it runs, and
    forgotten when the scan ends (a fleet process would otherwise compare every later answer with every session
    it ever had)."""
    from hygiene import logsetup
    from hygiene.sources.aws import source as aws_source

    org = boto3.client("organizations", region_name="us-east-1", **_creds(None))
    org.create_organization(FeatureSet="ALL")
    world = World()
    healthy(world, launch(), [])
    _member(org, "dev", world)
    seen: list[str] = []
    during: list[bool] = []
    register = logsetup.register_secret

    def spying(value: str | None, expires: Any = None) -> None:
        register(value, expires)
        if value and expires is not None:  # a session's (the base credential is kept for good)
            seen.append(value)
            during.append(value in logsetup._known_secrets)

    monkeypatch.setattr(aws_source, "register_secret", spying)
    scan(world, AwsConfig(regions=[REGION], organization_role="HygieneAudit"))
    assert len(seen) >= 2 and all(during)  # registered (so scrubbed) while the scan ran
    assert not set(seen) & set(logsetup._known_secrets)  # forgotten once it ended
