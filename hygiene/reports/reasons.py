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
_ASIDE = re.compile(r"\s*\([^()]*\)")
#: groups shown by name; the rest are summed into "other reasons"
MAX_GROUPS = 6


@dataclass(frozen=True)
class ReasonGroup:
    label: str
    count: int


def _plain(detail: str) -> str:
    text = " ".join(detail.split())
    previous = None
    while previous != text:  # nested asides, innermost first
        previous, text = text, _ASIDE.sub("", text)
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


def _label(details: Sequence[str]) -> str:
    plains = [_plain(d) for d in details]
    numbers = [_NUMBER.findall(p) for p in plains]
    pieces = _NUMBER.split(plains[0])
    out = [pieces[0]]
    for index, piece in enumerate(pieces[1:]):
        values = sorted({n[index] for n in numbers if index < len(n)}, key=_number_order)
        out.append(values[0] if len(values) == 1 else _span(values))
        out.append(piece)
    return "".join(out)


def reason_groups(findings: Sequence[FindingResult], limit: int = MAX_GROUPS) -> list[ReasonGroup]:
    """The findings' reasons, biggest group first (ties: first seen); beyond ``limit`` groups the rest are one
    group "other reasons". Empty when grouping says nothing (no findings, or every finding its own reason)."""
    members: dict[str, list[str]] = {}
    for finding in findings:
        members.setdefault(reason_key(finding.detail), []).append(finding.detail)
    if len(findings) < 2 or len(members) == len(findings):
        return []
    ordered = sorted(members.values(), key=len, reverse=True)  # stable: first seen first among equals
    groups = [ReasonGroup(label=_label(details), count=len(details)) for details in ordered[:limit]]
    rest = sum(len(details) for details in ordered[limit:])
    if rest:
        groups.append(ReasonGroup(label="other reasons", count=rest))
    return groups


def by_reason(findings: Sequence[FindingResult]) -> list[FindingResult]:
    """Findings ordered worst first: open before accepted, then the biggest reason group first."""
    sizes: dict[str, int] = {}
    for finding in findings:
        key = reason_key(finding.detail)
        sizes[key] = sizes.get(key, 0) + 1
    first_seen = {key: index for index, key in enumerate(dict.fromkeys(reason_key(f.detail) for f in findings))}

    def order(finding: FindingResult) -> tuple[int, int, int]:
        key = reason_key(finding.detail)
        return (1 if finding.accepted_by else 0, -sizes[key], first_seen[key])

    return sorted(findings, key=order)
