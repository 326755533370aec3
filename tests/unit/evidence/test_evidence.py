"""Signed evidence packs: export from a real sandbox scan, data minimisation, reproducibility, verification."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import entries, export
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hygiene import snapshot_io
from hygiene.answers import build_answer_sheet, load_questionnaire
from hygiene.cli import main
from hygiene.demo import run_demo
from hygiene.evidence import export_pack, verify_pack
from hygiene.evidence.keys import public_pem
from hygiene.reports.answers_csv import render_answers_csv
from hygiene.results import ScanReport


def personal_strings(scan_dir: Path) -> set[str]:
    """User names, addresses and device names the scan knows: user and device resource names of findings (not
    licence SKUs or workloads such as "Exchange") and every e-mail address in the report."""
    import re

    report = ScanReport.model_validate_json((scan_dir / "report.json").read_bytes())
    names = {
        f.resource_name for r in report.results for f in r.findings if "@" in f.resource_name or r.area == "patching"
    }
    text = (scan_dir / "report.json").read_text(encoding="utf-8")
    names |= set(re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text))
    return {n for n in names if len(n) >= 4}


def rewrite(pack: Path, target: Path, change: dict[str, bytes | None]) -> Path:
    """A copy of ``pack`` with entries replaced (bytes), removed (None) or added."""
    files = entries(pack)
    for name, body in change.items():
        if body is None:
            files.pop(name, None)
        else:
            files[name] = body
    with zipfile.ZipFile(target, "w") as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return target


def test_insurer_and_customer_packs_carry_no_personal_data(scan_dir: Path, data_dir: Path) -> None:
    known = personal_strings(scan_dir)
    assert any("@" in n for n in known) and any("@" not in n for n in known)  # users and devices
    for audience in ("insurer", "customer"):
        files = entries(export(data_dir, audience))
        assert set(files) == {
            "summary.pdf",
            "answers.csv",
            "answers.pdf",
            "frameworks.json",
            "report.json",
            "findings.csv",
            "exceptions.json",
            "method.md",
            "manifest.json",
            "manifest.sig",
            "signing-key.pub.pem",
        }
        for name, body in files.items():
            for value in known:
                assert value.encode("utf-8") not in body, f"{audience}/{name} contains {value!r}"
            assert b"@northwind" not in body
        report = ScanReport.model_validate_json(files["report.json"])
        findings = [f for r in report.results for f in r.findings]
        assert findings and all(f.resource_id.startswith("res-") and len(f.resource_id) == 20 for f in findings)
        assert all(f.resource_name.startswith("res-") and len(f.resource_name) == 20 for f in findings)
        original = ScanReport.model_validate_json((scan_dir / "report.json").read_bytes())
        assert [r.failing for r in report.results] == [r.failing for r in original.results]  # counts intact
        method = files["method.md"].decode()
        assert original.scan_id in method and "Read-only permissions used" in method
        assert "User.Read.All" in method or "admin.directory.user.readonly" in method
    key = data_dir / "evidence" / "pseudonym.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (data_dir / "evidence" / "signing-key.pem").stat().st_mode & 0o777 == 0o600


def test_pseudonyms_are_stable_and_pdf_reproducible(data_dir: Path) -> None:
    first, second = entries(export(data_dir, "insurer", "a.zip")), entries(export(data_dir, "insurer", "b.zip"))
    assert first["report.json"] == second["report.json"]
    assert first["findings.csv"] == second["findings.csv"]
    assert first["summary.pdf"] == second["summary.pdf"]
    assert first["summary.pdf"].startswith(b"%PDF")
    assert first["manifest.sig"] == second["manifest.sig"]
    assert (data_dir.parent / "a.zip").read_bytes() == (data_dir.parent / "b.zip").read_bytes()


def test_pseudonyms_are_stable_across_scans(tmp_path: Path) -> None:
    """Two scans of the same sandbox, one data dir: the same resource gets the same pseudonym."""
    data = tmp_path / "data"
    run_demo(data, with_aws=False)
    one = ScanReport.model_validate_json(entries(export(data, "insurer", "one.zip"))["report.json"])
    run_demo(data / "second", with_aws=False)
    # record the second scan into the same history
    from hygiene.history import HistoryStore, sqlite_url

    second = ScanReport.model_validate_json((data / "second" / "report.json").read_bytes())
    with HistoryStore(sqlite_url(data / "history.sqlite3")) as store:
        store.record(second, {"json": data / "second" / "report.json", "csv": data / "second" / "findings.csv"})
    two = ScanReport.model_validate_json(entries(export(data, "insurer", "two.zip"))["report.json"])
    assert one.scan_id != two.scan_id
    ids = lambda r: {(x.check_id, f.resource_id) for x in r.results for f in x.findings}  # noqa: E731
    assert ids(one) & ids(two)
    assert ids(one) == ids(two)


def test_cli_export_reads_the_history_at_the_database_url(scan_dir: Path, history_url: str, tmp_path: Path) -> None:
    """``hygiene evidence export`` without --data-dir: the scan from HYGIENE_DATABASE_URL (SQLite or PostgreSQL),
    signed with the key of the default data folder; the pack verifies and carries that scan."""
    from hygiene.history import HistoryStore

    report = ScanReport.model_validate_json((scan_dir / "report.json").read_bytes())
    with HistoryStore(history_url) as store:
        store.record(report, {"json": scan_dir / "report.json", "csv": scan_dir / "findings.csv"})
    pack = tmp_path / "pack.zip"
    outcome = CliRunner().invoke(main, ["evidence", "export", "northwind", "--output", str(pack), "--json"])
    assert outcome.exit_code == 0, outcome.output
    assert json.loads(outcome.stdout)["scan_id"] == report.scan_id
    assert verify_pack(pack).ok
    assert ScanReport.model_validate_json(entries(pack)["report.json"]).scan_id == report.scan_id


def test_internal_pack_carries_everything(scan_dir: Path, data_dir: Path) -> None:
    files = entries(export(data_dir, "internal"))
    assert any(name.startswith("raw/m365/") for name in files)
    assert "snapshot.json.gz" in files
    assert files["report.json"] == (scan_dir / "report.json").read_bytes()
    assert b"@northwind" in files["findings.csv"]


def test_verify_good_pack_and_cli(data_dir: Path) -> None:
    pack = export(data_dir, "insurer")
    result = verify_pack(pack)
    assert result.ok, result.problems
    assert any("only against the key inside the pack" in n for n in result.notes)
    assert verify_pack(pack, Path(str(pack) + ".pub.pem")).ok
    runner = CliRunner()
    res = runner.invoke(main, ["evidence", "verify", str(pack), "--key", str(pack) + ".pub.pem"])
    assert res.exit_code == 0, res.output
    assert "OK" in res.output
    res = runner.invoke(main, ["evidence", "key", "--data-dir", str(data_dir)])
    assert res.exit_code == 0 and result.key_fingerprint in res.output


def test_cli_export(data_dir: Path) -> None:
    out = data_dir.parent / "cli.zip"
    res = CliRunner().invoke(
        main,
        [
            "evidence",
            "export",
            "northwind",
            "--audience",
            "customer",
            "--output",
            str(out),
            "--data-dir",
            str(data_dir),
        ],
    )
    assert res.exit_code == 0, res.output
    assert out.is_file() and Path(str(out) + ".pub.pem").is_file()
    res = CliRunner().invoke(main, ["evidence", "export", "nobody", "--data-dir", str(data_dir)])
    assert res.exit_code == 2 and "nobody" in res.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"method.md": b"# rewritten\n"}, "method.md: SHA-256 differs"),
        ({"exceptions.json": None}, "exceptions.json: missing"),
        ({"extra.txt": b"hello"}, "extra.txt: extra file"),
    ],
    ids=["tampered", "removed", "added"],
)
def test_verify_detects_changes(data_dir: Path, change: dict[str, bytes | None], message: str) -> None:
    pack = export(data_dir, "insurer")
    bad = rewrite(pack, data_dir.parent / "bad.zip", change)
    result = verify_pack(bad)
    assert not result.ok
    assert any(message in p for p in result.problems), result.problems
    res = CliRunner().invoke(main, ["evidence", "verify", str(bad)])
    assert res.exit_code == 1 and message in res.output


def test_verify_wrong_key_and_forged_manifest(data_dir: Path, tmp_path: Path) -> None:
    pack = export(data_dir, "insurer")
    other = tmp_path / "other.pub.pem"
    other.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    result = verify_pack(pack, other)
    assert any("signature does not match" in p for p in result.problems)
    assert any("not the key given with --key" in n for n in result.notes)
    res = CliRunner().invoke(main, ["evidence", "verify", str(pack), "--key", str(other)])
    assert res.exit_code == 1 and "signature does not match" in res.output
    # a forger who rewrites a file and the manifest, and re-signs with their own key inside the pack
    forger = Ed25519PrivateKey.generate()
    files = entries(pack)
    manifest = json.loads(files["manifest.json"])
    files["method.md"] = b"forged\n"
    import hashlib

    for f in manifest["files"]:
        if f["path"] == "method.md":
            f["sha256"], f["size"] = hashlib.sha256(b"forged\n").hexdigest(), 7
    mbytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    forged = rewrite(
        pack,
        tmp_path / "forged.zip",
        {"manifest.json": mbytes, "manifest.sig": forger.sign(mbytes), "method.md": b"forged\n"},
    )
    assert not verify_pack(forged, Path(str(pack) + ".pub.pem")).ok  # origin check catches it


@pytest.mark.parametrize("name", ["../evil", "/etc/evil", "a/../../evil"])
def test_verify_rejects_path_traversal(data_dir: Path, name: str) -> None:
    pack = export(data_dir, "insurer")
    bad = rewrite(pack, data_dir.parent / "evil.zip", {name: b"x"})
    result = verify_pack(bad)
    assert any(name in p and "rejected entry" in p for p in result.problems), result.problems
    assert not (data_dir.parent.parent / "evil").exists()


def test_verify_rejects_symlink(data_dir: Path) -> None:
    pack = export(data_dir, "insurer")
    files = entries(pack)
    bad = data_dir.parent / "link.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        for n, body in files.items():
            archive.writestr(n, body)
        info = zipfile.ZipInfo("link")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
    assert any("symbolic link" in p for p in verify_pack(bad).problems)


def test_verify_unreadable_input(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    res = CliRunner().invoke(main, ["evidence", "verify", str(junk)])
    assert res.exit_code == 2 and "not a readable zip" in res.output
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("manifest.json", b"{not json")
        archive.writestr("manifest.sig", b"")
    assert CliRunner().invoke(main, ["evidence", "verify", str(empty)]).exit_code == 2


def test_export_refuses_changed_report(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_demo(data, with_aws=False)
    with (data / "findings.csv").open("ab") as handle:
        handle.write(b"tampered\r\n")
    res = CliRunner().invoke(
        main, ["evidence", "export", "northwind", "--data-dir", str(data), "--output", str(tmp_path / "p.zip")]
    )
    assert res.exit_code == 2 and "changed since" in res.output


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_verifies_the_pack(data_dir: Path, tmp_path: Path) -> None:
    pack = export(data_dir, "insurer")
    folder = tmp_path / "unzipped"
    folder.mkdir()
    for name, body in entries(pack).items():
        (folder / name).write_bytes(body)
    cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "signing-key.pub.pem", "-rawin"]
    cmd += ["-in", "manifest.json", "-sigfile", "manifest.sig"]
    done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Signature Verified Successfully" in done.stdout
    (folder / "manifest.json").write_bytes((folder / "manifest.json").read_bytes().replace(b"insurer", b"internal"))
    assert subprocess.run(cmd, cwd=folder, capture_output=True, check=False).returncode != 0
    if shutil.which("sha256sum"):
        manifest = json.loads(entries(pack)["manifest.json"])
        listing = "".join(f"{f['sha256']}  {f['path']}\n" for f in manifest["files"])
        check = subprocess.run(["sha256sum", "-c", "-"], cwd=folder, input=listing, text=True, capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_pack_zip_is_stream_only(data_dir: Path) -> None:
    """verify never writes: the zip is read from a file; nothing appears beside it."""
    pack = export(data_dir, "insurer")
    before = sorted(p.name for p in pack.parent.iterdir())
    verify_pack(pack)
    assert sorted(p.name for p in pack.parent.iterdir()) == before
    assert io.BytesIO(pack.read_bytes()).getbuffer().nbytes > 0


def test_pdfs_state_the_key_figures(data_dir: Path, scan_dir: Path) -> None:
    import io
    import json

    from pypdf import PdfReader

    files = entries(export(data_dir, "insurer"))
    report = json.loads(files["report.json"])
    summary = "".join(page.extract_text() for page in PdfReader(io.BytesIO(files["summary.pdf"])).pages)
    assert f"Score {report['score']['value']} / 100, grade {report['score']['grade']}" in summary
    assert "Microsoft 365 mailboxes, OneDrive and SharePoint are backed up" in summary  # tool text stays readable
    assert report["scan_id"] in summary.replace("\n", "")
    answers = "".join(page.extract_text() for page in PdfReader(io.BytesIO(files["answers.pdf"])).pages)
    assert "MFA" in answers and ("Partially" in answers or "No" in answers)


def test_pack_carries_framework_coverage_tables(data_dir: Path) -> None:
    import json

    tables = json.loads(entries(export(data_dir, "insurer"))["frameworks.json"])
    assert {"cyber-essentials", "cis-v8.1", "nist-csf-2.0", "iso-27001-2022", "essential-eight"} <= set(tables)
    ce = {c["id"]: c for c in tables["cyber-essentials"]["controls"]}
    assert ce["A7.17"]["status"] == "not met"  # MFA is not enforced for everyone in Northwind
    assert ce["A4.1"]["status"] == "not covered by automated checks"  # firewalls: no API can see them


def test_verify_reports_hostile_entry_names_on_one_line(data_dir: Path, tmp_path: Path) -> None:
    """A forged pack can name an entry with a newline or an escape sequence: each problem stays one inert line."""
    pack = export(data_dir, "insurer")
    forged = rewrite(pack, tmp_path / "forged.zip", {"si\ngning\x1b[2J.pem": b"x"})
    result = verify_pack(forged)
    assert not result.ok
    assert any("extra file" in p for p in result.problems)
    assert all("\n" not in p and "\x1b" not in p for p in result.problems), result.problems


EXTRA_CHECK = """
from hygiene.checkapi import CheckContext, Outcome, check


@check(
    id="acme.mfa.extra",
    title="An organisation's own MFA check",
    area="mfa",
    platform="m365",
    severity="low",
    requires=("m365.users",),
    remediation="none",
    frameworks={"cyber-essentials": ("A7.17",)},
)
def extra(ctx: CheckContext) -> Outcome:
    return Outcome(assessed=1)
"""


def test_pack_frameworks_follow_the_checks_the_scan_ran(tmp_path: Path) -> None:
    """A check from an extra folder (``--checks-dir``, ``checks.extra_dirs``) carries its framework ids in its
    result: the pack's coverage tables list it under its control, as the scan's report does."""
    from hygiene.config import load_config
    from hygiene.demo import SECRET_ENV, write_demo_config
    from hygiene.scan import ScanOptions, run_scan
    from hygiene_sandbox import Sandbox, northwind

    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "acme.py").write_text(EXTRA_CHECK, encoding="utf-8")
    data = tmp_path / "data"
    with Sandbox(northwind()) as sandbox:
        config = load_config(write_demo_config(tmp_path / "cfg", sandbox))
        outcome = run_scan(
            config,
            ScanOptions(
                output_dir=data / "scan",
                extra_check_dirs=[extra],
                environ={SECRET_ENV: sandbox.client_secret},
                history=data / "history.sqlite3",
            ),
        )
    assert "acme.mfa.extra" in {r.check_id for r in outcome.report.results}
    pack = export_pack("northwind", data_dir=data, audience="internal", output=tmp_path / "pack.zip")
    tables = json.loads(entries(pack.path)["frameworks.json"])
    a717 = next(c for c in tables["cyber-essentials"]["controls"] if c["id"] == "A7.17")
    assert "acme.mfa.extra" in {c["check_id"] for c in a717["checks"]}


def test_evidence_pack_contains_matching_answers(scan_dir: Path, data_dir: Path) -> None:
    original = ScanReport.model_validate_json((scan_dir / "report.json").read_bytes())
    expected = render_answers_csv(build_answer_sheet(original, load_questionnaire()))
    for audience in ("insurer", "internal"):
        files = entries(export(data_dir, audience))
        assert files["answers.pdf"].startswith(b"%PDF")
        body = files["answers.csv"].decode("utf-8-sig")
        assert body == expected  # counts only: the pseudonymised report gives the same answers
        rows = list(csv.DictReader(io.StringIO(body)))
        assert [r["question_id"] for r in rows] == [q.id for q in load_questionnaire().questions]
        assert all(r["answer"] in ("Yes", "No", "Partially", "Not assessed") for r in rows)
        assert all(r["scan_id"] == original.scan_id for r in rows)
    manifest = files["manifest.json"].decode()
    assert '"path":"answers.csv"' in manifest and '"path":"answers.pdf"' in manifest


@pytest.mark.parametrize("audience", ["insurer", "customer"])
def test_a_snapshot_over_the_size_limit_is_refused(
    data_dir: Path, audience: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pack reads the snapshot through snapshot_io, within its limit (an over-large one is no pack, not a pack
    with less pseudonymised)."""
    monkeypatch.setattr(snapshot_io, "MAX_SNAPSHOT_BYTES", 1000)
    out = data_dir.parent / "refused.zip"
    args = ["evidence", "export", "northwind", "--audience", audience, "--output", str(out)]
    result = CliRunner().invoke(main, [*args, "--data-dir", str(data_dir)])
    assert result.exit_code == 2, result.output
    assert "snapshot.json.gz: snapshot is larger than the limit of 1000 bytes (uncompressed)" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not out.exists()


def test_insurer_answer_sheet_carries_only_the_tool_vocabulary(data_dir: Path) -> None:
    """The answer sheet's text passes the packs' allow-list: redacting it again changes nothing (every word is the
    tool's own, a short number or a pseudonym)."""
    from hygiene.evidence.pack import Redactor

    files = entries(export(data_dir, "insurer"))
    redactor = Redactor(lambda value: "res-0000000000000000", json.loads(files["report.json"]))
    rows = list(csv.DictReader(io.StringIO(files["answers.csv"].decode("utf-8-sig"))))
    assert any(r["to_reach_yes"] for r in rows)
    for row in rows:
        for column, cell in row.items():
            if column not in ("scan_id", "scan_date", "evidence_refs"):  # the tool's own ids, times and references
                assert redactor.text(cell) == cell, (column, cell)
