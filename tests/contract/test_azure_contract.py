"""The Azure source and the sandbox's fake Azure Resource Manager held to Azure's own specifications
(``tests/contract/azure/arm.json``, extracted from Azure/azure-rest-api-specs): every Resource Graph request body the
source sends, every answer the sandbox serves (subscription list, query pages, errors) and every enum value the
Northwind tables play."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hygiene.config import load_config
from hygiene.demo import write_demo_config
from hygiene.sources.azure import client as azure_client
from hygiene.sources.azure.source import AzureSource
from hygiene.sources.interface import RawRecorder, Unavailable
from hygiene_sandbox import Sandbox, northwind
from hygiene_sandbox.azure_arm import AzureArm
from hygiene_sandbox.wire import Reply

SPEC = json.loads((Path(__file__).parent / "azure" / "arm.json").read_text())
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def problems(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """What in ``value`` breaks the Swagger 2.0 ``schema``: types, required and undeclared properties, enums and
    bounds (``$ref`` within the extract)."""
    if "$ref" in schema:
        _, section, name = schema["$ref"].split("/")
        return problems(value, SPEC[section][name], where)
    found: list[str] = []
    kind = schema.get("type", "object" if "properties" in schema else None)
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
    }
    if value is None:
        return found
    if kind in checks and not checks[kind](value):
        return [f"{where}: {value!r} is not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} not in {schema['enum']}")
    if ("minimum" in schema and value < schema["minimum"]) or ("maximum" in schema and value > schema["maximum"]):
        found.append(f"{where}: {value} outside [{schema.get('minimum')}, {schema.get('maximum')}]")
    if kind == "array":
        for i, item in enumerate(value):
            found += problems(item, schema.get("items", {}), f"{where}[{i}]")
    if kind == "object" and "properties" in schema:
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        found += [f"{where}: {name} is required" for name in schema.get("required", []) if name not in value]
        for name, item in value.items():
            if name in schema["properties"]:
                found += problems(item, schema["properties"][name], f"{where}.{name}")
            elif "additionalProperties" not in schema:
                found.append(f"{where}: {name} is not declared")
    elif kind == "object" and isinstance(schema.get("additionalProperties"), dict) and isinstance(value, dict):
        for name, item in value.items():
            found += problems(item, schema["additionalProperties"], f"{where}.{name}")
    return found


Exchange = tuple[str, str, bytes, Reply]


@pytest.fixture(scope="module")
def exchanges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Exchange]]:
    """Every (method, path, request body, reply) of a Northwind Azure scan, plus two refused requests."""
    seen: list[Exchange] = []
    original = AzureArm.handle

    def recording(self: AzureArm, method: str, path: str, query: str, headers: Any, body: bytes) -> Reply:
        reply = original(self, method, path, query, headers, body)
        seen.append((method, path, body, reply))
        return reply

    folder = tmp_path_factory.mktemp("azure-contract")
    with pytest.MonkeyPatch.context() as patch, Sandbox(northwind(NOW, google=False)) as sandbox:
        patch.setattr(AzureArm, "handle", recording)
        config = load_config(write_demo_config(folder / "cfg", sandbox, m365=False))
        assert config.sources.azure is not None
        source = AzureSource(config.sources.azure, environ={})
        collected = source.collect(RawRecorder(None, "azure"))
        assert collected.run.status == "ok", collected.run.errors
        client = azure_client.ArmClient(
            source.credential(), sandbox.base_url, RawRecorder(None, "azure"), str(sandbox.ca_file)
        )
        with pytest.raises(Unavailable) as refused:
            client.query("resources | summarize count() by type", [s.id for s in collected.data.subscriptions])
        assert "InvalidQuery" in refused.value.reason
        client.close()
        yield seen


def test_every_query_request_is_a_query_request(exchanges: list[Exchange]) -> None:
    bodies = [json.loads(body) for method, _, body, _ in exchanges if method == "POST"]
    assert len(bodies) >= 8  # seven pages of Northwind's three tables and the refused query
    for body in bodies:
        assert problems(body, {"$ref": "#/resourcegraph/QueryRequest"}) == [], body
        assert body["options"]["$top"] == SPEC["resourcegraph"]["QueryRequestOptions"]["properties"]["$top"]["maximum"]
        assert body["options"]["resultFormat"] == "objectArray"
    assert any("$skipToken" in b["options"] for b in bodies)  # paging was exercised


def test_every_answer_is_what_the_specification_declares(exchanges: list[Exchange]) -> None:
    for method, _path, _, reply in exchanges:
        payload = reply.json
        if reply.status >= 400:
            assert problems(payload, {"$ref": "#/resourcegraph/ErrorResponse"}) == [], payload
        elif method == "POST":
            assert problems(payload, {"$ref": "#/resourcegraph/QueryResponse"}) == [], payload
            assert payload["count"] == len(payload["data"]) and isinstance(payload["data"], list)
        else:
            # the specification marks nextLink required; ARM leaves it out of the last page (the source reads an
            # absent nextLink as the end): the one deviation allowed
            assert problems(payload, {"$ref": "#/subscriptions/SubscriptionListResult"}) in (
                [],
                ["$: nextLink is required"],
            )
    assert any(reply.status == 400 for _, _, _, reply in exchanges)


def test_the_played_enum_values_are_the_specifications(exchanges: list[Exchange]) -> None:
    enums = SPEC["enums"]
    scenario = northwind(NOW, google=False).azure
    assert scenario is not None
    assert {s.state for s in scenario.subscriptions} <= set(
        SPEC["subscriptions"]["Subscription"]["properties"]["state"]["enum"]
    )
    played: dict[str, set[str]] = {}
    for row in scenario.tables["recoveryservicesresources"]:
        props = row["properties"]
        if row["type"].endswith("/protecteditems"):
            played.setdefault("ProtectionState", set()).add(props["protectionState"])
        else:
            played.setdefault("JobStatus", set()).add(props["status"])
            played.setdefault("JobOperationType", set()).add(props["operation"])
    for row in scenario.tables["resources"]:
        security = row["properties"].get("securitySettings")
        if row["type"] == "microsoft.recoveryservices/vaults":
            played.setdefault("RecoveryServicesImmutabilityState", set()).add(security["immutabilitySettings"]["state"])
            played.setdefault("RecoveryServicesSoftDeleteState", set()).add(
                security["softDeleteSettings"]["softDeleteState"]
            )
            played.setdefault("CrossRegionRestore", set()).add(
                row["properties"]["redundancySettings"]["crossRegionRestore"]
            )
        elif row["type"] == "microsoft.dataprotection/backupvaults":
            played.setdefault("BackupVaultImmutabilityState", set()).add(security["immutabilitySettings"]["state"])
            played.setdefault("BackupVaultSoftDeleteState", set()).add(security["softDeleteSettings"]["state"])
    for row in scenario.tables["patchassessmentresources"]:
        if row["type"].endswith("/patchassessmentresults"):
            played.setdefault("PatchOperationStatus", set()).add(row["properties"]["status"])
    for row in scenario.tables["dataprotectionresources"]:
        schema = "BackupInstance" if row["type"].endswith("/backupinstances") else "AzureBackupJob"
        assert problems(row["properties"], {"$ref": f"#/dataprotection/{schema}"}) == [], row
        if schema == "BackupInstance":
            played.setdefault("CurrentProtectionState", set()).add(row["properties"]["currentProtectionState"])
    for row in scenario.tables["patchinstallationresources"]:
        assert problems(row["properties"], {"$ref": "#/compute/VirtualMachineInstallPatchesResult"}) == [], row
        played.setdefault("PatchOperationStatus", set()).add(row["properties"]["status"])
    for row in scenario.tables["resources"]:
        if row["type"] == "microsoft.compute/virtualmachines":
            view = row["properties"]["extended"]["instanceView"]
            assert problems(view, {"$ref": "#/compute/VirtualMachineInstanceView"}) == [], view
        elif row["type"] == "microsoft.hybridcompute/machines":
            assert problems(row["properties"], {"$ref": "#/compute/HybridComputeMachineProperties"}) == []
    for row in scenario.tables["authorizationresources"]:
        played.setdefault("PrincipalType", set()).add(row["properties"]["principalType"])
    for name, values in played.items():
        assert values <= set(enums[name]), (name, values - set(enums[name]))
    # the edge values the issue asks the sandbox to play
    assert {"ProtectionStopped"} <= played["ProtectionState"]
    assert {"Failed", "InProgress", "Succeeded"} <= played["PatchOperationStatus"]
    assert {"CompletedWithWarnings", "Failed", "InProgress"} <= played["JobStatus"]
    assert "Unlocked" in played["RecoveryServicesImmutabilityState"]
    assert "Disabled" in {s.state for s in scenario.subscriptions}


def test_the_client_pins_the_specified_versions_and_page_size() -> None:
    assert azure_client.RESOURCE_GRAPH_API == "2022-10-01" and azure_client.SUBSCRIPTIONS_API == "2022-12-01"
    assert SPEC["resourcegraph"]["QueryRequestOptions"]["properties"]["$top"]["maximum"] == azure_client.PAGE_SIZE
