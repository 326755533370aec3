"""OCSF export: every event validates against the official OCSF 1.5.0 schema (Compliance Finding, class 2003,
cloud profile), one event per failing or accepted resource, nothing for what passed or was not seen."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import entries, export
from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema
from test_reports import make_report

from hygiene.cli import main
from hygiene.demo import SECRET_ENV, write_demo_config
from hygiene.reports import FILE_NAMES, OCSF_VERSION, render_ocsf
from hygiene.reports.ocsf import CLASS_COMPLIANCE_FINDING, OCSF_PROFILES, ocsf_events
from hygiene.results import CheckResult, FindingResult, ScanReport, Status
from hygiene_sandbox import Sandbox, northwind


@cache
def validator() -> Draft202012Validator:
    schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=OCSF_VERSION))
    class_name = schema.lookup_class_name_from_uid(class_uid=CLASS_COMPLIANCE_FINDING)
    assert class_name == "compliance_finding"
    class_schema = schema.get_class_schema(class_name=class_name, profiles=list(OCSF_PROFILES))
    Draft202012Validator.check_schema(class_schema)
    return Draft202012Validator(class_schema)


def schema_errors(event: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(event)]


def at_least_one_violations(event: dict[str, Any]) -> list[str]:
    """OCSF's `at_least_one` constraint (name or uid) is not a JSON Schema keyword: check it by hand."""
    problems = []
    for where, obj in [
        ("metadata.product", event["metadata"]["product"]),
        ("finding_info.analytic", event["finding_info"]["analytic"]),
        ("cloud.account", event["cloud"].get("account", {"uid": "-"})),
        *[(f"resources.{i}", r) for i, r in enumerate(event["resources"])],
    ]:
        if not (obj.get("name") or obj.get("uid")):
            problems.append(where)
    return problems


def events_of(text: str) -> list[dict[str, Any]]:
    assert text.endswith("\n") or text == ""
    return [json.loads(line) for line in text.splitlines()]


def expected_pairs(report: ScanReport) -> set[tuple[str, str]]:
    return {
        (r.check_id, f.resource_id)
        for r in report.results
        if r.status in (Status.FAIL, Status.ACCEPTED)
        for f in r.findings
    }


def test_the_validator_rejects_a_broken_event() -> None:
    """The schema check can fail: a wrong class, a missing required object, a bad enum value."""
    good = next(ocsf_events(make_report()))
    assert schema_errors(good) == []
    for breakage in (
        {"class_uid": 2004},
        {"severity_id": 42},
        {"compliance": None},
        {"metadata": {"product": {"name": "hygiene"}}},
    ):
        broken = {**good, **breakage}
        if breakage.get("compliance", 1) is None:
            del broken["compliance"]
        assert schema_errors(broken), breakage


def test_crafted_report_events_validate_and_cover_exactly_the_failing_and_accepted_resources() -> None:
    report = make_report(
        [
            CheckResult(
                check_id="aws.backup.coverage",
                title="Every server and database is backed up",
                area="backup",
                platform="aws",
                severity="critical",
                status=Status.FAIL,
                assessed=2,
                failing=1,
                findings=[
                    FindingResult(
                        resource_id="arn:aws:ec2:eu-west-2:402917583641:instance/i-0b58d2e7f1a3c9402",
                        resource_name="402917583641:eu-west-2:i-0b58d2e7f1a3c9402",
                        detail="newest recovery point 3d 1h old",
                        data={"age_hours": 73},
                    )
                ],
                frameworks={"cis-v8.1": ["11.2"], "nist-csf-2.0": ["PR.DS-11"]},
                remediation="Add the instance to a backup plan.",
                references=["https://docs.aws.amazon.com/aws-backup/latest/devguide/whatisbackup.html"],
            ),
            CheckResult(
                check_id="m365.devices.unseen_example",
                title="Devices seen",
                area="accounts",
                platform="m365",
                severity="low",
                status=Status.NOT_ASSESSED,
                reason="missing permission",
            ),
        ]
    )
    events = events_of(render_ocsf(report))
    assert events, "the crafted report has failures"
    for event in events:
        assert schema_errors(event) == [], event["finding_info"]["analytic"]["uid"]
        assert at_least_one_violations(event) == []
    assert {(e["compliance"]["control"], e["resources"][0]["uid"]) for e in events} == expected_pairs(report)
    assert len(events) == len(expected_pairs(report)), "one event per resource, none duplicated"
    checks_with_events = {e["compliance"]["control"] for e in events}
    for result in report.results:
        if result.status not in (Status.FAIL, Status.ACCEPTED):
            assert result.check_id not in checks_with_events, result.status

    by_resource = {(e["compliance"]["control"], e["resources"][0]["uid"]): e for e in events}
    accepted = by_resource[("m365.accounts.stale", "u-11")]
    assert (accepted["status_id"], accepted["status"]) == (3, "Suppressed")
    assert "EXC-1" in accepted["status_detail"] and "EXC-1" in accepted["compliance"]["status_detail"]
    assert accepted["compliance"]["status_id"] == 3  # an accepted risk is still a failed control
    failing = by_resource[("m365.accounts.stale", "u-10")]
    assert (failing["status_id"], failing["status"]) == (1, "New") and "status_detail" not in failing

    aws = by_resource[("aws.backup.coverage", "arn:aws:ec2:eu-west-2:402917583641:instance/i-0b58d2e7f1a3c9402")]
    assert aws["severity_id"] == 5 and aws["severity"] == "Critical"
    assert aws["cloud"] == {
        "provider": "AWS",
        "cloud_partition": "aws",
        "region": "eu-west-2",
        "account": {"uid": "402917583641", "type_id": 10, "type": "AWS Account"},
    }
    assert aws["resources"][0]["type"] == "ec2:instance" and aws["resources"][0]["data"] == {"age_hours": 73}
    assert aws["compliance"]["standards"] == ["CIS Controls v8.1", "NIST CSF 2.0"]
    assert "CIS Controls v8.1 11.2" in aws["compliance"]["requirements"]
    assert aws["remediation"]["references"] == [
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/whatisbackup.html"
    ]
    assert aws["time"] == int(report.finished_at.timestamp() * 1000)
    assert aws["metadata"]["version"] == "1.5.0" and aws["metadata"]["correlation_uid"] == report.scan_id


def test_same_report_same_bytes_and_finding_uids_stable_across_scans() -> None:
    report = make_report()
    assert render_ocsf(report) == render_ocsf(report)
    later = report.model_copy(
        update={"scan_id": "acme-20250321T090000Z-1234", "finished_at": report.finished_at + timedelta(days=7)}
    )
    first, second = events_of(render_ocsf(report)), events_of(render_ocsf(later))
    assert [e["finding_info"]["uid"] for e in first] == [e["finding_info"]["uid"] for e in second]
    assert {e["metadata"]["uid"] for e in first}.isdisjoint({e["metadata"]["uid"] for e in second})
    assert len({e["metadata"]["uid"] for e in first}) == len(first)


def test_a_clean_report_exports_nothing() -> None:
    report = make_report()
    clean = report.model_copy(
        update={"results": [r for r in report.results if r.status not in (Status.FAIL, Status.ACCEPTED)]}
    )
    assert render_ocsf(clean) == ""


def test_cli_scan_format_ocsf_against_the_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expires = (date.today() + timedelta(days=60)).isoformat()
    controls = (
        "exceptions:\n"
        "  - id: EXC-ADMINS\n"
        "    check: m365.accounts.admin_count\n"
        "    reason: Five admins until the IT contract moves in January\n"
        "    owner: practice.manager@northwind.example\n"
        "    approved_by: director@northwind.example\n"
        f"    expires: {expires}\n"
    )
    with Sandbox(northwind(datetime.now(UTC))) as sandbox:
        config = write_demo_config(tmp_path / "cfg", sandbox, controls=controls)
        monkeypatch.setenv(SECRET_ENV, sandbox.client_secret)
        result = CliRunner().invoke(
            main, ["scan", str(config), "--output", str(tmp_path / "out"), "--format", "ocsf,json"]
        )
    assert result.exit_code in (0, 1), result.output
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == [
        "findings.ocsf.jsonl",
        "hygiene.log",
        "report.json",
        "snapshot.json.gz",
    ]
    assert oct((out / "findings.ocsf.jsonl").stat().st_mode & 0o777) == "0o600"
    report = ScanReport.model_validate_json((out / "report.json").read_text())
    events = events_of((out / "findings.ocsf.jsonl").read_text())
    assert len(events) == len(expected_pairs(report)) > 10
    assert {(e["compliance"]["control"], e["resources"][0]["uid"]) for e in events} == expected_pairs(report)
    for event in events:
        assert schema_errors(event) == [], event["compliance"]["control"]
    providers = {e["cloud"]["provider"] for e in events}
    assert providers == {"Microsoft", "Google", "Azure", "DNS"}  # the demo scans Azure and DNS too
    tenant = next(e for e in events if e["cloud"]["provider"] == "Microsoft")["cloud"]["account"]
    assert tenant == {"uid": sandbox.tenant_id, "type_id": 17, "type": "M365 Tenant"}
    admins = [e for e in events if e["compliance"]["control"] == "m365.accounts.admin_count"]
    assert len(admins) == 1 and admins[0]["status"] == "Suppressed" and "EXC-ADMINS" in admins[0]["status_detail"]


def test_cli_rejects_an_unknown_format_naming_ocsf(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "x.toml"), "--format", "sarif"])
    assert result.exit_code == 2
    assert "ocsf" in result.output


def test_internal_pack_carries_the_ocsf_export_and_others_do_not(data_dir: Path) -> None:
    internal = entries(export(data_dir, "internal"))
    name = FILE_NAMES["ocsf"]
    report = ScanReport.model_validate_json(internal["report.json"])
    assert internal[name].decode() == render_ocsf(report)
    events = events_of(internal[name].decode())
    assert len(events) == len(expected_pairs(report)) > 0
    for event in events:
        assert schema_errors(event) == []
    manifest = json.loads(internal["manifest.json"])
    assert name in {f["path"] for f in manifest["files"]}
    assert name not in entries(export(data_dir, "insurer"))


def test_config_reports_formats_is_the_scan_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Sandbox(northwind(datetime.now(UTC))) as sandbox:
        config = write_demo_config(tmp_path / "cfg", sandbox)
        config.write_text(config.read_text() + '\n[reports]\nformats = ["ocsf"]\n')
        monkeypatch.setenv(SECRET_ENV, sandbox.client_secret)
        result = CliRunner().invoke(main, ["scan", str(config), "--output", str(tmp_path / "out"), "--no-history"])
    assert result.exit_code in (0, 1), result.output
    written = sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_file())
    assert written == ["findings.ocsf.jsonl", "hygiene.log", "snapshot.json.gz"]


def test_config_rejects_an_unknown_report_format(tmp_path: Path) -> None:
    config = tmp_path / "org.toml"
    config.write_text(
        '[organisation]\nid = "acme"\nname = "Acme"\n[sources.aws]\nregions = ["eu-west-2"]\n'
        '[reports]\nformats = ["json", "sarif"]\n'
    )
    result = CliRunner().invoke(main, ["config", "validate", str(config)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "org.toml" in lines[0] and "sarif" in lines[0] and "ocsf" in lines[0], lines
