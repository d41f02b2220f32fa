"""Small charts as inline SVG text, for reports: no screen, no Qt, no plotting library.

Every label is escaped; the charts are plain polylines and bars on a light grid, sized in
pixels and scaled by the browser (viewBox), so they print sharp.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

COLOURS = ("#1f6fb2", "#d9641e", "#2e9e4f", "#8e44ad", "#c0392b", "#7f8c8d")
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 12, 28, 36


def _frame(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
        f'<text x="{width / 2:.0f}" y="16" text-anchor="middle" class="title">{escape(title)}'
        f"</text>{''.join(body)}</svg>"
    )


def _nice_top(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    while power > value:
        power /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _axes(width, height, y_top, x_labels: Sequence[str], y_format: str) -> list[str]:
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    parts = []
    for i in range(5):
        y = _TOP + plot_h * i / 4
        value = y_top * (4 - i) / 4
        parts.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_LEFT + plot_w}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">'
            f"{format(value, y_format)}</text>"
        )
    for x, label in x_labels:
        parts.append(
            f'<text x="{x:.1f}" y="{height - _BOTTOM + 14}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    return parts


def line_chart(
    title: str,
    series: dict[str, Sequence[float | None]],
    x_title: str = "epoch",
    width: int = 520,
    height: int = 240,
    y_format: str = ".2f",
) -> str:
    """One polyline per series over x = 1..n (None values are gaps), with a legend."""
    n = max((len(v) for v in series.values()), default=0)
    values = [v for vs in series.values() for v in vs if v is not None]
    y_top = _nice_top(max(values, default=1.0))
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM

    def x_of(i: int) -> float:
        return _LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y_of(v: float) -> float:
        return _TOP + plot_h * (1 - v / y_top)

    ticks = sorted({0, n - 1, *range(0, n, max(1, n // 8))}) if n else []
    body = _axes(width, height, y_top, [(x_of(i), str(i + 1)) for i in ticks], y_format)
    body.append(
        f'<text x="{_LEFT + plot_w:.0f}" y="{height - 6}" text-anchor="end">'
        f"{escape(x_title)}</text>"
    )
    for k, (name, vs) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(vs) if v is not None)
        if points:
            body.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        # The legend sits under the plot, beside the axis title, clear of the lines.
        x = _LEFT + 90 * k
        body.append(
            f'<rect x="{x}" y="{height - 15}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{height - 6}">{escape(name)}</text>'
        )
    return _frame(width, height, title, body)


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    width: int = 520,
    height: int = 240,
    y_format: str = "g",
    x_title: str = "",
) -> str:
    """Vertical bars, one per label, with the value above each (but zeros)."""
    y_top = _nice_top(max(values, default=1.0))
    if all(float(v).is_integer() for v in values):  # counts: whole numbers on the axis
        y_top = 4 * math.ceil(y_top / 4)
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    slot = plot_w / max(1, len(values))
    centres = [_LEFT + slot * (i + 0.5) for i in range(len(values))]
    every = max(1, len(labels) // 10)  # at most ~10 labels under the bars
    shown = [
        (x, label)
        for i, (x, label) in enumerate(zip(centres, labels, strict=True))
        if i % every == 0
    ]
    body = _axes(width, height, y_top, shown, y_format)
    if x_title:
        body.append(
            f'<text x="{_LEFT + plot_w / 2:.0f}" y="{height - 6}" text-anchor="middle">'
            f"{escape(x_title)}</text>"
        )
    for x, value in zip(centres, values, strict=True):
        h = plot_h * value / y_top
        body.append(
            f'<rect x="{x - slot * 0.4:.1f}" y="{_TOP + plot_h - h:.1f}" '
            f'width="{slot * 0.8:.1f}" height="{h:.1f}" fill="{COLOURS[0]}"/>'
        )
        if value and len(values) <= 20:
            body.append(
                f'<text x="{x:.1f}" y="{_TOP + plot_h - h - 3:.1f}" text-anchor="middle">'
                f"{format(value, y_format)}</text>"
            )
    return _frame(width, height, title, body)
