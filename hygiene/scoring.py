"""The score: 0-100, a grade, and how much was actually assessed. See docs/scoring.md for the formula.

- Each check has a weight by severity (critical 10, high 5, medium 3, low 1).
- An assessed check (pass, fail, accepted) contributes ``weight × (1 - failing / assessed)``; risk-accepted
  resources count as passing (the organisation has decided, and the report lists them).
- value = 100 × contributions / weight of assessed checks. not_assessed and error checks are left out of
  the value and lower ``coverage`` = assessed weight / weight of every check in scope.
- Grade from the value: A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, else F; then capped: a failing critical check in
  mfa or backup caps the grade at D, any other failing critical check at C, and coverage below 50% at C.
"""

from __future__ import annotations

from collections.abc import Sequence

from hygiene.figures import format_percent
from hygiene.results import AreaScore, CheckResult, Score, Status
from hygiene.taxonomy import AREAS

WEIGHTS = {"critical": 10.0, "high": 5.0, "medium": 3.0, "low": 1.0}
GRADES = (("A", 90.0), ("B", 80.0), ("C", 70.0), ("D", 60.0))
ORDER = "ABCDF"
ASSESSED = (Status.PASS, Status.FAIL, Status.ACCEPTED)


def _pass_fraction(result: CheckResult) -> float:
    if result.status in (Status.PASS, Status.ACCEPTED):
        return 1.0
    if result.assessed <= 0:
        return 0.0
    still_failing = result.failing - result.accepted
    return max(0.0, 1.0 - still_failing / result.assessed)


def _value(results: Sequence[CheckResult]) -> tuple[float | None, float]:
    total = sum(WEIGHTS[r.severity] for r in results)
    assessed = [r for r in results if r.status in ASSESSED]
    weight = sum(WEIGHTS[r.severity] for r in assessed)
    if weight == 0:
        return None, 0.0
    value = 100.0 * sum(WEIGHTS[r.severity] * _pass_fraction(r) for r in assessed) / weight
    # rounded as stored and shown (one decimal, a tenth of a percent): the grade and the caps are judged on the
    # figures the reader sees, so a score shown as 90.0 is never graded B
    return round(value, 1), round(weight / total if total else 0.0, 3)


def grade_for(value: float) -> str:
    """The grade the score value alone gives, before any cap."""
    for grade, floor in GRADES:
        if value >= floor:
            return grade
    return "F"


def _cap(grade: str, ceiling: str) -> str:
    return grade if ORDER.index(grade) >= ORDER.index(ceiling) else ceiling


def score(results: Sequence[CheckResult]) -> Score:
    value, coverage = _value(results)
    caps: list[str] = []
    if value is None:
        return Score(value=0.0, grade="-", coverage=0.0, caps=["nothing could be assessed"], areas=[])
    grade = grade_for(value)
    for result in results:
        if result.status is not Status.FAIL or result.severity != "critical":
            continue
        ceiling = "D" if result.area in ("mfa", "backup") else "C"
        if _cap(grade, ceiling) != grade:
            grade = _cap(grade, ceiling)
        caps.append(f"{result.title} fails (critical {result.area} check): grade at most {ceiling}")
    if coverage < 0.5:
        grade = _cap(grade, "C")
        caps.append(f"only {format_percent(coverage)} of the checks could be assessed: grade at most C")
    areas = []
    for area in AREAS:
        in_area = [r for r in results if r.area == area]
        if not in_area:
            continue
        area_value, area_coverage = _value(in_area)
        areas.append(
            AreaScore(
                area=area,
                score=area_value,
                coverage=area_coverage,
                passed=sum(r.status in (Status.PASS, Status.ACCEPTED) for r in in_area),
                failed=sum(r.status is Status.FAIL for r in in_area),
                not_assessed=sum(r.status in (Status.NOT_ASSESSED, Status.ERROR) for r in in_area),
            )
        )
    return Score(value=value, grade=grade, coverage=coverage, caps=caps, areas=areas)
