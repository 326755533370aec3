"""Hostile vendor text reaching plain-text outputs: the terminal summary, `hygiene diff`, findings.csv,
findings.ocsf.jsonl and summary.md (issue 12, items 3, 4, 7 and 8).

The hostile text goes through the real M365 source (msal + requests against the `responses` fake of Graph) and
the real CLI. The fake carries it in the user principal name and display name because those are what the
reasons print; on a real tenant the same text arrives through device names, policy names and AWS tags.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import collect
from graphfake import GLOBAL_ADMIN, Tenant, registration, user

from hygiene.cli import main
from hygiene.snapshot_io import save_snapshot

HOSTILE_NAMES = {
    "link": "[link=http://evil.example]click me[/link]",
    "close": "CA005 [/] legacy",
    "clear": "Mallory\x1b[2J\x1b]8;;http://evil.example\x07x\x1b]8;;\x07",
    "bidi": "invoice\u202egpj.exe",
    "formula": "x;=1337*2;y",
    "lines": "one\u2028two\u2029three\x85four",
}


@pytest.fixture
def hostile_snapshot(tmp_path: Path) -> Path:
    tenant = Tenant()
    for uid, name in HOSTILE_NAMES.items():
        record = user(uid)
        record["displayName"] = record["userPrincipalName"] = name
        tenant.users.append(record)
        tenant.registrations.append({**registration(uid, capable=False), "userDisplayName": name})
        tenant.role_assignments.append((uid, GLOBAL_ADMIN, "user"))  # admin names reach the summary's reasons
    path = tmp_path / "snapshot.json.gz"
    save_snapshot(collect(tenant), path)
    return path


def _evaluate(snapshot: Path, out: Path, formats: str = "csv,md,ocsf") -> str:
    result = CliRunner(env={"COLUMNS": "2000"}).invoke(
        main, ["evaluate", str(snapshot), "--output", str(out), "--format", formats]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1, 3), result.output
    return result.stdout


def test_terminal_summary_shows_vendor_text_inert(hostile_snapshot: Path, tmp_path: Path) -> None:
    stdout = _evaluate(hostile_snapshot, tmp_path / "out")
    assert "\x1b" not in stdout and "\x07" not in stdout and "\u202e" not in stdout
    # markup is shown as the text the tenant holds, neither rendered nor a crash
    assert "[link=http://evil.example]click me[/link]" in stdout
    assert "CA005 [/] legacy" in stdout


def test_csv_defuses_formulas_after_any_separator(hostile_snapshot: Path, tmp_path: Path) -> None:
    _evaluate(hostile_snapshot, tmp_path / "out")
    text = (tmp_path / "out" / "findings.csv").read_text(encoding="utf-8-sig")
    assert "\x1b" not in text and "\u202e" not in text
    for delimiter in (",", ";", "\t", "|"):
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            for cell in row:
                stripped = cell.strip().strip('"').strip()  # what a reader trims; a leading ' makes it text
                assert not stripped.startswith("=1337"), (delimiter, cell)


def test_ocsf_records_stay_one_line_for_line_based_readers(hostile_snapshot: Path, tmp_path: Path) -> None:
    _evaluate(hostile_snapshot, tmp_path / "out")
    text = (tmp_path / "out" / "findings.ocsf.jsonl").read_text(encoding="utf-8")
    lines = text.splitlines()  # splits on U+2028, U+2029 and U+0085 too
    assert lines and all(json.loads(line)["class_uid"] == 2003 for line in lines)
    assert any("one\u2028two" in json.dumps(json.loads(line), ensure_ascii=False) for line in lines)


def test_markdown_summary_has_no_control_codes(hostile_snapshot: Path, tmp_path: Path) -> None:
    _evaluate(hostile_snapshot, tmp_path / "out")
    text = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text


def test_long_vendor_text_is_capped_in_reports_and_pdfs_still_lay_out(tmp_path: Path) -> None:
    """135 admins and a 200,000-character name: report fields are capped (the snapshot keeps the whole) and
    both PDFs of an evidence pack still lay out (reportlab raised LayoutError on a row taller than a page)."""
    from pypdf import PdfReader

    from hygiene.answers import answer_sheet, load_questionnaire
    from hygiene.reports.answers_pdf import render_answers_pdf
    from hygiene.reports.summary_pdf import render_summary_pdf
    from hygiene.results import ScanReport
    from hygiene.safetext import RESOURCE_NAME_CAP, TEXT_CAP
    from hygiene.snapshot_io import load_snapshot

    tenant = Tenant()
    long_name = "N" * 200_000
    for i in range(135):
        uid = f"admin{i:03d}"
        record = user(uid)
        record["userPrincipalName"] = f"{'a' * 40}{uid}@contoso.test" if i else long_name
        tenant.users.append(record)
        tenant.registrations.append(registration(uid, capable=False))
        tenant.role_assignments.append((uid, GLOBAL_ADMIN, "user"))
    snapshot_path = tmp_path / "snapshot.json.gz"
    save_snapshot(collect(tenant), snapshot_path)
    _evaluate(snapshot_path, tmp_path / "out", "json,html,csv,md,ocsf")
    assert any(u.upn == long_name for u in load_snapshot(snapshot_path).m365.users)  # type: ignore[union-attr]

    report = ScanReport.model_validate_json((tmp_path / "out" / "report.json").read_bytes())
    for result in report.results:
        assert len(result.reason or "") <= TEXT_CAP + 80 and len(result.note or "") <= TEXT_CAP + 80
        for finding in result.findings:
            assert len(finding.resource_name) <= RESOURCE_NAME_CAP + 80 and len(finding.detail) <= TEXT_CAP + 80
    assert any("more characters in snapshot.json.gz" in f.resource_name for r in report.results for f in r.findings)

    summary = render_summary_pdf(report, "internal", lambda text: text)
    assert len(PdfReader(io.BytesIO(summary)).pages) >= 1
    sheet = render_answers_pdf(answer_sheet(report, load_questionnaire()), title="Insurer answer sheet")
    assert len(PdfReader(io.BytesIO(sheet)).pages) >= 1


def _insurer_pack(tenant: Tenant, tmp_path: Path) -> dict[str, bytes]:
    """Scan ``tenant`` (real source), record the scan, export an insurer pack; its entries by name."""
    import zipfile

    from hygiene.evidence import export_pack
    from hygiene.history import HistoryStore, sqlite_url
    from hygiene.results import ScanReport

    snapshot_path = tmp_path / "snapshot.json.gz"
    save_snapshot(collect(tenant), snapshot_path)
    out = tmp_path / "out"
    _evaluate(snapshot_path, out, "json,csv")
    report = ScanReport.model_validate_json((out / "report.json").read_bytes())
    data = tmp_path / "data"
    data.mkdir()
    with HistoryStore(sqlite_url(data / "history.sqlite3")) as store:
        store.record(report, {"json": out / "report.json", "csv": out / "findings.csv", "snapshot": snapshot_path})
    pack = export_pack(report.organisation_id, data_dir=data, audience="insurer", output=tmp_path / "pack.zip")
    with zipfile.ZipFile(pack.path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _readable(name: str, body: bytes) -> bytes:
    """What a reader of the file can see: a PDF's text and metadata, since its compressed streams can hold any three
    bytes ("Doe") by chance; any other file as it is."""
    if not name.endswith(".pdf"):
        return body
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(body))
    text = " ".join(page.extract_text() for page in pdf.pages)
    meta = " ".join(str(v) for v in (pdf.metadata or {}).values())
    return f"{text} {meta}".encode()


def test_insurer_pack_carries_only_tool_vocabulary_or_pseudonyms(tmp_path: Path) -> None:
    """Issue 12, item 10: free-text vendor fields (a device called "Jane Doe home PC", a group path, an account
    number) never reach an insurer in clear, and one string has one pseudonym wherever it appears."""
    from hygiene.evidence.keys import Pseudonymiser

    tenant = Tenant()
    tenant.users = [user("alice"), user("bob")]
    tenant.registrations = [registration("alice", capable=False), registration("bob", capable=False)]
    tenant.role_assignments = [("alice", GLOBAL_ADMIN, "user")]
    tenant.devices = [
        {
            "id": "d-jane",
            "deviceName": "Jane Doe home PC 111122223333",
            "operatingSystem": "Windows",
            "osVersion": "10.0.19045.5000",
            "complianceState": "noncompliant",
            "lastSyncDateTime": "2026-11-30T10:00:00Z",
            "userPrincipalName": "alice@contoso.test",
        },
        {  # a device named like the admin's address
            "id": "d-alice",
            "deviceName": "alice@contoso.test",
            "operatingSystem": "Windows",
            "osVersion": "10.0.19045.5000",
            "complianceState": "noncompliant",
            "lastSyncDateTime": "2026-11-30T10:00:00Z",
            "userPrincipalName": "alice@contoso.test",
        },
    ]
    files = _insurer_pack(tenant, tmp_path)
    key = (tmp_path / "data" / "evidence" / "pseudonym.key").read_bytes()
    alice = Pseudonymiser(key)("alice@contoso.test")
    for name, body in files.items():
        readable = _readable(name, body)
        for clear in (b"Jane", b"Doe", b"111122223333", b"alice@", b"contoso.test"):
            assert clear not in readable, f"{name} carries {clear!r}"
    report = json.loads(files["report.json"])
    names = {f["resource_name"] for r in report["results"] for f in r["findings"]}
    assert alice in names  # the device named like alice's address has alice's pseudonym
    mentions = " ".join(r.get("reason") or "" for r in report["results"])
    assert alice in mentions  # and so does every mention of her address in free text
    details = [f["detail"] for r in report["results"] for f in r["findings"] if f["resource_name"] == alice]
    # the tool's own words stay readable; the device's user is alice's pseudonym too
    assert any("Windows" in d and "out of support" in d and alice in d for d in details), details


def test_method_md_keeps_its_table_whatever_the_vendor_error_says(tmp_path: Path) -> None:
    """Issue 12, item 8: a vendor error message with `|`, a newline and a link cannot reshape the signed method."""
    tenant = Tenant()
    tenant.users = [user("alice")]
    tenant.errors["/deviceManagement/managedDevices"] = (
        500,
        "InternalServerError",
        "boom | forged | cells |\n# Forged heading\n[click](http://evil.example)\x1b[2J",
    )
    method = _insurer_pack(tenant, tmp_path)["method.md"].decode("utf-8")
    assert "\n# Forged heading" not in method and "\x1b" not in method
    assert re.search(r"(?<!\\)\]\(", method) is None  # no live link: brackets are escaped
    rows = [
        line for line in method.splitlines() if line.startswith("| m365.") and ("| yes |" in line or "| no: " in line)
    ]
    assert any(line.startswith("| m365.devices |") and "| no: " in line for line in rows)  # the error, in its cell
    assert rows and all(line.count("|") - line.count("\\|") == 5 for line in rows), [
        r for r in rows if r.count("|") - r.count("\\|") != 5
    ]


def test_lone_surrogate_in_a_vendor_name_is_replaced_at_the_source(tmp_path: Path) -> None:
    """Issue 12, item 5: `"\\ud800"` is valid JSON; one device named with it used to abort the whole scan when
    the snapshot was written. The source replaces it (U+FFFD) and the raw answer keeps the bytes as received."""
    from hygiene.snapshot_io import load_snapshot

    tenant = Tenant()
    tenant.users = [user("alice")]
    tenant.devices = [
        {
            "id": "d1",
            "deviceName": "LAPTOP-\ud800-\udfff",  # json.dumps writes these as \\ud800 and \\udfff escapes
            "operatingSystem": "Windows",
            "osVersion": "10.0.19045.5000",
            "complianceState": "compliant",
            "lastSyncDateTime": "2026-11-30T10:00:00Z",
            "userPrincipalName": "alice@contoso.test",
        }
    ]
    raw = tmp_path / "raw"
    snapshot_path = tmp_path / "snapshot.json.gz"
    save_snapshot(collect(tenant, raw_dir=raw), snapshot_path)
    devices = load_snapshot(snapshot_path).m365.devices  # type: ignore[union-attr]
    assert [d.name for d in devices] == ["LAPTOP-\ufffd-\ufffd"]
    assert any(b"\\ud800" in path.read_bytes() for path in raw.rglob("*") if path.is_file())
    _evaluate(snapshot_path, tmp_path / "out", "json,html,csv,md,ocsf")
