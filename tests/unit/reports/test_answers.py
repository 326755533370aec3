"""The insurer answer sheet: answer rules, CSV and PDF rendering, questionnaire validation, evidence packs."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from hygiene.answers import (
    Question,
    Questionnaire,
    answer_sheet,
    build_answer_sheet,
    load_questionnaire,
    questionnaire_path,
)
from hygiene.errors import InputError
from hygiene.registry import Registry
from hygiene.reports.answers_csv import ANSWER_CSV_COLUMNS, render_answers_csv
from hygiene.reports.answers_pdf import render_answers_pdf
from hygiene.results import CheckResult, ScanReport, Status

FINISHED = datetime(2025, 3, 4, 10, 20, 30, tzinfo=UTC)


def result(check_id: str, status: str, assessed: int = 0, failing: int = 0, **extra: Any) -> CheckResult:
    platform = {"gws": "google"}.get(check_id.split(".")[0], check_id.split(".")[0])
    extra.setdefault("title", check_id)
    return CheckResult(
        check_id=check_id,
        area="mfa",
        platform=platform,
        severity="high",
        status=Status(status),
        assessed=assessed,
        failing=failing,
        **extra,
    )


def report(*results: CheckResult, platforms: tuple[str, ...] = ("m365", "google")) -> ScanReport:
    run = {"status": "ok", "started_at": FINISHED.isoformat(), "finished_at": FINISHED.isoformat()}
    return ScanReport.model_validate(
        {
            "tool_version": "0.0.0",
            "organisation_id": "acme",
            "organisation_name": "Acme Ltd",
            "scan_id": "scan-1",
            "started_at": FINISHED.isoformat(),
            "finished_at": FINISHED.isoformat(),
            "evaluated_at": FINISHED.isoformat(),
            "as_of": date(2025, 3, 4).isoformat(),
            "operator": "op",
            "profile": {"name": "sme-baseline", "title": "SME baseline"},
            "sources": {p: {"platform": p, **run} for p in platforms},
            "score": {"value": 50.0, "grade": "C", "coverage": 1.0},
            "results": [r.model_dump(mode="json") for r in results],
            "controls": {},
        }
    )


MFA = Question(
    id="mfa-email",
    question="Is MFA enforced on all email?",
    unit="accounts",
    checks={"m365": ["m365.mfa.enforced", "m365.mfa.legacy_auth_blocked"], "google": ["gws.mfa.enforced"]},
    settings=["m365.mfa.legacy_auth_blocked"],
)
SHEET = Questionnaire(id="test", title="Test", questions=[MFA])

LEGACY_OK = result("m365.mfa.legacy_auth_blocked", "pass", 1, 0)


def one(rep: ScanReport, **kwargs: Any) -> Any:
    (answer,) = answer_sheet(rep, SHEET, **kwargs)
    return answer


def test_yes_when_every_check_passes_or_is_accepted() -> None:
    a = one(
        report(
            result("m365.mfa.enforced", "accepted", 43, 2, accepted=2),
            LEGACY_OK,
            result("gws.mfa.enforced", "pass", 10, 0),
        )
    )
    assert a.answer == "Yes" and a.basis == "measured" and a.label == "Yes"
    # per platform, the legacy-protocol setting adds no account
    assert (
        a.population
        == "Microsoft 365: 43 of 43 accounts (2 risk-accepted); Google Workspace: 10 of 10 accounts, on 4 Mar 2025"
    )
    assert a.sentence == "Yes: every answering check passed, measured on Microsoft 365 and Google Workspace."
    assert a.scan_date == "2025-03-04T10:20:30Z"
    assert a.evidence_refs == ("E1", "E2", "E3")
    assert a.check_ids == ("m365.mfa.enforced", "m365.mfa.legacy_auth_blocked", "gws.mfa.enforced")
    assert a.gap == "" and a.remediation == "" and a.to_reach_yes == ()


def test_no_when_everything_fails_fully() -> None:
    a = one(
        report(
            result("m365.mfa.enforced", "fail", 5, 5, remediation="Enforce MFA with Conditional Access. Then more."),
            result("m365.mfa.legacy_auth_blocked", "fail", 1, 1, remediation="Block legacy authentication."),
            result("gws.mfa.enforced", "fail", 3, 3),
        )
    )
    assert a.answer == "No"
    assert a.population == "Microsoft 365: 0 of 5 accounts; Google Workspace: 0 of 3 accounts, on 4 Mar 2025"
    # the checks' own summaries, never a finding's text
    assert a.sentence == (
        "Not met: 5 of 5 Microsoft 365 accounts can sign in with a password alone; old email protocols that skip MFA"
        " are still allowed (Microsoft 365); 3 of 3 Google accounts can sign in with a password alone."
    )
    # the whole remediation of each, in its own section
    assert [s.action for s in a.to_reach_yes] == [
        "Enforce MFA with Conditional Access. Then more.",
        "Block legacy authentication.",
        "See the check in the report.",
    ]
    assert [s.refs for s in a.to_reach_yes] == [("E1",), ("E2",), ("E3",)]


def test_partially_when_some_fail() -> None:
    a = one(
        report(
            result("m365.mfa.enforced", "fail", 43, 2, remediation="Enforce MFA. Details."),
            LEGACY_OK,
            result("gws.mfa.enforced", "pass", 10, 0),
        )
    )
    assert a.answer == "Partially"
    assert a.population == "Microsoft 365: 41 of 43 accounts; Google Workspace: 10 of 10 accounts, on 4 Mar 2025"
    assert a.sentence == "Partly met: 2 of 43 Microsoft 365 accounts can sign in with a password alone."
    assert a.remediation == "Enforce MFA. Details."


def test_never_yes_when_a_pass_carries_a_reservation() -> None:
    """Security defaults require MFA of non-admins only "when necessary": the MFA question must not say Yes."""
    reservation = "30 of 34 members are covered only by security defaults, which require MFA 'when necessary'"
    a = one(
        report(
            result(
                "m365.mfa.enforced", "pass", 34, 0, reservation=reservation, remediation="Create a CA policy. More."
            ),
            LEGACY_OK,
            result("gws.mfa.enforced", "pass", 10, 0),
        )
    )
    assert a.answer == "Partially"
    assert a.population == "Microsoft 365: 34 of 34 accounts; Google Workspace: 10 of 10 accounts, on 4 Mar 2025"
    assert a.sentence == f"Partly met: {reservation} (Microsoft 365)."
    assert a.remediation == "Create a CA policy. More."


@pytest.mark.parametrize("status", ["not_assessed", "error"])
def test_never_yes_with_a_check_not_assessed(status: str) -> None:
    a = one(
        report(
            result("m365.mfa.enforced", "pass", 43, 0),
            result("m365.mfa.legacy_auth_blocked", status, reason="no permission"),
            result("gws.mfa.enforced", "pass", 10, 0),
        )
    )
    assert a.answer == "Partially"
    assert a.population.startswith("Microsoft 365: 43 of 43 accounts, part not assessed; Google Workspace: 10 of 10")
    assert a.sentence.startswith(
        "Partly met: \u201cm365.mfa.legacy_auth_blocked\u201d was not assessed on Microsoft 365: "
    )
    assert "again" in a.remediation


def test_never_yes_when_a_check_of_a_scanned_platform_is_missing() -> None:
    # the org uses Google but gws.mfa.enforced has no result (disabled by the profile, say)
    a = one(report(result("m365.mfa.enforced", "pass", 43, 0), LEGACY_OK))
    assert a.answer == "Partially"
    assert "did not run" in a.gap and "gws.mfa.enforced" in a.check_ids
    assert a.to_reach_yes[0].action == "Enable gws.mfa.enforced in the scan profile and scan again."
    # declared platforms of the org count too, scanned or not
    b = one(
        report(result("m365.mfa.enforced", "pass", 43, 0), LEGACY_OK, platforms=("m365",)),
        org_platforms=["m365", "google"],
    )
    assert b.answer == "Partially"
    # a platform the org does not use does not apply
    c = one(report(result("m365.mfa.enforced", "pass", 43, 0), LEGACY_OK, platforms=("m365",)))
    assert c.answer == "Yes"


def test_not_assessed_without_an_in_scope_check() -> None:
    a = one(report(platforms=("aws",)))
    assert a.answer == "Not assessed"
    assert "(Microsoft 365 and Google Workspace) was part of this scan" in a.gap and a.check_ids == ()
    b = one(
        report(
            result("m365.mfa.enforced", "not_assessed"),
            result("m365.mfa.legacy_auth_blocked", "error"),
            platforms=("m365",),
        )
    )
    assert b.answer == "Not assessed"
    assert b.population == "Microsoft 365: not assessed, on 4 Mar 2025"


def test_attested_results_say_so() -> None:
    a = one(
        report(
            result("m365.mfa.enforced", "pass", 1, 0, basis="attested", attestation_ids=["att-1"]),
            LEGACY_OK,
            platforms=("m365",),
        )
    )
    assert a.answer == "Yes" and a.basis == "measured and attested"
    assert a.sentence.endswith("measured on Microsoft 365, part of it on the organisation's attestation.")
    # the legacy-protocol setting is measured, the accounts' MFA attested: no count is made of a statement
    assert a.population == "Microsoft 365: attested by the organisation, on 4 Mar 2025"
    c = one(
        report(
            result("m365.mfa.enforced", "pass", 1, 0, basis="attested"),
            result("gws.mfa.enforced", "pass", 10, 0),
            result("m365.mfa.legacy_auth_blocked", "pass", 1, 0),
        ),
        org_platforms=["m365", "google"],
    )
    assert c.populations[1].text() == "Google Workspace: 10 of 10 accounts"
    b = one(report(result("m365.mfa.enforced", "pass", 1, 0, basis="attested"), platforms=("m365",)), org_platforms=[])
    assert b.answer == "Yes" and b.basis == "attested" and b.label == "Yes (attested)"
    assert b.population == "Microsoft 365: attested by the organisation, on 4 Mar 2025"


def test_csv_content_and_injection_guard() -> None:
    rep = report(result("m365.mfa.enforced", "fail", 3, 1, remediation='=HYPERLINK("http://x") now.'), LEGACY_OK)
    evil = Questionnaire(id="t", title="T", questions=[MFA.model_copy(update={"question": "=cmd|' /C calc'!A0"}), MFA])
    text = render_answers_csv(answer_sheet(rep, evil, org_platforms=["m365"]))
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == ANSWER_CSV_COLUMNS
    assert rows[1][1] == "'=cmd|' /C calc'!A0"
    head = rows[0]
    assert rows[1][head.index("answer")] == "Partially"
    assert rows[1][head.index("population_m365")] == "2 of 3 accounts"
    assert rows[1][head.index("population_google")] == ""
    assert rows[1][head.index("to_reach_yes")].startswith("1 of 3 Microsoft 365 accounts can sign in")
    assert '=HYPERLINK("http://x") now.' in rows[1][head.index("to_reach_yes")]
    assert not [cell for row in rows for cell in row if cell.startswith(("=", "+", "-", "@"))]
    assert rows[2][1] == MFA.question


def test_pdf_is_deterministic() -> None:
    answers = answer_sheet(report(result("m365.mfa.enforced", "fail", 3, 1), LEGACY_OK), SHEET)
    first = render_answers_pdf(answers, title="Answers", organisation="Acme Ltd")
    assert first.startswith(b"%PDF")
    assert first == render_answers_pdf(answers, title="Answers", organisation="Acme Ltd")


def known_checks() -> dict[str, str]:
    return {c.meta.id: c.meta.platform for c in Registry.load(entry_points_too=False)}


def test_builtin_questionnaire_references_existing_checks() -> None:
    q = load_questionnaire(known_checks=known_checks())
    assert questionnaire_path().is_file()
    assert len(q.questions) >= 10 and len({x.id for x in q.questions}) == len(q.questions)
    assert all(x.check_ids() for x in q.questions)


def test_questionnaire_with_bad_check_id_is_rejected(tmp_path: Path) -> None:
    text = questionnaire_path().read_text(encoding="utf-8").replace("m365.mfa.admins", "m365.mfa.nope", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"unknown check id m365\.mfa\.nope"):
        load_questionnaire(bad, known_checks=known_checks())
    wrong_platform = tmp_path / "platform.yaml"
    wrong_platform.write_text(
        questionnaire_path()
        .read_text(encoding="utf-8")
        .replace("google: [gws.mfa.enforced]", "aws: [gws.mfa.enforced]"),
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="listed under aws"):
        load_questionnaire(wrong_platform, known_checks=known_checks())
    missing = tmp_path / "missing.yaml"
    missing.write_text("id: x\ntitle: X\nquestions: []\n", encoding="utf-8")
    with pytest.raises(InputError):
        load_questionnaire(missing)


def test_not_assessed_names_the_real_fix() -> None:
    """Google has no backup API: only an attestation of the backup product and the last restore test can answer,
    never a permission. A missing permission names the permission; the reason kind decides."""
    backup = Question(
        id="backups",
        question="Are backups taken?",
        unit="resources",
        checks={"m365": ["m365.backup.enabled"], "google": ["gws.backup.configured"]},
    )
    rep = report(
        result(
            "m365.backup.enabled",
            "not_assessed",
            reason_kind="permission",
            permissions=["BackupRestore-Configuration.Read.All"],
            remediation="Either turn on Microsoft 365 Backup, or record your product as an attestation.",
        ),
        result(
            "gws.backup.configured",
            "not_assessed",
            reason_kind="api_gap",
            remediation="Use a Google Workspace backup product (covering Gmail, Drive and shared drives), test a "
            "restore, and record it as an attestation for gws.backup.configured in the exceptions file (statement, "
            "date of the last restore test, who attests, evidence).",
        ),
    )
    (a,) = answer_sheet(rep, Questionnaire(id="t", title="T", questions=[backup]))
    assert a.answer == "Not assessed" and a.basis == ""
    assert a.population == "Microsoft 365: not assessed; Google Workspace: not assessed, on 4 Mar 2025"
    m365, google = a.to_reach_yes
    assert m365.action.startswith("Grant the scanner BackupRestore-Configuration.Read.All on Microsoft 365 and scan")
    assert m365.action.endswith("Or: Either turn on Microsoft 365 Backup, or record your product as an attestation.")
    assert "grant" not in google.action.casefold() and "permission" not in google.action.casefold()
    assert "backup product" in google.action and "date of the last restore test" in google.action
    assert "no Google Workspace API shows it and no attestation was recorded" in google.gap


def test_never_yes_on_an_empty_population() -> None:
    """A pass over nothing (no vault found) is no measured Yes."""
    vaults = Question(
        id="v", question="Immutable?", unit="backup vaults", checks={"aws": ["aws.backup.vault_immutable"]}
    )
    (a,) = answer_sheet(
        report(result("aws.backup.vault_immutable", "pass", 0, 0), platforms=("aws",)),
        Questionnaire(id="t", title="T", questions=[vaults]),
    )
    assert a.answer == "Partially" and a.population == "AWS: no backup vaults to measure, on 4 Mar 2025"
    assert "no backup vaults were found to measure on AWS" in a.sentence


def finding(resource: str) -> dict[str, str]:
    return {"resource_id": resource, "resource_name": resource, "detail": "d"}


def test_items_within_another_population_are_counted_once() -> None:
    """Managed instances are among the running ones: an instance failing both checks is one failing device."""
    patch = Question(
        id="p",
        question="Patched?",
        unit="devices",
        checks={"aws": ["aws.patch.compliance", "aws.patch.ssm_managed"]},
        within=["aws.patch.compliance"],
    )
    rep = report(
        result("aws.patch.compliance", "fail", 4, 2, findings=[finding("i-1"), finding("i-2")]),
        result("aws.patch.ssm_managed", "fail", 7, 3, findings=[finding("i-2"), finding("i-5"), finding("i-6")]),
        platforms=("aws",),
    )
    (a,) = answer_sheet(rep, Questionnaire(id="t", title="T", questions=[patch]))
    assert a.populations[0].assessed == 7 and a.populations[0].passing == 3  # i-1, i-2, i-5, i-6 fail


def test_questionnaire_settings_must_be_its_checks() -> None:
    bad = Questionnaire(id="t", title="T", questions=[MFA.model_copy(update={"settings": ["aws.root.mfa"]})])
    with pytest.raises(ValueError, match=r"aws\.root\.mfa is not one of its checks"):
        bad.validate_checks(known_checks())


def longest_report() -> ScanReport:
    """Every answering check of the built-in questionnaire fails (the longest sentences and remediation), one
    Google backup not assessed, one pass with a reservation."""
    metas = {c.meta.id: c.meta for c in Registry.load(entry_points_too=False)}
    results = []
    for check_id in load_questionnaire().questions[0].check_ids() + [
        i for q in load_questionnaire().questions[1:] for i in q.check_ids()
    ]:
        if check_id in {r.check_id for r in results}:
            continue
        meta = metas[check_id]
        extra: dict[str, Any] = {"remediation": meta.remediation}
        if check_id == "gws.backup.configured":
            results.append(result(check_id, "not_assessed", reason_kind="api_gap", **extra))
        elif check_id == "m365.mfa.enforced":
            reservation = "30 of 34 members are covered only by security defaults, which require MFA 'when necessary'"
            results.append(result(check_id, "pass", 34, 0, reservation=reservation, **extra))
        else:
            results.append(result(check_id, "fail", 123_456, 65_432, **extra))
    for r in results:
        r.title = metas[r.check_id].title
    return report(*results, platforms=("m365", "google", "aws"))


def flat(text: str) -> str:
    return " ".join(text.split())


def test_pdf_carries_every_text_whole_with_evidence_and_signer_block() -> None:
    from pypdf import PdfReader

    sheet = build_answer_sheet(longest_report(), load_questionnaire())
    pdf = render_answers_pdf(sheet)
    text = flat(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    longest = max(sheet.answers, key=lambda a: len(a.sentence) + len(a.remediation))
    assert len(longest.remediation) > 800
    for a in sheet.answers:
        assert flat(a.question) in text and flat(a.sentence) in text  # wrapped, never cut
        for line in a.population.split("; "):
            assert flat(line.split(", on ")[0]) in text
        for step in a.to_reach_yes:
            assert flat(step.action) in text, step.action
    assert "To reach Yes" in text and "Signed for the applicant" in text
    for label in ("Name", "Role", "Date", "Signature"):
        assert f"{label} ____" in text
    for item in sheet.evidence:
        assert f"{item.ref} {item.check_id}" in text
    assert "123,456" in text and "scan-1" in text
    # the Google backup needs an attestation: no permission is offered for it
    backup = next(a for a in sheet.answers if a.question_id == "backups-weekly")
    google = next(s for s in backup.to_reach_yes if s.platform == "Google Workspace")
    assert "attestation" in google.action and "grant" not in google.action.casefold()


def test_csv_one_row_per_question_with_platform_columns() -> None:
    sheet = build_answer_sheet(longest_report(), load_questionnaire())
    rows = list(csv.DictReader(io.StringIO(render_answers_csv(sheet))))
    assert [r["question_id"] for r in rows] == [q.id for q in load_questionnaire().questions]
    assert set(rows[0]) == set(ANSWER_CSV_COLUMNS)
    email = rows[0]
    assert email["answer"] == "Partially" and email["basis"] == "measured"
    assert email["population_m365"] == "34 of 34 accounts" and email["population_aws"] == ""
    assert email["population_google"] == "58,024 of 123,456 accounts"
    assert email["evidence_refs"] == "E1 E2 E3" and email["scan_id"] == "scan-1"
    assert email["measured_on"] == "4 Mar 2025"
    assert len(email["to_reach_yes"].splitlines()) == 3


def test_part_attested_platform_counts_the_measured_items() -> None:
    admins = Question(
        id="a", question="MFA on admins?", unit="accounts", checks={"aws": ["aws.root.mfa", "aws.iam.console_mfa"]}
    )
    rep = report(
        result("aws.root.mfa", "pass", 1, 0, basis="attested"),
        result("aws.iam.console_mfa", "fail", 8, 2),
        platforms=("aws",),
    )
    (a,) = answer_sheet(rep, Questionnaire(id="t", title="T", questions=[admins]))
    assert a.answer == "Partially" and a.basis == "measured and attested"
    assert a.population == "AWS: 6 of 8 accounts, part attested, on 4 Mar 2025"


def test_a_partial_or_incomplete_scan_says_so_in_both_pdfs() -> None:
    from pypdf import PdfReader

    from hygiene.reports.summary_pdf import render_summary_pdf
    from hygiene.results import ScanScope, ScanSelection

    rep = longest_report()
    rep.scope = ScanScope(
        partial=True,
        incomplete=True,
        selection=ScanSelection(checks=["m365.mfa.*"], platforms=["m365"], platforms_not_scanned=["google"]),
        unread_platforms={"m365": "authentication failed"},
    )
    sheet = build_answer_sheet(rep, load_questionnaire())
    for pdf in (render_answers_pdf(sheet), render_summary_pdf(rep, "insurer", lambda s: s)):
        text = flat(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
        assert "Partial scan: checks m365.mfa.*; platforms m365; not scanned: google (never a baseline)" in text
        assert "Incomplete scan: could not read m365: authentication failed" in text
    full = build_answer_sheet(longest_report(), load_questionnaire())
    text = flat(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(render_answers_pdf(full))).pages))
    assert "Partial scan" not in text and "Incomplete scan" not in text
