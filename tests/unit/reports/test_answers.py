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
    return CheckResult(
        check_id=check_id,
        title=check_id,
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
    assert a.answer == "Yes"
    assert a.population == "54 of 54 assessed accounts pass (2 risk-accepted)"
    assert a.scan_date == "2025-03-04T10:20:30Z"
    assert a.evidence == "scan scan-1: m365.mfa.enforced, m365.mfa.legacy_auth_blocked, gws.mfa.enforced"
    assert a.gap == "" and a.remediation == ""


def test_no_when_everything_fails_fully() -> None:
    a = one(
        report(
            result("m365.mfa.enforced", "fail", 5, 5, remediation="Enforce MFA with Conditional Access. Then more."),
            result("m365.mfa.legacy_auth_blocked", "fail", 1, 1, remediation="Block legacy authentication."),
            result("gws.mfa.enforced", "fail", 3, 3),
        )
    )
    assert a.answer == "No"
    assert a.population == "0 of 9 assessed accounts pass"
    assert a.gap.startswith("5 of 5 accounts fail m365.mfa.enforced; 1 of 1 accounts fail")
    assert a.remediation == "Enforce MFA with Conditional Access. Block legacy authentication."


def test_partially_when_some_fail() -> None:
    a = one(
        report(
            result("m365.mfa.enforced", "fail", 43, 2, remediation="Enforce MFA. Details."),
            LEGACY_OK,
            result("gws.mfa.enforced", "pass", 10, 0),
        )
    )
    assert a.answer == "Partially"
    assert a.population == "52 of 54 assessed accounts pass"
    assert a.gap == "2 of 43 accounts fail m365.mfa.enforced."
    assert a.remediation == "Enforce MFA."


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
    assert a.population == "45 of 45 assessed accounts pass"
    assert a.gap == f"The pass of m365.mfa.enforced carries a reservation: {reservation}."
    assert a.remediation == "Create a CA policy."


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
    assert "not assessed: m365.mfa.legacy_auth_blocked" in a.population
    assert a.gap == "The scan could not assess m365.mfa.legacy_auth_blocked."
    assert "scan again" in a.remediation


def test_never_yes_when_a_check_of_a_scanned_platform_is_missing() -> None:
    # the org uses Google but gws.mfa.enforced has no result (disabled by the profile, say)
    a = one(report(result("m365.mfa.enforced", "pass", 43, 0), LEGACY_OK))
    assert a.answer == "Partially"
    assert "gws.mfa.enforced" in a.gap and "gws.mfa.enforced" in a.evidence
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
    assert "google, m365" in a.gap and a.check_ids == ()
    b = one(
        report(
            result("m365.mfa.enforced", "not_assessed"),
            result("m365.mfa.legacy_auth_blocked", "error"),
            platforms=("m365",),
        )
    )
    assert b.answer == "Not assessed"
    assert b.population.startswith("0 of 0 assessed accounts pass; not assessed:")


def test_attested_results_say_so() -> None:
    a = one(
        report(
            result("m365.mfa.enforced", "pass", 1, 0, basis="attested", attestation_ids=["att-1"]),
            LEGACY_OK,
            platforms=("m365",),
        )
    )
    assert a.answer == "Yes"
    assert a.population == "2 of 2 assessed accounts pass (attested)"
    assert "(attested: m365.mfa.enforced)" in a.evidence


def test_csv_content_and_injection_guard() -> None:
    rep = report(result("m365.mfa.enforced", "fail", 3, 1, remediation='=HYPERLINK("http://x") now.'), LEGACY_OK)
    evil = Questionnaire(id="t", title="T", questions=[MFA.model_copy(update={"question": "=cmd|' /C calc'!A0"}), MFA])
    text = render_answers_csv(answer_sheet(rep, evil, org_platforms=["m365"]))
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == ANSWER_CSV_COLUMNS
    assert rows[1][1] == "'=cmd|' /C calc'!A0"
    assert rows[1][2] == "Partially" and rows[1][3] == "3 of 4 assessed accounts pass"
    assert rows[1][7].startswith("'=HYPERLINK")
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
