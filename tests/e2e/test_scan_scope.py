"""Fail fast, never record a broken baseline, and choose what to scan (issue 14), through the real CLI against the
sandbox: a bad credential stops before any request; a partial scan (``--checks``/``--platforms``) reads only the
data its checks need and says so everywhere; neither a partial nor an incomplete scan becomes the baseline."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hygiene.cli import main
from hygiene.demo import SECRET_ENV, write_demo_config
from hygiene_sandbox import Sandbox, northwind

NOW = datetime.now(UTC)
#: Graph paths of the data an identity-only scan must not read: devices, compliance policies, backup, licences
NOT_IDENTITY = ("/deviceManagement/", "/solutions/backupRestore", "/subscribedSkus")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def api_paths(sandbox: Sandbox) -> list[str]:
    return [r.path for r in sandbox.requests]


def test_bad_credentials_stop_before_any_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Sandbox(northwind(NOW)) as sandbox:
        config = write_demo_config(tmp_path / "cfg", sandbox)
        monkeypatch.delenv(SECRET_ENV, raising=False)
        for command in (["config", "validate", str(config)], ["scan", str(config), "--output", str(tmp_path / "o")]):
            result = run(*command)
            assert result.exit_code == 2, result.output
            problem = f"sources.m365.client_secret_env: environment variable {SECRET_ENV} is not set"
            assert result.stderr.strip().splitlines() == [f"error: {config.resolve()}: {problem}"]
        # a malformed Google key: the same, and the secret it holds is never printed
        monkeypatch.setenv(SECRET_ENV, sandbox.client_secret)
        key = config.parent / "google-service-account.json"
        info = json.loads(key.read_text())
        key.write_text(json.dumps({**info, "private_key": info["private_key"][:200]}))
        result = run("scan", str(config), "--output", str(tmp_path / "o"))
        assert result.exit_code == 2 and "sources.google.service_account_file" in result.stderr, result.output
        assert info["private_key"][40:120] not in result.output and sandbox.client_secret not in result.output
        assert sandbox.request_count == 0, sandbox.requests
        assert not (tmp_path / "o").exists()
        # the same config with a good key does reach the sandbox: the count above can fail
        key.write_text(json.dumps(info))
        assert run("scan", str(config), "--output", str(tmp_path / "o"), "--no-history").exit_code == 0
        assert sandbox.request_count > 0


def test_identity_only_scan_reads_only_identity_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, partial_out, full_out = tmp_path / "data", tmp_path / "partial", tmp_path / "full"
    with Sandbox(northwind(NOW)) as sandbox:
        config = write_demo_config(tmp_path / "cfg", sandbox)
        monkeypatch.setenv(SECRET_ENV, sandbox.client_secret)
        result = run(
            "scan", str(config), "--checks", "m365.mfa.*", "--checks", "m365.accounts.inactive",
            "--output", str(partial_out), "--data-dir", str(data),
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        partial_paths = api_paths(sandbox)
        sandbox.clear_log()
        full = run("scan", str(config), "--output", str(full_out), "--data-dir", str(data))
        full_paths = api_paths(sandbox)
    assert full.exit_code == 0, full.output

    # no device, compliance, backup or licence request, and Google (no selected check) not contacted at all
    assert [p for p in partial_paths if any(m in p for m in NOT_IDENTITY)] == []
    assert [p for p in partial_paths if "/admin/directory/" in p or "cloudidentity" in p] == []
    assert any("/users" in p for p in partial_paths)
    # the full scan reads them (so the assertions above can fail) and makes more requests
    assert all(any(m in p for p in full_paths) for m in NOT_IDENTITY), full_paths
    assert len(partial_paths) < len(full_paths)

    report: dict[str, Any] = json.loads((partial_out / "report.json").read_text())
    scope = report["scope"]
    assert scope["partial"] is True and scope["incomplete"] is False
    assert scope["selection"] == {
        "checks": ["m365.mfa.*", "m365.accounts.inactive"],
        "platforms": [],
        "platforms_not_scanned": ["google", "azure", "email"],
    }
    assert {"m365.devices", "m365.backup", "m365.licences", "m365.compliance_policies"} <= set(
        scope["datasets_not_read"]
    )
    assert {r["check_id"] for r in report["results"]} == {
        "m365.mfa.admins",
        "m365.mfa.enforced",
        "m365.mfa.legacy_auth_blocked",
        "m365.mfa.registered",
        "m365.accounts.inactive",
    }
    assert report["sources"]["m365"]["datasets"]["m365.devices"]["selected"] is False
    assert "partial scan: checks m365.mfa.*, m365.accounts.inactive" in result.stdout
    assert "partial scan: checks m365.mfa.*" in (partial_out / "report.html").read_text()
    assert "partial scan: checks m365.mfa.\\*" in (partial_out / "summary.md").read_text()

    # the partial scan is recorded, never the baseline; the full one after it is
    history = json.loads(run("history", "northwind", "--data-dir", str(data), "--json").stdout)
    assert [(h["partial"], h["baseline"]) for h in history] == [(True, False), (False, True)]
    refused = run("baseline", "set", "northwind", history[0]["scan_id"], "--data-dir", str(data))
    assert refused.exit_code == 2 and "is a partial scan" in refused.stderr, refused.output
    # the diff says what it did not compare rather than calling the rest new failures
    diff = json.loads(run("diff", "northwind", "--against", "previous", "--data-dir", str(data), "--json").stdout)
    selected = ("m365.mfa.", "m365.accounts.inactive")
    assert all(c["check_id"].startswith(selected) for c in diff["new_failures"]), diff["new_failures"]
    assert "gws.mfa.enrolled" in diff["not_compared"] and "m365.devices.os_supported" in diff["not_compared"]


def test_platforms_selects_whole_platforms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Sandbox(northwind(NOW)) as sandbox:
        config = write_demo_config(tmp_path / "cfg", sandbox)
        monkeypatch.setenv(SECRET_ENV, sandbox.client_secret)
        result = run("scan", str(config), "--platforms", "google", "--output", str(tmp_path / "o"), "--no-history")
        paths = api_paths(sandbox)
    assert result.exit_code == 0, result.output
    assert not any(p.startswith(("/v1.0/", "/beta/")) for p in paths), paths  # no Graph request
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert set(report["sources"]) == {"google"} and {r["platform"] for r in report["results"]} == {"google"}
    assert report["scope"]["selection"]["platforms_not_scanned"] == ["m365", "azure", "email"]
    assert all(state["selected"] for state in report["sources"]["google"]["datasets"].values())


def test_email_checks_alone_read_only_the_domains_and_dns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The email platform reads what the identity platforms listed: a partial scan of its checks reads their
    domain datasets (``PlatformSpec.reads_from``) and nothing else of them."""
    scenario = northwind(NOW)
    assert scenario.dns is not None
    with Sandbox(scenario) as sandbox:
        config = write_demo_config(tmp_path / "cfg", sandbox)
        monkeypatch.setenv(SECRET_ENV, sandbox.client_secret)
        result = run("scan", str(config), "--checks", "email.*", "--output", str(tmp_path / "o"), "--no-history")
        paths = [p.split("?", 1)[0] for p in api_paths(sandbox) if p != "/token" and not p.endswith("/token")]
        questions = sandbox.dns.queries if sandbox.dns else 0
    assert result.exit_code == 0, result.output
    customer = scenario.google.customer_id if scenario.google else ""
    assert sorted(set(p for p in paths if "/v1.0/" in p or "/admin/" in p)) == [
        f"/admin/directory/v1/customer/{customer}/domains",
        "/v1.0/domains",
    ], paths
    assert questions >= 20
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert set(report["sources"]) == {"m365", "google", "email"}
    got = {r["check_id"]: (r["status"], {f["resource_name"] for f in r["findings"]}) for r in report["results"]}
    assert got == {k: (v.status, v.resources) for k, v in scenario.dns.expected.items()}


def test_incomplete_scan_is_never_the_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Authentication refused by the vendor (a wrong secret: only the vendor can tell) leaves Microsoft 365 unread:
    the scan is recorded as incomplete (exit 3), is not the baseline, and the portfolio says so."""
    data = tmp_path / "data"
    with Sandbox(northwind(NOW)) as sandbox:
        config = write_demo_config(tmp_path / "cfg", sandbox)
        monkeypatch.setenv(SECRET_ENV, "not-the-secret")
        broken = run("scan", str(config), "--output", str(tmp_path / "broken"), "--data-dir", str(data))
        assert broken.exit_code == 3, broken.output
        report = json.loads((tmp_path / "broken" / "report.json").read_text())
        assert report["scope"]["incomplete"] is True and list(report["scope"]["unread_platforms"]) == ["m365"]
        assert "incomplete scan: could not read m365" in broken.stdout

        portfolio = run("portfolio", str(config.parent), "--data-dir", str(data), "--output", str(tmp_path / "pf"))
        assert portfolio.exit_code == 0, portfolio.output
        page = (tmp_path / "pf" / "portfolio.html").read_text()
        assert "incomplete scan: Microsoft 365 could not be read" in page
        row = json.loads((tmp_path / "pf" / "portfolio.json").read_text())["organisations"][0]
        assert row["unread_platforms"] == ["m365"] and row["score_delta"] is None

        refused = run("baseline", "set", "northwind", "--data-dir", str(data))
        assert refused.exit_code == 2 and "is incomplete (could not read m365)" in refused.stderr, refused.output

        monkeypatch.setenv(SECRET_ENV, sandbox.client_secret)
        good = run("scan", str(config), "--output", str(tmp_path / "good"), "--data-dir", str(data))
        assert good.exit_code == 0, good.output
    history = json.loads(run("history", "northwind", "--data-dir", str(data), "--json").stdout)
    assert [(h["unread_platforms"], h["baseline"]) for h in history] == [(["m365"], False), ([], True)]
    diff = json.loads(run("diff", "northwind", "--against", "previous", "--data-dir", str(data), "--json").stdout)
    # the Microsoft 365 checks were not seen before: not "new failures"
    assert [c["check_id"] for c in diff["new_failures"] if c["check_id"].startswith("m365.")] == []
    assert "m365.mfa.admins" in diff["not_compared"]
