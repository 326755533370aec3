"""The Resource Graph queries the Azure source sends and the normalisation of their rows into the snapshot model.

One query per table, a plain ``where``/``project`` (no ``join``, ``union`` or ``summarize``: paging stays exact);
rows of different types are told apart and joined here. Resource Graph lower-cases ``type`` and may return ids
in any case (``/Subscriptions/...``): types and ids are compared case-insensitively (docs/vendor-facts.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hygiene.model import (
    AzureBackupItem,
    AzureBackupJob,
    AzureMachine,
    AzureMissingPatch,
    AzurePatchAssessment,
    AzurePatchInstallation,
    AzureRoleAssignment,
    AzureVault,
)
from hygiene.sources.interface import parse_timestamp

VM = "microsoft.compute/virtualmachines"
ARC = "microsoft.hybridcompute/machines"
RECOVERY_VAULT = "microsoft.recoveryservices/vaults"
BACKUP_VAULT = "microsoft.dataprotection/backupvaults"
PROTECTED_ITEM = "microsoft.recoveryservices/vaults/backupfabrics/protectioncontainers/protecteditems"
BACKUP_JOB = "microsoft.recoveryservices/vaults/backupjobs"
BACKUP_INSTANCE = "microsoft.dataprotection/backupvaults/backupinstances"
BACKUP_VAULT_JOB = "microsoft.dataprotection/backupvaults/backupjobs"
ASSESSMENT_SUFFIX = "/patchassessmentresults"
PATCH_SUFFIX = "/patchassessmentresults/softwarepatches"
INSTALLATION_SUFFIX = "/patchinstallationresults"
ROLE_ASSIGNMENT = "microsoft.authorization/roleassignments"
#: built-in role definition ids (the same in every tenant) of the roles that control a subscription
PRIVILEGED_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "18d7d88d-d35e-4fb5-a5c3-7773c4a72b9d": "User Access Administrator",
}
#: other built-in roles named in findings (any other role is named by its definition id)
NAMED_ROLES = {
    **PRIVILEGED_ROLES,
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
}
#: update classifications the patch window applies to (Azure Update Manager ``classifications``)
URGENT_CLASSIFICATIONS = frozenset({"critical", "security"})

RESOURCES_QUERY = (
    "resources"
    f" | where type =~ '{VM}' or type =~ '{ARC}' or type =~ '{RECOVERY_VAULT}' or type =~ '{BACKUP_VAULT}'"
    " | project id, name, type, subscriptionId, resourceGroup, location,"
    " vmOsType = properties.storageProfile.osDisk.osType, arcOsType = properties.osType,"
    " vmOsName = properties.extended.instanceView.osName, vmOsVersion = properties.extended.instanceView.osVersion,"
    " arcOsSku = properties.osSku, arcOsVersion = properties.osVersion,"
    " securitySettings = properties.securitySettings, redundancySettings = properties.redundancySettings,"
    " featureSettings = properties.featureSettings"
)
BACKUP_QUERY = (
    "recoveryservicesresources"
    f" | where type =~ '{PROTECTED_ITEM}' or type =~ '{BACKUP_JOB}'"
    " | project id, name, type, subscriptionId, properties"
)
DATAPROTECTION_QUERY = (
    "dataprotectionresources"
    f" | where type =~ '{BACKUP_INSTANCE}' or type =~ '{BACKUP_VAULT_JOB}'"
    " | project id, name, type, subscriptionId, properties"
)
PATCH_QUERY = (
    "patchassessmentresources"
    f" | where type =~ '{VM}{ASSESSMENT_SUFFIX}' or type =~ '{ARC}{ASSESSMENT_SUFFIX}'"
    f" or type =~ '{VM}{PATCH_SUFFIX}' or type =~ '{ARC}{PATCH_SUFFIX}'"
    " | project id, name, type, subscriptionId, properties"
)
INSTALLATION_QUERY = (
    "patchinstallationresources"
    f" | where type =~ '{VM}{INSTALLATION_SUFFIX}' or type =~ '{ARC}{INSTALLATION_SUFFIX}'"
    " | project id, type, subscriptionId, status = properties.status, started = properties.startDateTime,"
    " lastModified = properties.lastModifiedDateTime, installed = properties.installedPatchCount,"
    " failed = properties.failedPatchCount, windowExceeded = properties.maintenanceWindowExceeded"
)
RBAC_QUERY = f"authorizationresources | where type =~ '{ROLE_ASSIGNMENT}' | project id, subscriptionId, properties"
#: every query the source sends, by the table it reads (the sandbox answers exactly these)
QUERIES = {
    "resources": RESOURCES_QUERY,
    "recoveryservicesresources": BACKUP_QUERY,
    "dataprotectionresources": DATAPROTECTION_QUERY,
    "patchassessmentresources": PATCH_QUERY,
    "patchinstallationresources": INSTALLATION_QUERY,
    "authorizationresources": RBAC_QUERY,
}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _props(row: dict[str, Any]) -> dict[str, Any]:
    return _mapping(row.get("properties"))


def _prefix(resource_id: str, marker: str) -> str:
    """``resource_id`` up to (not including) ``marker``, found case-insensitively; the whole id when absent."""
    at = resource_id.lower().find(marker)
    return resource_id if at < 0 else resource_id[:at]


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _classified(counts: Any, name: str) -> int | None:
    """``availablePatchCountByClassification.<name>``: Arc writes ``critical``, some VM answers ``Critical``."""
    if not isinstance(counts, dict):
        return None
    return next((_count(v) for k, v in counts.items() if isinstance(k, str) and k.lower() == name), None)


def resources(rows: list[dict[str, Any]]) -> tuple[list[AzureMachine], list[AzureVault]]:
    machines: list[AzureMachine] = []
    vaults: list[AzureVault] = []
    for row in rows:
        kind = str(row.get("type") or "").lower()
        rid, name, sub = _text(row.get("id")), _text(row.get("name")), _text(row.get("subscriptionId"))
        if rid is None or name is None or sub is None:
            continue
        if kind in (VM, ARC):
            machines.append(
                AzureMachine(
                    id=rid,
                    name=name,
                    kind="vm" if kind == VM else "arc",
                    subscription_id=sub,
                    resource_group=_text(row.get("resourceGroup")) or "",
                    location=_text(row.get("location")) or "",
                    os_type=_text(row.get("vmOsType")) or _text(row.get("arcOsType")),
                    os_name=_text(row.get("vmOsName")) or _text(row.get("arcOsSku")),
                    os_version=_text(row.get("vmOsVersion")) or _text(row.get("arcOsVersion")),
                )
            )
        elif kind in (RECOVERY_VAULT, BACKUP_VAULT):
            security = _mapping(row.get("securitySettings"))
            immutability = _mapping(security.get("immutabilitySettings"))
            soft = _mapping(security.get("softDeleteSettings"))
            redundancy = _mapping(row.get("redundancySettings"))
            # a Backup vault says it in featureSettings.crossRegionRestoreSettings.state (Enabled / Disabled)
            restore = _mapping(_mapping(row.get("featureSettings")).get("crossRegionRestoreSettings"))
            vaults.append(
                AzureVault(
                    id=rid,
                    name=name,
                    kind="recovery_services" if kind == RECOVERY_VAULT else "backup",
                    subscription_id=sub,
                    immutability=_text(immutability.get("state")),
                    soft_delete=_text(soft.get("softDeleteState")) or _text(soft.get("state")),
                    cross_region_restore=_text(redundancy.get("crossRegionRestore")) or _text(restore.get("state")),
                )
            )
    return machines, vaults


def backup(rows: list[dict[str, Any]]) -> tuple[list[AzureBackupItem], list[AzureBackupJob]]:
    items: list[AzureBackupItem] = []
    jobs: list[AzureBackupJob] = []
    for row in rows:
        kind = str(row.get("type") or "").lower()
        rid, sub, props = _text(row.get("id")), _text(row.get("subscriptionId")), _props(row)
        if rid is None or sub is None:
            continue
        if kind == PROTECTED_ITEM:
            items.append(
                AzureBackupItem(
                    id=rid,
                    name=_text(row.get("name")) or rid.rsplit("/", 1)[-1],
                    subscription_id=sub,
                    vault_id=_prefix(rid, "/backupfabrics/"),
                    source_resource_id=_text(props.get("sourceResourceId")),
                    item_type=_text(props.get("protectedItemType")) or _text(props.get("workloadType")),
                    friendly_name=_text(props.get("friendlyName")),
                    protection_state=_text(props.get("protectionState")),
                    last_backup_status=_text(props.get("lastBackupStatus")),
                    last_backup_time=parse_timestamp(props.get("lastBackupTime"), never_until_year=1601),
                    last_recovery_point=parse_timestamp(props.get("lastRecoveryPoint"), never_until_year=1601),
                )
            )
        elif kind == BACKUP_JOB:
            jobs.append(_job(rid, sub, props, operation="operation", entity="entityFriendlyName"))
    return items, jobs


def _job(rid: str, sub: str, props: dict[str, Any], *, operation: str, entity: str) -> AzureBackupJob:
    """A job of either vault kind; ``operation`` and ``entity`` name the properties that hold them there."""
    return AzureBackupJob(
        id=rid,
        subscription_id=sub,
        vault_id=_prefix(rid, "/backupjobs/"),
        operation=_text(props.get(operation)),
        status=_text(props.get("status")),
        entity=_text(props.get(entity)),
        instance_id=_text(props.get("backupInstanceId")),
        start=parse_timestamp(props.get("startTime"), never_until_year=1601),
        end=parse_timestamp(props.get("endTime"), never_until_year=1601),
    )


def dataprotection(rows: list[dict[str, Any]]) -> tuple[list[AzureBackupItem], list[AzureBackupJob]]:
    """Backup vault backup instances and jobs (``dataprotectionresources``) in the Recovery Services model: an
    instance's newest recovery point is the end of its newest Completed backup job (a backup instance carries no
    recovery point time), its last backup the newest backup job."""
    items: list[AzureBackupItem] = []
    jobs: list[AzureBackupJob] = []
    for row in rows:
        kind = str(row.get("type") or "").lower()
        rid, sub, props = _text(row.get("id")), _text(row.get("subscriptionId")), _props(row)
        if rid is None or sub is None:
            continue
        if kind == BACKUP_INSTANCE:
            source = _mapping(props.get("dataSourceInfo"))
            items.append(
                AzureBackupItem(
                    id=rid,
                    name=_text(row.get("name")) or rid.rsplit("/", 1)[-1],
                    subscription_id=sub,
                    vault_id=_prefix(rid, "/backupinstances/"),
                    source_resource_id=_text(source.get("resourceID")),
                    item_type=_text(source.get("datasourceType")),
                    friendly_name=_text(props.get("friendlyName")),
                    protection_state=_text(props.get("currentProtectionState")),
                )
            )
        elif kind == BACKUP_VAULT_JOB:
            jobs.append(_job(rid, sub, props, operation="operationCategory", entity="backupInstanceFriendlyName"))
    by_instance: dict[str, list[AzureBackupJob]] = {}
    for job in jobs:
        if job.instance_id and (job.operation or "").lower() == "backup":
            by_instance.setdefault(job.instance_id.lower(), []).append(job)
    for item in items:
        mine = sorted(by_instance.get(item.id.lower(), []), key=lambda j: j.end or j.start or _EPOCH)
        if mine:
            item.last_backup_status, item.last_backup_time = mine[-1].status, mine[-1].end or mine[-1].start
        done = [j.end for j in mine if (j.status or "").lower() == "completed" and j.end is not None]
        item.last_recovery_point = max(done) if done else None
    return items, jobs


def patches(rows: list[dict[str, Any]]) -> tuple[list[AzurePatchAssessment], list[AzureMissingPatch]]:
    assessments: list[AzurePatchAssessment] = []
    missing: list[AzureMissingPatch] = []
    for row in rows:
        kind = str(row.get("type") or "").lower()
        rid, props = _text(row.get("id")), _props(row)
        if rid is None:
            continue
        machine = _prefix(rid, "/patchassessmentresults")
        if kind.endswith(PATCH_SUFFIX):
            classes = [c for c in props.get("classifications") or [] if isinstance(c, str)]
            if not URGENT_CLASSIFICATIONS & {c.lower() for c in classes}:
                continue
            missing.append(
                AzureMissingPatch(
                    machine_id=machine,
                    name=_text(props.get("patchName")) or _text(row.get("name")) or rid.rsplit("/", 1)[-1],
                    classifications=classes,
                    published=parse_timestamp(props.get("publishedDateTime"), never_until_year=1601),
                )
            )
        elif kind.endswith(ASSESSMENT_SUFFIX):
            counts = props.get("availablePatchCountByClassification")
            assessments.append(
                AzurePatchAssessment(
                    machine_id=machine,
                    status=_text(props.get("status")),
                    assessed_at=parse_timestamp(props.get("lastModifiedDateTime"), never_until_year=1601),
                    critical=_classified(counts, "critical"),
                    security=_classified(counts, "security"),
                )
            )
    return assessments, missing


def installations(rows: list[dict[str, Any]]) -> list[AzurePatchInstallation]:
    """The installation runs among ``rows``, each tied to its machine (the id's prefix before
    ``/patchInstallationResults``)."""
    found: list[AzurePatchInstallation] = []
    for row in rows:
        rid = _text(row.get("id"))
        if rid is None or not str(row.get("type") or "").lower().endswith(INSTALLATION_SUFFIX):
            continue
        exceeded = row.get("windowExceeded")
        found.append(
            AzurePatchInstallation(
                machine_id=_prefix(rid, INSTALLATION_SUFFIX),
                status=_text(row.get("status")),
                started=parse_timestamp(row.get("started"), never_until_year=1601),
                finished=parse_timestamp(row.get("lastModified"), never_until_year=1601),
                installed=_count(row.get("installed")),
                failed=_count(row.get("failed")),
                window_exceeded=exceeded if isinstance(exceeded, bool) else None,
            )
        )
    return found


def role_assignments(rows: list[dict[str, Any]]) -> list[AzureRoleAssignment]:
    """Every role assignment among ``rows``: Owner and User Access Administrator control the subscription
    (``privileged``); any role is access to Azure management (``azure.mfa.management``)."""
    found: list[AzureRoleAssignment] = []
    for row in rows:
        rid, sub, props = _text(row.get("id")), _text(row.get("subscriptionId")), _props(row)
        definition = (_text(props.get("roleDefinitionId")) or "").rstrip("/").rsplit("/", 1)[-1].lower()
        role = NAMED_ROLES.get(definition) or definition or None
        principal, scope = _text(props.get("principalId")), _text(props.get("scope"))
        if rid is None or sub is None or role is None or principal is None or scope is None:
            continue
        found.append(
            AzureRoleAssignment(
                id=rid,
                subscription_id=sub,
                scope=scope,
                role=role,
                principal_id=principal,
                principal_type=_text(props.get("principalType")),
                privileged=definition in PRIVILEGED_ROLES,
            )
        )
    return found
