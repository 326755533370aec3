"""How every output writes a figure: the score, a change of score, a share and a count.

One module so that report.html, summary.md, the PDFs and the portfolio never disagree on the same number.
The score is stored rounded to one decimal (``hygiene.scoring``) and is shown with exactly that decimal:
no output rounds it a second time, so "62.4" in the report is "62.4" in the portfolio and the evidence PDF.
Shares are whole percentages rounded down, so a coverage of 49.6% never reads as the 50% a grade cap is
judged against.
"""

from __future__ import annotations

import math


def format_score(value: float) -> str:
    """A score 0-100 as stored: one decimal, clamped (62.4 -> "62.4", 80 -> "80.0")."""
    return f"{max(0.0, min(100.0, value)):.1f}"


def format_score_delta(delta: float) -> str:
    """A change of score with its sign, one decimal: +3.5, -2.0; no change is "0.0" (never "+0.0" or "-0.0")."""
    rounded = round(delta, 1)
    if rounded == 0:
        return "0.0"
    return f"{rounded:+.1f}"


def format_percent(fraction: float) -> str:
    """A share 0-1 as a whole percentage rounded down, clamped: 0.734 -> "73%", 0.4996 -> "49%", 1 -> "100%"."""
    clamped = max(0.0, min(1.0, fraction))
    # the small epsilon keeps 0.29 (stored as 0.28999...) at 29%
    return f"{math.floor(clamped * 100 + 1e-9)}%"


def format_count(count: int) -> str:
    """A count with thousands separators: 5000 -> "5,000"."""
    return f"{count:,}"
