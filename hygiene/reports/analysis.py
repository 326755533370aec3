"""Pure helpers shared by the report renderers: ordering, counts, top risks and the licence-waste sum.

Nothing here formats output; every function takes report models and returns plain values, so the HTML,
Markdown and any future renderer agree on what the "top risks" or "wasted licence money" are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hygiene.figures import format_percent, format_score
from hygiene.model import ReasonKind
from hygiene.results import CheckResult, FindingResult, Score, Status
from hygiene.scoring import GRADES
from hygiene.taxonomy import AREAS, SEVERITIES

#: statuses in the order a reader should see them: problems first
STATUS_ORDER: tuple[Status, ...] = (
    Status.FAIL,
    Status.ERROR,
    Status.NOT_ASSESSED,
    Status.ACCEPTED,
    Status.PASS,
)

STATUS_LABELS: dict[str, str] = {
    Status.PASS: "Pass",
    Status.FAIL: "Fail",
    Status.ACCEPTED: "Risk accepted",
    Status.NOT_ASSESSED: "Not assessed",
    Status.ERROR: "Error",
}

AREA_TITLES: dict[str, str] = {
    "mfa": "Multi-factor authentication (MFA)",
    "accounts": "Accounts",
    "backup": "Backup",
    "patching": "Patching and device updates",
    "endpoint": "Endpoint protection (EDR, antivirus, encryption)",
    "email": "Email authentication (SPF, DMARC, DKIM)",
}

REASON_LABELS: dict[str, str] = {
    ReasonKind.LICENCE: "Licence needed",
    ReasonKind.PERMISSION: "Permission needed",
    ReasonKind.API_GAP: "No API for this",
    ReasonKind.UNREACHABLE: "Service unreachable",
    ReasonKind.NOT_COLLECTED: "Data not collected",
    ReasonKind.ERROR: "Error",
}

#: what a failing resource is called in a sentence, by area
_AREA_NOUNS: dict[str, tuple[str, str]] = {
    "mfa": ("account", "accounts"),
    "accounts": ("account", "accounts"),
    "patching": ("device", "devices"),
    "endpoint": ("device", "devices"),
    "backup": ("item", "items"),
    "email": ("domain", "domains"),
}


def severity_rank(severity: str) -> int:
    """0 for critical … 3 for low; an unknown severity sorts after low."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        return len(SEVERITIES)


def area_rank(area: str) -> int:
    try:
        return AREAS.index(area)
    except ValueError:
        return len(AREAS)


def status_rank(status: Status) -> int:
    return STATUS_ORDER.index(status)


def area_title(area: str) -> str:
    return AREA_TITLES.get(area, area.replace("_", " ").capitalize())


def areas_in(results: Iterable[CheckResult]) -> list[str]:
    """The four standard areas, in order, followed by any other area a plug-in check uses."""
    extra = sorted({r.area for r in results} - set(AREAS))
    return [*AREAS, *extra]


def open_findings(result: CheckResult) -> list[FindingResult]:
    """Findings whose risk nobody accepted."""
    return [f for f in result.findings if not f.accepted_by]


def open_count(result: CheckResult) -> int:
    """How many resources fail without an accepted exception.

    Uses the findings when the check listed any; otherwise the counters (``failing`` counts every failing
    resource, accepted ones included, as the engine sets them).
    """
    if result.findings:
        return len(open_findings(result))
    return max(0, result.failing - result.accepted)


def ordered_findings(result: CheckResult) -> list[FindingResult]:
    """Open findings first, then accepted ones; otherwise in the order the check produced them."""
    return sorted(result.findings, key=lambda f: 1 if f.accepted_by else 0)


def status_counts(results: Iterable[CheckResult]) -> dict[Status, int]:
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for result in results:
        counts[result.status] += 1
    return counts


def check_sort_key(result: CheckResult) -> tuple[int, int, int, str]:
    """Problems first, then by severity, then by how many resources are affected."""
    return (status_rank(result.status), severity_rank(result.severity), -open_count(result), result.check_id)


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if text and text[-1] not in ".!?":
        text += "."
    return text


def risk_sentence(result: CheckResult) -> str:
    """One plain sentence on what is wrong, shown after the check's title, e.g. "3 of 41 staff can sign in
    without a second factor."

    The check's own one-line summary (``reason``) is preferred; otherwise the sentence is built from the
    counts.
    """
    if result.reason:
        return _sentence(result.reason)
    count = open_count(result)
    singular, many = _AREA_NOUNS.get(result.area, ("resource", "resources"))
    if result.assessed > 0:
        noun = singular if result.assessed == 1 else many
        return _sentence(f"{count} of {result.assessed} {noun} affected")
    if count > 0:
        return _sentence(f"{count} {singular if count == 1 else many} affected")
    return "The check failed."


def top_risks(results: Iterable[CheckResult], limit: int = 5) -> list[CheckResult]:
    """The most severe failing checks: by severity, then MFA/backup before the rest, then by size."""
    failing = [r for r in results if r.status is Status.FAIL]
    failing.sort(key=lambda r: (severity_rank(r.severity), area_rank(r.area), -open_count(r), r.check_id))
    return failing[:limit]


def grade_for_value(value: float) -> str:
    """The grade the score alone earns, before any cap (docs/scoring.md)."""
    for grade, floor in GRADES:
        if value >= floor:
            return grade
    return "F"


def score_sentence(score: Score) -> str:
    """One sentence that explains the score and grade to an owner, e.g. "Grade D: 62.4 of 100 points, …"."""
    if score.grade == "-":
        return "No grade: nothing could be assessed, so there is nothing to score."
    sentence = (
        f"Grade {score.grade}: {format_score(score.value)} of 100 points, the share of accounts, devices and "
        f"settings that pass, weighted by severity (a critical check counts ten times a low one)"
    )
    if score.coverage < 1:
        sentence += f", over the {format_percent(score.coverage)} of checks that could be assessed"
    earned = grade_for_value(score.value)
    if earned != score.grade and score.caps:
        limits = "a grade limit holds" if len(score.caps) == 1 else f"{len(score.caps)} grade limits hold"
        sentence += f". The points alone would earn {earned}; {limits} it at {score.grade}"
    return sentence + "."


def first_sentence(text: str) -> str:
    """The first sentence of a remediation text, for one-line actions."""
    text = " ".join(text.split())
    for index, char in enumerate(text):
        if char in ".!?" and (index + 1 == len(text) or (text[index + 1] == " " and _starts_sentence(text, index + 2))):
            return text[: index + 1]
    return _sentence(text)


def _starts_sentence(text: str, index: int) -> bool:
    return index < len(text) and (text[index].isupper() or text[index].isdigit())


# --------------------------------------------------------------------------------------------------
# Licence money spent on inactive accounts
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SkuWaste:
    sku: str
    currency: str
    licences: int
    #: None when no price is configured for the SKU (profile thresholds ``licence_prices``)
    monthly_cost: float | None
    #: licences counted under an accepted exception (included in ``licences``)
    accepted: int = 0


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    monthly_cost: float
    licences: int
    #: SKUs without a configured price, whose cost is not in the total
    unpriced_skus: tuple[str, ...] = ()

    @property
    def yearly_cost(self) -> float:
        return self.monthly_cost * 12


@dataclass(frozen=True)
class LicenceWaste:
    skus: tuple[SkuWaste, ...]
    totals: tuple[CurrencyTotal, ...]

    def __bool__(self) -> bool:
        return bool(self.skus)


def _as_int(value: object, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(value)


def _as_cost(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def licence_waste(results: Iterable[CheckResult], default_currency: str = "GBP") -> LicenceWaste:
    """Sum the licences held by inactive accounts, per SKU and per currency.

    Any finding whose ``data`` carries ``sku`` counts (``m365.licences.unused`` today, other platforms'
    licence checks later), with ``count`` licences (1 if absent) costing ``monthly_cost`` a month in total
    (None when the price is unknown). Findings under an accepted exception still cost money and are
    counted. Passing checks contribute nothing.
    """
    licences: dict[tuple[str, str], int] = {}
    accepted: dict[tuple[str, str], int] = {}
    costs: dict[tuple[str, str], float | None] = {}
    for result in results:
        if result.status not in (Status.FAIL, Status.ACCEPTED):
            continue
        for finding in result.findings:
            sku = finding.data.get("sku")
            if not isinstance(sku, str) or not sku:
                continue
            currency = finding.data.get("currency")
            key = (sku, currency if isinstance(currency, str) and currency else default_currency)
            count = _as_int(finding.data.get("count"), 1)
            licences[key] = licences.get(key, 0) + count
            if finding.accepted_by:
                accepted[key] = accepted.get(key, 0) + count
            cost = _as_cost(finding.data.get("monthly_cost"))
            if key not in costs:
                costs[key] = cost
            elif cost is not None:
                previous = costs[key]
                costs[key] = cost if previous is None else previous + cost
    skus = tuple(
        SkuWaste(
            sku=sku,
            currency=cur,
            licences=licences[(sku, cur)],
            monthly_cost=costs[(sku, cur)],
            accepted=accepted.get((sku, cur), 0),
        )
        for sku, cur in sorted(licences, key=lambda k: (k[1], -(costs[k] or 0.0), k[0]))
    )
    totals: list[CurrencyTotal] = []
    for currency in sorted({s.currency for s in skus}):
        mine = [s for s in skus if s.currency == currency]
        totals.append(
            CurrencyTotal(
                currency=currency,
                monthly_cost=round(sum(s.monthly_cost or 0.0 for s in mine), 2),
                licences=sum(s.licences for s in mine),
                unpriced_skus=tuple(s.sku for s in mine if s.monthly_cost is None),
            )
        )
    return LicenceWaste(skus=skus, totals=tuple(totals))


_CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def format_money(amount: float, currency: str) -> str:
    symbol = _CURRENCY_SYMBOLS.get(currency.upper())
    number = f"{amount:,.2f}"
    return f"{symbol}{number}" if symbol else f"{currency} {number}"


# --------------------------------------------------------------------------------------------------
# Formatting shared by renderers
# --------------------------------------------------------------------------------------------------


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def join_names(items: Sequence[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
