"""The Azure source at the HTTP boundary (``responses`` in place of Azure Resource Manager): Resource Graph paging,
throttling, redirects, refusals and unparsable answers; the subscription scope; the source's dataset states."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import responses
from azure.core.credentials import AccessToken

from hygiene.config import AzureConfig
from hygiene.model import AzureSubscription, ReasonKind
from hygiene.sources.azure import rows
from hygiene.sources.azure.client import ArmClient, quota_reset_seconds
from hygiene.sources.azure.source import AzureSource
from hygiene.sources.interface import RawRecorder, Unavailable
from hygiene.sources.retry import RetryPolicy

ARM = "https://management.azure.com"
GRAPH = f"{ARM}/providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01"
SUBSCRIPTIONS = f"{ARM}/subscriptions?api-version=2022-12-01"
SUB = "00000000-0000-0000-0000-0000000000a1"
POLICY = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)


class FakeCredential:
    """A TokenCredential handing out one token: the ARM calls are what these tests look at."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken("fake-arm-token", 4102444800)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def page(data: list[dict[str, Any]], total: int, token: str | None = None, truncated: str = "false") -> dict[str, Any]:
    body: dict[str, Any] = {"totalRecords": total, "count": len(data), "data": data, "resultTruncated": truncated}
    if token is not None:
        body["$skipToken"] = token
    return body


def make_client(tmp_path: Path, sleeps: Sleeps | None = None) -> tuple[ArmClient, RawRecorder]:
    raw = RawRecorder(tmp_path / "raw", "azure")
    sleep = Sleeps() if sleeps is None else sleeps
    return ArmClient(FakeCredential(), ARM, raw, policy=POLICY, sleep=sleep, clock=lambda: 0.0), raw


def bodies(calls: Any) -> list[dict[str, Any]]:
    return [json.loads(c.request.body) for c in calls if c.request.method == "POST"]


@responses.activate
def test_pages_are_followed_with_the_skip_token_at_top_1000(tmp_path: Path) -> None:
    responses.post(GRAPH, json=page([{"id": "a"}, {"id": "b"}], 3, token="t1"))
    responses.post(GRAPH, json=page([{"id": "c"}], 3))
    client, raw = make_client(tmp_path)
    assert [r["id"] for r in client.query(rows.RESOURCES_QUERY, [SUB])] == ["a", "b", "c"]
    sent = bodies(responses.calls)
    assert [b["options"].get("$skipToken") for b in sent] == [None, "t1"]
    assert all(b["options"]["$top"] == 1000 and b["options"]["resultFormat"] == "objectArray" for b in sent)
    assert all(b["query"] == rows.RESOURCES_QUERY and b["subscriptions"] == [SUB] for b in sent)
    assert all(c.request.headers["Authorization"] == "Bearer fake-arm-token" for c in responses.calls)
    assert raw.count == 2 and len(list((tmp_path / "raw" / "azure").glob("*.json"))) == 4  # body + meta each


@responses.activate
def test_a_repeated_skip_token_is_asked_again_then_a_paging_loop(tmp_path: Path) -> None:
    responses.post(GRAPH, json=page([{"id": "a"}], 2, token="t1"))
    for _ in range(3):
        responses.post(GRAPH, json=page([{"id": "a"}], 2, token="t1"))  # the next page repeats the token it was sent
    client, _ = make_client(tmp_path)
    with pytest.raises(Unavailable) as err:
        client.query(rows.RESOURCES_QUERY, [SUB])
    assert "PagingLoop" in err.value.reason and len(responses.calls) == 4


@responses.activate
def test_a_repeated_page_then_the_real_one_reads_each_row_once(tmp_path: Path) -> None:
    responses.post(GRAPH, json=page([{"id": "a"}], 2, token="t1"))
    responses.post(GRAPH, json=page([{"id": "a"}], 2, token="t1"))
    responses.post(GRAPH, json=page([{"id": "b"}], 2))
    client, _ = make_client(tmp_path)
    assert [r["id"] for r in client.query(rows.RESOURCES_QUERY, [SUB])] == ["a", "b"]


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (page([{"id": "a"}], 1, truncated="true"), "resultTruncated"),
        (page([{"id": "a"}], 5), "said 5 records but 1 were read"),
        ({"value": []}, "without data"),
    ],
)
@responses.activate
def test_a_short_or_shapeless_answer_is_an_error_not_a_short_list(
    tmp_path: Path, answer: dict[str, Any], words: str
) -> None:
    responses.post(GRAPH, json=answer)
    client, _ = make_client(tmp_path)
    with pytest.raises(Unavailable) as err:
        client.query(rows.RESOURCES_QUERY, [SUB])
    assert words in err.value.reason and err.value.kind is ReasonKind.ERROR


@responses.activate
def test_throttling_honours_retry_after_capped_and_the_quota_headers(tmp_path: Path) -> None:
    responses.post(
        GRAPH, status=429, json={"error": {"code": "RateLimiting", "message": "slow"}}, headers={"Retry-After": "500"}
    )
    quota = {"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": "00:00:07"}
    responses.post(GRAPH, json=page([{"id": "a"}], 2, token="t1"), headers=quota)
    responses.post(GRAPH, json=page([{"id": "b"}], 2))
    sleeps = Sleeps()
    client, _ = make_client(tmp_path, sleeps)
    assert len(client.query(rows.RESOURCES_QUERY, [SUB])) == 2
    assert sleeps == [120.0, 7.0]  # Retry-After capped at 120 s; the quota's reset before the next query
    assert quota_reset_seconds("01:00:00") == 120.0 and quota_reset_seconds("junk") is None


@responses.activate
def test_a_redirect_is_an_error_naming_where_it_pointed_never_followed(tmp_path: Path) -> None:
    responses.post(GRAPH, status=302, headers={"Location": "https://evil.example/steal"})
    client, _ = make_client(tmp_path)
    with pytest.raises(Unavailable) as err:
        client.query(rows.RESOURCES_QUERY, [SUB])
    assert "https://evil.example/steal" in err.value.reason and "not followed" in err.value.reason
    assert [c.request.url.split("?")[0] for c in responses.calls] == [GRAPH.split("?")[0]]


@responses.activate
def test_forbidden_is_a_permission_gap_needing_reader(tmp_path: Path) -> None:
    error = {"error": {"code": "AuthorizationFailed", "message": "The client does not have authorization"}}
    responses.post(GRAPH, status=403, json=error)
    client, _ = make_client(tmp_path)
    with pytest.raises(Unavailable) as err:
        client.query(rows.RESOURCES_QUERY, [SUB])
    assert err.value.kind is ReasonKind.PERMISSION and "AuthorizationFailed" in err.value.reason
    assert any("Reader" in n for n in err.value.needs)


class NeverWait(threading.Condition):
    """The quota's condition, refusing to wait: a retry after an attempt that got no answer must not wait out the
    read timeout for an answer that cannot come (it did: 30 s per attempt)."""

    def wait(self, timeout: float | None = None) -> bool:
        raise AssertionError(f"waited on the quota for an answer (timeout {timeout})")


@responses.activate
def test_an_unparsable_answer_is_retried_then_an_error(tmp_path: Path) -> None:
    responses.post(GRAPH, body=b'{"totalRecords": 1, "da')
    responses.post(GRAPH, json=page([{"id": "a"}], 1))
    client, _ = make_client(tmp_path)
    client._quota_lock = NeverWait()
    assert [r["id"] for r in client.query(rows.RESOURCES_QUERY, [SUB])] == ["a"]
    for _ in range(3):
        responses.post(GRAPH, body=b"<html>proxy error</html>")
    with pytest.raises(Unavailable) as err:
        client.query(rows.RESOURCES_QUERY, [SUB])
    assert "gave up after 3 attempts" in err.value.reason


@responses.activate
def test_an_off_host_next_link_is_not_followed(tmp_path: Path) -> None:
    listing = {"value": [{"subscriptionId": SUB, "displayName": "Prod", "state": "Enabled"}]}
    responses.get(SUBSCRIPTIONS, json={**listing, "nextLink": "https://evil.example/subscriptions?page=2"})
    client, _ = make_client(tmp_path)
    with pytest.raises(Unavailable) as err:
        client.subscriptions()
    assert "OffHostLink" in err.value.reason and "https://evil.example" in err.value.reason
    assert len(responses.calls) == 1


@responses.activate
def test_subscription_pages_follow_next_link_on_the_same_origin(tmp_path: Path) -> None:
    second = f"{ARM}/subscriptions?api-version=2022-12-01&$skiptoken=2"
    responses.get(SUBSCRIPTIONS, json={"value": [{"subscriptionId": "a"}], "nextLink": second})
    responses.get(second, json={"value": [{"subscriptionId": "b"}]})
    client, _ = make_client(tmp_path)
    assert [s["subscriptionId"] for s in client.subscriptions()] == ["a", "b"]


# -- the source: scope and dataset states -------------------------------------------------------------------------
def config(**changes: Any) -> AzureConfig:
    values: dict[str, Any] = {"tenant_id": "t", "client_id": "c", "client_secret_env": "AZ_SECRET", **changes}
    return AzureConfig(**values)


def listing(*entries: tuple[str, str, str]) -> dict[str, Any]:
    return {"value": [{"subscriptionId": i, "displayName": n, "state": s} for i, n, s in entries]}


def run_source(tmp_path: Path, cfg: AzureConfig, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(AzureSource, "credential", lambda self: FakeCredential())
    source = AzureSource(cfg, environ={"AZ_SECRET": "s"}, policy=POLICY, sleep=Sleeps())
    return source.collect(RawRecorder(tmp_path / "raw", "azure"))


@responses.activate
def test_scope_unreadable_disabled_and_unknown_subscriptions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unreadable, disabled, odd = (f"00000000-0000-0000-0000-0000000000{n}" for n in ("b2", "c3", "d4"))
    responses.get(
        SUBSCRIPTIONS, json=listing((SUB, "Prod", "Enabled"), (disabled, "Old", "Disabled"), (odd, "Odd", "Frozen"))
    )
    for _ in range(3):
        responses.post(GRAPH, json=page([], 0))
    cfg = config(subscriptions=[SUB, unreadable, disabled, odd])
    collected = run_source(tmp_path, cfg, monkeypatch)
    data = collected.data
    assert data.subscriptions == [AzureSubscription(id=SUB, name="Prod", state="Enabled")]
    assert {s.subscription_id: s.state for s in data.not_scanned} == {
        unreadable: None,
        disabled: "Disabled",
        odd: "Frozen",
    }
    gaps = {(g.subscription_id, g.reason_kind) for g in data.gaps}
    assert gaps == {(unreadable, ReasonKind.PERMISSION), (odd, ReasonKind.API_GAP)}  # Disabled: named, no gap
    assert all(b["subscriptions"] == [SUB] for b in bodies(responses.calls))  # only readable, active ones queried
    assert collected.run.status == "ok" and "not scanned" in (collected.run.datasets["azure.backup"].scope or "")


@responses.activate
def test_one_table_failing_leaves_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    responses.get(SUBSCRIPTIONS, json=listing((SUB, "Prod", "Enabled")))
    refusal = {"error": {"code": "BadRequest", "message": "no", "details": [{"code": "InvalidQuery", "message": "x"}]}}

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        # the tables are read side by side: answer by the query, not by arrival order
        if json.loads(request.body)["query"] == rows.BACKUP_QUERY:
            return 400, {}, json.dumps(refusal)
        return 200, {}, json.dumps(page([], 0))

    responses.add_callback(responses.POST, GRAPH, callback=answer, content_type="application/json")
    collected = run_source(tmp_path, config(), monkeypatch)
    states = collected.run.datasets
    assert states["azure.machines"].available and states["azure.patch"].available
    assert not states["azure.backup"].available and "InvalidQuery" in (states["azure.backup"].reason or "")
    assert collected.run.status == "partial"


def test_a_missing_secret_makes_every_dataset_unavailable(tmp_path: Path) -> None:
    source = AzureSource(config(), environ={})
    collected = source.collect(RawRecorder(None, "azure"))
    assert collected.run.status == "error"
    assert all("AZ_SECRET" in (s.reason or "") for s in collected.run.datasets.values())


def test_the_config_takes_exactly_the_public_keys() -> None:
    assert set(AzureConfig.model_fields) == {
        "tenant_id", "client_id", "certificate_file", "client_secret_env", "subscriptions",
        "authority_host", "management_url", "ca_bundle",
    }  # fmt: skip
    with pytest.raises(ValueError, match="exactly one"):
        AzureConfig(tenant_id="t", client_id="c")
    with pytest.raises(ValueError):
        AzureConfig(tenant_id="t", client_id="c", client_secret_env="X", subscriptions=["not-a-guid"])


def test_installation_runs_and_reported_operating_systems_are_normalised() -> None:
    vm = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web"
    runs = rows.installations(
        [
            {
                "id": f"{vm}/patchInstallationResults/run-1",
                "type": "microsoft.compute/virtualmachines/patchinstallationresults",
                "status": "Failed",
                "started": "2026-11-01T01:00:00Z",
                "lastModified": "2026-11-01T01:40:00.1234567Z",
                "installed": 1,
                "failed": 2,
                "windowExceeded": True,
            },
            {
                "id": f"{vm}/patchInstallationResults/run-2",
                "type": "microsoft.compute/virtualmachines/patchinstallationresults",
                "installed": -1,
                "failed": "2",
                "windowExceeded": "yes",
            },
            {
                "id": f"{vm}/patchAssessmentResults/latest",
                "type": "microsoft.compute/virtualmachines/patchassessmentresults",
            },
        ]
    )
    assert [(r.machine_id, r.status, r.failed, r.window_exceeded) for r in runs] == [
        (vm, "Failed", 2, True),
        (vm, None, None, None),  # malformed values are not guessed at
    ]
    assert runs[0].finished is not None and runs[0].finished.minute == 40
    machines, _ = rows.resources(
        [
            {"id": vm, "name": "web", "type": "microsoft.compute/virtualmachines", "subscriptionId": SUB,
             "vmOsType": "Windows", "vmOsName": "Windows Server 2019 Datacenter", "vmOsVersion": "10.0.17763.1"},
            {"id": "/arc", "name": "arc", "type": "microsoft.hybridcompute/machines", "subscriptionId": SUB,
             "arcOsType": "linux", "arcOsSku": "Ubuntu 22.04.4 LTS", "arcOsVersion": "22.04"},
        ]
    )  # fmt: skip
    assert [(m.os_name, m.os_version) for m in machines] == [
        ("Windows Server 2019 Datacenter", "10.0.17763.1"),
        ("Ubuntu 22.04.4 LTS", "22.04"),
    ]


def test_backup_vault_instances_take_their_points_from_completed_backup_jobs() -> None:
    vault = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.DataProtection/backupVaults/bv"
    instance = f"{vault}/backupInstances/disk-1"

    def job(n: str, category: str, status: str, end: str) -> dict[str, Any]:
        props = {"operationCategory": category, "status": status, "backupInstanceId": instance.upper(),
                 "backupInstanceFriendlyName": "disk", "startTime": end, "endTime": end}  # fmt: skip
        return {"id": f"{vault}/backupJobs/{n}", "type": "microsoft.dataprotection/backupvaults/backupjobs",
                "subscriptionId": SUB, "properties": props}  # fmt: skip

    items, jobs = rows.dataprotection(
        [
            {"id": instance, "name": "disk-1", "type": "microsoft.dataprotection/backupvaults/backupinstances",
             "subscriptionId": SUB, "properties": {"friendlyName": "disk", "currentProtectionState":
             "ProtectionConfigured", "dataSourceInfo": {"resourceID": "/disk", "datasourceType": "disks"}}},
            job("1", "Backup", "Completed", "2026-11-01T02:00:00Z"),
            job("2", "Backup", "Failed", "2026-11-02T02:00:00Z"),
            job("3", "Restore", "Completed", "2026-11-02T05:00:00Z"),
        ]
    )  # fmt: skip
    assert [(j.vault_id, j.operation, j.status) for j in jobs] == [
        (vault, "Backup", "Completed"),
        (vault, "Backup", "Failed"),
        (vault, "Restore", "Completed"),
    ]
    [item] = items
    assert (item.vault_id, item.source_resource_id, item.protection_state) == (vault, "/disk", "ProtectionConfigured")
    assert item.last_recovery_point is not None and item.last_recovery_point.day == 1  # the completed backup
    assert item.last_backup_status == "Failed"  # the newest backup job; a restore is not a backup
