"""Framework catalogues and mappings: the shipped data validates, broken data is refused, control statuses are
computed honestly from a stored scan, and the `hygiene frameworks` commands."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import scanreports
import yaml
from click.testing import CliRunner

from hygiene import frameworks as fw
from hygiene.cli import main
from hygiene.errors import InputError
from hygiene.history import HistoryStore
from hygiene.history.models import stored_from_report
from hygiene.registry import Registry
from hygiene.results import CheckResult, ScanReport, Status

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
ALL_FRAMEWORKS = {
    "cyber-essentials",
    "cis-v8.1",
    "nist-csf-2.0",
    "iso-27001-2022",
    "essential-eight",
    "cis-benchmarks",
    "soc2",
    "smb1001-2026",
}


def result(check_id: str, status: str, platform: str = "m365") -> CheckResult:
    return CheckResult(
        check_id=check_id,
        title=check_id,
        area="identity",
        platform=platform,
        severity="high",
        status=Status(status),
        assessed=3,
        failing=1 if status == "fail" else 0,
    )


def report(results: list[CheckResult], org: str = "acme", scan_id: str = "scan-1") -> ScanReport:
    return scanreports.report(scan_id, results, org=org, at=T0, score=70)


def _builtin_ids() -> list[str]:
    """The built-in pack's check ids: what the shipped mappings must cover."""
    return Registry.load(entry_points_too=False).ids()


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "frameworks"
    shutil.copytree(fw.frameworks_dir(), folder)
    return folder


def _edit(path: Path, change: object) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


# -- data -----------------------------------------------------------------------------------------------------


def test_shipped_data_validates_and_maps_every_builtin_check() -> None:
    data = fw.validate(None, _builtin_ids())
    assert set(data.catalogues) == ALL_FRAMEWORKS
    builtin = Registry.load(entry_points_too=False).ids()
    assert len(builtin) == 52  # 32 + ten Azure + four endpoint + break-glass, two app and three email checks
    mapped = {c for c, f in data.mappings.checks.items() if any(f.values())}
    assert set(builtin) == mapped | set(data.mappings.unmapped)


def test_shipped_catalogues_hold_the_reference_ids() -> None:
    data = fw.load()
    ce = {c.id for c in data.catalogue("cyber-essentials").controls}
    assert {"A5.2", "A6.1", "A6.3", "A6.4", "A6.5", "A7.3", "A7.8", "A7.9", "A7.16", "A7.17"} <= ce
    firewall = data.catalogue("cyber-essentials").control("A4.1")
    assert firewall is not None and not firewall.automated and firewall.note
    cis = data.catalogue("cis-v8.1").control("5.3")
    assert cis is not None and cis.ig == 1
    assert {c.id for c in data.catalogue("soc2").controls} == {
        "CC6.1", "CC6.2", "CC6.6", "CC6.8", "CC7.1", "A1.2", "A1.3"
    }  # fmt: skip
    e8 = data.catalogue("essential-eight").control("MFA ML2")
    assert e8 is not None and e8.strategy == "Multi-factor authentication" and e8.maturity_level == 2


def test_mapping_to_a_missing_control_is_refused(data_copy: Path) -> None:
    def change(d: dict) -> None:  # type: ignore[type-arg]
        d["checks"]["m365.mfa.admins"]["cis-v8.1"] = ["6.5", "99.9"]

    _edit(data_copy / "mappings.yaml", change)
    with pytest.raises(InputError) as caught:
        fw.validate(data_copy, _builtin_ids())
    message = str(caught.value)
    assert "mappings.yaml" in message and "checks.m365.mfa.admins.cis-v8.1" in message and "'99.9'" in message
    assert "\n" not in message


def test_unmapped_builtin_check_is_refused_unless_listed(data_copy: Path) -> None:
    _edit(data_copy / "mappings.yaml", lambda d: d["checks"].pop("aws.rds.backup_retention"))
    with pytest.raises(InputError, match=r"mappings.yaml: checks: built-in check aws.rds.backup_retention is not"):
        fw.validate(data_copy, _builtin_ids())
    _edit(data_copy / "mappings.yaml", lambda d: d.__setitem__("unmapped", ["aws.rds.backup_retention"]))
    fw.validate(data_copy, _builtin_ids())


def test_other_drift_is_refused(data_copy: Path) -> None:
    _edit(data_copy / "mappings.yaml", lambda d: d["checks"].__setitem__("m365.nope", {"soc2": ["CC6.1"]}))
    with pytest.raises(InputError, match=r"checks.m365.nope: no built-in check"):
        fw.validate(data_copy, _builtin_ids())
    _edit(data_copy / "mappings.yaml", lambda d: d["checks"].pop("m365.nope"))
    _edit(data_copy / "mappings.yaml", lambda d: d["checks"]["aws.root.mfa"].__setitem__("pci", ["1"]))
    with pytest.raises(InputError, match=r"checks.aws.root.mfa.pci: unknown framework"):
        fw.validate(data_copy, _builtin_ids())


def test_broken_catalogue_is_refused(data_copy: Path) -> None:
    _edit(data_copy / "soc2.yaml", lambda d: d["controls"][0].__setitem__("colour", "red"))
    with pytest.raises(InputError, match=r"soc2.yaml: controls.0.colour: unknown key"):
        fw.load(data_copy)
    (data_copy / "soc2.yaml").unlink()
    with pytest.raises(InputError, match=r"mappings.yaml: frameworks.soc2: no catalogue soc2.yaml"):
        fw.load(data_copy)


def test_checks_show_lists_framework_ids() -> None:
    meta = Registry.load().get("m365.mfa.admins")
    assert meta is not None
    assert "A7.16" in meta.meta.frameworks["cyber-essentials"]
    assert "M365 5.2.2.1" in meta.meta.frameworks["cis-benchmarks"]


# -- statuses -------------------------------------------------------------------------------------------------


CATALOGUE = fw.Catalogue(
    id="demo",
    name="Demo",
    controls=[
        fw.Control(id="C1", title="all pass or accepted"),
        fw.Control(id="C2", title="one fails"),
        fw.Control(id="C3", title="one not assessed"),
        fw.Control(id="C4", title="no checks"),
        fw.Control(id="C5", title="manual", automated=False, note="attest"),
        fw.Control(id="C6", title="other platform only"),
        fw.Control(id="C7", title="absent from the scan"),
        fw.Control(id="C8", title="error and fail"),
    ],
)
MAPPED = {
    "m365.a": {"demo": ["C1", "C2", "C5"]},
    "m365.b": {"demo": ["C1"]},
    "m365.c": {"demo": ["C2", "C8"]},
    "m365.d": {"demo": ["C3"]},
    "m365.e": {"demo": ["C3", "C7"]},
    "m365.f": {"demo": ["C7", "C8"]},
    "aws.x": {"demo": ["C1", "C6"]},
}
PLATFORMS = {c: c.split(".")[0] for c in MAPPED}


def test_statuses_from_a_stored_scan() -> None:
    scan = stored_from_report(
        report(
            [
                result("m365.a", "pass"),
                result("m365.b", "accepted"),
                result("m365.c", "fail"),
                result("m365.d", "not_assessed"),
                result("m365.e", "pass"),
                result("m365.f", "error"),
            ]
        )
    )
    results = {r.check_id: (r.status, r.platform) for r in scan.results}
    views = {v.control.id: v for v in fw.assess(CATALOGUE, MAPPED, PLATFORMS, results)}
    assert views["C1"].status == fw.MET  # aws.x is not applicable: the scan covered no AWS
    assert ("aws.x", "not applicable") in [(c.check_id, c.status) for c in views["C1"].checks]
    assert views["C2"].status == fw.NOT_MET
    assert views["C3"].status == fw.PARTIAL
    assert views["C4"].status == fw.NOT_COVERED
    assert views["C5"].status == fw.NOT_COVERED
    assert views["C6"].status == fw.NOT_COVERED
    assert views["C8"].status == fw.NOT_MET
    # m365.f errored; drop m365.e from the scan: C7 has an absent and an errored check, none failed
    del results["m365.e"]
    views = {v.control.id: v for v in fw.assess(CATALOGUE, MAPPED, PLATFORMS, results)}
    assert views["C7"].status == fw.PARTIAL
    assert {c.status for c in views["C7"].checks} == {"absent", "error"}


def test_mapping_only_has_no_status() -> None:
    views = fw.assess(CATALOGUE, MAPPED, PLATFORMS)
    assert all(v.status is None for v in views)
    assert {v.control.id for v in views if v.covered} == {"C1", "C2", "C3", "C6", "C7", "C8"}


# -- command line ---------------------------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    outcome = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return outcome.exit_code, outcome.stdout, outcome.stderr


@pytest.fixture
def history(tmp_path: Path, history_url: str) -> Path:
    """Two scans of acme in the history at HYGIENE_DATABASE_URL (each backend); the commands run without
    --data-dir read it."""
    with HistoryStore(history_url) as store:
        store.record(report([result("m365.mfa.admins", "fail")], scan_id="old"))
        later = report(
            [
                result("m365.mfa.admins", "pass"),
                result("m365.mfa.enforced", "fail"),
                result("m365.mfa.registered", "pass"),
                result("m365.mfa.legacy_auth_blocked", "pass"),
                result("m365.accounts.inactive", "not_assessed"),
            ],
            scan_id="new",
        )
        store.record(later.model_copy(update={"started_at": T0 + timedelta(days=1)}))
    return tmp_path


def test_cli_list() -> None:
    code, out, _ = run("frameworks", "list", "--json")
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)}
    assert set(rows) == ALL_FRAMEWORKS
    assert rows["soc2"]["controls"] == 7 and rows["soc2"]["covered"] == 7
    assert rows["cyber-essentials"]["covered"] < rows["cyber-essentials"]["controls"]  # A4.1 is manual
    code, out, _ = run("frameworks", "list")
    assert code == 0 and "cyber-essentials" in out


def test_cli_show_mapping_only() -> None:
    code, out, _ = run("frameworks", "show", "cyber-essentials")
    assert code == 0 and "A7.17" in out and "m365.mfa.enforced" in out and "not covered" in out
    code, out, _ = run("frameworks", "show", "cyber-essentials", "--json")
    data = json.loads(out)
    assert "summary" not in data and all(c["status"] is None for c in data["controls"])


def test_cli_show_with_org(history: Path) -> None:
    code, out, _ = run("frameworks", "show", "cyber-essentials", "acme", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["scan_id"] == "new"
    status = {c["id"]: c["status"] for c in data["controls"]}
    assert status["A7.16"] == fw.MET  # m365.mfa.admins passed in the latest scan; gws/aws were not scanned
    assert status["A7.17"] == fw.NOT_MET
    assert status["A7.3"] == fw.PARTIAL  # m365.accounts.inactive not assessed
    assert status["A6.1"] == fw.PARTIAL  # m365.devices.os_supported absent from the scan
    assert status["A4.1"] == fw.NOT_COVERED
    assert sum(data["summary"].values()) == len(data["controls"])
    code, out, _ = run("frameworks", "show", "cyber-essentials", "acme")
    assert code == 0 and "not met" in out and "new" in out


def test_cli_errors(history: Path) -> None:
    code, _, err = run("frameworks", "show", "pci-dss")
    assert code == 2 and err.count("\n") == 1 and "no framework 'pci-dss'" in err
    code, _, err = run("frameworks", "show", "soc2", "nobody")
    assert code == 2 and err.count("\n") == 1 and "nobody" in err
    code, _, err = run("frameworks", "show", "soc2", "acme", "--data-dir", str(history / "missing"))
    assert code == 2 and "no scan history" in err
