"""Benchmark 6 (issue 9): the demo's release, each stage's wall time against the time Azure
itself takes during it, the part no client can avoid.

    python -m bench release

It runs exactly the demo (`pytask.demo.main.run_releases`: the same expanded pipeline, seeded
sandbox world and staged launchers, both versions) and lines the demo's stage and step times
up with two sandbox logs: operations.jsonl (every long-running operation a client started,
with its scheduled start and scaled duration) and requests.jsonl (every request, when it was
answered). Per stage of each release it prints:

- wall: the stage's wall time, as the demo's runner measured it;
- azure: the unavoidable time, the union of the stage's operation intervals (clipped to the
  stage). The union, not the sum: operations that run at once (an environment's two VM creates
  inside its deployment, nested in the environment's own operation) cost the stage the time of
  the longest, and a sum would count that parallel time twice and flatter the client. Where
  operations must follow one another (rollout batches) the union is their sum, and the gaps
  between them are the client's. So the union is the time at least one Azure operation was in
  flight: the critical path of the operations as the pipeline asks for them;
- gate: the time HealthGate waits between its evaluations, which the pipeline's author
  chooses (intervalSeconds x (evaluations - 1), from the "Evaluation k/N at T" lines the gate
  logs; the instants are in whole seconds but all share one fraction, so their difference is
  exact). Placed on the timeline from the gate's first query, which lags the instant by one
  query's latency;
- where the rest went, each instant of the stage counted once, in this order: start (from a
  task step's start to its first request: node launcher, Python imports, the first SDK call),
  exit (from a step's last request to its end: results, summaries, process exit), poll (from
  an operation's end to the client's next request in that step: polling granularity), other
  (requests, uploads to Blob Storage, the bash and artifact steps, the runner between steps);
- wall/azure and wall/(azure+gate).

The demo runs at its own time scale (ten minutes of Azure in 2.4 seconds), so azure is small
and the client's fixed costs dominate; azure_seconds in each row's details is what the same
operations would take at time scale 1.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.record import Comparison, report
from pytask.demo.agent import StepRun
from pytask.demo.console import Console
from pytask.demo.main import run_releases
from pytask.demo.model import StageRun
from pytask.demo.runner import OUR_TASKS

Interval = tuple[float, float]
_EVALUATION = re.compile(r"Evaluation \d+/\d+ at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")
# The requests HealthGate's evaluations make (Log Analytics, metrics, alerts).
_GATE_READS = ("Query_", "Metrics", "Alerts_")
PARTS = ("azure", "gate", "start", "exit", "poll", "other")


# --- intervals -------------------------------------------------------------------------------
def union(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for lo, hi in sorted(i for i in intervals if i[1] > i[0]):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def subtract(intervals: Sequence[Interval], taken: Sequence[Interval]) -> list[Interval]:
    """What of `intervals` (a union) is not in `taken` (a union)."""
    left: list[Interval] = []
    for lo, hi in intervals:
        cursor = lo
        for t_lo, t_hi in taken:
            if t_hi <= cursor or t_lo >= hi:
                continue
            if t_lo > cursor:
                left.append((cursor, t_lo))
            cursor = max(cursor, t_hi)
        if cursor < hi:
            left.append((cursor, hi))
    return left


def clip(intervals: Iterable[Interval], window: Interval) -> list[Interval]:
    return union((max(lo, window[0]), min(hi, window[1])) for lo, hi in intervals)


def length(intervals: Iterable[Interval]) -> float:
    return sum(hi - lo for lo, hi in intervals)


# --- the logs, per step ----------------------------------------------------------------------
def read_lines(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text("utf-8").splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line.strip()]


def window(started: float, seconds: float) -> Interval:
    return (started, started + seconds)


def within(records: Sequence[dict[str, Any]], span: Interval, key: str) -> list[dict[str, Any]]:
    return [r for r in records if span[0] <= float(r[key]) <= span[1]]


def gate_wait(step: StepRun, requests: Sequence[dict[str, Any]]) -> list[Interval]:
    """The soak between the gate's first and last evaluation, placed at its first query."""
    instants = [_instant(m.group(1)) for m in map(_EVALUATION.search, step.log) if m]
    reads = [
        float(r["time"])
        for r in within(requests, window(step.started, step.seconds), "time")
        if str(r["operation"]).startswith(_GATE_READS)
    ]
    if len(instants) < 2 or not reads:
        return []
    return [(min(reads), min(reads) + instants[-1] - instants[0])]


def _instant(text: str) -> float:
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return moment.timestamp()


def step_parts(
    step: StepRun, requests: Sequence[dict[str, Any]], operations: Sequence[dict[str, Any]]
) -> dict[str, list[Interval]]:
    """One step's start, exit and polling intervals (only our tasks call Azure)."""
    span = window(step.started, step.seconds)
    times = sorted(float(r["time"]) for r in within(requests, span, "time"))
    if step.task not in OUR_TASKS or not times:
        return {}
    ends = [float(o["end"]) for o in within(operations, span, "start")]
    polls = [(end, next(t for t in times if t >= end)) for end in ends if end <= times[-1]]
    return {"start": [(span[0], times[0])], "exit": [(times[-1], span[1])], "poll": polls}


def partition(found: dict[str, list[Interval]], span: Interval) -> dict[str, float]:
    """Seconds of `span` per part, each instant counted once, for the first part in PARTS
    order that covers it (Azure's time first: what overlaps it was not the client's cost)."""
    parts: dict[str, float] = {}
    taken: list[Interval] = []
    for part in PARTS:
        mine = subtract(clip(found[part], span), taken)
        parts[part] = length(mine)
        taken = union([*taken, *mine])
    return parts


# --- one stage -------------------------------------------------------------------------------
@dataclass
class StageFigures:
    version: str
    stage: str
    status: str
    wall: float
    parts: dict[str, float]
    steps: int  # task steps (each pays the start)
    requests: int  # answered by the sandbox during the stage
    operations: int
    azure_seconds: float  # the same operations' durations at time scale 1 (their sum)

    @property
    def azure(self) -> float:
        return self.parts["azure"]


def stage_figures(
    version: str,
    stage: StageRun,
    requests: Sequence[dict[str, Any]],
    operations: Sequence[dict[str, Any]],
) -> StageFigures:
    span = window(stage.started, stage.seconds)
    ops = [o for o in operations if o["start"] < span[1] and o["end"] > span[0]]
    found: dict[str, list[Interval]] = {p: [] for p in PARTS}
    found["azure"] = [(float(o["start"]), float(o["end"])) for o in ops]
    for step in stage.steps:
        for part, intervals in step_parts(step, requests, operations).items():
            found[part] += intervals
        if step.task == "HealthGate":
            found["gate"] += gate_wait(step, requests)
    found["other"] = [span]
    parts = partition(found, span)
    tasks = sum(1 for s in stage.steps if s.task in OUR_TASKS)
    real = sum(float(o["azure_seconds"]) for o in ops)
    answered = len(within(requests, span, "time"))
    return StageFigures(
        version, stage.name, stage.status, stage.seconds, parts, tasks, answered, len(ops), real
    )


# --- output ----------------------------------------------------------------------------------
def table(rows: Sequence[StageFigures]) -> str:
    head = f"{'release':8} {'stage':8} {'status':10} {'wall':>6} " + " ".join(
        f"{p:>6}" for p in PARTS
    )
    lines = [head + f" {'steps':>5} {'reqs':>4} {'ops':>4} {'wall/azure':>10} {'wall/(a+g)':>10}"]
    for r in rows:
        cells = " ".join(f"{r.parts[p]:6.2f}" for p in PARTS)
        floor = r.azure + r.parts["gate"]
        lines.append(
            f"{r.version:8} {r.stage:8} {r.status:10} {r.wall:6.2f} {cells} {r.steps:5d} "
            f"{r.requests:4d} {r.operations:4d} "
            f"{_ratio(r.wall, r.azure):>10} {_ratio(r.wall, floor):>10}"
        )
    return "\n".join(lines)


def _ratio(ours: float, floor: float) -> str:
    return f"{ours / floor:10.1f}" if floor > 0 else "-"


def record(row: StageFigures, time_scale: float) -> None:
    report(
        Comparison(
            benchmark="release",
            measure=f"demo release {row.version}, stage {row.stage}: wall time against the "
            "union of the sandbox's scheduled operation intervals",
            ours=round(row.wall, 3),
            baseline=round(row.azure, 3),
            baseline_label=f"Azure's operations at time scale {time_scale} (union)",
            unit="s",
            details={
                **{k: round(v, 3) for k, v in row.parts.items()},
                "status": row.status,
                "task_steps": row.steps,
                "requests": row.requests,
                "operations": row.operations,
                "azure_seconds": round(row.azure_seconds, 1),
                "time_scale": time_scale,
            },
        )
    )


def main() -> int:
    if shutil.which("node") is None or shutil.which("bash") is None:
        print("bench_release needs node and bash on PATH", file=sys.stderr)
        return 1
    root = Path(tempfile.mkdtemp(prefix="bench-release-"))
    with (root / "demo.log").open("w", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        demo = run_releases(Console(), root)
    ready = demo.sandbox.ready
    requests = read_lines(Path(ready["requests_log"]))
    operations = read_lines(Path(ready["operations_log"]))
    rows = [
        stage_figures(run.version, stage, requests, operations)
        for run in demo.runs
        for stage in run.stages
        if stage.status in ("succeeded", "failed")
    ]
    print(f"demo release at time scale {ready['time_scale']} (log: {root / 'demo.log'}); seconds:")
    print(table(rows))
    for row in rows:
        record(row, float(ready["time_scale"]))
    if demo.problems:
        print("the demo did not behave as described (figures above are of that run):")
        print("\n".join(f"  - {p}" for p in demo.problems))
        return 1
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
