"""Inline SVG charts for the report: a health check's values per evaluation against its limit,
and the timings of a release's stages."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, LEFT, PAD = 340, 130, 48, 24
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE]-?\d+)?")
COLOURS = {"Pass": "#2e7d32", "Fail": "#c62828", "Inconclusive": "#f9a825"}
STATUS_COLOURS = {"succeeded": "#2e7d32", "failed": "#c62828"}


@dataclass(frozen=True)
class CheckSeries:
    name: str
    values: Sequence[float | None]
    classes: Sequence[str]  # Pass | Fail | Inconclusive | NoData per evaluation
    limit: str  # "< 300", or a baseline description

    def limit_value(self) -> float | None:
        found = _NUMBER.search(self.limit)
        return float(found.group()) if found and self.limit[:1] in "<>=" else None


def _text(x: float, y: float, text: str, size: int = 10, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}"{extra}>{html.escape(text)}</text>'


def check_chart(series: CheckSeries) -> str:
    numbers = [v for v in series.values if v is not None]
    limit = series.limit_value()
    peak = max([*numbers, limit or 0.0])
    top = (peak if peak > 0 else 1.0) * 1.15  # all zeros still get a readable scale
    count = max(len(series.values), 1)
    bottom = HEIGHT - PAD

    def x(i: int) -> float:
        return LEFT + (WIDTH - LEFT - 16) * (i / max(count - 1, 1) if count > 1 else 0.5)

    def y(v: float) -> float:
        return bottom - (HEIGHT - 2 * PAD) * (v / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{html.escape(series.name)}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff" stroke="#ddd"/>',
        _text(6, 15, f"{series.name}: limit {series.limit or 'none'}", 12, font_weight="600"),
        # The value axis: zero and the top of the scale, so a point reads as a number.
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{PAD}" y2="{bottom}" stroke="#bbb"/>',
        f'<line x1="{LEFT}" x2="{WIDTH - 12}" y1="{bottom}" y2="{bottom}" stroke="#bbb"/>',
        _text(LEFT - 4, bottom + 3, "0", text_anchor="end"),
        _text(LEFT - 4, y(top / 1.15) + 3, f"{top / 1.15:.4g}", text_anchor="end"),
    ]
    if limit is not None:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - 12}" y1="{y(limit):.1f}" y2="{y(limit):.1f}" '
            'stroke="#c62828" stroke-dasharray="4 3"/>'
        )
        parts.append(_text(WIDTH - 14, y(limit) - 3, "limit", 9, fill="#c62828", text_anchor="end"))
    points = [(x(i), y(v)) for i, v in enumerate(series.values) if v is not None]
    if len(points) > 1:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#90a4ae"/>')
    for i, value in enumerate(series.values):
        label = series.classes[i] if i < len(series.classes) else ""
        if value is None:
            # No data is not zero: a short grey tick under the axis, not a point on it.
            parts.append(
                f'<rect x="{x(i) - 4:.1f}" y="{bottom + 2}" width="8" height="3" fill="#9e9e9e">'
                f"<title>evaluation {i + 1}: no data</title></rect>"
            )
            continue
        colour = COLOURS.get(label, "#555")
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="4" fill="{colour}">'
            f"<title>evaluation {i + 1}: {value:g} ({html.escape(label)})</title></circle>"
        )
    last = next((v for v in reversed(series.values) if v is not None), None)
    latest = f"; last {last:.4g}" if last is not None else ""
    parts.append(_text(LEFT, HEIGHT - 6, f"evaluations 1..{count}{latest}"))
    return "".join([*parts, "</svg>"])


def timing_chart(rows: Sequence[tuple[str, float, str]]) -> str:
    """Horizontal bars: (label, seconds, status) per stage."""
    longest = max([seconds for _, seconds, _ in rows] + [1.0])
    height = 22 * len(rows) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="560" height="{height}" role="img">']
    for index, (label, seconds, status) in enumerate(rows):
        top = 5 + 22 * index
        width = 300 * seconds / longest
        colour = STATUS_COLOURS.get(status, "#9e9e9e")
        parts.append(_text(0, top + 13, label, 12))
        parts.append(f'<rect x="100" y="{top}" width="{width:.1f}" height="16" fill="{colour}"/>')
        parts.append(_text(106 + width, top + 13, f"{seconds:.1f} s ({status})", 11))
    return "".join([*parts, "</svg>"])
