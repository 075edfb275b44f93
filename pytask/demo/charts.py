"""Inline SVG charts for the report: a health check's values per evaluation against its limit,
and the timings of a release's stages."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 320, 120, 28
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE]-?\d+)?")
COLOURS = {"Pass": "#2e7d32", "Fail": "#c62828", "Inconclusive": "#f9a825"}


@dataclass(frozen=True)
class CheckSeries:
    name: str
    values: Sequence[float | None]
    classes: Sequence[str]  # Pass | Fail | Inconclusive per evaluation
    limit: str  # "< 300", or a baseline description

    def limit_value(self) -> float | None:
        found = _NUMBER.search(self.limit)
        return float(found.group()) if found and self.limit[:1] in "<>=" else None


def check_chart(series: CheckSeries) -> str:
    numbers = [v for v in series.values if v is not None]
    limit = series.limit_value()
    top = max([*numbers, limit or 0.0, 1e-9]) * 1.15
    count = max(len(series.values), 1)

    def x(i: int) -> float:
        return PAD + (WIDTH - 2 * PAD) * (i / max(count - 1, 1) if count > 1 else 0.5)

    def y(v: float) -> float:
        return HEIGHT - PAD + -(HEIGHT - 2 * PAD) * (v / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{html.escape(series.name)}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fafafa" stroke="#ddd"/>',
        f'<text x="6" y="14" font-size="11">{html.escape(series.name)} '
        f"(limit {html.escape(series.limit)})</text>",
    ]
    if limit is not None:
        parts.append(
            f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y(limit):.1f}" y2="{y(limit):.1f}" '
            'stroke="#c62828" stroke-dasharray="4 3"/>'
        )
    points = [(x(i), y(v)) for i, v in enumerate(series.values) if v is not None]
    if len(points) > 1:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1565c0"/>')
    for i, value in enumerate(series.values):
        if value is None:
            continue
        colour = COLOURS.get(series.classes[i] if i < len(series.classes) else "", "#555")
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="4" fill="{colour}">'
            f"<title>evaluation {i + 1}: {value:g}</title></circle>"
        )
    parts.append(f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="10">evaluations 1..{count}</text>')
    return "".join([*parts, "</svg>"])


def timing_chart(rows: Sequence[tuple[str, float, str]]) -> str:
    """Horizontal bars: (label, seconds, status) per stage."""
    longest = max([seconds for _, seconds, _ in rows] + [1.0])
    height = 22 * len(rows) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="520" height="{height}" role="img">']
    for index, (label, seconds, status) in enumerate(rows):
        top = 5 + 22 * index
        width = 300 * seconds / longest
        colour = {"succeeded": "#2e7d32", "failed": "#c62828"}.get(status, "#9e9e9e")
        parts.append(f'<text x="0" y="{top + 14}" font-size="12">{html.escape(label)}</text>')
        parts.append(
            f'<rect x="140" y="{top}" width="{width:.1f}" height="16" fill="{colour}"/>'
            f'<text x="{146 + width:.1f}" y="{top + 13}" font-size="11">{seconds:.1f} s '
            f"({html.escape(status)})</text>"
        )
    return "".join([*parts, "</svg>"])
