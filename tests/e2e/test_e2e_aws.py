"""End-to-end AWS: the real AwsSource (boto3) against the AWS sandbox (moto behind one endpoint, plus the APIs
moto lacks). Findings must match the scenario's hand-written expectations exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hygiene.config import AwsConfig
from hygiene.engine import evaluate
from hygiene.model import OrganisationRef, Snapshot
from hygiene.policy import ControlsFile, load_lifecycle, load_profile
from hygiene.registry import Registry
from hygiene.results import ScanReport
from hygiene.sources.aws.source import AwsSource
from hygiene.sources.interface import RawRecorder

aws_sandbox = pytest.importorskip("hygiene_sandbox.aws")
nw = pytest.importorskip("hygiene_sandbox.aws.northwind")
NOW = datetime.now(UTC)


def scan(
    sandbox: aws_sandbox.AwsSandbox,  # type: ignore[name-defined]
    raw: Path | None = None,
    regions: list[str] | None = None,
) -> ScanReport:
    """``regions``: None for the sandbox's regions; [] to discover each account's enabled regions."""
    config = AwsConfig(
        role_arn=sandbox.role_arn,
        organization_role=sandbox.organization_role,
        regions=sandbox.regions if regions is None else regions,
        endpoint_url=sandbox.endpoint_url,
    )
    environ = {k: v for k, v in sandbox.environ().items() if k != "AWS_ENDPOINT_URL"}
    collected = AwsSource(config, environ=environ).collect(RawRecorder(raw, "aws"))
    snapshot = Snapshot(
        tool_version="t",
        organisation=OrganisationRef(id="northwind", name="Northwind"),
        collected_at=collected.run.finished_at,
        sources={"aws": collected.run},
        aws=collected.data,
    )
    return evaluate(
        snapshot,
        Registry.load(entry_points_too=False),
        load_profile("sme-baseline"),
        ControlsFile(),
        load_lifecycle(),
        scan_id="s",
        operator="pytest",
    )


def mismatches(expected: dict[str, object], report: ScanReport) -> list[str]:
    results = {r.check_id: r for r in report.results}
    problems = []
    for check_id, want in expected.items():
        result = results[check_id]
        got = {f.resource_name for f in result.findings}
        if result.status.value != want.status or got != want.resources:  # type: ignore[attr-defined]
            problems.append(
                f"{check_id}: got {result.status.value} {sorted(got)}; expected {want.status} "  # type: ignore[attr-defined]
                f"{sorted(want.resources)} ({result.reason})"
            )  # type: ignore[attr-defined]
    return problems


def test_northwind_aws_matches_the_planted_defects(tmp_path: Path) -> None:
    scenario = aws_sandbox.northwind_aws(NOW)
    with aws_sandbox.AwsSandbox(scenario) as sandbox:
        report = scan(sandbox, raw=tmp_path / "raw")
        assert sandbox.refused_writes == []
    assert mismatches(scenario.expected, report) == []
    scope = report.sources["aws"].scope
    assert scope["accounts"].split(",") == sorted([nw.PROD, nw.DEV, nw.LOGS])
    assert scope["accounts_not_scanned"].startswith(f"{nw.OLD} (northwind-sandbox-2021): suspended")
    assert any((tmp_path / "raw" / "aws").iterdir())
    results = {r.check_id: r for r in report.results}
    # item 15: the log archive account has no root credentials at all (centralised root access)
    assert nw.LOGS in (results["aws.root.mfa"].note or "")
    # item 10: on the default baseline, missing patches with no severity classified still fail
    details = {f.resource_name: f.detail for f in results["aws.patch.compliance"].findings}
    assert (
        details[f"{nw.DEV}:{nw.LONDON}:{nw.DEV_BUILD}"] == "4 missing (severity not classified by the patch baseline)"
    )


REGIONAL = ("aws.backup.coverage", "aws.rds.backup_retention", "aws.patch.ssm_managed", "aws.patch.compliance")


def test_northwind_with_discovered_regions() -> None:
    """No regions configured: each account's enabled regions are discovered (one DescribeRegions each) and the
    forgotten us-east-1 instance is found; every regional result says which regions were read."""
    scenario = aws_sandbox.northwind_aws(NOW)
    with aws_sandbox.AwsSandbox(scenario) as sandbox:
        report = scan(sandbox, regions=[])
        discovered = [r for r in sandbox.requests if (r.service, r.operation) == ("ec2", "DescribeRegions")]
    assert mismatches(scenario.expected, report) == []
    assert sorted(r.account for r in discovered) == sorted([nw.PROD, nw.DEV, nw.LOGS])
    scope = report.sources["aws"].scope
    assert (scope["regions"], scope["regions_from"]) == (
        "eu-west-2,us-east-1",
        "each account's enabled regions (ec2:DescribeRegions)",
    )
    results = {r.check_id: r for r in report.results}
    for check_id in REGIONAL:
        assert "regions scanned: eu-west-2, us-east-1 (enabled in the account, ec2:DescribeRegions)" in (
            results[check_id].note or ""
        ), check_id
    assert "regions scanned" not in (results["aws.root.mfa"].note or "")  # IAM is global


def test_region_discovery_denied_in_one_account_is_a_visible_gap() -> None:
    scenario = aws_sandbox.northwind_aws(NOW)
    scenario.access_denied = {nw.DEV: {"ec2:DescribeRegions"}}
    with aws_sandbox.AwsSandbox(scenario) as sandbox:
        report = scan(sandbox, regions=[])
    assert mismatches(scenario.expected, report) == []  # the dev account holds nothing outside eu-west-2
    results = {r.check_id: r for r in report.results}
    for check_id in REGIONAL:
        note = results[check_id].note or ""
        assert f"{nw.DEV}: enabled regions not discovered, so only eu-west-2 was scanned" in note, check_id
        assert "eu-west-2, us-east-1 in " in note and f"eu-west-2 in {nw.DEV}" in note, check_id


def test_throttled_aws_gives_identical_findings() -> None:
    scenario = aws_sandbox.northwind_aws(NOW)
    with aws_sandbox.AwsSandbox(scenario, throttle_every=5) as sandbox:
        report = scan(sandbox)
        assert sandbox.throttled_count > 0
    assert mismatches(scenario.expected, report) == []


def test_generated_organisation_matches_by_construction() -> None:
    scenario = aws_sandbox.generate_aws(400, seed=3, now=NOW)
    with aws_sandbox.AwsSandbox(scenario) as sandbox:
        report = scan(sandbox)
    assert mismatches(scenario.expected, report) == []
