"""One place where benchmarks print and keep their figures: each comparison prints what it
compares, both figures and their ratio, and is appended as a row to bench/results.json (a
JSON list, oldest first), so runs on different days and machines can be compared."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RESULTS = Path(os.environ.get("BENCH_RESULTS", Path(__file__).with_name("results.json")))


@dataclass(frozen=True)
class Comparison:
    benchmark: str  # e.g. "overhead"
    measure: str  # what is compared, e.g. "launcher start to first ARM request (median of 7)"
    ours: float
    baseline: float
    baseline_label: str  # what the baseline is, e.g. "plain Python script, same first call"
    unit: str  # "s", "MiB/s", "MiB", ...
    target: str = ""  # e.g. "ratio <= 1.5 and ours < 1 s"; empty when there is none
    met: bool | None = None  # whether the target is met; None when there is none
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("inf")


def report(comparison: Comparison) -> None:
    """Print the comparison and append it to the results file."""
    c = comparison
    verdict = "" if c.met is None else ("  target met" if c.met else "  TARGET MISSED")
    print(f"[{c.benchmark}] {c.measure}")
    print(f"    ours      {c.ours:12.3f} {c.unit}")
    print(f"    baseline  {c.baseline:12.3f} {c.unit}  ({c.baseline_label})")
    print(f"    ratio     {c.ratio:12.3f}{f'  (target: {c.target})' if c.target else ''}{verdict}")
    _append({**asdict(c), "ratio": round(c.ratio, 4), **_context()})


def _context() -> dict[str, Any]:
    return {
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": _commit(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}",
    }


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent,
    )
    return done.stdout.strip() or "unknown"


def _append(row: dict[str, Any]) -> None:
    rows: list[Any] = []
    if RESULTS.exists():
        try:
            rows = json.loads(RESULTS.read_text(encoding="utf-8"))
        except ValueError:
            rows = []
    rows.append(row)
    RESULTS.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
