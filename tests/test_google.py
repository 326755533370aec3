"""Google Workspace source and checks through googleapiclient's HttpMockSequence (httplib2 boundary)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from googlefake import SCOPE, Workspace, chrome, endpoint, error, guser, healthy_workspace, mobile

from hygiene.config import GoogleConfig
from hygiene.engine import evaluate
from hygiene.model import OrganisationRef, ReasonKind, Snapshot
from hygiene.policy import Attestation, ControlsFile, load_lifecycle, load_profile
from hygiene.registry import Registry
from hygiene.results import CheckResult, Status
from hygiene.sources.google import GoogleSource
from hygiene.sources.graph import RetryPolicy
from hygiene.sources.interface import RawRecorder

Scan = Callable[..., dict[str, CheckResult]]


def collect(workspace: Workspace, tmp_path: Path, raw: Path | None = None) -> Snapshot:
    key = tmp_path / "sa.json"
    key.write_text(json.dumps({"type": "service_account", "private_key": "unused"}))
    config = GoogleConfig(service_account_file=key, delegated_admin="amy@leeds.test")
    sleeps: list[float] = []
    source = GoogleSource(
        config,
        http_factory=workspace.http_factory,
        retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01),
        sleep=sleeps.append,
    )
    collected = source.collect(RawRecorder(raw, "google"))
    workspace.mocks["sleeps"] = sleeps
    return Snapshot(
        tool_version="t",
        organisation=OrganisationRef(id="leeds", name="Leeds"),
        collected_at=collected.run.finished_at,
        sources={"google": collected.run},
        google=collected.data,
    )


@pytest.fixture
def scan(tmp_path: Path) -> Scan:
    def _scan(workspace: Workspace, controls: ControlsFile | None = None) -> dict[str, CheckResult]:
        report = evaluate(
            collect(workspace, tmp_path),
            Registry.load(entry_points_too=False),
            load_profile("sme-baseline"),
            controls or ControlsFile(),
            load_lifecycle(),
            scan_id="s",
            operator="pytest",
        )
        return {r.check_id: r for r in report.results}

    return _scan


def names(result: CheckResult) -> set[str]:
    return {f.resource_name for f in result.findings}


def test_healthy_workspace(scan: Scan) -> None:
    results = scan(healthy_workspace())
    assert set(results) == {
        "gws.mfa.enrolled",
        "gws.mfa.enforced",
        "gws.mfa.admins",
        "gws.accounts.inactive",
        "gws.accounts.admin_count",
        "gws.devices.os_supported",
        "gws.devices.patch_current",
        "gws.backup.configured",
    }
    failing = {cid: r.reason for cid, r in results.items() if r.status is not Status.PASS}
    assert failing == {"gws.backup.configured": failing["gws.backup.configured"]}
    assert results["gws.backup.configured"].status is Status.NOT_ASSESSED
    assert results["gws.backup.configured"].reason_kind is ReasonKind.API_GAP
    # the Android endpoint from Cloud Identity is not double counted; the Windows one is
    assert results["gws.devices.os_supported"].assessed == 4


def test_two_step_verification(scan: Scan) -> None:
    ws = healthy_workspace()
    ws.users += [
        guser("eve", enrolled=False, enforced=False),
        guser("fay", enforced=False),
        guser("gus", enrolled=False, enforced=False, suspended=True),
    ]
    results = scan(ws)
    assert names(results["gws.mfa.enrolled"]) == {"eve@leeds.test"}
    assert names(results["gws.mfa.enforced"]) == {"eve@leeds.test", "fay@leeds.test"}
    assert "could turn it off" in next(
        f.detail for f in results["gws.mfa.enforced"].findings if f.resource_name == "fay@leeds.test"
    )
    assert results["gws.mfa.enforced"].assessed == 6  # suspended users are not counted


def test_admins(scan: Scan) -> None:
    ws = healthy_workspace()
    ws.users[0]["isEnforcedIn2Sv"] = False
    ws.users.append(guser("hal", delegated=True, enrolled=False, enforced=False))
    ws.users.append(guser("ida", enrolled=True, enforced=False))
    ws.assignments.append({"roleId": "r2", "assignedTo": "id-ida", "assigneeType": "user", "scopeType": "ORG_UNIT"})
    result = scan(ws)["gws.mfa.admins"]
    assert result.status is Status.FAIL and result.severity == "critical"
    assert names(result) == {"amy@leeds.test", "hal@leeds.test", "ida@leeds.test"}
    assert result.assessed == 4


def test_admins_without_roles_scope_uses_user_flags(scan: Scan) -> None:
    ws = healthy_workspace()
    ws.refused = {"google.roles"}
    result = scan(ws)["gws.mfa.admins"]
    assert result.status is Status.PASS and "role assignments not read" in (result.note or "")


def test_inactive_and_never_used(scan: Scan) -> None:
    ws = healthy_workspace()
    ws.users += [guser("old", login=120), guser("ghost", login=None, created=60), guser("new", login=None, created=3)]
    assert names(scan(ws)["gws.accounts.inactive"]) == {"old@leeds.test", "ghost@leeds.test"}


def test_super_admin_count(scan: Scan) -> None:
    ws = healthy_workspace()
    ws.users[1]["isAdmin"] = False
    result = scan(ws)["gws.accounts.admin_count"]
    assert result.status is Status.FAIL and "1 super admins (amy@leeds.test)" in result.findings[0].detail


def test_devices(scan: Scan) -> None:
    ws = healthy_workspace()
    ws.chromes += [
        chrome("CBOLD", aue_days=30),
        chrome("CBLAG", compliance="notCompliant"),
        chrome("CBGONE", aue_days=30, status="DEPROVISIONED"),
        chrome("CBPEND", compliance="pending"),
    ]
    ws.mobiles += [
        mobile("Galaxy A10", "Android 11", "eve"),
        mobile("Pixel 6", "Android 14", "fay", patch=200),
        mobile("iPhone X", "iOS 16.7.8", "gus", patch=None, sync=60),
    ]
    ws.endpoints += [
        endpoint("WIN10", "WINDOWS", "Windows 10.0.19045"),
        endpoint("MAC", "MAC_OS", "MacOS 15.1", sync=45),
    ]
    results = scan(ws)
    assert names(results["gws.devices.os_supported"]) == {
        "CBOLD",
        "Galaxy A10 (eve@leeds.test)",
        "iPhone X (gus@leeds.test)",
        "WIN10",
    }
    assert names(results["gws.devices.patch_current"]) == {
        "CBLAG",
        "Pixel 6 (fay@leeds.test)",
        "iPhone X (gus@leeds.test)",
        "MAC",
    }


def test_missing_device_scope_is_not_assessed_naming_the_scope(scan: Scan) -> None:
    ws = healthy_workspace()
    ws.refused = {"google.chrome_devices"}
    results = scan(ws)
    for check_id in ("gws.devices.os_supported", "gws.devices.patch_current"):
        assert results[check_id].status is Status.NOT_ASSESSED
        assert results[check_id].permissions == [SCOPE["google.chrome_devices"]]
    assert results["gws.mfa.enforced"].status is Status.PASS


def test_missing_cloud_identity_scope_is_optional(scan: Scan) -> None:
    ws = healthy_workspace()
    ws.refused = {"google.endpoints"}
    result = scan(ws)["gws.devices.os_supported"]
    assert result.status is Status.PASS and "Windows/macOS endpoints not read" in (result.note or "")


def test_insufficient_scope_403_is_a_permission_problem(scan: Scan) -> None:
    ws = healthy_workspace()
    ws.before["google.users"] = [
        error(403, "insufficientPermissions", "Request had insufficient authentication scopes.")
    ]
    result = scan(ws)["gws.mfa.enforced"]
    assert result.status is Status.NOT_ASSESSED and result.reason_kind is ReasonKind.PERMISSION
    assert SCOPE["google.users"] in result.permissions


def test_rate_limits_are_retried_honouring_retry_after(tmp_path: Path) -> None:
    ws = healthy_workspace()
    ws.users += [guser(f"u{i}") for i in range(5)]
    ws.before["google.users"] = [
        error(429, "rateLimitExceeded", headers={"retry-after": "7"}),
        error(403, "userRateLimitExceeded"),
    ]
    snapshot = collect(ws, tmp_path)
    assert snapshot.google is not None and len(snapshot.google.users) == 9
    assert ws.mocks["sleeps"][0] == 7.0 and len(ws.mocks["sleeps"]) == 2
    run = snapshot.sources["google"]
    # 2 throttled + 5 user pages + roles and assignments + mobile + chrome + endpoints
    assert run.status == "ok" and run.requests == 2 + 5 + 2 + 1 + 1 + 1


def test_persistent_rate_limit_gives_up(tmp_path: Path) -> None:
    ws = healthy_workspace()
    ws.before["google.mobile_devices"] = [error(429, "rateLimitExceeded")] * 3
    snapshot = collect(ws, tmp_path)
    state = snapshot.sources["google"].datasets["google.mobile_devices"]
    assert not state.available and state.reason_kind is ReasonKind.ERROR


def test_paging_requests_use_page_tokens_and_large_pages(tmp_path: Path) -> None:
    ws = healthy_workspace()
    ws.users += [guser(f"u{i}") for i in range(5)]
    collect(ws, tmp_path)
    uris = [r[0] for r in ws.mocks["google.users"].request_sequence]
    assert len(uris) == 5
    assert "maxResults=500" in uris[0] and "fields=" in uris[0] and "pageToken" not in uris[0]
    assert "pageToken=page-2" in uris[1] and "pageToken=page-5" in uris[4]
    assert all(
        method == "GET"
        for mock in ws.mocks.values()
        if hasattr(mock, "request_sequence")
        for _, method, _, _ in mock.request_sequence
    )


def test_raw_responses_are_kept(tmp_path: Path) -> None:
    collect(healthy_workspace(), tmp_path, raw=tmp_path / "raw")
    files = list((tmp_path / "raw" / "google").glob("*.json"))
    assert any("admin-directory-v1-users" in f.name for f in files)


def test_attested_backup(scan: Scan) -> None:
    controls = ControlsFile(
        attestations=[
            Attestation(
                id="ATT-G",
                check="gws.backup.configured",
                statement="Acme Backup for Workspace; restore tested",
                date=date.today() - timedelta(days=10),
                attested_by="it@leeds.test",
            )
        ]
    )
    result = scan(healthy_workspace(), controls)["gws.backup.configured"]
    assert result.status is Status.PASS and result.basis == "attested"


def test_bad_key_file_is_an_error_state(tmp_path: Path) -> None:
    key = tmp_path / "sa.json"
    key.write_text("{not json")
    source = GoogleSource(GoogleConfig(service_account_file=key, delegated_admin="a@b.test"))
    run = source.collect(RawRecorder(None, "google")).run
    assert run.status == "error" and "cannot read service account key" in run.errors[0]
