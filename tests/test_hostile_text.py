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
    assert result.exit_code in (0, 1), result.output
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

    from hygiene.answers import answer_sheet, load_questionnaire, render_answers_pdf
    from hygiene.evidence.pdf import render_summary_pdf
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
