"""Endpoint protection at the HTTP boundary: Intune encryption and antivirus state (Graph), Defender for Endpoint
machines and vulnerabilities (its own host and token), and the three checks built on them."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from conftest import GOOD_PROTECTION, collect, m365_config, run_checks
from graphfake import DEFENDER, GRAPH, Tenant, iso, machine, vulnerability

from hygiene.model import ReasonKind
from hygiene.results import CheckResult, Status

Scan = Callable[..., dict[str, CheckResult]]


def windows(name: str, *, aad: str | None = None, encrypted: bool | None = True, os: str = "Windows") -> dict[str, Any]:
    device: dict[str, Any] = {
        "id": name,
        "deviceName": name,
        "operatingSystem": os,
        "osVersion": "10.0.26200.7000" if os == "Windows" else "15.7.1",
        "complianceState": "compliant",
        "lastSyncDateTime": iso(1),
        "enrolledDateTime": iso(100),
        "azureADDeviceId": aad or f"aad-{name}",
    }
    if encrypted is not None:
        device["isEncrypted"] = encrypted
    return device


def failing(result: CheckResult) -> dict[str, str]:
    return {f.resource_name: f.detail for f in result.findings}


def test_encryption_is_read_with_the_devices(tenant: Tenant, scan: Scan) -> None:
    tenant.devices += [windows("LAPTOP-2", encrypted=False), windows("MAC-1", os="macOS")]
    results = scan(tenant)
    result = results["m365.devices.encrypted"]
    assert result.status is Status.FAIL and set(failing(result)) == {"LAPTOP-2"}
    assert result.assessed == 3
    device_list = next(c for c in tenant.calls if "/deviceManagement/managedDevices?" in c)
    assert "isEncrypted" in device_list  # in the $select of the one device read: no extra request


def test_encryption_not_reported_is_never_a_pass(tenant: Tenant, scan: Scan) -> None:
    tenant.devices += [windows("LAPTOP-2", encrypted=None)]
    result = scan(tenant)["m365.devices.encrypted"]
    assert result.status is Status.NOT_ASSESSED and "LAPTOP-2" in (result.note or "")


def test_healthy_endpoints_pass(tenant: Tenant, scan: Scan) -> None:
    results = scan(tenant)
    for check_id in ("m365.devices.encrypted", "m365.devices.edr_active", "m365.devices.vulnerabilities"):
        assert results[check_id].status is Status.PASS, (check_id, results[check_id].reason)


def test_antivirus_state_is_read_in_batches_of_twenty(tenant: Tenant) -> None:
    tenant.devices += [windows(f"PC-{i:02}") for i in range(44)]
    tenant.devices += [windows("MAC-1", os="macOS")]  # not a Windows device: no protection state asked for
    tenant.protection_states.update({f"PC-{i:02}": GOOD_PROTECTION for i in range(44)})
    snapshot = collect(tenant)
    assert snapshot.m365 is not None
    assert len(snapshot.m365.protection_states) == 45
    batches = [c for c in tenant.calls if c.startswith("POST") and "$batch" in c]
    assert len(batches) == math.ceil(45 / 20)
    assert snapshot.sources["m365"].datasets["m365.antivirus"].available


def test_antivirus_findings(tenant: Tenant, scan: Scan) -> None:
    tenant.devices += [windows("PC-RTP"), windows("PC-SIG"), windows("PC-TAMPER"), windows("PC-NOSTATE")]
    tenant.machines += [machine(f"m-{n}", f"{n.lower()}.contoso.test", aad=f"aad-{n}") for n in
                        ("PC-RTP", "PC-SIG", "PC-TAMPER", "PC-NOSTATE")]  # fmt: skip
    tenant.protection_states.update(
        {
            "PC-RTP": {**GOOD_PROTECTION, "realTimeProtectionEnabled": False},
            "PC-SIG": {**GOOD_PROTECTION, "signatureUpdateOverdue": True, "productStatus": "avSignaturesOutOfDate"},
            "PC-TAMPER": {**GOOD_PROTECTION, "tamperProtectionEnabled": False},
        }
    )
    result = scan(tenant)["m365.devices.edr_active"]
    found = failing(result)
    assert set(found) == {"PC-RTP", "PC-SIG", "PC-TAMPER"}
    assert found["PC-RTP"] == "real-time protection off"
    assert found["PC-SIG"] == "antivirus signatures out of date"
    assert "PC-NOSTATE" in (result.note or "")  # no state: named as not seen, not failed


def test_defender_and_intune_are_compared(tenant: Tenant, scan: Scan) -> None:
    tenant.devices += [windows("PC-NOEDR"), windows("PC-STALE"), windows("PC-SICK"), windows("MAC-2", os="macOS")]
    tenant.protection_states.update({n: GOOD_PROTECTION for n in ("PC-NOEDR", "PC-STALE", "PC-SICK")})
    tenant.machines += [
        machine("m-stale", "pc-stale.contoso.test", aad="aad-PC-STALE", seen=30),
        machine("m-sick", "pc-sick.contoso.test", aad="aad-PC-SICK", health="ImpairedCommunication"),
        machine("m-mac2", "MAC-2", aad=None),  # matched on the name: no Entra device id
        machine("m-home", "home-pc.contoso.test"),  # Defender only
        machine("m-disc", "nas-01", onboarding="CanBeOnboarded", health="Inactive", seen=None),
        machine("m-printer", "printer-01", onboarding="Unsupported", health="Unknown", seen=None),
    ]
    result = scan(tenant)["m365.devices.edr_active"]
    found = failing(result)
    assert set(found) == {"PC-NOEDR", "PC-STALE", "PC-SICK", "home-pc.contoso.test", "nas-01"}
    assert "not onboarded" in found["PC-NOEDR"]
    assert "30 days ago" in found["PC-STALE"]
    assert "ImpairedCommunication" in found["PC-SICK"]
    assert "not enrolled in Intune" in found["home-pc.contoso.test"]
    assert "CanBeOnboarded" in found["nas-01"]
    assert "1 Defender-discovered network device" in (result.note or "")
    # LAPTOP-1, the four above and MAC-2 from Intune; home-pc and nas-01 from Defender
    assert result.assessed == 7


def test_missing_critical_updates(tenant: Tenant, scan: Scan) -> None:
    tenant.machines += [machine("m2", "pc-2.contoso.test"), machine("m3", "pc-3.contoso.test")]
    tenant.vulnerabilities = [
        vulnerability("m1", "CVE-2026-0001", "Critical", 40, "5050001"),  # late
        vulnerability("m1", "CVE-2026-0002", "Critical", 40, "5050001"),  # the same update: one entry
        vulnerability("m1", "CVE-2026-0003", "High", 20, "5050002"),  # late
        vulnerability("m2", "CVE-2026-0004", "Critical", 5, "5050003"),  # within the 14 days
        vulnerability("m2", "CVE-2026-0005", "Medium", 200, "5050004"),  # not critical or high
        vulnerability("m3", "CVE-2026-0006", "High", 90, None),  # no update to install
        {**vulnerability("m3", "CVE-2026-0007", "High", 1, None), "cveId": None},  # inventory row
    ]
    result = scan(tenant)["m365.devices.vulnerabilities"]
    assert result.status is Status.FAIL
    found = failing(result)
    assert set(found) == {"laptop-1.contoso.test"}
    assert found["laptop-1.contoso.test"].startswith("KB5050001 missing 40 days (CVE-2026-0001, Critical)")
    assert "KB5050002 missing 20 days" in found["laptop-1.contoso.test"]
    assert result.assessed == 3


def test_an_undated_or_unknown_severity_row_is_never_a_pass(tenant: Tenant, scan: Scan) -> None:
    tenant.vulnerabilities = [
        vulnerability("m1", "CVE-2026-0001", "Critical", None, "5050001"),
        vulnerability("m1", "CVE-2026-0002", "Severe", 90, "5050002"),
    ]
    result = scan(tenant)["m365.devices.vulnerabilities"]
    assert result.status is Status.NOT_ASSESSED
    assert "firstSeenTimestamp" in (result.note or "") and "Severe" in (result.note or "")


def test_no_defender_licence_is_not_assessed_naming_it(tenant: Tenant, scan: Scan) -> None:
    tenant.defender_licensed = False
    results = scan(tenant)
    for check_id in ("m365.devices.edr_active", "m365.devices.vulnerabilities"):
        result = results[check_id]
        assert result.status is Status.NOT_ASSESSED and result.reason_kind is ReasonKind.LICENCE
        assert "Defender for Endpoint or Defender for Business" in (result.reason or "")
    assert not any(c.startswith(f"GET {DEFENDER}") for c in tenant.calls)
    assert results["m365.devices.encrypted"].status is Status.PASS


def test_defender_permission_refused(tenant: Tenant, scan: Scan) -> None:
    tenant.errors["/api/machines/SoftwareVulnerabilitiesByMachine"] = (403, "Forbidden", "Missing application roles")
    results = scan(tenant)
    assert results["m365.devices.edr_active"].status is Status.PASS
    result = results["m365.devices.vulnerabilities"]
    assert result.status is Status.NOT_ASSESSED and result.reason_kind is ReasonKind.PERMISSION
    assert "Vulnerability.Read.All" in (result.reason or "")


def test_no_recent_machines_is_an_empty_list(tenant: Tenant, scan: Scan) -> None:
    """get-machines: "If there are no recent machines, you see 404 Not Found": then no computer is protected."""
    tenant.machines = []
    result = scan(tenant)["m365.devices.edr_active"]
    assert result.status is Status.FAIL and "not onboarded" in failing(result)["LAPTOP-1"]


def test_each_host_gets_its_own_token_only(tenant: Tenant) -> None:
    tenant.machines += [machine(f"m{i}", f"pc-{i}") for i in range(2, 6)]  # pages of 2: nextLink on the host
    snapshot = collect(tenant)
    defender_calls = [c for c in tenant.calls if c.startswith(f"GET {DEFENDER}")]
    assert len(defender_calls) == 3 + 1  # three pages of machines, one of vulnerabilities
    scopes = [f.get("scope", [""])[0] for f in tenant.token_requests]
    assert "https://api.securitycenter.microsoft.com/.default" in scopes and f"{GRAPH}/.default" in scopes
    # the fake answers 401 to a Graph token on the Defender host (and the other way round): all read
    assert snapshot.m365 is not None and len(snapshot.m365.defender_machines) == 5
    assert snapshot.sources["m365"].status == "ok"


def test_an_off_host_next_link_is_not_followed(tenant: Tenant) -> None:
    tenant.machines += [machine(f"m{i}", f"pc-{i}") for i in range(2, 6)]
    tenant.defender_next_link_origin = "https://evil.test"
    snapshot = collect(tenant)
    state = snapshot.sources["m365"].datasets["m365.defender_machines"]
    assert not state.available and "evil.test" in (state.reason or "")
    assert not any("evil.test" in c for c in tenant.calls)


def test_not_configured_off_the_public_cloud(tenant: Tenant) -> None:
    """A non-public graph_url without defender_url: the Defender API is not read (no token, no request)."""
    snapshot = collect(tenant, m365_config(defender_url=None))
    state = snapshot.sources["m365"].datasets["m365.defender_machines"]
    assert not state.available and state.reason_kind is ReasonKind.NOT_COLLECTED
    assert "defender_url" in (state.reason or "")
    assert not any(c.startswith(f"GET {DEFENDER}") for c in tenant.calls)
    assert not any("securitycenter" in f.get("scope", [""])[0] for f in tenant.token_requests)
    assert run_checks(snapshot).results  # the rest of the scan goes on


def test_a_computer_behind_on_both_intune_and_defender_is_one_device(tenant: Tenant, scan: Scan) -> None:
    """LAPTOP-1 is behind on its OS build in Intune and misses a security update in Defender: both checks name it
    by its Intune device id, so the insurer's patching answer (distinct resource ids) counts one device, not two;
    a Defender-only machine keeps Defender's id."""
    tenant.devices[0]["osVersion"] = "10.0.19045.1000"  # Windows 10 22H2: out of support
    tenant.machines += [machine("m-home", "home-pc.contoso.test")]
    tenant.vulnerabilities = [
        vulnerability("m1", "CVE-2026-0001", "Critical", 40, "5050001"),
        vulnerability("m-home", "CVE-2026-0002", "High", 40, "5050002"),
    ]
    results = scan(tenant)
    intune = results["m365.devices.patch_current"]
    defender = results["m365.devices.vulnerabilities"]
    assert {f.resource_id for f in intune.findings} == {"d1"}
    by_name = {f.resource_name: f for f in defender.findings}
    assert by_name["laptop-1.contoso.test"].resource_id == "d1"
    assert by_name["laptop-1.contoso.test"].data == {"defender_machine_id": "m1"}
    assert by_name["home-pc.contoso.test"].resource_id == "m-home"
    assert len({f.resource_id for f in [*intune.findings, *defender.findings]}) == 2
