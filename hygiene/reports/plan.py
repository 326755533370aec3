"""The prioritised 90-day plan: what to fix first, derived from the check results alone.

Buckets:

* **Fix now** - failing critical checks, and failing high checks in MFA or backup (the two controls that
  decide whether a phished password or a ransomware night becomes a disaster).
* **Within 30 days** - every other failing high check, and failing medium checks.
* **Within 90 days** - failing low checks, and getting the checks that could not be assessed assessed
  (grant a permission, decide on a licence, record an attestation, re-run after an error).

Passing checks and checks whose risk is accepted by an unexpired exception are not in the plan.
:func:`build_plan` is a pure function of the results.

:func:`first_actions` picks the few items to do first (the report's "Do these three first"), by
severity × people (or resources) affected ÷ effort: see :func:`priority`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from hygiene.model import ReasonKind
from hygiene.reports.analysis import area_rank, first_sentence, join_names, open_count, severity_rank
from hygiene.results import CheckResult, Status
from hygiene.scoring import WEIGHTS

BucketKey = Literal["now", "30d", "90d"]

BUCKET_TITLES: dict[BucketKey, str] = {
    "now": "Fix now",
    "30d": "Within 30 days",
    "90d": "Within 90 days",
}

#: what an effort unit costs relative to "minutes", for :func:`priority`
EFFORT_COST: dict[str, float] = {"minutes": 1.0, "hours": 2.0, "days": 4.0}

#: high-severity failures in these areas go to "Fix now"
URGENT_AREAS = frozenset({"mfa", "backup"})


@dataclass(frozen=True)
class PlanItem:
    check_id: str
    title: str
    area: str
    severity: str
    status: Status
    #: what to do, in plain words
    action: str
    #: failing resources without an accepted exception (0 for a check that could not be assessed)
    resources: int
    #: rough effort, "<unit>: <why>", unit one of minutes / hours / days
    effort: str


@dataclass(frozen=True)
class PlanBucket:
    key: BucketKey
    title: str
    items: tuple[PlanItem, ...]


def bucket_for(result: CheckResult) -> BucketKey | None:
    """Which bucket a result belongs to, or None when it needs no action (pass, accepted)."""
    if result.status is Status.FAIL:
        if result.severity == "critical":
            return "now"
        if result.severity == "high":
            return "now" if result.area in URGENT_AREAS else "30d"
        if result.severity == "medium":
            return "30d"
        return "90d"
    if result.status in (Status.NOT_ASSESSED, Status.ERROR):
        return "90d"
    return None


def effort_hint(area: str, count: int) -> str:
    """A rough effort for fixing ``count`` failing resources in ``area``."""
    if area == "mfa":
        if count <= 1:
            return "minutes: one setting or account"
        if count <= 20:
            return "hours: per-user follow-up"
        return "days: staged roll-out with user support"
    if area == "accounts":
        if count <= 5:
            return "minutes: review a few accounts"
        if count <= 50:
            return "hours: per-user follow-up"
        return "days: account review with line managers"
    if area == "backup":
        if count <= 1:
            return "minutes: one setting"
        return "hours: set up backup per workload"
    if area == "patching":
        if count <= 3:
            return "hours: update a few devices"
        return "days: device upgrades"
    if area == "endpoint":
        if count <= 3:
            return "hours: fix a few devices"
        return "days: device roll-out (encryption, protection agent)"
    if count <= 1:
        return "minutes: one setting"
    if count <= 20:
        return "hours: per-resource follow-up"
    return "days: per-resource follow-up"


def _unassessed_effort(result: CheckResult) -> str:
    kind = result.reason_kind
    if result.status is Status.ERROR or kind in (ReasonKind.ERROR, ReasonKind.UNREACHABLE, None):
        return "minutes: re-run the scan"
    if kind is ReasonKind.PERMISSION:
        return "minutes: grant a permission"
    if kind is ReasonKind.LICENCE:
        return "days: licence decision"
    if kind is ReasonKind.API_GAP:
        return "minutes: record an attestation"
    return "minutes: include the data in the next scan"


def unassessed_action(result: CheckResult) -> str:
    """What would get a not-assessed (or errored) check assessed next time."""
    needs = join_names(result.permissions)
    reason = f" ({result.reason.rstrip('.')})" if result.reason else ""
    kind = result.reason_kind
    if result.status is Status.ERROR or kind is ReasonKind.ERROR:
        return f"Re-run the scan; if the check fails again, report the error{reason}."
    if kind is ReasonKind.PERMISSION:
        if needs:
            return f"Grant {needs} to the scanning app (read-only), then re-run the scan."
        return f"Grant the scanning app the read permission this check needs{reason}, then re-run the scan."
    if kind is ReasonKind.LICENCE:
        if needs:
            return f"This check needs {needs}: licence it, or record an attestation of the control."
        return f"This check needs a licence the organisation does not have{reason}."
    if kind is ReasonKind.API_GAP:
        return "No API reports this: record an attestation (what, when, who) in the exceptions file."
    if kind is ReasonKind.UNREACHABLE:
        return f"Re-run the scan when the service is reachable{reason}."
    if kind is ReasonKind.NOT_COLLECTED:
        return f"Include this data in the next scan{reason}."
    return f"Find out why this check could not be assessed{reason}."


def plan_item(result: CheckResult) -> PlanItem:
    if result.status is Status.FAIL:
        count = open_count(result)
        action = (
            first_sentence(result.remediation)
            if result.remediation.strip()
            else ("Review the failing resources listed in the report.")
        )
        effort = effort_hint(result.area, count)
    else:
        count = 0
        action = unassessed_action(result)
        effort = _unassessed_effort(result)
    return PlanItem(
        check_id=result.check_id,
        title=result.title,
        area=result.area,
        severity=result.severity,
        status=result.status,
        action=action,
        resources=count,
        effort=effort,
    )


def _item_order(result: CheckResult) -> tuple[int, int, int, int, str]:
    # failing checks before "get it assessed" items; then severity, MFA/backup first, biggest first
    unassessed = 0 if result.status is Status.FAIL else 1
    return (unassessed, severity_rank(result.severity), area_rank(result.area), -open_count(result), result.check_id)


def build_plan(results: Iterable[CheckResult]) -> list[PlanBucket]:
    """The three buckets, always in order (an empty bucket has no items)."""
    grouped: dict[BucketKey, list[CheckResult]] = {key: [] for key in BUCKET_TITLES}
    for result in results:
        key = bucket_for(result)
        if key is not None:
            grouped[key].append(result)
    return [
        PlanBucket(
            key=key,
            title=BUCKET_TITLES[key],
            items=tuple(plan_item(r) for r in sorted(members, key=_item_order)),
        )
        for key, members in grouped.items()
    ]


def effort_unit(effort: str) -> str:
    """The unit of an effort hint ("hours: per-user follow-up" -> "hours")."""
    return effort.split(":", 1)[0].strip()


def priority(item: PlanItem) -> float:
    """Severity weight (as in the score) × resources affected ÷ effort cost (minutes 1, hours 2, days 4).

    A critical setting fixed in minutes (10 × 1 ÷ 1 = 10) comes before a high finding on five devices that
    takes days (5 × 5 ÷ 4 ≈ 6); twenty accounts without MFA (critical, hours: 10 × 20 ÷ 2 = 100) before both.
    """
    weight = WEIGHTS.get(item.severity, 1.0)
    return weight * max(1, item.resources) / EFFORT_COST.get(effort_unit(item.effort), EFFORT_COST["days"])


def first_actions(results: Iterable[CheckResult], count: int = 3) -> list[PlanItem]:
    """The ``count`` plan items to do first: failing checks by :func:`priority` (ties: the plan's order), then,
    if fewer fail, the checks to get assessed."""
    chosen = [r for r in results if bucket_for(r) is not None]
    failing = sorted(
        (r for r in chosen if r.status is Status.FAIL), key=lambda r: (-priority(plan_item(r)), _item_order(r))
    )
    unassessed = sorted((r for r in chosen if r.status is not Status.FAIL), key=_item_order)
    return [plan_item(r) for r in [*failing, *unassessed][: max(0, count)]]
