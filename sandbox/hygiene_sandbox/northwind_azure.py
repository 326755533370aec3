"""Northwind's Azure subscription: a file server, an Azure Virtual Desktop host, a Linux app server, the practice
server on site through Azure Arc, one Recovery Services vault and one Backup vault, with planted defects.

Planted (the ``expected`` table below is written by hand from this list, not computed):
- vm-avd-host01 has no backup item; vm-app01's item is ProtectionStopped (its last point 3 days old); the
  clinical-images file share's newest recovery point is 2 days old (RPO 24 h): ``azure.backup.coverage`` fails
  those three. vm-fileserver and the Arc server have recovery points from hours ago (the file server's item
  names it in another case, as Azure may).
- vm-fileserver has a CompletedWithWarnings job, vm-app01 a Failed one; an InProgress job and Completed jobs do not
  count: ``azure.backup.job_failures`` fails vm-fileserver and vm-app01.
- bv-northwind (a Backup vault, read from dataprotectionresources) protects vm-fileserver's data disk (a Completed
  backup 5 hours ago, a Completed restore 4 days ago) and the nwclinical blobs, whose newest Completed backup is 3
  days old and whose latest backup Failed yesterday: ``azure.backup.coverage`` and ``azure.backup.job_failures``
  fail nwclinical-blobs too; bv-northwind's restore is on record. Cross-region restore: Enabled on rsv-northwind,
  Disabled on bv-northwind (named in the vault check's note, not judged).
- rsv-northwind's immutability is Unlocked (it can still be disabled); bv-northwind is Locked with soft delete
  On: ``azure.backup.vault_immutable`` fails rsv-northwind.
- no restore job of rsv-northwind in the 14 days Resource Graph keeps: ``azure.backup.restore_tested`` fails it;
  bv-northwind's Completed restore passes it.
- vm-app01 has never been assessed by Update Manager: ``azure.patch.assessed`` fails it.
- vm-avd-host01 has a Security update published 30 days ago (the patch window is 14 days); the Arc server's
  Critical update is 5 days old, inside the window: ``azure.patch.missing`` fails vm-avd-host01.
- Update Manager installation runs: vm-avd-host01's latest Failed (2 updates) after a Succeeded one; the Arc
  server's latest finished run Succeeded after a Failed one (a run in progress since is passed over); the file
  server's Succeeded; vm-app01 has none (named in the note): ``azure.patch.installations`` fails vm-avd-host01.
- Operating systems (what the VM agent and the Arc agent report): vm-app01 runs Ubuntu 20.04 LTS, out of standard
  support since 31 May 2025; Windows Server 2019, Windows 11 25H2 multi-session and Windows Server 2022 are
  supported: ``azure.patch.os_supported`` fails vm-app01.
- "Northwind Old Dev" is Disabled: listed, named as not scanned, its rows are never read.
- Owner at subscription scope: Helen Price and BrightByte IT Support (fine), the B2B guest Ravi Kumar, Mark Jones
  (last sign-in 150 days ago) and a service principal; User Access Administrator: Gary Oldfield (disabled); Owner
  of a resource group only: Julia Wood (not counted). Six principals against the profile's three: with Microsoft
  365 scanned ``azure.rbac.owners`` fails the subscription, Ravi, Mark and Gary; scanned alone it fails the
  subscription only (the accounts' state is not seen: ``expected_alone``).
- MFA for Azure management (``azure.mfa.management``, judged from the Microsoft 365 side's Conditional Access):
  Sam Taylor (Contributor of the resource group) is in CA001's exclusion group, and CA003 lets him in with a
  compliant device instead of MFA; Ravi Kumar (guest Owner) is excluded from CA001 as a B2B guest and holds no role
  CA002 targets: both fail. Karen Holt (Reader of the subscription) is excluded from CA001 but CA010 requires MFA
  for the Azure management app of the Finance group: she passes, as do Helen, BrightByte IT, Mark and Julia (CA001);
  Gary's account is disabled and the service principal is no account: not counted. With security defaults instead
  of Conditional Access (no Entra ID P1) every holder passes; scanned without Microsoft 365 it is not assessed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hygiene_sandbox.azure_scenario import AzureScenario, AzureSubscriptionSpec
from hygiene_sandbox.expectation import JsonDict, fails, not_assessed, passes
from hygiene_sandbox.scenario import stable_id

PRODUCTION = stable_id("subscription", "northwind-production")
OLD_DEV = stable_id("subscription", "northwind-old-dev")
GROUP = "rg-practice"
VAULT = "rsv-northwind"
BACKUP_VAULT = "bv-northwind"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _rg(subscription: str, group: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}"


def _vm(name: str, os_type: str, os_name: str, os_version: str) -> JsonDict:
    """A VM as the ``resources`` table holds it; ``properties.extended.instanceView`` is what the VM agent reports."""
    return {
        "id": f"{_rg(PRODUCTION, GROUP)}/providers/Microsoft.Compute/virtualMachines/{name}",
        "name": name,
        "type": "microsoft.compute/virtualmachines",
        "subscriptionId": PRODUCTION,
        "resourceGroup": GROUP,
        "location": "uksouth",
        "properties": {
            "storageProfile": {"osDisk": {"osType": os_type}},
            "provisioningState": "Succeeded",
            "extended": {
                "instanceView": {
                    "computerName": name,
                    "osName": os_name,
                    "osVersion": os_version,
                    "powerState": {"code": "PowerState/running", "displayStatus": "VM running"},
                }
            },
        },
    }


def _arc(name: str) -> JsonDict:
    return {
        "id": f"{_rg(PRODUCTION, GROUP)}/providers/Microsoft.HybridCompute/machines/{name}",
        "name": name,
        "type": "microsoft.hybridcompute/machines",
        "subscriptionId": PRODUCTION,
        "resourceGroup": GROUP,
        "location": "uksouth",
        "properties": {
            "osType": "windows",
            "status": "Connected",
            "osName": "windows",
            "osSku": "Windows Server 2022 Standard",
            "osVersion": "10.0.20348.2762",
        },
    }


def _vault_id(name: str, provider: str = "Microsoft.RecoveryServices/vaults") -> str:
    return f"{_rg(PRODUCTION, GROUP)}/providers/{provider}/{name}"


def _item(name: str, source: str | None, item_type: str, state: str, point: datetime | None, now: datetime) -> JsonDict:
    container = f"iaasvmcontainerv2;{GROUP};{name}"
    item_id = (
        f"{_vault_id(VAULT)}/backupFabrics/Azure/protectionContainers/IaasVMContainer;{container}"
        f"/protectedItems/VM;{container}"
    )
    props: JsonDict = {
        "friendlyName": name,
        "protectedItemType": item_type,
        "protectionState": state,
        "protectionStatus": "Healthy",
        "lastBackupStatus": "Completed",
        "lastBackupTime": _iso(point) if point else None,
        "lastRecoveryPoint": _iso(point) if point else None,
        "sourceResourceId": source,
        "backupManagementType": "AzureIaasVM" if item_type == "Microsoft.Compute/virtualMachines" else "AzureStorage",
    }
    return {
        "id": item_id,
        "name": f"VM;{container}",
        "type": "microsoft.recoveryservices/vaults/backupfabrics/protectioncontainers/protecteditems",
        "subscriptionId": PRODUCTION,
        "resourceGroup": GROUP,
        "location": "uksouth",
        "properties": props,
    }


def _job(key: str, operation: str, status: str, entity: str, start: datetime, hours: float) -> JsonDict:
    job = stable_id("backup-job", key)
    return {
        # Azure Backup writes job ids with "/Subscriptions/": compared case-insensitively
        "id": f"/Subscriptions/{PRODUCTION}/resourceGroups/{GROUP}/providers/Microsoft.RecoveryServices/vaults/"
        f"{VAULT}/backupJobs/{job}",
        "name": job,
        "type": "microsoft.recoveryservices/vaults/backupjobs",
        "subscriptionId": PRODUCTION,
        "resourceGroup": GROUP,
        "location": "uksouth",
        "properties": {
            "jobType": "AzureIaaSVMJob",
            "operation": operation,
            "status": status,
            "entityFriendlyName": entity,
            "backupManagementType": "AzureIaasVM",
            "startTime": _iso(start),
            "endTime": _iso(start + timedelta(hours=hours)) if status != "InProgress" else None,
        },
    }


def _instance(name: str, source: str, source_type: str, resource_type: str) -> JsonDict:
    """A Backup vault backup instance as ``dataprotectionresources`` holds it."""
    instance = f"{name}-{stable_id('backup-instance', name)}"
    return {
        "id": f"{_vault_id(BACKUP_VAULT, 'Microsoft.DataProtection/backupVaults')}/backupInstances/{instance}",
        "name": instance,
        "type": "microsoft.dataprotection/backupvaults/backupinstances",
        "subscriptionId": PRODUCTION,
        "resourceGroup": GROUP,
        "location": "uksouth",
        "properties": {
            "friendlyName": name,
            "dataSourceInfo": {
                "resourceID": source,
                "resourceName": source.rsplit("/", 1)[-1],
                "resourceType": resource_type,
                "resourceLocation": "uksouth",
                "resourceUri": source,
                "datasourceType": source_type,
                "objectType": "Datasource",
            },
            "policyInfo": {
                "policyId": f"{_vault_id(BACKUP_VAULT, 'Microsoft.DataProtection/backupVaults')}/backupPolicies/daily"
            },
            "protectionStatus": {"status": "ProtectionConfigured"},
            "currentProtectionState": "ProtectionConfigured",
            "provisioningState": "Succeeded",
            "objectType": "BackupInstance",
        },
    }


def _vault_job(key: str, instance: JsonDict, category: str, status: str, start: datetime, hours: float) -> JsonDict:
    """A Backup vault job as ``dataprotectionresources`` holds it."""
    job = stable_id("backup-vault-job", key)
    props = instance["properties"]
    return {
        "id": f"{_vault_id(BACKUP_VAULT, 'Microsoft.DataProtection/backupVaults')}/backupJobs/{job}",
        "name": job,
        "type": "microsoft.dataprotection/backupvaults/backupjobs",
        "subscriptionId": PRODUCTION,
        "resourceGroup": GROUP,
        "location": "uksouth",
        "properties": {
            "activityID": stable_id("activity", key),
            "backupInstanceId": instance["id"],
            "backupInstanceFriendlyName": props["friendlyName"],
            "dataSourceId": props["dataSourceInfo"]["resourceID"],
            "dataSourceName": props["dataSourceInfo"]["resourceName"],
            "dataSourceType": props["dataSourceInfo"]["datasourceType"],
            "dataSourceLocation": "uksouth",
            "vaultName": BACKUP_VAULT,
            "policyName": "daily",
            "sourceResourceGroup": GROUP,
            "sourceSubscriptionID": PRODUCTION,
            "operationCategory": category,
            "operation": category if category == "Restore" else "Scheduled Backup",
            "status": status,
            "isUserTriggered": category == "Restore",
            "progressEnabled": False,
            "supportedActions": [""],
            "startTime": _iso(start),
            "endTime": _iso(start + timedelta(hours=hours)) if status != "InProgress" else None,
        },
    }


def _assessment(machine: JsonDict, status: str, at: datetime, critical: int, security: int) -> JsonDict:
    return {
        "id": f"{machine['id']}/patchAssessmentResults/latest",
        "name": stable_id("assessment", machine["name"]),
        "type": f"{machine['type']}/patchassessmentresults",
        "subscriptionId": PRODUCTION,
        "resourceGroup": GROUP,
        "location": "uksouth",
        "properties": {
            "status": status,
            "lastModifiedDateTime": _iso(at),
            "startDateTime": _iso(at - timedelta(minutes=4)),
            "osType": "Windows",
            "rebootPending": False,
            "patchServiceUsed": "WU",
            "startedBy": "Platform",
            "availablePatchCountByClassification": {
                "security": security,
                "critical": critical,
                "definition": 1,
                "updateRollup": 0,
                "featurePack": 0,
                "servicePack": 0,
                "tools": 0,
                "updates": 0,
                "other": 0,
            },
        },
    }


def _installation(machine: JsonDict, key: str, status: str, end: datetime, installed: int, failed: int) -> JsonDict:
    """One Update Manager installation run as ``patchinstallationresources`` holds it."""
    run = stable_id("installation", machine["name"], key)
    return {
        "id": f"{machine['id']}/patchInstallationResults/{run}",
        "name": run,
        "type": f"{machine['type']}/patchinstallationresults",
        "subscriptionId": PRODUCTION,
        "resourceGroup": GROUP,
        "location": "uksouth",
        "properties": {
            "status": status,
            "startDateTime": _iso(end - timedelta(minutes=40)),
            "lastModifiedDateTime": _iso(end),
            "startedBy": "Platform",
            "installedPatchCount": installed,
            "failedPatchCount": failed,
            "pendingPatchCount": failed,
            "excludedPatchCount": 0,
            "notSelectedPatchCount": 0,
            "maintenanceWindowExceeded": False,
            "rebootStatus": "Completed" if status == "Succeeded" else "NotNeeded",
            "osType": "Windows",
            "patchServiceUsed": "WU",
            "installationActivityId": stable_id("installation-activity", machine["name"], key),
        },
    }


def _patch(machine: JsonDict, name: str, classification: str, published: datetime, seen: datetime) -> JsonDict:
    patch = stable_id("patch", machine["name"], name)
    return {
        "id": f"{machine['id']}/patchAssessmentResults/latest/softwarePatches/{patch}",
        "name": patch,
        "type": f"{machine['type']}/patchassessmentresults/softwarepatches",
        "subscriptionId": PRODUCTION,
        "resourceGroup": GROUP,
        "location": "uksouth",
        "properties": {
            "patchName": name,
            "kbId": "5034441",
            "classifications": [classification],
            "rebootBehavior": "CanRequestReboot",
            "publishedDateTime": _iso(published),
            "lastModifiedDateTime": _iso(seen),
        },
    }


OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c4a72b9d"
READER_ROLE = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


def _assignment(key: str, role: str, principal: str, kind: str, scope: str) -> JsonDict:
    assignment = stable_id("role-assignment", key)
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment}",
        "name": assignment,
        "type": "microsoft.authorization/roleassignments",
        "subscriptionId": PRODUCTION,
        "properties": {
            "roleDefinitionId": f"/subscriptions/{PRODUCTION}/providers/Microsoft.Authorization/roleDefinitions/{role}",
            "principalId": principal,
            "principalType": kind,
            "scope": scope,
            "createdOn": "2025-03-01T10:00:00.0000000Z",
        },
    }


def _owners(users: list[JsonDict]) -> tuple[list[JsonDict], set[str], set[str]]:
    """The role assignments, and the UPNs that ``azure.rbac.owners`` and ``azure.mfa.management`` fail when
    Microsoft 365 is scanned too (with its Conditional Access policies)."""

    def who(prefix: str) -> JsonDict:
        return next(u for u in users if str(u["userPrincipalName"]).lower().startswith(prefix))

    subscription = f"/subscriptions/{PRODUCTION}"
    held = [
        ("helen", OWNER, who("helen.price@")["id"], "User", subscription),
        ("it", OWNER, who("it.support@")["id"], "User", subscription),
        ("ravi", OWNER, who("ravi.kumar_brightbyte.example#ext#")["id"], "User", subscription),
        ("mark", OWNER, who("mark.jones@")["id"], "User", subscription),
        ("gary", USER_ACCESS_ADMINISTRATOR, who("gary.oldfield@")["id"], "User", subscription),
        ("msp-automation", OWNER, stable_id("service-principal", "msp-automation"), "ServicePrincipal", subscription),
        ("julia", OWNER, who("julia.wood@")["id"], "User", _rg(PRODUCTION, GROUP)),
        ("reader", READER_ROLE, who("karen.holt@")["id"], "User", subscription),
        ("sam", CONTRIBUTOR, who("sam.taylor@")["id"], "User", _rg(PRODUCTION, GROUP)),
    ]
    failing = {
        str(who(p)["userPrincipalName"])
        for p in ("ravi.kumar_brightbyte.example#ext#", "mark.jones@", "gary.oldfield@")
    }
    without_mfa = {str(who(p)["userPrincipalName"]) for p in ("ravi.kumar_brightbyte.example#ext#", "sam.taylor@")}
    return [_assignment(*entry) for entry in held], failing, without_mfa


def northwind_azure(
    now: datetime, tenant_id: str, users: list[JsonDict] | None = None, *, security_defaults: bool = False
) -> AzureScenario:
    """``users``: the Microsoft 365 side's users (Graph-shaped), whom the Owner assignments name; without them the
    subscription has no role assignments (and ``azure.rbac.owners`` passes). ``security_defaults``: the Microsoft
    365 side has security defaults instead of Conditional Access (every Azure role holder then has MFA)."""
    fileserver = _vm("vm-fileserver", "Windows", "Windows Server 2019 Datacenter", "10.0.17763.6414")
    avd = _vm("vm-avd-host01", "Windows", "Windows 11 Enterprise multi-session", "10.0.26200.6584")
    app = _vm("vm-app01", "Linux", "ubuntu", "20.04")
    surgery = _arc("arc-surgery-server")

    def hours(n: float) -> datetime:
        return now - timedelta(hours=n)

    def days(n: float) -> datetime:
        return now - timedelta(days=n)

    resources = [fileserver, avd, app, surgery]
    resources.append(
        {
            "id": _vault_id(VAULT),
            "name": VAULT,
            "type": "microsoft.recoveryservices/vaults",
            "subscriptionId": PRODUCTION,
            "resourceGroup": GROUP,
            "location": "uksouth",
            "properties": {
                "securitySettings": {
                    "immutabilitySettings": {"state": "Unlocked"},
                    "softDeleteSettings": {"softDeleteState": "Enabled", "softDeleteRetentionPeriodInDays": 14},
                },
                "redundancySettings": {
                    "standardTierStorageRedundancy": "GeoRedundant",
                    "crossRegionRestore": "Enabled",
                },
            },
        }
    )
    resources.append(
        {
            "id": _vault_id(BACKUP_VAULT, "Microsoft.DataProtection/backupVaults"),
            "name": BACKUP_VAULT,
            "type": "microsoft.dataprotection/backupvaults",
            "subscriptionId": PRODUCTION,
            "resourceGroup": GROUP,
            "location": "uksouth",
            "properties": {
                "securitySettings": {
                    "immutabilitySettings": {"state": "Locked"},
                    "softDeleteSettings": {"state": "On", "retentionDurationInDays": 14},
                },
                "storageSettings": [{"datastoreType": "VaultStore", "type": "LocallyRedundant"}],
                "featureSettings": {"crossRegionRestoreSettings": {"state": "Disabled"}},
            },
        }
    )
    vm_item = "Microsoft.Compute/virtualMachines"
    backup = [
        _item(
            "vm-fileserver",
            fileserver["id"].upper().replace("/SUBSCRIPTIONS/", "/subscriptions/"),
            vm_item,
            "Protected",
            hours(6),
            now,
        ),
        _item("vm-app01", app["id"], vm_item, "ProtectionStopped", days(3), now),
        _item("arc-surgery-server", surgery["id"], "MabFileFolderProtectedItem", "Protected", hours(10), now),
        _item(
            "clinical-images",
            f"{_rg(PRODUCTION, GROUP)}/providers/Microsoft.Storage/storageAccounts/nwclinical",
            "AzureFileShareProtectedItem",
            "Protected",
            days(2),
            now,
        ),
        _job("fs-1", "Backup", "Completed", "vm-fileserver", hours(7), 1),
        _job("fs-2", "Backup", "CompletedWithWarnings", "vm-fileserver", days(3), 1),
        _job("app-1", "Backup", "Failed", "vm-app01", days(5), 0.5),
        _job("surgery-1", "Backup", "Completed", "arc-surgery-server", hours(11), 2),
        _job("surgery-2", "Backup", "InProgress", "arc-surgery-server", hours(1), 0),
    ]
    disk = _instance(
        "vm-fileserver-data",
        f"{_rg(PRODUCTION, GROUP)}/providers/Microsoft.Compute/disks/vm-fileserver-data",
        "Microsoft.Compute/disks",
        "Microsoft.Compute/disks",
    )
    blobs = _instance(
        "nwclinical-blobs",
        f"{_rg(PRODUCTION, GROUP)}/providers/Microsoft.Storage/storageAccounts/nwclinical",
        "Microsoft.Storage/storageAccounts/blobServices",
        "Microsoft.Storage/storageAccounts",
    )
    backup_vault = [
        disk,
        blobs,
        _vault_job("disk-1", disk, "Backup", "Completed", hours(5), 0.2),
        _vault_job("disk-restore", disk, "Restore", "Completed", days(4), 0.5),
        _vault_job("blobs-1", blobs, "Backup", "Completed", days(3), 0.1),
        _vault_job("blobs-2", blobs, "Backup", "Failed", days(1), 0.1),
    ]
    patches = [
        _assessment(fileserver, "Succeeded", days(1), 0, 0),
        _assessment(avd, "Succeeded", days(2), 0, 1),
        _patch(avd, "2025-11 Cumulative Update for Windows 11 Enterprise multi-session", "Security", days(30), days(2)),
        _assessment(surgery, "Succeeded", days(1), 1, 0),
        _patch(surgery, "2025-12 Servicing Stack Update", "Critical", days(5), days(1)),
    ]
    installations = [
        _installation(fileserver, "1", "Succeeded", days(2), 4, 0),
        _installation(avd, "old", "Succeeded", days(10), 3, 0),
        _installation(avd, "new", "Failed", days(3), 1, 2),
        _installation(surgery, "old", "Failed", days(9), 0, 1),
        _installation(surgery, "new", "Succeeded", days(1), 2, 0),
        _installation(surgery, "running", "InProgress", hours(1), 0, 0),
    ]
    assignments, failing_owners, without_mfa = _owners(users) if users else ([], set(), set())
    mfa = fails(*without_mfa) if without_mfa and not security_defaults else passes()
    return AzureScenario(
        tenant_id=tenant_id,
        subscriptions=[
            AzureSubscriptionSpec(PRODUCTION, "Northwind Production"),
            AzureSubscriptionSpec(OLD_DEV, "Northwind Old Dev", state="Disabled"),
        ],
        tables={
            "resources": resources,
            "recoveryservicesresources": backup,
            "dataprotectionresources": backup_vault,
            "patchassessmentresources": patches,
            "patchinstallationresources": installations,
            "authorizationresources": assignments,
        },
        # several pages for the larger tables (paging always exercised), within the documented quota of 15 queries
        # per 5 s for one scan, so that a Northwind scan does not wait for the window
        page_limit=8,
        expected={
            "azure.backup.coverage": fails("vm-avd-host01", "vm-app01", "clinical-images", "nwclinical-blobs"),
            "azure.backup.job_failures": fails("vm-fileserver", "vm-app01", "nwclinical-blobs"),
            "azure.backup.vault_immutable": fails(VAULT),
            "azure.backup.restore_tested": fails(VAULT),
            "azure.patch.assessed": fails("vm-app01"),
            "azure.patch.missing": fails("vm-avd-host01"),
            "azure.patch.installations": fails("vm-avd-host01"),
            "azure.patch.os_supported": fails("vm-app01"),
            "azure.rbac.owners": fails("Northwind Production", *failing_owners) if users else passes(),
            "azure.mfa.management": mfa,
        },
        expected_alone={
            **({"azure.rbac.owners": fails("Northwind Production")} if users else {}),
            "azure.mfa.management": not_assessed(),
        },
    )
