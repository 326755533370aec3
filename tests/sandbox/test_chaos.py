"""Fault tolerance: scans of generated organisations under chaos (hygiene_sandbox.chaos) must give exactly the
findings of a clean scan, or — when a fault outlasts the retry budget — say which checks could not be assessed
and why (exit code 3), never pass silently."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hygiene.cli import main
from hygiene.cli.common import exit_code
from hygiene.config import AwsConfig, load_config
from hygiene.demo import SECRET_ENV, write_demo_config
from hygiene.engine import evaluate
from hygiene.model import OrganisationRef, Snapshot
from hygiene.policy import ControlsFile, load_lifecycle, load_profile
from hygiene.registry import Registry
from hygiene.results import ScanReport, Status
from hygiene.sources.google.source import GoogleSource
from hygiene.sources.interface import RawRecorder
from hygiene.sources.m365.source import M365Source
from hygiene.sources.retry import RetryPolicy
from hygiene_sandbox import Sandbox, Scenario, generate
from hygiene_sandbox.chaos import FAULTS, Chaos, parse_spec

NOW = datetime.now(UTC)
#: no back-off (Retry-After is 0 under chaos), a read timeout well below the chaos "slow" delay
FAST = RetryPolicy(max_attempts=6, base_delay=0, max_delay=0, timeout=(5.0, 1.0))
SLOW_SECONDS = 2.5
REGISTRY = Registry.load(entry_points_too=False)
#: small pages, so that paging (and paging loops) happen in a small organisation
PAGES: dict[str, Any] = {
    "page_sizes": {"userRegistrationDetails": (50, None), "roleAssignments": (10, None), "managedDevices": (40, None)},
    "google_page_limit": 40,
}


def _no_sleep(_: float) -> None:
    return None


def _evaluate(snapshot: Snapshot) -> ScanReport:
    return evaluate(
        snapshot,
        REGISTRY,
        load_profile("sme-baseline"),
        ControlsFile(),
        load_lifecycle(),
        scan_id="s",
        operator="pytest",
    )


def outcome(report: ScanReport) -> dict[str, tuple[str, list[str]]]:
    return {r.check_id: (r.status.value, sorted(f.resource_name for f in r.findings)) for r in report.results}


def mismatches(expected: dict[str, Any], report: ScanReport, skip: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    results = {r.check_id: r for r in report.results}
    problems = []
    for check_id, want in expected.items():
        if check_id in skip:
            continue
        result = results[check_id]
        got = {f.resource_name for f in result.findings}
        if result.status.value != want.status or got != want.resources:
            problems.append(
                f"{check_id}: got {result.status.value} {sorted(got)}, expected {want.status} ({result.reason})"
            )
    return problems


def needing(*datasets: str) -> set[str]:
    return {c.meta.id for c in REGISTRY if set(c.meta.requires) & set(datasets)}


# -- Microsoft 365 and Google Workspace (one sandbox) ------------------------------------------------------------
def scan_sandbox(sandbox: Sandbox, folder: Path) -> tuple[ScanReport, Snapshot]:
    config = load_config(write_demo_config(folder / "cfg", sandbox))
    assert config.sources.m365 is not None and config.sources.google is not None
    snapshot = Snapshot(tool_version="t", organisation=OrganisationRef(id="chaos", name="Chaos"), collected_at=NOW)
    for source in (
        M365Source(config.sources.m365, environ={SECRET_ENV: sandbox.client_secret}, retry=FAST, sleep=_no_sleep),
        GoogleSource(config.sources.google, retry=FAST, sleep=_no_sleep),
    ):
        collected = source.collect(RawRecorder(None, source.platform))
        snapshot.sources[source.platform] = collected.run
        setattr(snapshot, source.platform, collected.data)
    return _evaluate(snapshot), snapshot


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate(300, seed=5, now=NOW)


@pytest.fixture(scope="module")
def clean(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> ScanReport:
    with Sandbox(scenario, **PAGES) as sandbox:
        report, _ = scan_sandbox(sandbox, tmp_path_factory.mktemp("clean"))
    assert mismatches(scenario.all_expected, report) == []
    return report


@pytest.mark.parametrize("seed", [1, 2])
def test_m365_and_google_under_chaos_match_the_clean_scan(
    scenario: Scenario, clean: ScanReport, tmp_path: Path, seed: int
) -> None:
    chaos = Chaos(rate=0.12, seed=seed, retry_after=0, slow_seconds=SLOW_SECONDS)
    with Sandbox(scenario, chaos=chaos, **PAGES) as sandbox:
        report, snapshot = scan_sandbox(sandbox, tmp_path)
        injected = sandbox.faults_injected
        logged = [r.fault for r in sandbox.requests if r.fault]
    assert set(injected) == set(FAULTS), injected  # every kind happened at least once
    assert sorted(logged) == sorted(k for k, n in injected.items() for _ in range(n))
    assert outcome(report) == outcome(clean)
    assert report.complete and all(run.status == "ok" for run in report.sources.values())
    # nothing lost, nothing read twice
    assert len(snapshot.m365.users) == len(scenario.users) == len({u.id for u in snapshot.m365.users})
    assert scenario.google is not None
    assert len(snapshot.google.users) == len(scenario.google.users)


def test_a_paging_loop_that_persists_fails_the_dataset(scenario: Scenario, tmp_path: Path) -> None:
    chaos = Chaos(
        rate=0,
        persistent=(
            (r"^GET /v1\.0/reports/authenticationMethods/userRegistrationDetails$", "loop"),
            (r"^GET /admin/directory/v1/customer/[^/]+/devices/mobile$", "malformed"),
        ),
    )
    with Sandbox(scenario, chaos=chaos, **PAGES) as sandbox:
        report, snapshot = scan_sandbox(sandbox, tmp_path)
        assert sandbox.faults_injected.keys() == {"loop", "malformed"}
    registration = snapshot.sources["m365"].datasets["m365.registration"]
    assert not registration.available and registration.reason_kind == "error"
    assert "repeated a page link" in (registration.reason or "")
    mobile = snapshot.sources["google"].datasets["google.mobile_devices"]
    assert not mobile.available and "not valid JSON" in (mobile.reason or "")
    assert snapshot.google.mobile_devices == []  # not an empty page taken for "no devices"
    broken = needing("m365.registration", "google.mobile_devices")
    results = {r.check_id: r for r in report.results}
    for check_id in broken:
        assert results[check_id].status in (Status.NOT_ASSESSED, Status.ERROR), check_id
        assert results[check_id].reason, check_id
    assert mismatches(scenario.all_expected, report, skip=broken) == []
    assert not report.complete and exit_code(report, None) == 3


def test_cli_exit_code_3_when_a_fault_outlasts_the_retries(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real CLI with its production retry policy; Retry-After 0 keeps it fast."""
    chaos = Chaos(
        rate=0,
        retry_after=0,
        persistent=(
            (r"^GET /v1\.0/deviceManagement/managedDevices$", "unavailable"),
            (r"^GET /admin/directory/v1/customer/[^/]+/devices/chromeos$", "throttled"),
        ),
    )
    with Sandbox(scenario, chaos=chaos) as sandbox:
        config = write_demo_config(tmp_path / "cfg", sandbox)
        monkeypatch.setenv(SECRET_ENV, sandbox.client_secret)
        result = CliRunner().invoke(main, ["scan", str(config), "--output", str(tmp_path / "out")])
        injected = sandbox.faults_injected
    assert result.exit_code == 3, result.output
    assert injected == {"unavailable": 6, "throttled": 6}  # the whole retry budget, then give up
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    results = {r["check_id"]: r for r in report["results"]}
    broken = needing("m365.devices", "google.chrome_devices")
    assert broken
    for check_id in broken:
        assert results[check_id]["status"] == "not_assessed", check_id
        assert "503" in results[check_id]["reason"] or "429" in results[check_id]["reason"], results[check_id]
    for check_id, want in scenario.all_expected.items():
        if check_id not in broken:
            assert results[check_id]["status"] == want.status, check_id


def test_chaos_decisions_are_deterministic_and_bounded() -> None:
    from hygiene_sandbox.chaos import ChaosMonkey

    chaos = Chaos(rate=0.5, seed=3, warm_up=False)
    first, second = ChaosMonkey(chaos), ChaosMonkey(chaos)
    keys = [f"GET /v1.0/users?page={i}" for i in range(200)]
    assert [first.propose(k, "GET /v1.0/users") for k in keys] == [second.propose(k, "GET /v1.0/users") for k in keys]
    monkey = ChaosMonkey(Chaos(rate=1.0, max_faults_per_request=2))
    faults = []
    for _ in range(5):
        fault = monkey.propose("k", "GET /x")
        if fault:
            monkey.applied("k", fault)
        faults.append(fault)
    assert faults[2:] == [None, None, None] and all(faults[:2])
    assert parse_spec("rate=0.2,seed=4,persistent=GET /v1.0/users:loop") == Chaos(
        rate=0.2, seed=4, persistent=(("GET /v1.0/users", "loop"),)
    )
    with pytest.raises(ValueError, match="unknown chaos fault"):
        Chaos(faults=("gremlins",))


# -- AWS ------------------------------------------------------------------------------------------------------------
aws_sandbox = pytest.importorskip("hygiene_sandbox.aws")


@pytest.fixture
def fast_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No back-off between botocore retries, and small Backup pages so that paging (and loops) happen."""
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0.0)
    from hygiene_sandbox.aws import services

    small = {name: 2 for name in ("ListProtectedResources", "ListBackupJobs", "ListRestoreJobs")}
    monkeypatch.setattr(services, "DEFAULT_PAGE", {**services.DEFAULT_PAGE, **small})
    yield


def scan_aws(sandbox: Any, read_timeout: float = 1.0) -> tuple[ScanReport, Snapshot]:
    """A scan of the AWS sandbox; the read timeout is below the chaos "slow" delay unless a test raises it (a test
    that injects no slow answers must not see a read timeout from a busy machine instead of its own fault)."""
    from hygiene.sources.aws.source import AwsSource

    config = AwsConfig(
        role_arn=sandbox.role_arn,
        organization_role=sandbox.organization_role,
        regions=sandbox.regions,
        endpoint_url=sandbox.endpoint_url,
    )
    environ = {k: v for k, v in sandbox.environ().items() if k != "AWS_ENDPOINT_URL"}
    collected = AwsSource(config, environ=environ, timeouts=(5.0, read_timeout), sleep=_no_sleep).collect(
        RawRecorder(None, "aws")
    )
    snapshot = Snapshot(
        tool_version="t",
        organisation=OrganisationRef(id="chaos", name="Chaos"),
        collected_at=collected.run.finished_at,
        sources={"aws": collected.run},
        aws=collected.data,
    )
    return _evaluate(snapshot), snapshot


def test_aws_under_chaos_matches_the_clean_scan(fast_aws: None) -> None:
    scenario = aws_sandbox.generate_aws(300, seed=3, now=NOW)
    with aws_sandbox.AwsSandbox(scenario) as sandbox:
        clean, _ = scan_aws(sandbox)
    assert mismatches(scenario.expected, clean) == []
    chaos = Chaos(rate=0.1, seed=9, retry_after=0, slow_seconds=SLOW_SECONDS)
    with aws_sandbox.AwsSandbox(scenario, chaos=chaos) as sandbox:
        report, _ = scan_aws(sandbox)
        injected = sandbox.faults_injected
        logged = [r.fault for r in sandbox.requests if r.fault]
    assert set(injected) == set(FAULTS), injected
    assert len(logged) == sum(injected.values())
    assert outcome(report) == outcome(clean)
    assert report.complete and not report.sources["aws"].errors


def test_aws_fault_past_the_retry_budget_is_not_assessed_with_the_cause(fast_aws: None) -> None:
    scenario = aws_sandbox.northwind_aws(NOW)
    chaos = Chaos(rate=0, persistent=((r"^backup:ListBackupVaults$", "malformed"),))
    with aws_sandbox.AwsSandbox(scenario, chaos=chaos) as sandbox:
        report, snapshot = scan_aws(sandbox, read_timeout=30.0)
        assert sandbox.faults_injected.get("malformed", 0) > 0
    state = snapshot.sources["aws"].datasets["aws.backup"]
    assert not state.available and state.reason_kind == "error"
    assert "MalformedResponse" in (state.reason or "")
    broken = needing("aws.backup")
    results = {r.check_id: r for r in report.results}
    for check_id in broken:
        assert results[check_id].status in (Status.NOT_ASSESSED, Status.ERROR), check_id
        assert "MalformedResponse" in (results[check_id].reason or ""), results[check_id].reason
    assert mismatches(scenario.expected, report, skip=broken) == []
    assert exit_code(report, None) == 3
