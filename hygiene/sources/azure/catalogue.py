"""What the Azure source reads and what each dataset needs: the built-in Reader role, nothing else."""

from __future__ import annotations

from hygiene.sources.interface import DatasetSpec, OcsfCloud, PlatformSpec

#: the one grant every dataset needs, at subscription or management-group scope
READER = "Reader (Azure built-in role)"

DATASETS = (
    DatasetSpec("azure.subscriptions", "the subscriptions the app can read, and their state", (READER,)),
    DatasetSpec(
        "azure.machines",
        "virtual machines and Arc-enabled servers (Resource Graph: resources)",
        (READER,),
    ),
    DatasetSpec(
        "azure.vaults",
        "Recovery Services and Backup vaults: immutability, soft delete (Resource Graph: resources)",
        (READER,),
    ),
    DatasetSpec(
        "azure.backup",
        "backup items and the last 14 days of backup jobs (Resource Graph: recoveryservicesresources)",
        (READER,),
        "Azure Backup",
    ),
    DatasetSpec(
        "azure.dataprotection",
        "Backup vault backup instances and jobs (Resource Graph: dataprotectionresources)",
        (READER,),
        "Azure Backup",
    ),
    DatasetSpec(
        "azure.patch",
        "Azure Update Manager assessments and available updates (Resource Graph: patchassessmentresources)",
        (READER,),
        "Azure Update Manager periodic assessment",
    ),
    DatasetSpec(
        "azure.patch_installations",
        "Azure Update Manager installation runs of the last 30 days (Resource Graph: patchinstallationresources)",
        (READER,),
        "Azure Update Manager",
    ),
    DatasetSpec(
        "azure.rbac",
        "role assignments: who controls and who manages each subscription (Resource Graph: authorizationresources)",
        (READER,),
    ),
)
#: dataset name -> its spec, in scan order
BY_NAME = {d.name: d for d in DATASETS}

GRANT = """Azure (Azure RBAC, read-only)
Use the app registration of [sources.m365] (or register one the same way) and give its service principal the
built-in Reader role on each subscription, or once on a management group that holds them:

  az role assignment create --assignee <client_id> --role Reader --scope /subscriptions/<subscription id>
  az role assignment create --assignee <client_id> --role Reader \\
      --scope /providers/Microsoft.Management/managementGroups/<group id>

(Azure portal: Subscriptions > the subscription > Access control (IAM) > Add role assignment > Reader > the app.)
Reader is enough for everything below: Resource Graph returns only what the role lets the app read, so a
subscription without it is reported as not scanned, never as clean.
"""


def grant(platform: PlatformSpec) -> list[str]:
    lines = [GRANT, "What each dataset needs:"]
    lines += [f"  - {d.name}: {', '.join(d.needs)} ({d.what})" for d in platform.datasets]
    return lines


PLATFORM = PlatformSpec(
    name="azure",
    title="Azure",
    datasets=DATASETS,
    source="hygiene.sources.azure.source:AzureSource",
    grant=grant,
    # OCSF account type 13 "Azure Subscription"; a scan may span several, so no one account uid is claimed
    ocsf=OcsfCloud("Azure", 13, "Azure Subscription"),
    credentials="hygiene.sources.azure.credentials:check_credentials",
    #: one app registration: ARM and Resource Graph throttle per client across the tenants it is consented in
    credential_fields=("authority_host", "client_id", "management_url"),
)
