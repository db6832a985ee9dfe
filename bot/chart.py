"""The participation chart of a digest as a PNG image: replies per day as bars,
participants per day as a line, for platforms that show attached images.

Drawn with Pillow's bundled font, so it looks the same on every machine and
needs no font files or network.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from bot.digest import DayCount

FILENAME = "participation.png"
WIDTH, HEIGHT = 800, 340
_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 48, 24, 56, 48
_BACKGROUND = (255, 255, 255)
_INK = (32, 34, 37)
_MUTED = (116, 121, 130)
_GRID = (229, 231, 235)
_BARS = (88, 101, 242)
_LINE = (235, 137, 52)


def has_chart(days: Sequence[DayCount]) -> bool:
    """A chart is worth sending when something happened on at least one day."""
    return any(d.replies for d in days)


def chart_description(days: Sequence[DayCount]) -> str:
    """The chart in words, for screen readers and where images are off."""
    busiest = max(days, key=lambda d: d.replies)
    total = sum(d.replies for d in days)
    return (
        f"Replies per day: {total} over {len(days)} days,"
        f" the most on {busiest.day:%A %d %B} ({busiest.replies})."
    )


def _nice_top(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above `value`, for round grid lines."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def participation_png(days: Sequence[DayCount], title: str = "Replies per day") -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    heading = ImageFont.load_default(size=17)
    draw.text((_MARGIN_LEFT, 14), title, fill=_INK, font=heading)
    legend_x = WIDTH - _MARGIN_RIGHT - 230
    draw.rectangle((legend_x, 20, legend_x + 12, 32), fill=_BARS)
    draw.text((legend_x + 18, 18), "replies", fill=_MUTED, font=font)
    draw.line((legend_x + 100, 26, legend_x + 124, 26), fill=_LINE, width=3)
    draw.text((legend_x + 130, 18), "participants", fill=_MUTED, font=font)

    left, right = _MARGIN_LEFT, WIDTH - _MARGIN_RIGHT
    top, bottom = _MARGIN_TOP, HEIGHT - _MARGIN_BOTTOM
    peak = _nice_top(max([1, *(d.replies for d in days), *(d.participants for d in days)]))
    for i in range(5):
        value = peak * i / 4
        y = bottom - (bottom - top) * i / 4
        draw.line((left, y, right, y), fill=_GRID, width=1)
        label = f"{value:g}"
        draw.text((left - 8 - draw.textlength(label, font=font), y - 7), label, fill=_MUTED, font=font)
    if not days:
        return _png(image)

    slot = (right - left) / len(days)
    bar = max(2.0, min(48.0, slot * 0.6))
    points = []
    for i, day in enumerate(days):
        centre = left + slot * (i + 0.5)
        height = (bottom - top) * day.replies / peak
        if day.replies:
            draw.rectangle((centre - bar / 2, bottom - height, centre + bar / 2, bottom), fill=_BARS)
            count = str(day.replies)
            draw.text((centre - draw.textlength(count, font=font) / 2, bottom - height - 16), count,
                      fill=_INK, font=font)  # fmt: skip
        points.append((centre, bottom - (bottom - top) * day.participants / peak))
        if len(days) <= 14 or i % max(1, len(days) // 10) == 0:
            label = f"{day.day:%a %d}"
            draw.text((centre - draw.textlength(label, font=font) / 2, bottom + 8), label,
                      fill=_MUTED, font=font)  # fmt: skip
    if len(points) > 1:
        draw.line(points, fill=_LINE, width=3, joint="curve")
    for x, y in points:
        draw.ellipse((x - 3.5, y - 3.5, x + 3.5, y + 3.5), fill=_LINE)
    return _png(image)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
