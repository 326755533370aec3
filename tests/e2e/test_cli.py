"""The command line: exit codes, one-line errors, offline evaluation, and docs generated from the code."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import collect
from graphfake import Tenant, registration

from hygiene.cli import main
from hygiene.snapshot_io import save_snapshot

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_config_error_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[organisation]\nid = "x"\n')
    code, _, err = run("config", "validate", str(path))
    assert code == 2
    assert err.strip().count("\n") == 0 and "organisation.name: required key is missing" in err
    assert "Traceback" not in err


def test_missing_config_file(tmp_path: Path) -> None:
    code, _, err = run("scan", str(tmp_path / "nope.toml"))
    assert code == 2 and "cannot read config" in err


def test_bad_format_is_usage_error(tmp_path: Path) -> None:
    code, _, err = run("scan", str(tmp_path / "x.toml"), "--format", "pdf")
    assert code == 2 and "choose from json, csv, html, md, ocsf" in err


def test_checks_and_policies_listing() -> None:
    code, out, _ = run("checks", "list", "--json")
    assert code == 0 and '"m365.mfa.enforced"' in out
    code, out, _ = run("checks", "show", "m365.mfa.enforced")
    assert code == 0 and "Policy.Read.All" in out and "A7.17" in out
    code, out, _ = run("policies", "list")
    assert code == 0 and "cyber-essentials" in out and "cis-ig1" in out
    code, _, _err = run("checks", "show", "m365.nope")
    assert code == 2


def test_permissions_lists_every_dataset_permission() -> None:
    code, out, _ = run("permissions", "--source", "m365")
    assert code == 0
    for permission in (
        "User.Read.All",
        "AuditLog.Read.All",
        "Policy.Read.All",
        "RoleManagement.Read.Directory",
        "DeviceManagementManagedDevices.Read.All",
        "BackupRestore-Control.Read.All",
    ):
        assert permission in out


def test_docs_checks_md_is_generated_from_the_code() -> None:
    code, out, _ = run("checks", "list", "--markdown")
    assert code == 0
    assert (ROOT / "docs" / "checks.md").read_text(encoding="utf-8") == out, (
        "run: hygiene checks list --markdown > docs/checks.md"
    )


def test_evaluate_offline_reproduces_results(tenant: Tenant, tmp_path: Path) -> None:
    tenant.registrations = [registration("alice"), registration("bob")]
    snapshot = collect(tenant)
    path = tmp_path / "snapshot.json.gz"
    save_snapshot(snapshot, path)
    code, out, _ = run("evaluate", str(path), "--output", str(tmp_path / "out"), "--fail-on", "high")
    assert code == 1  # m365.mfa.registered (high) fails
    assert "m365.mfa.registered" in out
    assert (tmp_path / "out" / "report.json").exists()
    code, _, _ = run("evaluate", str(path), "--fail-on", "critical")
    assert code == 0
    code, _, _ = run("evaluate", str(path), "--profile", "cis-ig1")
    assert code == 0


@pytest.mark.parametrize("content", [b"not gzip", b"\x1f\x8b\x08\x00garbage", b'{"schema_version": 99}'])
def test_evaluate_rejects_bad_snapshots(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "snapshot.json.gz"
    path.write_bytes(content)
    code, _, err = run("evaluate", str(path))
    assert code == 2 and str(path) in err and "Traceback" not in err
