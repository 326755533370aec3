"""Generated Azure estates for the benchmarks and the scale tests: ``n`` machines (one in ten an Arc-enabled
server) over subscriptions of 250, with deterministic defects and the ``expected`` table written from the defects
planted (not from hygiene's reasoning).

Per machine ``i`` (its role is ``i % 20``): 0 no backup item; 1 a ProtectionStopped item; 2 a recovery point
40 hours old; 3 never assessed; 4 a Security update 30 days old; 5 a Failed backup job; 6 a CompletedWithWarnings
job; every other machine healthy (a Protected item with a point 5 hours old, a Completed job, a Succeeded assessment
a day old, now and then a Critical update 3 days old: inside the patch window). One vault per subscription,
Unlocked in every third; a completed restore in the others. One more subscription, Disabled.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from hygiene_sandbox.azure_scenario import AzureScenario, AzureSubscriptionSpec
from hygiene_sandbox.expectation import Expectation, JsonDict, fails, not_assessed, passes
from hygiene_sandbox.scenario import stable_id

PER_SUBSCRIPTION = 250


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_azure(n: int, seed: int, now: datetime, tenant_id: str) -> AzureScenario:
    rng = random.Random(seed)
    subscriptions = [
        AzureSubscriptionSpec(stable_id("subscription", str(seed), str(s)), f"Estate {s + 1}")
        for s in range(max(1, -(-n // PER_SUBSCRIPTION)))
    ]
    resources: list[JsonDict] = []
    backup: list[JsonDict] = []
    patches: list[JsonDict] = []
    keys = ("coverage", "jobs", "vaults", "restore", "assessed", "missing", "owners")
    expected: dict[str, set[str]] = {k: set() for k in keys}
    for s, sub in enumerate(subscriptions):
        sid, rg = sub.subscription_id, f"/subscriptions/{sub.subscription_id}/resourceGroups/rg-{s}"
        vault_name = f"rsv-{s}"
        vault_id = f"{rg}/providers/Microsoft.RecoveryServices/vaults/{vault_name}"
        locked = s % 3 != 0
        resources.append(
            {
                "id": vault_id,
                "name": vault_name,
                "type": "microsoft.recoveryservices/vaults",
                "subscriptionId": sid,
                "resourceGroup": f"rg-{s}",
                "location": "uksouth",
                "properties": {
                    "securitySettings": {
                        "immutabilitySettings": {"state": "Locked" if locked else "Unlocked"},
                        "softDeleteSettings": {"softDeleteState": "AlwaysON"},
                    },
                    "redundancySettings": {"crossRegionRestore": "Enabled"},
                },
            }
        )
        if not locked:
            expected["vaults"].add(vault_name)
        machines = range(s * PER_SUBSCRIPTION, min(n, (s + 1) * PER_SUBSCRIPTION))
        holds_items = any(i % 20 != 0 for i in machines)
        for i in machines:
            arc = i % 10 == 9
            name = f"{'arc' if arc else 'vm'}-{i:05d}"
            kind = "microsoft.hybridcompute/machines" if arc else "microsoft.compute/virtualmachines"
            provider = "Microsoft.HybridCompute/machines" if arc else "Microsoft.Compute/virtualMachines"
            mid = f"{rg}/providers/{provider}/{name}"
            props: JsonDict = {"osType": "windows"} if arc else {"storageProfile": {"osDisk": {"osType": "Windows"}}}
            resources.append(
                {
                    "id": mid,
                    "name": name,
                    "type": kind,
                    "subscriptionId": sid,
                    "resourceGroup": f"rg-{s}",
                    "location": "uksouth",
                    "properties": props,
                }
            )
            role = i % 20
            if role != 0:
                state, age = ("ProtectionStopped", 5) if role == 1 else ("Protected", 40 if role == 2 else 5)
                point = now - timedelta(hours=age + rng.random())
                backup.append(
                    {
                        "id": f"{vault_id}/backupFabrics/Azure/protectionContainers/c;{name}/protectedItems/vm;{name}",
                        "name": f"vm;{name}",
                        "type": "microsoft.recoveryservices/vaults/backupfabrics/protectioncontainers/protecteditems",
                        "subscriptionId": sid,
                        "properties": {
                            "friendlyName": name,
                            "protectedItemType": provider,
                            "protectionState": state,
                            "lastBackupStatus": "Completed",
                            "lastBackupTime": _iso(point),
                            "lastRecoveryPoint": _iso(point),
                            "sourceResourceId": mid,
                        },
                    }
                )
            if role in (0, 1, 2):
                expected["coverage"].add(name)
            status = {5: "Failed", 6: "CompletedWithWarnings"}.get(role, "Completed")
            if role in (5, 6):
                expected["jobs"].add(name)
            job = stable_id("job", name)
            backup.append(
                {
                    "id": f"{vault_id}/backupJobs/{job}",
                    "name": job,
                    "type": "microsoft.recoveryservices/vaults/backupjobs",
                    "subscriptionId": sid,
                    "properties": {
                        "operation": "Backup",
                        "status": status,
                        "entityFriendlyName": name,
                        "startTime": _iso(now - timedelta(days=1 + rng.random())),
                    },
                }
            )
            if role == 3:
                expected["assessed"].add(name)
                continue
            patches.append(
                {
                    "id": f"{mid}/patchAssessmentResults/latest",
                    "name": stable_id("assessment", name),
                    "type": f"{kind}/patchassessmentresults",
                    "subscriptionId": sid,
                    "properties": {
                        "status": "Succeeded",
                        "lastModifiedDateTime": _iso(now - timedelta(days=1)),
                        "availablePatchCountByClassification": {"critical": 0, "security": int(role == 4)},
                    },
                }
            )
            update = {4: ("Security", 30)}.get(role) or (("Critical", 3) if rng.random() < 0.2 else None)
            if update is not None:
                classification, days = update
                if role == 4:
                    expected["missing"].add(name)
                patches.append(
                    {
                        "id": f"{mid}/patchAssessmentResults/latest/softwarePatches/{stable_id('patch', name)}",
                        "name": stable_id("patch", name),
                        "type": f"{kind}/patchassessmentresults/softwarepatches",
                        "subscriptionId": sid,
                        "properties": {
                            "patchName": f"{classification} update for {name}",
                            "classifications": [classification],
                            "publishedDateTime": _iso(now - timedelta(days=days)),
                        },
                    }
                )
        if holds_items and locked:
            restore = stable_id("restore", vault_name)
            backup.append(
                {
                    "id": f"{vault_id}/backupJobs/{restore}",
                    "name": restore,
                    "type": "microsoft.recoveryservices/vaults/backupjobs",
                    "subscriptionId": sid,
                    "properties": {
                        "operation": "Restore",
                        "status": "Completed",
                        "entityFriendlyName": f"{vault_name} restore test",
                        "startTime": _iso(now - timedelta(days=4)),
                    },
                }
            )
        elif holds_items:
            expected["restore"].add(vault_name)
    subscriptions.append(AzureSubscriptionSpec(stable_id("subscription", str(seed), "disabled"), "Old", "Disabled"))
    checks = {
        "coverage": "azure.backup.coverage",
        "jobs": "azure.backup.job_failures",
        "vaults": "azure.backup.vault_immutable",
        "restore": "azure.backup.restore_tested",
        "assessed": "azure.patch.assessed",
        "missing": "azure.patch.missing",
        "owners": "azure.rbac.owners",
    }
    return AzureScenario(
        tenant_id=tenant_id,
        subscriptions=subscriptions,
        tables={
            "resources": resources,
            "recoveryservicesresources": backup,
            "patchassessmentresources": patches,
            "patchinstallationresources": [],
            "dataprotectionresources": [],
            "authorizationresources": [],
        },
        expected={
            check: _expectation(expected[key], key == "missing" and bool(expected["assessed"]))
            for key, check in checks.items()
        },
    )


def _expectation(failing: set[str], unseen: bool) -> Expectation:
    """Fails naming ``failing``; with none, not assessed when part of the estate was not seen, else passes."""
    if failing:
        return fails(*failing)
    return not_assessed() if unseen else passes()
