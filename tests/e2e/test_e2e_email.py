"""End-to-end: email authentication for Northwind's domains, read from the sandbox's Graph and Directory and its
DNS resolver on 127.0.0.1, through the real sources and CLI. ``scenario.dns.expected`` is the hand-written oracle."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from hygiene.cli import main
from hygiene.config import load_config
from hygiene.demo import SECRET_ENV, run_demo, write_demo_config
from hygiene.results import ScanReport, Status
from hygiene.scan import ScanOptions, run_scan
from hygiene_sandbox import Sandbox, northwind
from hygiene_sandbox.expectation import Expectation

NOW = datetime.now(UTC)


def mismatches(expected: dict[str, Expectation], report: ScanReport) -> list[str]:
    results = {r.check_id: r for r in report.results}
    problems = []
    for check_id, want in expected.items():
        result = results[check_id]
        got = {f.resource_name for f in result.findings}
        if result.status.value != want.status or got != want.resources:
            problems.append(
                f"{check_id}: got {result.status.value} {sorted(got)}, expected {want.status} {sorted(want.resources)}"
            )
    return problems


def test_the_demo_shows_the_planted_email_defects(tmp_path: Path) -> None:
    scenario = northwind(NOW)
    assert scenario.dns is not None
    outcome = run_demo(tmp_path, scenario=scenario, with_aws=False)
    assert mismatches(scenario.dns.expected, outcome.report) == []
    results = {r.check_id: r for r in outcome.report.results}
    # the SERVFAIL alias is named as not seen; the ~all domains carry the reservation; Microsoft's initial domain
    # is not judged
    assert "leeds-smiles.example" in (results["email.spf"].note or "")
    assert "northwind-dental.example" in (results["email.spf"].reservation or "")
    assert "northwinddental.onmicrosoft.com" in (results["email.dmarc"].note or "")
    # subdomains without a record of their own: inherited from the organisational domain (RFC 7489 6.6.3)
    assert "news.nwdental-offers.example from _dmarc.nwdental-offers.example (sp=reject)" in (
        results["email.dmarc"].note or ""
    )
    eu = next(f.detail for f in results["email.dmarc"].findings if f.resource_name == "eu.northwind-dental.example")
    assert "inherited from _dmarc.northwind-dental.example: sp=none" in eu
    assert (tmp_path / "raw" / "email").is_dir()
    # offline re-evaluation of the snapshot gives the same results (the checks read no DNS)
    evaluated = CliRunner().invoke(main, ["evaluate", str(outcome.snapshot_path), "--output", str(tmp_path / "again")])
    assert evaluated.exit_code in (0, 1, 3), evaluated.output
    again = ScanReport.model_validate_json((tmp_path / "again" / "report.json").read_text())
    assert mismatches(scenario.dns.expected, again) == []


def test_without_google_the_leeds_domain_is_not_judged(tmp_path: Path) -> None:
    scenario = northwind(NOW, google=False, azure=False)
    assert scenario.dns is not None
    outcome = run_demo(tmp_path, scenario=scenario, with_aws=False)
    assert mismatches(scenario.dns.expected, outcome.report) == []


def test_a_resolver_that_does_not_answer_is_not_assessed_never_a_pass(tmp_path: Path) -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    scenario = northwind(NOW, google=False, azure=False)
    try:
        with Sandbox(scenario) as sandbox:
            path = write_demo_config(tmp_path / "config", sandbox)
            text = path.read_text().replace(
                f"port = {sandbox.dns.port if sandbox.dns else 0}\n",
                f"port = {silent.getsockname()[1]}\ntimeout = 0.3\n",
            )
            path.write_text(text)
            config = load_config(path)
            options = ScanOptions(output_dir=tmp_path / "out", environ={SECRET_ENV: sandbox.client_secret}, plan=None)
            outcome = run_scan(config, options)
    finally:
        silent.close()
    results = {r.check_id: r for r in outcome.report.results}
    assert {results[c].status for c in ("email.spf", "email.dmarc", "email.dkim")} == {Status.NOT_ASSESSED}
    assert "no answer before the timeout" in (results["email.spf"].reason or "")
