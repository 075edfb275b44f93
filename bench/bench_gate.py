"""HealthGate on the sandbox: what a verdict costs and how soon a clear failure is caught.

    python -m bench gate
    BENCH_GATE_SOAK_MINUTES=2 python -m bench gate

Runs the gate live (initial delay 0, an evaluation every BENCH_GATE_INTERVAL seconds, a soak of
BENCH_GATE_SOAK_MINUTES) on two VMs per scenario: a version with ten times the error rate
(a clear failure) and a healthy one (passes after two clean evaluations). Prints queries per
verdict (Log Analytics, metrics, alerts) and the wall time to the decision against the soak
duration, with their ratio.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import start_sandbox
from tests.e2e.test_health_gate import (
    CPU_METRIC,
    LATENCY_CHECK,
    GateWorld,
    _workspace_id,
    deployed_at,
    seed,
)

SOAK_MINUTES = int(os.environ.get("BENCH_GATE_SOAK_MINUTES", "1"))
INTERVAL = int(os.environ.get("BENCH_GATE_INTERVAL", "5"))
CHECKS: list[Any] = ["heartbeat", "errorRate", LATENCY_CHECK, CPU_METRIC]


def _scenario(world: GateWorld, label: str, pair: str, **inputs: str) -> None:
    began = time.monotonic()
    out, report = world.run(
        pair,
        CHECKS,
        intervalSeconds=str(INTERVAL),
        durationMinutes=str(SOAK_MINUTES),
        **inputs,
    )
    wall = time.monotonic() - began
    soak = SOAK_MINUTES * 60.0
    verdict = report["verdict"]
    queries = report["queries"]
    evaluations = max(1, verdict["intervals"])
    print(
        f"{label:<16} verdict {verdict['outcome']:<8} after {evaluations} evaluation(s): "
        f"{queries['total']} queries ({queries.get('logs', 0)} logs, "
        f"{queries.get('metrics', 0)} metrics), {queries['total'] / evaluations:.1f}/evaluation, "
        f"peak {queries['peak']} concurrent"
    )
    print(
        f"{'':<16} decision in {wall:.1f} s (task wall time) vs soak {soak:.0f} s: "
        f"ratio {wall / soak:.3f}; task result {out.result}"
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        now = datetime.now(timezone.utc).replace(microsecond=0)
        world_seed = yaml.safe_dump(seed(now))
        sandbox = start_sandbox(Path(tmp) / "state", seed=world_seed, time_scale=0.01)
        try:
            world = GateWorld(sandbox, _workspace_id(sandbox), now, deployed_at(now))
            _scenario(world, "clear failure", "errors", consecutiveSuccessesToPass="0")
            _scenario(world, "healthy", "healthy", consecutiveSuccessesToPass="2")
        finally:
            sandbox.stop()
    return 0
