"""HealthGate on the sandbox: what a verdict costs and how soon a clear failure is caught.

    python -m bench gate
    BENCH_GATE_SOAK_MINUTES=2 python -m bench gate

Runs the gate live (initial delay 0, an evaluation every BENCH_GATE_INTERVAL seconds, a soak of
BENCH_GATE_SOAK_MINUTES) on two VMs per scenario: a version with ten times the error rate
(a clear failure) and a healthy one (passes after two clean evaluations). Reports, through
bench/record.py, the queries each verdict took (Log Analytics, metrics) against one query per
check per evaluation (a check with a baseline window queries it too), and the task's wall time
to the decision against the soak duration (what a fixed-length gate would wait).
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from bench.record import Comparison, report
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
    out, gate = world.run(
        pair,
        CHECKS,
        intervalSeconds=str(INTERVAL),
        durationMinutes=str(SOAK_MINUTES),
        **inputs,
    )
    wall = time.monotonic() - began
    soak = SOAK_MINUTES * 60.0
    verdict = gate["verdict"]
    queries = gate["queries"]
    evaluations = max(1, verdict["intervals"])
    details = {
        "verdict": verdict["outcome"],
        "task_result": out.result,
        "evaluations": evaluations,
        "interval_s": INTERVAL,
        "queries": queries,
    }
    report(
        Comparison(
            benchmark="gate",
            measure=f"{label}: queries to the verdict ({verdict['outcome']} after "
            f"{evaluations} evaluation(s), {len(CHECKS)} checks)",
            ours=float(queries["total"]),
            baseline=float(len(CHECKS) * evaluations),
            baseline_label="one query per check per evaluation",
            unit="queries",
            details=details,
        )
    )
    report(
        Comparison(
            benchmark="gate",
            measure=f"{label}: task wall time to the verdict ({verdict['outcome']})",
            ours=wall,
            baseline=soak,
            baseline_label=f"the soak duration ({SOAK_MINUTES} min), a fixed-length gate's wait",
            unit="s",
            target="ours < soak (decides early)",
            met=wall < soak,
            details=details,
        )
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
