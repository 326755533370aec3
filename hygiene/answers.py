"""Insurer answer sheet: a scan turned into dated answers to the questions of cyber-insurance applications.

A questionnaire (``policies/questionnaires/*.yaml``) lists questions and, per platform, the checks that answer
each. An answer is ``Yes`` only when every answering check in scope passed (or its failures are risk-accepted)
without a reservation: never when one was not assessed, errored, or is missing from a scanned platform, nor
when a pass carries a reservation (``CheckResult.reservation``: e.g. members covered by security defaults, which
require MFA only "when necessary"). ``No`` when at least one failed and nothing passes; ``Partially``
otherwise; ``Not assessed`` when none of the checks could be assessed.
Answers carry counts only (no resource), so they are safe in every evidence pack. The sheet is rendered by
:mod:`hygiene.reports.answers_csv` and :mod:`hygiene.reports.answers_pdf` (its model, :class:`Answer`, is defined
with them in :mod:`hygiene.reports.interface`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC
from pathlib import Path

from pydantic import Field, ValidationError

from hygiene.errors import InputError, format_validation_errors
from hygiene.paths import policies_dir
from hygiene.reports.interface import Answer
from hygiene.results import CheckResult, ScanReport, Status
from hygiene.strict import FrozenModel as _Model
from hygiene.yamlio import load_yaml_file

DEFAULT_QUESTIONNAIRE = "insurer-core"
_ID = r"^[a-z0-9][a-z0-9._-]*$"


class Question(_Model):
    id: str = Field(pattern=_ID)
    question: str = Field(min_length=1)
    #: what the counted items are, in the population sentence ("accounts", "devices")
    unit: str = "items"
    #: platform -> ids of the checks that answer the question on that platform
    checks: dict[str, list[str]] = Field(min_length=1)

    def check_ids(self) -> list[str]:
        seen: list[str] = []
        for ids in self.checks.values():
            seen += [i for i in ids if i not in seen]
        return seen


class Questionnaire(_Model):
    id: str = Field(pattern=_ID)
    title: str
    version: int = 1
    questions: list[Question] = Field(min_length=1)

    def validate_checks(self, known: Mapping[str, str]) -> None:
        """Raise ValueError unless every check id is in ``known`` (check id -> platform) under its platform."""
        problems: list[str] = []
        ids = [q.id for q in self.questions]
        problems += [f"question id {i} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
        for q in self.questions:
            for platform, check_ids in q.checks.items():
                for check_id in check_ids:
                    if check_id not in known:
                        problems.append(f"{q.id}: unknown check id {check_id}")
                    elif known[check_id] != platform:
                        problems.append(f"{q.id}: {check_id} is a {known[check_id]} check, listed under {platform}")
        if problems:
            raise ValueError("; ".join(problems))


def questionnaire_path(name: str = DEFAULT_QUESTIONNAIRE) -> Path:
    return policies_dir() / "questionnaires" / f"{name}.yaml"


def load_questionnaire(path: Path | None = None, known_checks: Mapping[str, str] | None = None) -> Questionnaire:
    """The questionnaire at ``path`` (default: the built-in insurer-core), validated; with ``known_checks``
    (check id -> platform, e.g. from the registry) every referenced check must exist there."""
    path = path or questionnaire_path()
    try:
        questionnaire = Questionnaire.model_validate(load_yaml_file(path))
    except ValidationError as exc:
        raise InputError(path, format_validation_errors(exc.errors())) from None
    if known_checks is not None:
        try:
            questionnaire.validate_checks(known_checks)
        except ValueError as exc:
            raise InputError(path, str(exc)) from None
    return questionnaire


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(?:\s|$)", text)
    return match.group(1) if match else text


def answer_question(report: ScanReport, question: Question, org_platforms: Iterable[str] | None = None) -> Answer:
    """One answer. ``org_platforms`` are the platforms the organisation uses (default: those scanned); a check
    on such a platform that is missing from the report (disabled, not run) counts as not assessed."""
    platforms = set(report.sources if org_platforms is None else org_platforms)
    by_id = {r.check_id: r for r in report.results}
    finished = report.finished_at
    if finished.tzinfo is not None:
        finished = finished.astimezone(UTC)
    scan_date = finished.strftime("%Y-%m-%dT%H:%M:%SZ")

    results: list[CheckResult] = []
    missing: list[str] = []  # applies (platform of the org) but has no result
    for platform, ids in question.checks.items():
        for check_id in ids:
            if check_id in by_id:
                if by_id[check_id] not in results:
                    results.append(by_id[check_id])
            elif platform in platforms and check_id not in missing:
                missing.append(check_id)
    in_scope = [r.check_id for r in results] + missing
    evidence = f"scan {report.scan_id}: {', '.join(in_scope) if in_scope else 'no answering check in scope'}"
    if not in_scope:
        wanted = ", ".join(sorted(question.checks))
        return Answer(
            question_id=question.id,
            question=question.question,
            scan_date=scan_date,
            check_ids=(),
            answer="Not assessed",
            population="no answering check in scope",
            evidence=evidence,
            gap=f"None of the platforms that answer this question ({wanted}) was part of this scan.",
            remediation=f"Scan {wanted} to answer this question.",
        )

    assessed_results = [r for r in results if r.status in (Status.PASS, Status.FAIL, Status.ACCEPTED)]
    unassessed = [r.check_id for r in results if r not in assessed_results] + missing
    failing = [r for r in assessed_results if r.status is Status.FAIL]
    assessed = sum(r.assessed for r in assessed_results)
    open_failing = sum(max(r.failing - r.accepted, 0) for r in assessed_results)
    accepted = sum(r.accepted for r in assessed_results)
    attested = [r.check_id for r in assessed_results if r.basis == "attested"]
    reserved = [r for r in assessed_results if r.status is Status.PASS and r.reservation]

    population = f"{assessed - open_failing} of {assessed} assessed {question.unit} pass"
    if accepted:
        population += f" ({accepted} risk-accepted)"
    if attested:
        population += " (attested)"
    if unassessed:
        population += f"; not assessed: {', '.join(unassessed)}"

    if not assessed_results:
        answer = "Not assessed"
    elif not failing and not unassessed and not reserved:
        answer = "Yes"
    else:
        something_passes = any(r.status is not Status.FAIL for r in assessed_results) or any(
            r.assessed > r.failing - r.accepted for r in failing
        )
        answer = "Partially" if something_passes else "No"
    if attested:
        evidence += f" (attested: {', '.join(attested)})"

    gap = remediation = ""
    if answer != "Yes":
        parts = [f"{max(r.failing - r.accepted, 0)} of {r.assessed} {question.unit} fail {r.check_id}" for r in failing]
        if unassessed:
            parts.append(f"the scan could not assess {', '.join(unassessed)}")
        parts += [f"the pass of {r.check_id} carries a reservation: {r.reservation}" for r in reserved]
        gap = "; ".join(parts) + "."
        gap = gap[0].upper() + gap[1:]  # a digit or "the": never a check id
        fixes = [_first_sentence(r.remediation) for r in [*failing, *reserved] if r.remediation.strip()]
        if unassessed:
            fixes.append(
                f"Make {', '.join(unassessed)} assessable (grant the permission or licence it needs) and scan again."
            )
        remediation = " ".join(dict.fromkeys(fixes))
    return Answer(
        question_id=question.id,
        question=question.question,
        scan_date=scan_date,
        check_ids=tuple(in_scope),
        answer=answer,
        population=population,
        evidence=evidence,
        gap=gap,
        remediation=remediation,
    )


def answer_sheet(
    report: ScanReport, questionnaire: Questionnaire, org_platforms: Iterable[str] | None = None
) -> list[Answer]:
    """One answer per question of ``questionnaire``, in its order."""
    platforms = None if org_platforms is None else list(org_platforms)
    return [answer_question(report, q, platforms) for q in questionnaire.questions]
