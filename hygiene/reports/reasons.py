"""Findings of one check grouped by reason: "6 Windows 10 out of support since 2025-10-14 · 4 last synced
45–90 days ago".

A check's findings carry a one-line ``detail``; findings that fail for the same reason differ only in
numbers (days, counts, versions), in a parenthesised aside or in a segment naming the person
("; user ann@…"). :func:`reason_key` strips those, so the details fall into a few groups; the label of a
group shows a number that all its members share as it is, and numbers that differ as their range.

Pure and text-only: the label is derived from vendor text and must be escaped like it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from hygiene.results import FindingResult

#: a number, a date (2025-10-14) or a version (10.0.19045.6456) as one token
_NUMBER = re.compile(r"\d+(?:[.:-]\d+)*")
_ASIDE = re.compile(r" ?\([^()]*\)")
#: groups shown by name; the rest are summed into "other reasons"
MAX_GROUPS = 6


@dataclass(frozen=True)
class ReasonGroup:
    label: str
    count: int


def _plain(detail: str) -> str:
    text = " ".join(detail.split())
    if "(" in text:
        previous = None
        while previous != text:  # nested asides, innermost first
            previous, text = text, _ASIDE.sub("", text)
    if ";" not in text:
        return text.strip()
    segments = [s.strip() for s in text.split(";")]
    kept = [s for s in segments if s and "@" not in s]
    return "; ".join(kept) or text.strip()


def reason_key(detail: str) -> str:
    """What a finding's detail says once its numbers, asides and named people are set aside."""
    return _NUMBER.sub("#", _plain(detail))


def _number_order(token: str) -> tuple[int, ...] | tuple[str]:
    parts = re.split(r"[.:-]", token)
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else (token,)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _span(values: Sequence[str]) -> str:
    """Differing numbers as a range (days 95–200, dates 2026-07-08 to 2026-12-02); versions and times as "…"."""
    if all(v.isdigit() for v in values):
        return f"{values[0]}–{values[-1]}"
    if all(_DATE.fullmatch(v) for v in values):
        return f"{values[0]} to {values[-1]}"
    return "…"


def _label(plains: Sequence[str]) -> str:
    numbers = [_NUMBER.findall(p) for p in plains]
    pieces = _NUMBER.split(plains[0])
    out = [pieces[0]]
    for index, piece in enumerate(pieces[1:]):
        values = sorted({n[index] for n in numbers if index < len(n)}, key=_number_order)
        out.append(values[0] if len(values) == 1 else _span(values))
        out.append(piece)
    return "".join(out)


Grouped = tuple[list[FindingResult], list[ReasonGroup]]


def grouped(findings: Sequence[FindingResult], limit: int = MAX_GROUPS) -> Grouped:
    """The findings worst first (:func:`by_reason`) and their reasons (:func:`reason_groups`), in one pass."""
    memo: dict[str, tuple[str, str]] = {}  # the same detail recurs ("not enrolled in 2-Step Verification")
    for finding in findings:
        if finding.detail not in memo:
            plain = _plain(finding.detail)
            memo[finding.detail] = (plain, _NUMBER.sub("#", plain))
    plains = [memo[f.detail][0] for f in findings]
    keys = [memo[f.detail][1] for f in findings]
    members: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        members.setdefault(key, []).append(index)
    sizes = {key: len(indexes) for key, indexes in members.items()}
    first_seen = {key: indexes[0] for key, indexes in members.items()}
    order = sorted(
        range(len(findings)),
        key=lambda i: (1 if findings[i].accepted_by else 0, -sizes[keys[i]], first_seen[keys[i]], i),
    )
    groups: list[ReasonGroup] = []
    if len(findings) >= 2 and len(members) < len(findings):
        ordered = sorted(members.values(), key=len, reverse=True)  # stable: first seen first among equals
        groups = [ReasonGroup(label=_label([plains[i] for i in group]), count=len(group)) for group in ordered[:limit]]
        rest = sum(len(group) for group in ordered[limit:])
        if rest:
            groups.append(ReasonGroup(label="other reasons", count=rest))
    return [findings[i] for i in order], groups


def reason_groups(findings: Sequence[FindingResult], limit: int = MAX_GROUPS) -> list[ReasonGroup]:
    """The findings' reasons, biggest group first (ties: first seen); beyond ``limit`` groups the rest are one
    group "other reasons". Empty when grouping says nothing (fewer than two findings, or each its own reason)."""
    return grouped(findings, limit)[1]


def by_reason(findings: Sequence[FindingResult]) -> list[FindingResult]:
    """Findings ordered worst first: open before accepted, then the biggest reason group first (ties: the group
    seen first), in the check's order within a group."""
    return grouped(findings)[0]
