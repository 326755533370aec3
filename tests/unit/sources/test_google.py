"""Google Workspace source and checks through googleapiclient's HttpMockSequence (httplib2 boundary)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from googleapiclient.http import HttpMockSequence
from googlefake import (
    HELP_DESK_ROLE_ID,
    SCOPE,
    Workspace,
    chrome,
    endpoint,
    error,
    guser,
    healthy_workspace,
    member,
    mobile,
)

from hygiene.config import GoogleConfig, load_config
from hygiene.demo import write_demo_config
from hygiene.engine import evaluate
from hygiene.model import OrganisationRef, ReasonKind, Snapshot
from hygiene.policy import Attestation, ControlsFile, load_lifecycle, load_profile
from hygiene.registry import Registry
from hygiene.results import CheckResult, Status
from hygiene.sources.google.catalogue import SCOPES
from hygiene.sources.google.credentials import service_account_info
from hygiene.sources.google.source import LANES, ORDER, GoogleSource
from hygiene.sources.interface import CredentialError, RawRecorder
from hygiene.sources.retry import RetryPolicy
from hygiene_sandbox import Sandbox, generate

Scan = Callable[..., dict[str, CheckResult]]


def collect(
    workspace: Workspace,
    tmp_path: Path,
    raw: Path | None = None,
    http_factory: Callable[[str], Any] | None = None,
) -> Snapshot:
    key = tmp_path / "sa.json"
    key.write_text(json.dumps({"type": "service_account", "private_key": "unused"}))
    config = GoogleConfig(service_account_file=key, delegated_admin="amy@leeds.test")
    sleeps: list[float] = []
    source = GoogleSource(
        config,
        http_factory=http_factory or workspace.http_factory,
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


def test_domains_and_their_aliases_are_read_in_one_request(tmp_path: Path) -> None:
    workspace = healthy_workspace()
    snapshot = collect(workspace, tmp_path)
    assert snapshot.google is not None
    assert [(d.name, d.verified, d.default, d.email) for d in snapshot.google.domains] == [
        ("example.com", True, True, True),
        ("example.org", False, False, True),  # an alias not verified yet: the email checks leave it out
    ]
    state = snapshot.sources["google"].datasets["google.domains"]
    assert state.available and state.records == 2
    assert workspace.mocks["google.domains"]._iterable == []  # its one answer served, nothing more asked


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
        "gws.devices.encrypted",
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
    ws.assignments.append(
        {"roleId": HELP_DESK_ROLE_ID, "assignedTo": "id-ida", "assigneeType": "user", "scopeType": "ORG_UNIT"}
    )
    result = scan(ws)["gws.mfa.admins"]
    assert result.status is Status.FAIL and result.severity == "critical"
    assert names(result) == {"amy@leeds.test", "hal@leeds.test", "ida@leeds.test"}
    assert result.assessed == 4


def test_admins_without_roles_scope_are_not_assessed_naming_the_scope(scan: Scan, tmp_path: Path) -> None:
    """Without the role assignments, admins holding roles through groups are invisible: never a pass."""
    ws = healthy_workspace()
    ws.refused = {"google.roles"}
    results = scan(ws)
    result = results["gws.mfa.admins"]
    assert result.status is Status.NOT_ASSESSED and result.reason_kind is ReasonKind.PERMISSION
    assert result.permissions == [SCOPE["google.roles"]]
    assert "role assignments not read" in (result.reason or "")
    # the groups' members are not asked for either (no token for their scope), and say why
    assert "google.admin_groups" not in ws.mocks
    state = collect(ws, tmp_path).sources["google"].datasets["google.admin_groups"]
    assert not state.available and state.needs == [SCOPE["google.roles"]]


# -- admin roles held by groups (issue 11, item 6) ------------------------------------------------------------------
def _group_workspace() -> Workspace:
    ws = healthy_workspace()
    ws.users += [guser("eve", enrolled=False, enforced=False), guser("fay"), guser("gil", enforced=False)]
    ws.roles.append({"roleId": "91447453409034243", "roleName": "_MOBILE_ADMIN_ROLE", "isSuperAdminRole": False})
    ws.assignments.append(
        {"roleId": "91447453409034243", "assignedTo": "grp-mobile", "assigneeType": "group", "scopeType": "CUSTOMER"}
    )
    ws.groups["grp-mobile"] = [
        member("id-fay", "fay@leeds.test"),
        member("grp-nested", "nested@leeds.test", "GROUP"),
        member("id-eve", "eve@leeds.test"),  # an indirect member, listed through includeDerivedMembership
    ]
    return ws


def test_members_of_a_group_holding_an_admin_role_are_admins(scan: Scan) -> None:
    ws = _group_workspace()
    result = scan(ws)["gws.mfa.admins"]
    assert result.status is Status.FAIL
    assert names(result) == {"eve@leeds.test"}
    detail = result.findings[0].detail
    assert "_MOBILE_ADMIN_ROLE via group grp-mobile" in detail and "not enrolled and not enforced" in detail
    assert result.assessed == 4  # amy, bea (super admins), fay and eve (the group's users; the nested group is not)
    # members.list: the group by id, indirect members too, the largest page, a fields mask; GET only
    (uri, method, _, _) = ws.mocks["google.admin_groups"].request_sequence[0]
    assert method == "GET" and "/admin/directory/v1/groups/grp-mobile/members?" in uri
    assert "includeDerivedMembership=true" in uri and "maxResults=200" in uri
    assert "fields=nextPageToken%2Cmembers%28id%2Cemail%2Ctype%29" in uri


def test_group_members_on_several_pages_are_all_checked(scan: Scan) -> None:
    ws = _group_workspace()
    ws.groups["grp-mobile"] += [member("id-gil", "gil@leeds.test"), member("id-cal", "cal@leeds.test")]
    result = scan(ws)["gws.mfa.admins"]
    assert names(result) == {"eve@leeds.test", "gil@leeds.test"}
    assert len(ws.mocks["google.admin_groups"].request_sequence) == 3  # 5 members, 2 a page


def test_without_the_group_member_scope_group_admins_are_not_assessed(scan: Scan) -> None:
    ws = _group_workspace()
    ws.groups["grp-mobile"] = [member("id-fay", "fay@leeds.test")]  # every admin seen passes
    ws.refused = {"google.admin_groups"}
    results = scan(ws)
    result = results["gws.mfa.admins"]
    assert result.status is Status.NOT_ASSESSED and result.reason_kind is ReasonKind.PERMISSION
    assert result.permissions == [SCOPE["google.admin_groups"]]
    assert "held by group grp-mobile" in (result.reason or "")
    # only what needs the scope is affected
    assert results["gws.devices.patch_current"].status is Status.PASS
    assert results["gws.mfa.enrolled"].status is Status.FAIL  # eve, assessed from the users list
    # with a failing admin elsewhere, the check fails and still says what it could not see
    ws = _group_workspace()
    ws.users[0]["isEnforcedIn2Sv"] = False
    ws.refused = {"google.admin_groups"}
    result = scan(ws)["gws.mfa.admins"]
    assert result.status is Status.FAIL and names(result) == {"amy@leeds.test"}
    assert "not seen" in (result.note or "") and "grp-mobile" in (result.note or "")


def test_group_members_that_are_not_users_or_are_the_whole_customer(scan: Scan) -> None:
    ws = _group_workspace()
    ws.groups["grp-mobile"] = [member("id-fay", "fay@leeds.test"), member("ext-1", "helper@gmail.test")]
    result = scan(ws)["gws.mfa.admins"]
    assert result.status is Status.NOT_ASSESSED and "helper@gmail.test" in (result.reason or "")
    ws = _group_workspace()
    ws.groups["grp-mobile"] = [member("C0leeds", None, "CUSTOMER")]  # every user of the account
    result = scan(ws)["gws.mfa.admins"]
    assert names(result) == {"eve@leeds.test", "gil@leeds.test"} and result.assessed == 7


def test_unknown_assignee_type_and_unknown_user_are_never_passed(scan: Scan) -> None:
    ws = healthy_workspace()
    ws.future_enum_values = True  # assignedTo is documented as "user, group or service-account id"
    ws.assignments.append({"roleId": HELP_DESK_ROLE_ID, "assignedTo": "sa-1", "assigneeType": "serviceAccount"})
    result = scan(ws)["gws.mfa.admins"]
    assert result.status is Status.NOT_ASSESSED and "serviceAccount" in (result.reason or "")
    ws = healthy_workspace()
    ws.assignments.append({"roleId": HELP_DESK_ROLE_ID, "assignedTo": "1234567890", "assigneeType": "user"})
    result = scan(ws)["gws.mfa.admins"]
    assert result.status is Status.NOT_ASSESSED and "not a user of the directory" in (result.reason or "")


def test_no_group_holds_a_role_no_member_request(tmp_path: Path) -> None:
    ws = healthy_workspace()
    snapshot = collect(ws, tmp_path)
    state = snapshot.sources["google"].datasets["google.admin_groups"]
    assert state.available and "no admin role is assigned to a group" in (state.method or "")
    assert "google.admin_groups" not in ws.mocks  # not even a token for its scope


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
    # 2 throttled + 5 user pages + roles and assignments + mobile + chrome + endpoints + domains
    assert run.status == "ok" and run.requests == 2 + 5 + 2 + 1 + 1 + 1 + 1


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


# -- concurrency --------------------------------------------------------------------------------------------------
class GatedHttp(HttpMockSequence):  # type: ignore[misc]
    """A dataset's mock: every request notes its thread; the first one passes ``gate`` first."""

    def __init__(self, inner: Any, dataset: str, gate: Callable[[str], None], threads: dict[str, set[str]]) -> None:
        super().__init__([])
        self.inner, self.dataset, self.gate, self.threads = inner, dataset, gate, threads
        self.first = True

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self.threads.setdefault(self.dataset, set()).add(threading.current_thread().name)
        if self.first:
            self.first = False
            self.gate(self.dataset)
        return self.inner.request(*args, **kwargs)


def test_datasets_are_fetched_concurrently_each_in_one_lane(tmp_path: Path) -> None:
    ws = healthy_workspace()
    ws.users += [guser(f"u{i}") for i in range(5)]
    barrier = threading.Barrier(LANES)
    lock = threading.Lock()
    started: list[str] = []
    threads: dict[str, set[str]] = {}

    def gate(dataset: str) -> None:
        with lock:
            started.append(dataset)
            waits = len(started) <= LANES
        if waits:  # passes only once LANES datasets are in flight at the same time (a sequential source breaks it)
            barrier.wait(timeout=60)

    def factory(scope: str) -> Any:
        dataset = next(name for name, s in SCOPE.items() if s == scope)
        return GatedHttp(ws.http_factory(scope), dataset, gate, threads)

    snapshot = collect(ws, tmp_path, http_factory=factory)
    run = snapshot.sources["google"]
    assert run.status == "ok" and all(state.available for state in run.datasets.values())
    assert snapshot.google is not None and len(snapshot.google.users) == 9
    assert len(snapshot.google.role_assignments) == 2 and len(snapshot.google.endpoints) == 2
    # the first LANES datasets start together; the last waits for a free lane
    assert sorted(started[:LANES]) == sorted(ORDER[:LANES]) and started[LANES:] == list(ORDER[LANES:])
    # each dataset runs whole on one thread (its httplib2.Http is never shared); LANES threads in all
    # (no role is held by a group: the group-member scope's credential is never made)
    lanes = set(SCOPES) - {"google.admin_groups"}
    assert set(threads) == lanes and all(len(names) == 1 for names in threads.values())
    assert len(set().union(*threads.values())) == LANES
    assert run.requests == 5 + 2 + 1 + 1 + 1 + 1  # the per-dataset counters add up (the last: domains)


def test_failing_datasets_leave_the_concurrent_others_whole(tmp_path: Path) -> None:
    ws = healthy_workspace()
    ws.users += [guser(f"u{i}") for i in range(5)]
    ws.before["google.mobile_devices"] = [error(503, "backendError")] * 3  # outlasts max_attempts=3
    ws.refused = {"google.chrome_devices"}
    snapshot = collect(ws, tmp_path)
    run = snapshot.sources["google"]
    states = run.datasets
    assert not states["google.mobile_devices"].available
    assert states["google.mobile_devices"].reason_kind is ReasonKind.UNREACHABLE
    assert not states["google.chrome_devices"].available
    assert states["google.chrome_devices"].reason_kind is ReasonKind.PERMISSION
    assert {name: state.records for name, state in states.items() if state.available} == {
        "google.users": 9,
        "google.roles": 2,
        "google.domains": 2,
        "google.admin_groups": 0,
        "google.endpoints": 2,
    }
    assert snapshot.google is not None and snapshot.google.mobile_devices == [] == snapshot.google.chrome_devices
    assert run.status == "partial" and len(run.errors) == 1 and run.errors[0].startswith("google.mobile_devices:")


def _new_key_info(client_email: str, **more: str) -> dict[str, str]:
    """A service account key's fields, with a freshly generated RSA private key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return {
        "type": "service_account",
        "private_key": pem.decode(),
        **more,
        "client_email": client_email,
        "token_uri": "https://127.0.0.1:9/token",
    }


def test_one_key_parse_one_credential_and_http_per_dataset(tmp_path: Path) -> None:
    info = _new_key_info("scanner@leeds.iam.gserviceaccount.com", private_key_id="k1")
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info))
    config = GoogleConfig(
        service_account_file=path, delegated_admin="amy@leeds.test", api_endpoint="https://127.0.0.1:9"
    )
    source = GoogleSource(config)
    https = [source.http_for(scope) for scope in SCOPE.values()]
    credentials = [h.credentials for h in https]
    assert len({id(c._signer) for c in credentials}) == 1  # the key was parsed once
    assert [c.scopes for c in credentials] == [[scope] for scope in SCOPE.values()]  # one scope per credential
    assert all(c._subject == "amy@leeds.test" and c.token is None for c in credentials)  # tokens come on first use
    assert len({id(h.http) for h in https}) == len(https)
    users, other = (source.collections("admin", "directory_v1", SCOPE["google.users"], "users")[0] for _ in "ab")
    assert users._http is not other._http and users._http.credentials is not other._http.credentials
    # the shared discovery document still takes the configured endpoint
    uri = users.list(customer="my_customer", maxResults=500).uri
    assert uri.startswith("https://127.0.0.1:9/admin/directory/v1/users?")


def test_sandbox_scan_asks_one_token_per_scope_and_the_fewest_pages(tmp_path: Path) -> None:
    scenario = generate(200, seed=3, now=datetime.now(UTC))
    google = scenario.google
    assert google is not None
    with Sandbox(scenario, google_page_limit=10) as sandbox:  # small pages: every dataset pages
        config = load_config(write_demo_config(tmp_path / "cfg", sandbox))
        assert config.sources.google is not None
        before = len(sandbox.requests)
        collected = GoogleSource(config.sources.google).collect(RawRecorder(None, "google"))
        log = sandbox.requests[before:]
    tokens = [r for r in log if r.path == "/token"]
    # one token per dataset's credential (one scope each), fetched once: none asked for again; no role is held by
    # a group in generated tenants, so the group-member scope is never asked for
    scopes = [s for name, s in SCOPE.items() if name != "google.admin_groups"]
    assert len(tokens) == len(scopes) == sandbox.google_tokens.issued
    assert sorted(map(sorted, sandbox.google_tokens.issued_scopes)) == sorted([s] for s in scopes)
    run = collected.run
    assert run.status == "ok", run.errors
    lists = (google.users, google.roles, google.role_assignments, google.mobile_devices, google.chromeos_devices)
    sizes = [len(items) for items in (*lists, google.ci_devices)]
    fewest = sum(max(1, -(-n // 10)) for n in sizes) + 1  # domains.list: one request, not paged
    assert run.requests == len(log) - len(tokens) == fewest
    assert len(collected.data.users) == len(google.users)
    assert len(collected.data.mobile_devices) == len(google.mobile_devices)


def test_unusable_private_key_is_an_error_state_for_every_dataset(tmp_path: Path) -> None:
    key = tmp_path / "sa.json"
    info = {
        "type": "service_account",
        "private_key": "unused",
        "client_email": "s@x.test",
        "token_uri": "https://x.test",
    }
    key.write_text(json.dumps(info))
    run = (
        GoogleSource(GoogleConfig(service_account_file=key, delegated_admin="a@b.test"))
        .collect(RawRecorder(None, "google"))
        .run
    )
    assert run.status == "error" and run.requests == 0
    assert all("cannot use the private key" in (state.reason or "") for state in run.datasets.values())


# -- devices that cannot reach data (issue 11, item 7) ----------------------------------------------------------------
def test_wiped_blocked_and_pending_devices_are_counted_not_judged(scan: Scan) -> None:
    ws = healthy_workspace()
    ws.mobiles += [
        mobile("Galaxy S9", "Android 10", "eve", patch=900, sync=300, status="WIPED"),
        mobile("iPhone 8", "iOS 16.7.10", "fay", patch=None, sync=200, status="BLOCKED"),
        mobile("Pixel 6", "Android 13", "gus", patch=400, status="PENDING"),
        # a wipe not yet done: the phone still holds the data, and a status this code does not know: both judged
        mobile("iPhone X", "iOS 16.7.10", "hal", patch=None, sync=90, status="WIPING"),
        mobile("Galaxy A10", "Android 11", "ida", status="SOMETHING_NEW"),
    ]
    ws.chromes += [
        chrome("CBGONE", aue_days=30, compliance="notCompliant", status="DEPROVISIONED"),
        chrome("CBLOST", aue_days=30, sync=90, status="DISABLED"),
        chrome("CBIDLE", aue_days=30, status="INACTIVE"),  # not known to cut access: judged
    ]
    ws.endpoints += [
        endpoint("WIN10OLD", "WINDOWS", "Windows 10.0.19045", sync=400, state="WIPED"),
        endpoint("WIN10BLK", "WINDOWS", "Windows 10.0.19045", state="BLOCKED"),
        endpoint("WIN10UNK", "WINDOWS", "Windows 10.0.19045", state=None),  # no managementState: judged
    ]
    results = scan(ws)
    supported, patched = results["gws.devices.os_supported"], results["gws.devices.patch_current"]
    assert names(supported) == {
        "iPhone X (hal@leeds.test)",
        "Galaxy A10 (ida@leeds.test)",
        "CBIDLE",
        "WIN10UNK",
    }
    assert names(patched) == {"iPhone X (hal@leeds.test)"}
    note = "7 devices not judged (they cannot reach data): blocked 2, deprovisioned 1, disabled 1, pending 1, wiped 2"
    assert note in (supported.note or "") and note in (patched.note or "")
    # healthy 4 (Pixel 8, iPhone 15, CB001, WIN001) + WIPING, unknown, INACTIVE, no managementState
    assert supported.assessed == 8


def test_device_status_is_requested(tmp_path: Path) -> None:
    ws = healthy_workspace()
    collect(ws, tmp_path)
    for dataset, field_name in (
        ("google.mobile_devices", "status"),
        ("google.chrome_devices", "status"),
        ("google.endpoints", "managementState"),
        ("google.endpoints", "encryptionState"),
    ):
        uri = ws.mocks[dataset].request_sequence[0][0]
        assert field_name in uri.split("fields=", 1)[1].split("&", 1)[0], dataset


def test_endpoint_encryption(scan: Scan) -> None:
    """encryptionState (cloudidentity v1): NOT_ENCRYPTED and UNSUPPORTED_BY_DEVICE fail; a device that reports no
    state (absent or ENCRYPTION_STATE_UNSPECIFIED) is not seen; devices that cannot reach data are not judged."""
    ws = healthy_workspace()
    ws.endpoints += [
        endpoint("LAPTOP1", "WINDOWS", "Windows 10.0.26200", encryption="NOT_ENCRYPTED"),
        endpoint("LINUX1", "LINUX", "Ubuntu 24.04", encryption="UNSUPPORTED_BY_DEVICE"),
        endpoint("WIPED1", "WINDOWS", "Windows 10.0.26200", state="WIPED", encryption="NOT_ENCRYPTED"),
    ]
    result = scan(ws)["gws.devices.encrypted"]
    assert result.status is Status.FAIL
    assert names(result) == {"LAPTOP1", "LINUX1"}
    assert result.assessed == 4 and "wiped 1" in (result.note or "")
    ws = healthy_workspace()
    ws.endpoints += [
        endpoint("MAC1", "MAC_OS", "MacOS 15.1", encryption=None),
        endpoint("MAC2", "MAC_OS", "MacOS 15.1", encryption="ENCRYPTION_STATE_UNSPECIFIED"),
    ]
    result = scan(ws)["gws.devices.encrypted"]
    assert result.status is Status.NOT_ASSESSED  # the encrypted ones pass, two are not seen: never a pass
    assert "MAC1" in (result.note or "") and "MAC2" in (result.note or "")
    assert scan(healthy_workspace())["gws.devices.encrypted"].status is Status.PASS


# -- the API not enabled in the Cloud project (issue 11, item 8) ------------------------------------------------------
ACTIVATION = "https://console.developers.google.com/apis/api/admin.googleapis.com/overview?project=417236845"


def service_disabled(service: str, title: str, *, one_platform: bool = False) -> tuple[dict[str, str], str]:
    """Google's 403 when the API is not enabled in the caller's project (observed bodies: errors[].reason
    accessNotConfigured on the Directory API; ErrorInfo reason SERVICE_DISABLED with service and activationUrl)."""
    message = (
        f"{title} has not been used in project 417236845 before or it is disabled. Enable it by visiting "
        f"{ACTIVATION} then retry. If you enabled this API recently, wait a few minutes for the action to propagate "
        "to our systems and retry."
    )
    error_body: dict[str, Any] = {"code": 403, "message": message}
    if not one_platform:
        error_body["errors"] = [{"message": message, "domain": "usageLimits", "reason": "accessNotConfigured"}]
    error_body["status"] = "PERMISSION_DENIED"
    error_body["details"] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "SERVICE_DISABLED",
            "domain": "googleapis.com",
            "metadata": {
                "service": service,
                "consumer": "projects/417236845",
                "activationUrl": ACTIVATION,
                "containerInfo": "417236845",
                "serviceTitle": title,
            },
        }
    ]
    return {"status": "403", "content-type": "application/json"}, json.dumps({"error": error_body})


def test_api_not_enabled_names_the_real_fix_not_a_scope(scan: Scan, tmp_path: Path) -> None:
    ws = healthy_workspace()
    ws.before["google.users"] = [service_disabled("admin.googleapis.com", "Admin SDK API")]
    ws.before["google.endpoints"] = [
        service_disabled("cloudidentity.googleapis.com", "Cloud Identity API", one_platform=True)
    ]
    snapshot = collect(ws, tmp_path)
    states = snapshot.sources["google"].datasets
    users, endpoints = states["google.users"], states["google.endpoints"]
    assert not users.available and users.reason_kind is ReasonKind.NOT_COLLECTED and users.needs == []
    reason = users.reason or ""
    assert "Admin SDK API (admin.googleapis.com) is not enabled in the Cloud project 417236845" in reason
    assert "enable the Admin SDK API in that project" in reason and "no scope or admin role is missing" in reason
    assert "https://" not in reason and "scope" not in reason.replace("no scope", "")
    assert "Cloud Identity API (cloudidentity.googleapis.com) is not enabled" in (endpoints.reason or "")
    assert ws.mocks["sleeps"] == []  # not throttling: not retried
    result = scan(ws)["gws.mfa.enforced"]
    assert result.status is Status.NOT_ASSESSED and result.reason_kind is ReasonKind.NOT_COLLECTED
    assert result.permissions == [] and "Admin SDK API" in (result.reason or "")


def test_token_refusals_are_told_apart(tmp_path: Path) -> None:
    ws = healthy_workspace()
    ws.refused = {"google.users"}  # unauthorized_client: the scope is not delegated (the missing-scope case)
    states = collect(ws, tmp_path).sources["google"].datasets
    assert states["google.users"].reason_kind is ReasonKind.PERMISSION
    assert states["google.users"].needs == [SCOPE["google.users"]]

    class InvalidGrant(HttpMockSequence):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__([])

        def request(self, *args: Any, **kwargs: Any) -> Any:
            from google.auth.exceptions import RefreshError

            body = {"error": "invalid_grant", "error_description": "Invalid email or User ID"}
            raise RefreshError("invalid_grant: Invalid email or User ID", body)

    ws = healthy_workspace()
    states = collect(ws, tmp_path, http_factory=lambda scope: InvalidGrant()).sources["google"].datasets
    state = states["google.users"]
    assert state.reason_kind is ReasonKind.ERROR and state.needs == []
    assert "delegated admin is not a user" in (state.reason or "")


def test_permissions_and_readme_name_the_group_member_scope() -> None:
    from click.testing import CliRunner

    from hygiene.cli import main

    result = CliRunner().invoke(main, ["permissions", "--source", "google"])
    assert result.exit_code == 0
    scope = "https://www.googleapis.com/auth/admin.directory.group.member.readonly"
    assert scope in result.stdout and scope == SCOPE["google.admin_groups"]
    block = result.stdout.split("google.admin_groups:", 1)[1].split("\n  google.", 1)[0]
    assert "used by: gws.mfa.admins" in block
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    assert "`admin.directory.group.member.readonly`" in readme


def test_northwind_leeds_scan_lists_the_admin_group_once_with_its_own_token(tmp_path: Path) -> None:
    """Leeds: one group holds a role; its members (with the nested group's) come in one request, after one token
    for the group-member scope: six tokens, and the fewest pages."""
    from hygiene_sandbox import northwind

    scenario = northwind(datetime.now(UTC))
    with Sandbox(scenario) as sandbox:
        config = load_config(write_demo_config(tmp_path / "cfg", sandbox))
        assert config.sources.google is not None
        before = len(sandbox.requests)
        collected = GoogleSource(config.sources.google).collect(RawRecorder(None, "google"))
        log = sandbox.requests[before:]
    assert sorted(map(sorted, sandbox.google_tokens.issued_scopes)) == sorted([s] for s in SCOPE.values())
    member_calls = [r for r in log if "/members" in r.path]
    assert len(member_calls) == 1 and member_calls[0].method == "GET"
    # users, roles, assignments, members, 3 devices, domains
    assert collected.run.requests == len(log) - len(SCOPE) == 8
    members = collected.data.group_members
    assert len(members) == 1 and {m.type for m in next(iter(members.values()))} == {"USER", "GROUP"}


def test_selected_datasets_only(tmp_path: Path) -> None:
    """A partial scan (``--checks gws.mfa.*``) asks only for the users: no device, endpoint or role request, and
    the other datasets say they were not selected; the admin groups are read (in the roles lane) only when
    selected."""
    key = tmp_path / "sa.json"
    key.write_text(json.dumps({"type": "service_account", "private_key": "unused"}))
    config = GoogleConfig(service_account_file=key, delegated_admin="amy@leeds.test")

    def read(datasets: frozenset[str]) -> tuple[Any, set[str]]:
        workspace = healthy_workspace()
        source = GoogleSource(config, http_factory=workspace.http_factory, retry=RetryPolicy(max_attempts=1))
        run = source.collect(RawRecorder(None, "google"), datasets).run
        return run, set(workspace.mocks)

    run, asked = read(frozenset({"google.users"}))
    assert asked == {"google.users"} and run.status == "ok"
    assert run.datasets["google.users"].available
    assert [n for n, s in run.datasets.items() if s.selected] == ["google.users"]
    assert all(s.reason_kind is ReasonKind.NOT_COLLECTED for s in run.datasets.values() if not s.selected)
    run, asked = read(frozenset({"google.roles", "google.admin_groups"}))
    groups = run.datasets["google.admin_groups"]
    assert asked == {"google.roles"} and groups.selected and groups.available  # no role held by a group here
    run, asked = read(frozenset({"google.roles"}))
    assert asked == {"google.roles"} and not run.datasets["google.admin_groups"].selected


def test_a_fleet_parses_a_key_once_and_reads_a_changed_key_again(tmp_path: Path) -> None:
    """Many organisations delegating to one service account: the private key is parsed (and checked) once per
    process, every scan still gets its own delegated credential; a rotated or broken file is read again."""
    info = _new_key_info("msp-scanner@msp.iam.gserviceaccount.com")
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(info))
    sources = [
        GoogleSource(GoogleConfig(service_account_file=path, delegated_admin=f"admin@client{i}.test")) for i in "ab"
    ]
    a, b = (source.http_for(SCOPE["google.users"]).credentials for source in sources)
    assert a._signer is b._signer  # one parse
    assert (a._subject, b._subject) == ("admin@clienta.test", "admin@clientb.test")
    path.write_text(json.dumps({**info, "private_key": "-----BEGIN PRIVATE KEY-----\nbroken\n"}))
    with pytest.raises(CredentialError, match="not a usable PEM private key"):
        service_account_info(path)
    path.write_text(json.dumps(_new_key_info(info["client_email"])))  # rotated
    c = GoogleSource(GoogleConfig(service_account_file=path, delegated_admin="admin@c.test")).http_for(
        SCOPE["google.users"]
    )
    assert c.credentials._signer is not a._signer
