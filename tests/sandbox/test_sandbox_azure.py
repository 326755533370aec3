"""Northwind's Azure subscription end to end: ``hygiene scan`` through the CLI against the sandbox reports exactly the
hand-written ``expected`` table, with the minimum of requests; the same under chaos; a persistent fault is a
named ``not_assessed``, never a pass; ``hygiene permissions`` and ``config validate`` know the platform."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hygiene.cli import main
from hygiene.config import load_config
from hygiene.demo import SECRET_ENV, write_demo_config
from hygiene.model import OrganisationRef, Snapshot
from hygiene.sources.azure.source import AzureSource
from hygiene.sources.interface import RawRecorder
from hygiene.sources.retry import RetryPolicy
from hygiene_sandbox import Sandbox, northwind
from hygiene_sandbox.chaos import Chaos
from hygiene_sandbox.expectation import Expectation

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
FAST = RetryPolicy(max_attempts=6, base_delay=0, max_delay=0, timeout=(5.0, 1.0))


def mismatches(expected: dict[str, Expectation], results: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for check_id, want in expected.items():
        got = results[check_id]
        names = {f["resource_name"] for f in got["findings"]}
        if got["status"] != want.status or names != want.resources:
            problems.append(
                f"{check_id}: got {got['status']} {sorted(names)}, expected {want.status} {sorted(want.resources)}"
            )
    return problems


def test_scan_reports_northwind_azure_as_planted(tmp_path: Path) -> None:
    scenario = northwind(datetime.now(UTC), google=False)  # the CLI measures ages from the scan's own time
    assert scenario.azure is not None
    with Sandbox(scenario) as sandbox:
        config = write_demo_config(tmp_path / "cfg", sandbox, m365=False)
        result = CliRunner().invoke(
            main,
            ["scan", str(config), "--output", str(tmp_path / "out"), "--format", "json"],
            env={SECRET_ENV: sandbox.client_secret},
        )
        azure_requests = [r for r in sandbox.requests if r.path.startswith(("/subscriptions", "/providers/"))]
    assert result.exit_code in (0, 1), result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    results = {r["check_id"]: r for r in report["results"] if r["platform"] == "azure"}
    expected = {**scenario.azure.expected, **scenario.azure.expected_alone}  # Azure scanned without Microsoft 365
    assert set(results) == set(expected)
    assert mismatches(expected, results) == []
    # the minimum: one subscription list page and ceil(rows / page_limit) pages per table, nothing retried
    limit = scenario.azure.page_limit
    tables = scenario.azure.tables
    minimum = 1 + sum(-(-len(tables[t]) // limit) for t in tables)
    assert len(azure_requests) == minimum and all(r.status == 200 for r in azure_requests)
    # the Disabled subscription is named in the note of every result, never read
    # (a check that needs Microsoft 365 data is not assessed before it reads anything: it has no note)
    judged = [r for k, r in results.items() if expected[k].status != "not_assessed"]
    assert all("Northwind Old Dev (Disabled)" in (r.get("note") or "") for r in judged)
    assert "[sources.m365]" in results["azure.mfa.management"]["reason"]
    raw = list((tmp_path / "out").rglob("raw/azure/*.meta.json"))
    assert len(raw) == minimum


def test_with_microsoft_365_the_owners_are_judged_by_their_accounts(tmp_path: Path) -> None:
    scenario = northwind(datetime.now(UTC), google=False)
    assert scenario.azure is not None
    with Sandbox(scenario) as sandbox:
        config = write_demo_config(tmp_path / "cfg", sandbox)  # Microsoft 365 and Azure, one app registration
        result = CliRunner().invoke(
            main,
            ["scan", str(config), "--output", str(tmp_path / "out"), "--format", "json"],
            env={SECRET_ENV: sandbox.client_secret},
        )
    assert result.exit_code in (0, 1), result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    results = {r["check_id"]: r for r in report["results"] if r["platform"] == "azure"}
    assert mismatches(scenario.azure.expected, results) == []
    owners = {f["resource_name"]: f["detail"] for f in results["azure.rbac.owners"]["findings"]}
    assert any("disabled" in d for d in owners.values()) and any("guest" in d for d in owners.values())
    assert any("stale" in d for d in owners.values())


def collect(sandbox: Sandbox, folder: Path) -> Snapshot:
    config = load_config(write_demo_config(folder, sandbox, m365=False))
    assert config.sources.azure is not None
    source = AzureSource(config.sources.azure, environ={}, policy=FAST, sleep=lambda _: None)
    collected = source.collect(RawRecorder(None, "azure"))
    snapshot = Snapshot(tool_version="t", organisation=OrganisationRef(id="c", name="C"), collected_at=NOW)
    snapshot.attach("azure", collected.run, collected.data)
    return snapshot


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chaos_changes_nothing(tmp_path: Path, seed: int) -> None:
    with Sandbox(northwind(NOW, google=False)) as clean_sandbox:
        clean = collect(clean_sandbox, tmp_path / "clean")
    chaos = Chaos(rate=0.4, seed=seed)
    scenario = northwind(NOW, google=False)
    assert scenario.azure is not None
    # the quota's waits are tested apart (test_the_quota_is_waited_for_not_retried_into); here ``sleep`` does not
    # wait, so six tables of small pages plus retries would spend the window and 429 for real
    scenario.azure.quota = 1000
    with Sandbox(scenario, chaos=chaos) as sandbox:
        rough = collect(sandbox, tmp_path / "rough")
        faults = [r.fault for r in sandbox.requests if r.fault]
    assert faults, "chaos injected nothing"
    assert rough.azure == clean.azure
    assert {n: s.available for n, s in rough.sources["azure"].datasets.items()} == dict.fromkeys(
        clean.sources["azure"].datasets, True
    )


def test_a_persistent_fault_is_not_assessed_with_its_cause(tmp_path: Path) -> None:
    chaos = Chaos(rate=0.0, persistent=((r"POST /providers/", "server_error"),))
    with Sandbox(northwind(NOW, google=False), chaos=chaos) as sandbox:
        snapshot = collect(sandbox, tmp_path)
    states = snapshot.sources["azure"].datasets
    assert states["azure.subscriptions"].available
    assert not any(states[n].available for n in ("azure.machines", "azure.vaults", "azure.backup", "azure.patch"))
    assert all("gave up after 6 attempts" in (states[n].reason or "") for n in ("azure.machines", "azure.backup"))


def test_permissions_and_config_validate_know_azure(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["permissions", "--source", "azure"])
    assert result.exit_code == 0, result.output
    assert "Reader" in result.output and "az role assignment create" in result.output
    for check_id in ("azure.backup.coverage", "azure.patch.missing"):
        assert check_id in result.output
    config = tmp_path / "c.toml"
    config.write_text(
        '[organisation]\nid = "acme"\nname = "Acme"\n[sources.azure]\ntenant_id = "t"\nclient_id = "c"\n'
        'client_secret_env = "AZ"\nsubscriptions = ["not-a-guid"]\n'
    )
    result = CliRunner().invoke(main, ["config", "validate", str(config)])
    assert result.exit_code == 2 and "sources.azure.subscriptions" in result.output


@pytest.mark.parametrize("size", [45, 600])
def test_a_generated_estate_scans_as_planted_with_the_minimum_of_requests(tmp_path: Path, size: int) -> None:
    from hygiene.engine import evaluate
    from hygiene.policy import ControlsFile, load_lifecycle, load_profile
    from hygiene.registry import Registry
    from hygiene_sandbox.generator_azure import generate_azure

    scenario = northwind(NOW, google=False)
    scenario.azure = generate_azure(size, 7, NOW, scenario.tenant_id)
    scenario.azure.page_limit = 100  # several pages per table at these sizes
    scenario.azure.quota = 1000  # this test counts requests; the quota's waits are tested apart
    with Sandbox(scenario) as sandbox:
        snapshot = collect(sandbox, tmp_path)
        azure_requests = [r for r in sandbox.requests if r.path.startswith(("/subscriptions", "/providers/"))]
    report = evaluate(
        snapshot, Registry.load([]), load_profile("sme-baseline"), ControlsFile(), load_lifecycle(), scan_id="s",
        operator="t",
    )  # fmt: skip
    results = {r.check_id: r.model_dump(mode="json") for r in report.results if r.platform == "azure"}
    assert mismatches({**scenario.azure.expected, **scenario.azure.expected_alone}, results) == []
    tables = scenario.azure.tables
    readable = {s.subscription_id for s in scenario.azure.subscriptions if s.state == "Enabled"}
    minimum = 1 + sum(-(-sum(1 for row in tables[t] if row["subscriptionId"] in readable) // 100) or 1 for t in tables)
    assert len(azure_requests) == minimum


def test_the_quota_is_waited_for_not_retried_into(tmp_path: Path) -> None:
    """Northwind a row a page (about 20 queries from three threads) against a quota of 4 per 0.3-second window:
    the scan waits whenever the window is spent, never runs into a 429, and reads everything."""
    scenario = northwind(NOW, google=False)
    assert scenario.azure is not None
    scenario.azure.page_limit, scenario.azure.quota, scenario.azure.quota_window_seconds = 1, 4, 0.3
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    with Sandbox(scenario) as sandbox:
        config = load_config(write_demo_config(tmp_path, sandbox, m365=False))
        assert config.sources.azure is not None
        # the default timeouts: a read timed out on a loaded machine would be asked again and counted twice here
        patient = RetryPolicy(max_attempts=6, base_delay=0, max_delay=0)
        source = AzureSource(config.sources.azure, environ={}, policy=patient, sleep=sleep)
        collected = source.collect(RawRecorder(None, "azure"))
        statuses = [r.status for r in sandbox.requests if r.path.startswith("/providers/")]
    assert collected.run.status == "ok"
    assert len(statuses) == sum(len(rows) for rows in scenario.azure.tables.values()) and set(statuses) == {200}, (
        statuses
    )
    assert len(waits) >= len(statuses) // 4 - 1


def test_the_readme_azure_set_up_works_as_written(tmp_path: Path) -> None:
    """A new user's path: the README's role assignment command is what ``hygiene permissions`` prints, its
    ``[sources.azure]`` block (placeholders filled in, plus the sandbox's endpoints) passes ``config validate`` and
    scans."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Scan your Azure subscriptions", 1)[1].split("\n## ", 1)[0]
    command = next(line.strip() for line in section.splitlines() if "az role assignment create" in line)
    printed = CliRunner().invoke(main, ["permissions", "--source", "azure"]).output
    assert command in printed
    block = section.split("```toml", 1)[1].split("```", 1)[0]
    scenario = northwind(datetime.now(UTC), google=False)
    with Sandbox(scenario) as sandbox:
        key = tmp_path / "hygiene-app.pem"
        key.write_bytes(sandbox.client_certificate_pem_path.read_bytes())
        key.chmod(0o600)
        production = next(s.subscription_id for s in scenario.azure.subscriptions if s.state == "Enabled")  # type: ignore[union-attr]
        filled = [
            line.replace('"…"]', f'"{production}"]')
            .replace('tenant_id = "…"', f'tenant_id = "{sandbox.tenant_id}"')
            .replace('client_id = "…"', f'client_id = "{sandbox.client_id}"')
            for line in block.strip().splitlines()
        ]
        config = tmp_path / "northwind.toml"
        config.write_text(
            '[organisation]\nid = "northwind"\nname = "Northwind"\n\n'
            + "\n".join(filled)
            + f'\nauthority_host = "{sandbox.authority_host}"\nmanagement_url = "{sandbox.base_url}"\n'
            + f'ca_bundle = "{sandbox.ca_file}"\n',
            encoding="utf-8",
        )
        validated = CliRunner().invoke(main, ["config", "validate", str(config)])
        assert validated.exit_code == 0, validated.output
        scanned = CliRunner().invoke(main, ["scan", str(config), "--output", str(tmp_path / "out"), "--format", "json"])
    assert scanned.exit_code in (0, 1), scanned.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["sources"]["azure"]["status"] == "ok"


def test_an_off_host_next_link_is_refused_never_followed(tmp_path: Path) -> None:
    """The subscription list's second page pointed at another host: the source stops there (every dataset an
    error naming OffHostLink, no check passes) and the token never leaves the sandbox (nothing else is asked)."""
    scenario = northwind(NOW, google=False)
    assert scenario.azure is not None
    scenario.azure.subscription_page_size = 1  # two subscriptions: a nextLink after the first
    scenario.azure.subscription_next_link_origin = "https://evil.example"
    with Sandbox(scenario) as sandbox:
        snapshot = collect(sandbox, tmp_path)
        listed = [r for r in sandbox.requests if r.path.startswith("/subscriptions")]
        graph = [r for r in sandbox.requests if r.path.startswith("/providers/")]
    states = snapshot.sources["azure"].datasets
    assert len(listed) == 1 and graph == []
    assert all(not s.available and "OffHostLink" in (s.reason or "") for s in states.values())
    assert "https://evil.example" in (states["azure.subscriptions"].reason or "")
    from hygiene.engine import evaluate
    from hygiene.policy import ControlsFile, load_lifecycle, load_profile
    from hygiene.registry import Registry

    report = evaluate(
        snapshot, Registry.load([]), load_profile("sme-baseline"), ControlsFile(), load_lifecycle(), scan_id="s",
        operator="t",
    )  # fmt: skip
    assert {r.status.value for r in report.results if r.platform == "azure"} == {"not_assessed"}
