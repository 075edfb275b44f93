"""Draws the extension's icons: a 32x32 icon.png per task and the 128x128 extension icon.

Our own code, standard library only (zlib + struct PNG writer, supersampled shapes), so the
icons are reproducible: `python tools/icons.py` rewrites the committed files byte for byte.
Shapes are drawn in unit coordinates (0..1) so one drawing serves every size.
"""

from __future__ import annotations

import itertools
import math
import struct
import sys
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUPERSAMPLE = 4

Point = tuple[float, float]
Inside = Callable[[float, float], bool]
Color = tuple[int, int, int]

WHITE: Color = (255, 255, 255)


@dataclass(frozen=True)
class Layer:
    color: Color
    inside: Inside


def rounded_rect(x0: float, y0: float, x1: float, y1: float, r: float) -> Inside:
    def inside(x: float, y: float) -> bool:
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return False
        cx = min(max(x, x0 + r), x1 - r)
        cy = min(max(y, y0 + r), y1 - r)
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r

    return inside


def polygon(points: Sequence[Point]) -> Inside:
    def inside(x: float, y: float) -> bool:
        hit = False
        for (ax, ay), (bx, by) in zip(points, [*points[1:], points[0]], strict=True):
            if (ay > y) != (by > y) and x < ax + (y - ay) * (bx - ax) / (by - ay):
                hit = not hit
        return hit

    return inside


def polyline(points: Sequence[Point], width: float) -> Inside:
    half = width / 2

    def near(x: float, y: float, a: Point, b: Point) -> bool:
        (ax, ay), (bx, by) = a, b
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy or 1.0)))
        return math.hypot(x - ax - t * dx, y - ay - t * dy) <= half

    def inside(x: float, y: float) -> bool:
        return any(near(x, y, a, b) for a, b in itertools.pairwise(points))

    return inside


def union(*shapes: Inside) -> Inside:
    return lambda x, y: any(shape(x, y) for shape in shapes)


def minus(shape: Inside, hole: Inside) -> Inside:
    return lambda x, y: shape(x, y) and not hole(x, y)


def tile(color: Color) -> Layer:
    return Layer(color, rounded_rect(0.03, 0.03, 0.97, 0.97, 0.18))


def publish() -> list[Layer]:
    arrow = union(
        polyline([(0.5, 0.66), (0.5, 0.36)], 0.11),
        polygon([(0.28, 0.44), (0.5, 0.18), (0.72, 0.44)]),
    )
    tray = polyline([(0.24, 0.6), (0.24, 0.79), (0.76, 0.79), (0.76, 0.6)], 0.09)
    return [tile((0, 120, 212)), Layer(WHITE, union(arrow, tray))]


def devtest() -> list[Layer]:
    flask = polygon(
        [(0.41, 0.26), (0.59, 0.26), (0.59, 0.44), (0.78, 0.8), (0.22, 0.8), (0.41, 0.44)]
    )
    lip = rounded_rect(0.34, 0.17, 0.66, 0.27, 0.03)
    return [tile((134, 97, 197)), Layer(WHITE, union(flask, lip))]


def deploy() -> list[Layer]:
    servers = union(*(rounded_rect(0.54, y, 0.84, y + 0.16, 0.03) for y in (0.2, 0.42, 0.64)))
    arrow = union(
        polyline([(0.14, 0.5), (0.36, 0.5)], 0.1),
        polygon([(0.32, 0.34), (0.48, 0.5), (0.32, 0.66)]),
    )
    return [tile((16, 124, 16)), Layer(WHITE, union(servers, arrow))]


def health() -> list[Layer]:
    pulse = [(0.12, 0.56), (0.32, 0.56), (0.41, 0.3), (0.54, 0.76), (0.63, 0.48), (0.88, 0.48)]
    return [tile((216, 59, 1)), Layer(WHITE, polyline(pulse, 0.09))]


def extension() -> list[Layer]:
    screen = rounded_rect(0.14, 0.2, 0.86, 0.7, 0.05)
    frame = minus(screen, rounded_rect(0.2, 0.26, 0.8, 0.64, 0.02))
    stand = union(
        rounded_rect(0.44, 0.7, 0.56, 0.8, 0.0), rounded_rect(0.32, 0.78, 0.68, 0.84, 0.02)
    )
    package = polygon(
        [(0.5, 0.3), (0.64, 0.37), (0.64, 0.53), (0.5, 0.6), (0.36, 0.53), (0.36, 0.37)]
    )
    seams = polyline([(0.36, 0.37), (0.5, 0.44), (0.64, 0.37)], 0.025)
    seam_down = polyline([(0.5, 0.44), (0.5, 0.6)], 0.025)
    return [
        tile((0, 120, 212)),
        Layer(WHITE, union(frame, stand, package)),
        Layer((0, 120, 212), union(seams, seam_down)),
    ]


def render(layers: Sequence[Layer], size: int) -> bytes:
    """RGBA pixels, row by row: each layer composited 'over' with its sub-pixel coverage."""
    n = SUPERSAMPLE
    offsets = [(i + 0.5) / n for i in range(n)]
    rows = bytearray()
    for py in range(size):
        for px in range(size):
            r = g = b = a = 0.0
            for layer in layers:
                hits = sum(
                    layer.inside((px + ox) / size, (py + oy) / size)
                    for oy in offsets
                    for ox in offsets
                )
                cover = hits / (n * n)
                under = (r, g, b)
                r, g, b = (
                    c * cover + u * (1 - cover) for c, u in zip(layer.color, under, strict=True)
                )
                a = cover + a * (1 - cover)
            # Colour was blended against transparent black: un-premultiply for PNG.
            rgb = (round(c / a) if a else 0 for c in (r, g, b))
            rows += bytes([*rgb, round(a * 255)])
    return bytes(rows)


def png(pixels: bytes, size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    stride = size * 4
    raw = b"".join(b"\x00" + pixels[y * stride : (y + 1) * stride] for y in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


# Where each icon goes, its size, and its drawing.
ICONS: dict[str, tuple[int, Callable[[], list[Layer]]]] = {
    "tasks/PublishVmApp/icon.png": (32, publish),
    "tasks/DevTestLabEnv/icon.png": (32, devtest),
    "tasks/DeployVmApp/icon.png": (32, deploy),
    "tasks/HealthGate/icon.png": (32, health),
    "images/extension-icon.png": (128, extension),
}


def draw(relative: str) -> bytes:
    size, drawing = ICONS[relative]
    return png(render(drawing(), size), size)


def main() -> int:
    for relative in ICONS:
        target = ROOT / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(draw(relative))
        print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
