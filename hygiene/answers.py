"""Insurer answer sheet: a scan turned into dated answers to the questions of cyber-insurance applications.

A questionnaire (``policies/questionnaires/*.yaml``) lists questions and, per platform, the checks that answer
each. An answer is ``Yes`` only when every answering check in scope passed (or its failures are risk-accepted)
on a measured population (or on the organisation's attestation, labelled attested) without a reservation: never
when one was not assessed, errored, is missing from a scanned platform or found nothing to measure, nor when a pass
carries a reservation (``CheckResult.reservation``: e.g. members covered by security defaults, which require MFA
only "when necessary"). ``No`` when at least one failed and nothing passes; ``Partially`` otherwise; ``Not
assessed`` when none of the checks could be assessed.

Each answer says why in one sentence written from the checks' own words (their ``summary`` and title, never a
finding's text), gives the population per platform and the date it was read, points at the evidence appendix
(E1, E2: check id, scan id and time) and lists what would make it a Yes: each failing check's whole remediation,
or, for a check that could not be assessed, the fix its reason kind and metadata name (a permission to grant, a
licence, an attestation where no vendor API exists). Answers carry counts only (no resource), so they are safe in
every evidence pack. The sheet is rendered by :mod:`hygiene.reports.answers_csv` and
:mod:`hygiene.reports.answers_pdf` (its model, :class:`AnswerSheet`, is defined with them in
:mod:`hygiene.reports.interface`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError

from hygiene.checkapi import CheckMeta
from hygiene.errors import InputError, format_validation_errors
from hygiene.model import ReasonKind
from hygiene.paths import policies_dir
from hygiene.registry import Registry
from hygiene.reports.interface import Answer, AnswerSheet, EvidenceItem, PlatformCount, Step
from hygiene.results import CheckResult, ScanReport, Status
from hygiene.sources import platforms as platform_registry
from hygiene.strict import FrozenModel as _Model
from hygiene.yamlio import load_yaml_file

DEFAULT_QUESTIONNAIRE = "insurer-core"
_ID = r"^[a-z0-9][a-z0-9._-]*$"


class Question(_Model):
    id: str = Field(pattern=_ID)
    question: str = Field(min_length=1)
    #: what the counted items are, in the population sentence ("accounts", "devices")
    unit: str = "items"
    #: platform -> what its counted items are, where that differs from ``unit`` ("tenants", "workloads")
    units: dict[str, str] = Field(default_factory=dict)
    #: platform -> ids of the checks that answer the question on that platform
    checks: dict[str, list[str]] = Field(min_length=1)
    #: answering checks that judge a setting once per tenant (legacy protocols blocked), not the counted items: they
    #: decide the answer and its sentence but add nothing to the population
    settings: list[str] = Field(default_factory=list)
    #: answering checks whose items are among another answering check's of the same platform (RDS databases among
    #: the AWS resources backed up): their failing items are counted once, never added to the population
    within: list[str] = Field(default_factory=list)

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
            listed = q.check_ids()
            problems += [f"{q.id}: {i} is not one of its checks" for i in [*q.settings, *q.within] if i not in listed]
            problems += [f"{q.id}: units names {p}, which has no checks" for p in q.units if p not in q.checks]
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


#: at most this many reasons in an answer's sentence; the rest are in "To reach Yes"
SENTENCE_CLAUSES = 3
ANSWERED = (Status.PASS, Status.FAIL, Status.ACCEPTED)


@lru_cache(maxsize=1)
def _builtin_checks() -> dict[str, CheckMeta]:
    """The built-in checks' metadata (summary sentences, what makes them assessable), by id."""
    return {item.meta.id: item.meta for item in Registry.load(entry_points_too=False)}


def _platform_title(name: str) -> str:
    try:
        return platform_registry.platform(name).title
    except KeyError:
        return name


def _day(moment: datetime) -> str:
    """``3 Dec 2026``."""
    return f"{moment.day} {moment:%b %Y}"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _text(value: str) -> str:
    return " ".join(value.split())


def _open(result: CheckResult) -> int:
    return max(result.failing - result.accepted, 0)


def _attestation_only(meta: CheckMeta | None) -> bool:
    """A check no vendor API can answer (its permissions say "none: attestation only"): only an attestation helps."""
    return meta is not None and bool(meta.permissions) and all(p.startswith("none") for p in meta.permissions)


def _takes_attestation(result: CheckResult, meta: CheckMeta | None) -> bool:
    """The check accepts the organisation's attestation instead of a measurement (its remediation says how)."""
    return _attestation_only(meta) or "attestation" in result.remediation.casefold()


@dataclass
class _Evidence:
    """The sheet's evidence appendix, numbered in the order answers first cite a check."""

    report: ScanReport
    items: dict[str, EvidenceItem] = field(default_factory=dict)

    def ref(self, check_id: str, result: CheckResult | None, platform: str) -> str:
        if check_id not in self.items:
            run = self.report.sources.get(platform)
            read = _utc(run.finished_at if run is not None else self.report.finished_at)
            self.items[check_id] = EvidenceItem(
                ref=f"E{len(self.items) + 1}",
                check_id=check_id,
                title=result.title if result is not None else _title_of(check_id),
                platform=_platform_title(platform),
                status=result.status.value if result is not None else "no result",
                basis=result.basis if result is not None else "",
                assessed=result.assessed if result is not None else 0,
                failing=result.failing if result is not None else 0,
                accepted=result.accepted if result is not None else 0,
                scan_id=self.report.scan_id,
                collected_at=read.strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        return self.items[check_id].ref


def _title_of(check_id: str) -> str:
    meta = _builtin_checks().get(check_id)
    return meta.title if meta is not None else check_id


def _on(clause: str, platform: str) -> str:
    """The clause naming its platform: as it does ("3 of 33 Microsoft 365 accounts ..."), or in brackets."""
    return clause if platform.split()[0] in clause else f"{clause} ({platform})"


def _failure_clause(result: CheckResult, unit: str, platform: str) -> str:
    """What fails, in the check's own summary ("3 of 33 Microsoft 365 accounts can sign in with a password alone")."""
    meta = _builtin_checks().get(result.check_id)
    counts = {"open": _open(result), "assessed": result.assessed, "accepted": result.accepted}
    if meta is not None and meta.summary:
        try:
            return _on(meta.summary.format(**counts), platform)
        except (KeyError, IndexError, ValueError):
            pass
    return _on(f"{_open(result)} of {result.assessed} {unit} fail \u201c{result.title}\u201d", platform)


_WHY_NOT_ASSESSED = {
    ReasonKind.LICENCE: "the tenant lacks the licence it needs",
    ReasonKind.PERMISSION: "the scanner lacks a read permission",
    ReasonKind.API_GAP: "no {platform} API shows it",
    ReasonKind.UNREACHABLE: "{platform} could not be reached",
    ReasonKind.NOT_COLLECTED: "this scan did not collect its data",
    ReasonKind.ERROR: "reading {platform} failed",
}


def _unassessed_clause(check_id: str, result: CheckResult | None, platform: str) -> str:
    title = result.title if result is not None else _title_of(check_id)
    meta = _builtin_checks().get(check_id)
    if result is None:
        why = "the check did not run (disabled in the profile)"
    elif result.status is Status.ERROR and result.reason_kind in (None, ReasonKind.ERROR):
        why = "the check failed in this scan"
    elif _attestation_only(meta):
        why = f"no {platform} API shows it and no attestation was recorded"
    else:
        why = _WHY_NOT_ASSESSED.get(result.reason_kind or ReasonKind.ERROR, "it could not be read")
        why = why.format(platform=platform)
    return f"\u201c{title}\u201d was not assessed on {platform}: {why}"


def _assessable_fix(check_id: str, result: CheckResult | None, platform: str, name: str) -> str:
    """What makes a check that was not assessed answer: named from its reason kind and metadata (an attestation
    where no vendor API exists, never a permission that does not exist)."""
    meta = _builtin_checks().get(check_id)
    if result is None:
        return f"Enable {check_id} in the scan profile and scan again."
    attest = _text(result.remediation) if _takes_attestation(result, meta) else ""
    if _attestation_only(meta):
        return attest or f"Record an attestation for {check_id} in the exceptions file and scan again."
    kind = result.reason_kind or ReasonKind.ERROR
    if result.status is Status.ERROR and kind is ReasonKind.ERROR:
        fix = f"The check {check_id} failed in this scan (its error is in report.json): scan again."
    elif kind is ReasonKind.PERMISSION:
        grant = (
            ", ".join(result.permissions) or f"the read-only permissions `hygiene permissions --source {name}` lists"
        )
        fix = f"Grant the scanner {grant} on {platform} and scan again."
    elif kind is ReasonKind.LICENCE:
        needs = ", ".join(result.permissions) or "the licence it needs"
        fix = f"{platform} shows this only with {needs}: add it and scan again."
    elif kind is ReasonKind.API_GAP:
        fix = f"No {platform} API shows this in a form hygiene can judge: describe the control in the application."
    elif kind is ReasonKind.NOT_COLLECTED:
        fix = f"Run a full scan of {platform}: this one did not collect the data {check_id} needs."
    else:
        fix = f"Scan {platform} again: this scan could not read it completely."
    return f"{fix} Or: {attest}" if attest else fix


@dataclass
class _Platform:
    """One platform's answering checks for one question."""

    name: str
    title: str
    results: list[CheckResult]
    missing: list[str]

    def answered(self) -> list[CheckResult]:
        return [r for r in self.results if r.status in ANSWERED]

    def unassessed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status not in ANSWERED]

    def count(self, question: Question, on: str) -> PlatformCount:
        answered = self.answered()
        incomplete = bool(self.unassessed() or self.missing)
        counted = [r for r in answered if r.check_id not in question.settings and r.check_id not in question.within]
        counted = counted or [r for r in answered if r.check_id not in question.settings] or answered
        within = [r for r in answered if r.check_id in question.within and r not in counted]
        # an attestation is a statement, not a count: only measured results make the figure
        measured = [r for r in counted if r.basis != "attested"]
        assessed = sum(r.assessed for r in measured)
        group = measured + [r for r in within if r.basis != "attested"]
        if all(len(r.findings) == r.failing for r in group):
            failing = len({f.resource_id for r in group for f in r.findings if f.accepted_by is None})
        else:  # no finding list (a hand-made report): the counted checks' own figures
            failing = sum(_open(r) for r in measured)
        return PlatformCount(
            platform=self.name,
            title=self.title,
            on=on,
            unit=question.units.get(self.name, question.unit),
            assessed=assessed,
            passing=max(assessed - min(failing, assessed), 0),
            accepted=sum(r.accepted for r in measured),
            attested=bool(counted) and not measured,
            part_attested=bool(measured) and len(measured) < len(counted),
            incomplete=incomplete,
        )


def _join(clauses: list[str]) -> str:
    if len(clauses) > SENTENCE_CLAUSES:
        more = len(clauses) - SENTENCE_CLAUSES
        clauses = [*clauses[:SENTENCE_CLAUSES], f"and {more} more (see To reach Yes)"]
    return "; ".join(clauses)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _population(counts: list[PlatformCount], question: Question) -> str:
    if not counts:
        return "no answering check in scope"
    texts = [c.text() for c in counts]
    days = {c.on for c in counts}
    if len(days) == 1:
        return "; ".join(texts) + f", on {days.pop()}"
    return "; ".join(f"{text} (on {c.on})" for text, c in zip(texts, counts, strict=True))


def answer_question(
    report: ScanReport,
    question: Question,
    org_platforms: Iterable[str] | None = None,
    evidence: _Evidence | None = None,
) -> Answer:
    """One answer. ``org_platforms`` are the platforms the organisation uses (default: those scanned); a check
    on such a platform that is missing from the report (disabled, not run) counts as not assessed."""
    evidence = evidence if evidence is not None else _Evidence(report)
    used = set(report.sources if org_platforms is None else org_platforms)
    by_id = {r.check_id: r for r in report.results}
    scan_date = _utc(report.finished_at).strftime("%Y-%m-%dT%H:%M:%SZ")

    groups: list[_Platform] = []
    seen: set[str] = set()
    for name, ids in question.checks.items():
        group = _Platform(name, _platform_title(name), [], [])
        for check_id in ids:
            if check_id in seen:
                continue
            seen.add(check_id)
            if check_id in by_id:
                group.results.append(by_id[check_id])
            elif name in used:
                group.missing.append(check_id)
        if group.results or group.missing:
            groups.append(group)

    refs: list[str] = []
    check_ids: list[str] = []
    for group in groups:
        for result in group.results:
            refs.append(evidence.ref(result.check_id, result, group.name))
            check_ids.append(result.check_id)
        for check_id in group.missing:
            refs.append(evidence.ref(check_id, None, group.name))
            check_ids.append(check_id)
    ref_of = dict(zip(check_ids, refs, strict=True))

    def answer(text: str, sentence: str, basis: str, counts: list[PlatformCount], steps: list[Step]) -> Answer:
        return Answer(
            question_id=question.id,
            question=question.question,
            answer=text,
            sentence=sentence,
            basis=basis,
            unit=question.unit,
            populations=tuple(counts),
            population=_population(counts, question),
            scan_date=scan_date,
            evidence_refs=tuple(refs),
            check_ids=tuple(check_ids),
            to_reach_yes=tuple(steps),
        )

    if not groups:
        wanted = _and([_platform_title(p) for p in question.checks])
        return answer(
            "Not assessed",
            f"Not assessed: none of the platforms that answer it ({wanted}) was part of this scan.",
            "",
            [],
            [Step("", f"{wanted} not scanned", f"Scan {wanted} to answer this question.")],
        )

    counts = [
        g.count(
            question, _day(_utc(report.sources[g.name].finished_at if g.name in report.sources else report.finished_at))
        )
        for g in groups
    ]
    answered = [r for g in groups for r in g.answered()]
    failing = [(g, r) for g in groups for r in g.answered() if r.status is Status.FAIL]
    reserved = [(g, r) for g in groups for r in g.answered() if r.status is Status.PASS and r.reservation]
    empty = [c for c in counts if c.assessed == 0 and not c.attested and not c.incomplete]
    unassessed: list[tuple[_Platform, str, CheckResult | None]] = [
        (g, r.check_id, r) for g in groups for r in g.unassessed()
    ] + [(g, check_id, None) for g in groups for check_id in g.missing]

    clauses: list[str] = []
    steps: list[Step] = []
    for g, r in failing:
        clause = _failure_clause(r, question.units.get(g.name, question.unit), g.title)
        clauses.append(clause)
        steps.append(
            Step(g.title, clause, _text(r.remediation) or "See the check in the report.", (ref_of[r.check_id],))
        )
    for g, r in reserved:
        clause = _on(_text(r.reservation or ""), g.title)
        clauses.append(clause)
        steps.append(Step(g.title, clause, _text(r.remediation), (ref_of[r.check_id],)))
    for g, check_id, maybe in unassessed:
        clause = _unassessed_clause(check_id, maybe, g.title)
        clauses.append(clause)
        steps.append(Step(g.title, clause, _assessable_fix(check_id, maybe, g.title, g.name), (ref_of[check_id],)))
    for c in empty:
        unit = question.units.get(c.platform, question.unit)
        clause = f"no {unit} were found to measure on {c.title}"
        clauses.append(clause)
        action = (
            f"If {c.title} holds {unit}, make sure the scan sees them (its scope, regions and "
            "permissions) and scan again."
        )
        steps.append(
            Step(
                c.title,
                clause,
                action,
                tuple(ref_of[r.check_id] for g in groups if g.name == c.platform for r in g.results),
            )
        )

    attested = [r for r in answered if r.basis == "attested"]
    basis = (
        ""
        if not answered
        else "attested"
        if len(attested) == len(answered)
        else "measured and attested"
        if attested
        else "measured"
    )
    if not answered:
        return answer("Not assessed", f"Not assessed: {_join(clauses)}.", "", counts, steps)
    if not clauses:
        where = _and([c.title for c in counts])
        how = {
            "attested": f"on the organisation's attestation for {where} (not measured)",
            "measured and attested": f"measured on {where}, part of it on the organisation's attestation",
        }.get(basis, f"measured on {where}")
        return answer("Yes", f"Yes: every answering check passed, {how}.", basis, counts, [])
    something_passes = any(r.status is not Status.FAIL for r in answered) or any(
        r.assessed > _open(r) for _, r in failing
    )
    if failing and not something_passes:
        return answer("No", f"Not met: {_join(clauses)}.", basis, counts, steps)
    return answer("Partially", f"Partly met: {_join(clauses)}.", basis, counts, steps)


def build_answer_sheet(
    report: ScanReport, questionnaire: Questionnaire, org_platforms: Iterable[str] | None = None
) -> AnswerSheet:
    """The answer sheet: one answer per question of ``questionnaire``, in its order, and the evidence appendix."""
    platforms = None if org_platforms is None else list(org_platforms)
    evidence = _Evidence(report)
    answers = tuple(answer_question(report, q, platforms, evidence) for q in questionnaire.questions)
    return AnswerSheet(
        answers,
        title=questionnaire.title,
        organisation=report.organisation_name,
        tool=report.tool,
        tool_version=report.tool_version,
        scan_id=report.scan_id,
        scan_finished_at=_utc(report.finished_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
        evidence=tuple(evidence.items.values()),
        scope=tuple(report.scope.lines()),
    )


def answer_sheet(
    report: ScanReport, questionnaire: Questionnaire, org_platforms: Iterable[str] | None = None
) -> list[Answer]:
    """One answer per question of ``questionnaire``, in its order (:func:`build_answer_sheet` without the sheet)."""
    return list(build_answer_sheet(report, questionnaire, org_platforms).answers)
