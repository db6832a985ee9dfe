"""Bar-chart geometry for the archive's inline SVG: numbers in, rectangles out.

The templates only draw what this computes, so the proportions (a bar's height
is its value over the largest value) are plain Python and testable without a
browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PLOT_HEIGHT = 160.0
TOP = 22.0  # room for the value over the tallest bar
BOTTOM = 26.0  # room for the labels under the bars


@dataclass(frozen=True, slots=True)
class Point:
    """One column of a chart: a primary value (replies), an optional secondary
    value drawn beside it (participants), and what a reader is told about it."""

    label: str
    value: int
    title: str
    secondary: int | None = None
    href: str | None = None


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Column:
    point: Point
    bar: Rect
    secondary_bar: Rect | None
    label_x: float
    show_label: bool


@dataclass(frozen=True, slots=True)
class BarChart:
    width: float
    height: float
    baseline: float
    columns: tuple[Column, ...]
    peak: int


def _round(value: float) -> float:
    return round(value, 2)


def bar_chart(
    points: Sequence[Point],
    *,
    slot: float = 64.0,
    min_width: float = 0.0,
    plot_height: float = PLOT_HEIGHT,
    top: float = TOP,
    bottom: float = BOTTOM,
) -> BarChart:
    """Columns of equal width; every bar's height is proportional to its value
    (the secondary series uses the same scale, so the two can be compared)."""
    count = max(len(points), 1)
    width = max(slot * count, min_width)
    slot = width / count
    baseline = top + plot_height
    peak = max((max(p.value, p.secondary or 0) for p in points), default=0)
    scale = plot_height / peak if peak else 0.0
    paired = any(p.secondary is not None for p in points)
    # Label at most about a dozen columns so the words never run into each other.
    label_every = max(1, -(-len(points) // 12))

    def rect(left: float, share: float, value: int) -> Rect:
        height = value * scale
        return Rect(_round(left), _round(baseline - height), _round(slot * share), _round(height))

    columns = []
    for index, point in enumerate(points):
        left = index * slot
        if paired:
            bar = rect(left + slot * 0.14, 0.42, point.value)
            second = rect(left + slot * 0.58, 0.28, point.secondary or 0)
        else:
            bar, second = rect(left + slot * 0.15, 0.7, point.value), None
        columns.append(
            Column(
                point=point,
                bar=bar,
                secondary_bar=second,
                label_x=_round(left + slot / 2),
                show_label=index % label_every == 0,
            )
        )
    return BarChart(
        width=_round(width),
        height=_round(baseline + bottom),
        baseline=_round(baseline),
        columns=tuple(columns),
        peak=peak,
    )
