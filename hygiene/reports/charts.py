"""Geometry of the report's inline SVG charts, computed here so the template only draws numbers.

No text of the scanned organisation goes into a chart: labels are dates and scores, and the template escapes
them like everything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hygiene.figures import format_score
from hygiene.reports.analysis import as_utc
from hygiene.results import TrendPoint

WIDTH, HEIGHT = 640, 190
LEFT, RIGHT, TOP, BOTTOM = 40, 16, 12, 30
#: at most this many dates under the x axis
MAX_DATE_LABELS = 6


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    #: e.g. "2026-12-03: 53.3 (grade F)"
    label: str


@dataclass(frozen=True)
class Tick:
    #: x for a date tick, y for a score tick
    at: float
    label: str
    #: SVG text-anchor: a date near an edge is drawn inwards so it is never cut
    anchor: str = "middle"


@dataclass(frozen=True)
class TrendChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    points: tuple[ChartPoint, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def _y(score: float) -> float:
    plot = HEIGHT - TOP - BOTTOM
    return TOP + plot * (1 - max(0.0, min(100.0, score)) / 100)


def trend_chart(trend: Sequence[TrendPoint]) -> TrendChart | None:
    """The score over time: x by the scans' dates (evenly spaced when they share one instant), y 0-100.
    None for fewer than two scans."""
    if len(trend) < 2:
        return None
    times = [as_utc(p.finished_at).timestamp() for p in trend]
    first, span = times[0], times[-1] - times[0]
    plot = WIDTH - LEFT - RIGHT

    def x(index: int) -> float:
        if span <= 0:
            return LEFT + plot * index / (len(trend) - 1)
        return LEFT + plot * (times[index] - first) / span

    short = span >= 2 * 86400
    fmt = "%Y-%m-%d" if short else "%Y-%m-%d %H:%M"
    points = tuple(
        ChartPoint(
            x=x(i), y=_y(p.score), label=f"{as_utc(p.finished_at):{fmt}}: {format_score(p.score)} (grade {p.grade})"
        )
        for i, p in enumerate(trend)
    )
    step = max(1, -(-len(trend) // MAX_DATE_LABELS))
    chosen = sorted({*range(0, len(trend), step), len(trend) - 1})
    x_ticks: list[Tick] = []
    for index in chosen:
        label = f"{as_utc(trend[index].finished_at):{fmt}}"
        if x_ticks and (label == x_ticks[-1].label or x(index) - x_ticks[-1].at < 90):
            if index == chosen[-1]:
                x_ticks[-1] = Tick(at=x(index), label=label)  # the latest scan's date wins
            continue
        x_ticks.append(Tick(at=x(index), label=label))
    y_ticks = tuple(Tick(at=_y(v), label=str(v), anchor="end") for v in range(0, 101, 20))
    dated = tuple(Tick(at=t.at, label=t.label, anchor=_anchor(t.at)) for t in x_ticks)
    return TrendChart(WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM, points, y_ticks, dated)


def _anchor(x: float) -> str:
    share = (x - LEFT) / (WIDTH - LEFT - RIGHT)
    return "start" if share < 0.2 else ("end" if share > 0.8 else "middle")
