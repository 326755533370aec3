from __future__ import annotations

import shutil
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

sys.path.insert(0, str(Path(__file__).parent))

from graphfake import (
    AUTHORITY,
    CLIENT,
    DEFENDER,
    GLOBAL_ADMIN,
    GRAPH,
    SECRET,
    TENANT,
    Tenant,
    iso,
    machine,
    mfa_policy,
    registration,
    user,
)
from pgtest import history_url, postgres_server, postgres_url  # noqa: F401  (fixtures: a real PostgreSQL)

from hygiene.config import M365Config
from hygiene.demo import run_demo
from hygiene.engine import evaluate
from hygiene.evidence import export_pack
from hygiene.model import OrganisationRef, Snapshot
from hygiene.policy import ControlsFile, load_lifecycle, load_profile
from hygiene.registry import Registry
from hygiene.results import CheckResult, ScanReport
from hygiene.sources.interface import RawRecorder
from hygiene.sources.m365.source import M365Source
from hygiene.sources.retry import RetryPolicy

#: the tests' own folder (the shared fakes live here) and the repository
TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

SKU_E3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"


#: a Windows device's windowsProtectionState with everything on and current (v1.0 CSDL properties)
GOOD_PROTECTION = {
    "realTimeProtectionEnabled": True,
    "malwareProtectionEnabled": True,
    "tamperProtectionEnabled": True,
    "signatureUpdateOverdue": False,
    "signatureVersion": "1.421.1234.0",
    "lastReportedDateTime": iso(0.5),
    "productStatus": "noStatus",
    "deviceState": "clean",
}


def healthy_tenant() -> Tenant:
    """Four members (two Global Administrators), one guest; everything in order."""
    tenant = Tenant()
    tenant.users = [
        user("alice", skus=(SKU_E3,)),
        user("bob", skus=(SKU_E3,)),
        user("carol"),
        user("dave"),
        user("guest1", guest=True),
    ]
    tenant.registrations = [registration(u) for u in ("alice", "bob", "carol", "dave")]
    tenant.ca_policies = [
        mfa_policy("require-mfa"),
        mfa_policy("block-legacy", controls=["block"], client_types=["exchangeActiveSync", "other"]),
    ]
    tenant.role_assignments = [
        ("alice", GLOBAL_ADMIN, "user"),
        ("bob", GLOBAL_ADMIN, "user"),
    ]
    tenant.skus = [{"skuId": SKU_E3, "skuPartNumber": "SPE_E3", "prepaidUnits": {"enabled": 5}, "consumedUnits": 2}]
    tenant.devices = [
        {
            "id": "d1",
            "deviceName": "LAPTOP-1",
            "operatingSystem": "Windows",
            "osVersion": "10.0.26200.7000",
            "complianceState": "compliant",
            "lastSyncDateTime": iso(1),
            # Nullable="false" on managedDevice: Graph always fills them
            "enrolledDateTime": iso(300),
            "managedDeviceOwnerType": "company",
            "model": "Surface Laptop 5",
            "androidSecurityPatchLevel": None,
            "userPrincipalName": "alice@contoso.test",
            "azureADDeviceId": "aad-d1",
            "isEncrypted": True,
        }
    ]
    tenant.protection_states = {"d1": GOOD_PROTECTION}
    tenant.machines = [machine("m1", "laptop-1.contoso.test", aad="aad-d1")]
    tenant.compliance_policies = [
        {
            "@odata.type": "#microsoft.graph.windows10CompliancePolicy",
            "id": "cp1",
            "displayName": "Windows baseline",
            "osMinimumVersion": "10.0.26200",
        }
    ]
    tenant.service_principals = [
        {
            "id": "5a1e0000-0000-4000-8000-00000000000a",
            "appId": "app-rota",
            "displayName": "Rota Planner",
            "appOwnerOrganizationId": TENANT,
        }
    ]
    tenant.graph_grants = [("5a1e0000-0000-4000-8000-00000000000a", "User.Read.All")]
    tenant.applications = [
        {
            "id": "obj-rota",
            "appId": "app-rota",
            "displayName": "Rota Planner",
            "passwordCredentials": [
                {"displayName": "rota", "endDateTime": iso(-300), "keyId": "6b0f0000-0000-4000-8000-000000000001"}
            ],
            "keyCredentials": [],
        }
    ]
    tenant.backup_status = "enabled"
    tenant.backup_policies = {
        name: [{"id": f"{name}-1", "displayName": name, "status": "active"}]
        for name in (
            "exchangeProtectionPolicies",
            "sharePointProtectionPolicies",
            "oneDriveForBusinessProtectionPolicies",
        )
    }
    return tenant


def m365_config(**overrides: Any) -> M365Config:
    values: dict[str, Any] = {
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "client_secret_env": "HYGIENE_TEST_SECRET",
        "authority_host": AUTHORITY,
        "graph_url": GRAPH,
        "defender_url": DEFENDER,
    }
    values.update(overrides)
    return M365Config(**values)


def collect(tenant: Tenant, config: M365Config | None = None, raw_dir: Path | None = None) -> Snapshot:
    source = M365Source(
        config or m365_config(),
        environ={"HYGIENE_TEST_SECRET": SECRET},
        retry=RetryPolicy(max_attempts=4, base_delay=0, max_delay=0),
        sleep=lambda s: None,
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        tenant.install(rsps)
        collected = source.collect(RawRecorder(raw_dir, "m365"))
    snapshot = Snapshot(
        tool_version="test",
        organisation=OrganisationRef(id="contoso", name="Contoso"),
        collected_at=collected.run.finished_at,
        sources={"m365": collected.run},
        m365=collected.data,
    )
    return snapshot


def run_checks(
    snapshot: Snapshot,
    profile: str = "sme-baseline",
    controls: ControlsFile | None = None,
    extra_dirs: list[Path] | None = None,
) -> ScanReport:
    return evaluate(
        snapshot,
        Registry.load(extra_dirs or [], entry_points_too=False),
        load_profile(profile),
        controls or ControlsFile(),
        load_lifecycle(),
        scan_id="test-scan",
        operator="pytest",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the PostgreSQL server directly is marked ``postgresql`` like the history_url[postgresql]
    ones (``-m "not postgresql"`` leaves them all out)."""
    for item in items:
        if "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgresql)


@pytest.fixture
def scan() -> Callable[..., dict[str, CheckResult]]:
    def _scan(tenant: Tenant, **kwargs: Any) -> dict[str, CheckResult]:
        report = run_checks(collect(tenant), **kwargs)
        return {r.check_id: r for r in report.results}

    return _scan


@pytest.fixture
def tenant() -> Iterator[Tenant]:
    yield healthy_tenant()


@pytest.fixture(autouse=True)
def _isolated_history(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """`hygiene scan` records into the data folder: keep every test out of the user's."""
    monkeypatch.setenv("HYGIENE_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.delenv("HYGIENE_DATABASE_URL", raising=False)


# -- one recorded demo scan, for the evidence packs and what they carry ---------------------------------------------


@pytest.fixture(scope="session")
def scan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real sandbox scan (Northwind without AWS, shared by the evidence, answer and OCSF tests), recorded in
    <dir>/history.sqlite3 (the data dir of the exports)."""
    output = tmp_path_factory.mktemp("evidence-scan")
    run_demo(output, with_aws=False)
    return output


@pytest.fixture
def data_dir(scan_dir: Path, tmp_path: Path) -> Path:
    """A private copy (its own keys), so that each test starts without evidence keys."""
    target = tmp_path / "data"
    shutil.copytree(scan_dir, target)
    # the history points at the scan's files by absolute path: those stay in scan_dir
    return target


def export(data_dir: Path, audience: str, name: str | None = None) -> Path:
    out = data_dir.parent / (name or f"{audience}.zip")
    result = export_pack("northwind", data_dir=data_dir, audience=audience, output=out)
    assert result.path == out
    return out


def entries(pack: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(pack) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
