"""The Azure checks on hand-made snapshots: what passes, what fails, and that nothing unseen passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import run_checks

from hygiene.model import (
    AzureBackupItem,
    AzureBackupJob,
    AzureData,
    AzureGap,
    AzureMachine,
    AzureMissingPatch,
    AzurePatchAssessment,
    AzurePatchInstallation,
    AzureRoleAssignment,
    AzureSubscription,
    AzureVault,
    DatasetState,
    M365Data,
    M365User,
    OrganisationRef,
    ReasonKind,
    Snapshot,
    SourceRun,
)
from hygiene.results import CheckResult, Status
from hygiene.sources.azure import catalogue

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SUB = "sub-1"
RG = f"/subscriptions/{SUB}/resourceGroups/rg"
VAULT = f"{RG}/providers/Microsoft.RecoveryServices/vaults/rsv"
DATASETS = tuple(d.name for d in catalogue.DATASETS)
OWNER = "Owner"


def vm(name: str, os_name: str = "Windows Server 2022 Datacenter", os_version: str = "10.0.20348.2762") -> AzureMachine:
    return AzureMachine(
        id=f"{RG}/providers/Microsoft.Compute/virtualMachines/{name}",
        name=name,
        kind="vm",
        subscription_id=SUB,
        os_name=os_name,
        os_version=os_version,
    )


def installation(machine: AzureMachine, status: str = "Succeeded", days: float = 2, **changes: Any) -> Any:
    return AzurePatchInstallation(
        machine_id=machine.id.upper(), status=status, finished=NOW - timedelta(days=days), **changes
    )


def item(source: str, state: str = "Protected", hours: float = 2, name: str = "i") -> AzureBackupItem:
    return AzureBackupItem(
        id=f"{VAULT}/backupFabrics/Azure/protectionContainers/c/protectedItems/{name}",
        name=name,
        subscription_id=SUB,
        vault_id=VAULT,
        source_resource_id=source,
        protection_state=state,
        last_recovery_point=NOW - timedelta(hours=hours),
    )


def job(entity: str, status: str, operation: str = "Backup", days: float = 1) -> AzureBackupJob:
    return AzureBackupJob(
        id=f"{VAULT}/backupJobs/{entity}-{status}-{days}",
        subscription_id=SUB,
        vault_id=VAULT,
        operation=operation,
        status=status,
        entity=entity,
        start=NOW - timedelta(days=days),
    )


def healthy() -> AzureData:
    web = vm("web")
    return AzureData(
        machines=[web],
        vaults=[
            AzureVault(
                id=VAULT,
                name="rsv",
                kind="recovery_services",
                subscription_id=SUB,
                immutability="Locked",
                soft_delete="AlwaysON",
            )
        ],
        backup_items=[item(web.id.upper())],
        backup_jobs=[job("web", "Completed"), job("web", "Completed", operation="Restore", days=3)],
        patch_assessments=[
            AzurePatchAssessment(machine_id=web.id, status="Succeeded", assessed_at=NOW - timedelta(days=1))
        ],
        patch_installations=[installation(web)],
        subscriptions=[AzureSubscription(id=SUB, name="Prod", state="Enabled")],
        role_assignments=[owner("sp-1", "ServicePrincipal")],
    )


def owner(
    principal: str, kind: str = "User", scope: str = f"/subscriptions/{SUB}", role: str = OWNER
) -> AzureRoleAssignment:
    return AzureRoleAssignment(
        id=f"{scope}/providers/Microsoft.Authorization/roleAssignments/{principal}",
        subscription_id=SUB,
        scope=scope,
        role=role,
        principal_id=principal,
        principal_type=kind,
    )


def scan(data: AzureData, profile: str = "sme-baseline", **states: DatasetState) -> dict[str, CheckResult]:
    datasets = {name: states.get(name.split(".")[1], DatasetState(available=True)) for name in DATASETS}
    run = SourceRun(platform="azure", status="ok", started_at=NOW, finished_at=NOW, datasets=datasets)
    snapshot = Snapshot(
        tool_version="t",
        organisation=OrganisationRef(id="acme", name="Acme"),
        collected_at=NOW,
        sources={"azure": run},
        azure=data,
    )
    return {r.check_id: r for r in run_checks(snapshot, profile).results if r.platform == "azure"}


def names(result: CheckResult) -> set[str]:
    return {f.resource_name for f in result.findings}


def test_a_healthy_subscription_passes_every_check() -> None:
    results = scan(healthy())
    assert len(results) == 10
    mfa = results.pop("azure.mfa.management")  # judged from Microsoft 365, not scanned here
    assert mfa.status is Status.NOT_ASSESSED and "[sources.m365]" in (mfa.reason or "")
    assert {k: v.status for k, v in results.items()} == dict.fromkeys(results, Status.PASS)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"state": "ProtectionStopped"}, "protection ProtectionStopped"),
        ({"state": "SomethingNew"}, "protection SomethingNew"),
        ({"hours": 30}, "newest recovery point 1d 6h old"),
    ],
)
def test_coverage_needs_a_protected_item_with_a_point_within_the_rpo(change: dict[str, Any], why: str) -> None:
    data = healthy()
    data.backup_items = [item(data.machines[0].id, **change)]
    result = scan(data)["azure.backup.coverage"]
    assert result.status is Status.FAIL and names(result) == {"web"} and why in result.findings[0].detail


def test_coverage_names_unprotected_vms_and_stale_workloads() -> None:
    data = healthy()
    data.machines.append(vm("avd"))
    share = item(f"{RG}/providers/Microsoft.Storage/storageAccounts/files", hours=48, name="share")
    share.friendly_name = "clinical-images"
    data.backup_items.append(share)
    result = scan(data)["azure.backup.coverage"]
    assert names(result) == {"avd", "clinical-images"} and result.assessed == 3


def test_job_failures_count_failed_partial_and_unknown_statuses_in_the_window() -> None:
    data = healthy()
    data.backup_jobs += [
        job("a", "Failed"),
        job("b", "CompletedWithWarnings"),
        job("c", "Mysterious"),
        job("d", "InProgress"),
        job("e", "Failed", days=20),  # beyond the 14 days Resource Graph keeps / the look-back
        job("f", "Failed", operation="Restore"),  # not a backup
    ]
    assert names(scan(data)["azure.backup.job_failures"]) == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("immutability", "soft_delete", "fails"),
    [
        ("Locked", "Enabled", False),
        ("Unlocked", "Enabled", True),
        (None, "AlwaysON", True),
        ("Locked", "Disabled", True),
        ("locked", "on", False),
    ],
)
def test_vaults_must_be_locked_with_soft_delete(immutability: str | None, soft_delete: str, fails: bool) -> None:
    data = healthy()
    data.vaults[0].immutability, data.vaults[0].soft_delete = immutability, soft_delete
    assert (scan(data)["azure.backup.vault_immutable"].status is Status.FAIL) is fails


def test_restore_tested_never_passes_on_silence() -> None:
    data = healthy()
    data.backup_jobs = [job("web", "Completed"), job("web", "Failed", operation="Restore")]
    result = scan(data)["azure.backup.restore_tested"]
    assert result.status is Status.FAIL and names(result) == {"rsv"}


def test_patch_assessed_fails_never_assessed_failed_and_old_assessments() -> None:
    data = healthy()
    data.machines += [vm("never"), vm("failed"), vm("old")]
    data.patch_assessments += [
        AzurePatchAssessment(
            machine_id=data.machines[2].id.lower(), status="Failed", assessed_at=NOW - timedelta(days=1)
        ),
        AzurePatchAssessment(machine_id=data.machines[3].id, status="Succeeded", assessed_at=NOW - timedelta(days=20)),
    ]
    result = scan(data)["azure.patch.assessed"]
    assert names(result) == {"never", "failed", "old"}


def test_patch_missing_uses_the_profile_window_and_does_not_pass_unseen_machines(tmp_path: Path) -> None:
    data = healthy()
    web = data.machines[0].id
    data.missing_patches = [
        AzureMissingPatch(machine_id=web, name="KB1", classifications=["Security"], published=NOW - timedelta(days=20))
    ]
    assert names(scan(data)["azure.patch.missing"]) == {"web"}
    assert scan(data, "cis-ig1")["azure.patch.missing"].status is Status.PASS  # 30-day window
    data.missing_patches = []
    data.machines.append(vm("never"))
    result = scan(data)["azure.patch.missing"]
    assert result.status is Status.NOT_ASSESSED and "never" in (result.reason or "")
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "name: p\ntitle: P\nextends: sme-baseline\n"
        "thresholds:\n  plugins:\n    azure.patch.missing:\n      patch_window_days: soon\n"
    )
    assert scan(data, str(profile))["azure.patch.missing"].status is Status.NOT_ASSESSED


def test_a_subscription_gap_never_lets_a_check_pass() -> None:
    data = healthy()
    data.gaps = [
        AzureGap(dataset=d, subscription_id="sub-2", reason_kind=ReasonKind.PERMISSION, reason="sub-2 not readable")
        for d in DATASETS[1:]  # every dataset but the subscription list
    ]
    results = scan(data)
    assert {r.status for r in results.values()} == {Status.NOT_ASSESSED}
    assert all("sub-2 not readable" in (r.reason or "") for k, r in results.items() if k != "azure.mfa.management")


def test_an_unavailable_dataset_is_not_assessed_with_its_reason() -> None:
    missing = DatasetState(available=False, reason_kind=ReasonKind.PERMISSION, reason="AuthorizationFailed")
    results = scan(healthy(), backup=missing)
    assert results["azure.backup.coverage"].status is Status.NOT_ASSESSED
    assert "AuthorizationFailed" in (results["azure.backup.coverage"].reason or "")
    assert results["azure.backup.vault_immutable"].status is Status.PASS


def m365_user(user_id: str, **changes: Any) -> M365User:
    values: dict[str, Any] = {
        "id": user_id,
        "upn": f"{user_id}@acme.example",
        "enabled": True,
        "created": NOW - timedelta(days=400),
        "last_successful_sign_in": NOW - timedelta(days=2),
        **changes,
    }
    return M365User(**values)


def scan_with_m365(data: AzureData, users: list[M365User]) -> CheckResult:
    datasets = {name: DatasetState(available=True) for name in DATASETS}
    run = SourceRun(platform="azure", status="ok", started_at=NOW, finished_at=NOW, datasets=datasets)
    m365_sets = {n: DatasetState(available=True) for n in ("m365.users", "m365.sign_ins")}
    m365_run = SourceRun(platform="m365", status="ok", started_at=NOW, finished_at=NOW, datasets=m365_sets)
    snapshot = Snapshot(
        tool_version="t",
        organisation=OrganisationRef(id="acme", name="Acme"),
        collected_at=NOW,
        sources={"azure": run, "m365": m365_run},
        azure=data,
        m365=M365Data(tenant_id="t", users=users),
    )
    return {r.check_id: r for r in run_checks(snapshot).results}["azure.rbac.owners"]


def test_owners_are_judged_by_their_accounts_when_microsoft_365_is_scanned() -> None:
    data = healthy()
    data.role_assignments += [
        owner("ok"),
        owner("guest"),
        owner("off", role="User Access Administrator"),
        owner("stale"),
        owner("gone"),
        owner("rg-only", scope=f"{RG}"),  # a resource group's owner does not control the subscription
    ]
    users = [
        m365_user("ok"),
        m365_user("guest", user_type="Guest"),
        m365_user("off", enabled=False),
        m365_user("stale", last_successful_sign_in=NOW - timedelta(days=200)),
        m365_user("rg-only", enabled=False),
    ]
    result = scan_with_m365(data, users)
    assert names(result) == {"Prod", "guest@acme.example", "off@acme.example", "stale@acme.example", "gone"}


def test_owners_alone_are_counted_and_their_accounts_not_seen() -> None:
    data = healthy()
    data.role_assignments += [owner("a"), owner("b")]
    result = scan(data)["azure.rbac.owners"]
    assert result.status is Status.NOT_ASSESSED and "not judged" in (result.reason or "")
    data.role_assignments += [owner("c"), owner("group-1", kind="Group")]
    result = scan(data)["azure.rbac.owners"]
    assert result.status is Status.FAIL and names(result) == {"Prod"}  # 5 principals, 3 allowed
    assert "group-1" in (result.note or "") + (result.reason or "")


def test_the_last_finished_installation_run_decides() -> None:
    ok, failed, warned, stopped, recovered, silent = (vm(n) for n in ("ok", "failed", "warned", "stopped", "rec", "si"))
    data = healthy()
    data.machines = [ok, failed, warned, stopped, recovered, silent]
    data.patch_installations = [
        installation(ok),
        installation(failed, "Failed", failed=3),
        installation(failed, "Succeeded", days=9),
        installation(warned, "CompletedWithWarnings"),
        installation(stopped, window_exceeded=True),
        installation(recovered, "Failed", days=9),
        installation(recovered, "Succeeded", days=1),
        installation(recovered, "InProgress", days=0.1),  # passed over: the run before it decides
        installation(ok, "Unknown", days=30),  # older than the last run
    ]
    result = scan(data)["azure.patch.installations"]
    assert names(result) == {"failed", "warned", "stopped"}
    by_name = {f.resource_name: f.detail for f in result.findings}
    assert "Failed" in by_name["failed"] and "3 update(s) failed" in by_name["failed"]
    assert "maintenance window" in by_name["stopped"]
    assert result.assessed == 5 and "si" in (result.note or "")
    data.patch_installations.append(installation(silent, "SomethingNew"))
    assert "si" in names(scan(data)["azure.patch.installations"])  # an unknown status never passes


def test_os_end_of_support_comes_from_the_lifecycle_table() -> None:
    data = healthy()
    data.machines = [
        vm("ws2022"),
        vm("ws2012", "Windows Server 2012 R2 Datacenter", "6.3.9600"),
        vm("ubuntu20", "ubuntu", "20.04"),
        vm("ubuntu24", "Ubuntu 24.04.1 LTS", "24.04"),
        vm("win10", "Windows 10 Enterprise multi-session", "10.0.19045.5011"),
    ]
    result = scan(data)["azure.patch.os_supported"]
    assert result.status is Status.FAIL and names(result) == {"ws2012", "ubuntu20", "win10"}
    assert "Windows Server 2012" in next(f.detail for f in result.findings if f.resource_name == "ws2012")
    # an OS the agent does not report, or the table does not list, is not seen: never a pass
    data.machines = [vm("ws2022"), vm("quiet", os_name="", os_version=""), vm("rhel", "RedHat", "9.4")]
    unseen = scan(data)["azure.patch.os_supported"]
    assert unseen.status is Status.NOT_ASSESSED and "quiet" in (unseen.reason or "") and "rhel" in (unseen.reason or "")


BACKUP_VAULT = f"{RG}/providers/Microsoft.DataProtection/backupVaults/bv"


def test_backup_vault_instances_and_jobs_are_judged_alongside_recovery_services() -> None:
    data = healthy()
    data.vaults.append(
        AzureVault(id=BACKUP_VAULT, name="bv", kind="backup", subscription_id=SUB, immutability="Locked",
                   soft_delete="On", cross_region_restore="Disabled")
    )  # fmt: skip
    disk = AzureBackupItem(
        id=f"{BACKUP_VAULT}/backupInstances/disk", name="disk", subscription_id=SUB, vault_id=BACKUP_VAULT,
        source_resource_id=f"{RG}/providers/Microsoft.Compute/disks/d", friendly_name="disk",
        protection_state="ProtectionConfigured", last_recovery_point=NOW - timedelta(hours=3),
    )  # fmt: skip
    suspended = {"protection_state": "BackupSchedulesSuspended", "source_resource_id": "/blobs"}
    blobs = disk.model_copy(
        update={"id": f"{BACKUP_VAULT}/backupInstances/blobs", "friendly_name": "blobs", **suspended}
    )
    data.backup_items += [disk, blobs]
    data.backup_jobs.append(
        AzureBackupJob(id=f"{BACKUP_VAULT}/backupJobs/1", subscription_id=SUB, vault_id=BACKUP_VAULT,
                       operation="Backup", status="Failed", entity="disk", start=NOW - timedelta(days=1))
    )  # fmt: skip
    results = scan(data)
    assert names(results["azure.backup.coverage"]) == {"blobs"}  # suspended schedules are not protection
    assert names(results["azure.backup.job_failures"]) == {"disk"}
    # a Backup vault holding instances needs its own completed restore
    assert names(results["azure.backup.restore_tested"]) == {"bv"}
    data.backup_jobs.append(
        AzureBackupJob(id=f"{BACKUP_VAULT}/backupJobs/2", subscription_id=SUB, vault_id=BACKUP_VAULT.upper(),
                       operation="Restore", status="Completed", entity="disk", start=NOW - timedelta(days=2))
    )  # fmt: skip
    results = scan(data)
    assert results["azure.backup.restore_tested"].status is Status.PASS
    assert "off or not set for rsv, bv" in (results["azure.backup.vault_immutable"].note or "")


def test_two_workloads_of_one_resource_are_two_findings_with_their_own_ids() -> None:
    """A storage account's file share (Recovery Services) and its blobs (Backup vault), both stale: one finding
    each, never two findings with the same resource id (OCSF and exceptions key on it)."""
    data = healthy()
    account = f"{RG}/providers/Microsoft.Storage/storageAccounts/sa"
    share = item(account, hours=50, name="share").model_copy(update={"friendly_name": "share"})
    blobs = share.model_copy(update={"id": f"{RG}/providers/Microsoft.DataProtection/backupVaults/bv/backupInstances/b",
                                     "friendly_name": "blobs"})  # fmt: skip
    data.backup_items += [share, blobs]
    findings = scan(data)["azure.backup.coverage"].findings
    assert {f.resource_name for f in findings} == {"share", "blobs"}
    assert len({f.resource_id.lower() for f in findings}) == 2 and account in {f.resource_id for f in findings}
