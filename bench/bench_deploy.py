"""DeployVmApp on scale sets of 10, 50 and 200 instances (Manual upgrade policy, batches of
20%) in the sandbox, at a fixed time scale, through `pytask run` as the agent runs it.

    python -m bench deploy
    BENCH_DEPLOY_INSTANCES=200 python -m bench deploy      # one size
    BENCH_DEPLOY_TRACE=1 python -m bench deploy             # every ARM request, timed

For each size it reports (bench/record.py) the task's wall time against the critical-path
lower bound (batches x the scaled install time of one instance: a batch cannot finish before
its instances have installed, whatever the client does) and the ARM requests the task made
per instance against one request per instance. Then how both grow with N: the largest size's
figures against the smallest's (wall/bound ratio, requests per instance).
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.record import Comparison, report
from tests.e2e.test_deploy_world import (
    RG,
    Arm,
    base_seed,
    publish_version,
    run_deploy,
    start_sandbox,
)

SIZES = [int(n) for n in os.environ.get("BENCH_DEPLOY_INSTANCES", "10,50,200").split(",")]
BATCH_PERCENT = 20
TIME_SCALE = 0.1
INSTALL_SECONDS = 30.0  # real-Azure seconds for one application install
SCALE_SET = "ss-bench"
BENCHMARK = "deploy"


@dataclass(frozen=True)
class Rollout:
    instances: int
    result: str
    wall: float
    bound: float
    arm_requests: int

    @property
    def per_instance(self) -> float:
        return self.arm_requests / self.instances


def rollout(instances: int) -> Rollout:
    """Deploy one version to a fresh `instances`-instance scale set in its own sandbox."""
    seed = base_seed(
        {
            "scaleSets": [
                {
                    "name": SCALE_SET,
                    "resourceGroup": RG,
                    "instances": instances,
                    "upgradePolicy": "Manual",
                    "installSeconds": INSTALL_SECONDS,
                }
            ]
        }
    )
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as root:
        sandbox = start_sandbox(Path(root), seed, time_scale=TIME_SCALE)
        try:
            arm = Arm(sandbox)
            version = publish_version(sandbox, arm, "webapp", "1.0.0")
            before = len(sandbox.requests())
            inputs = {
                "targets": sandbox.vmss_id(SCALE_SET),
                "applicationVersionId": version,
                "batchSize": f"{BATCH_PERCENT}%",
                "timeoutMinutes": "30",
            }
            start, start_epoch = time.perf_counter(), time.time()
            out = run_deploy(sandbox, inputs, timeout=1800)
            wall = time.perf_counter() - start
            requests = [
                r
                for r in sandbox.requests()[before:]
                if r["path"].lower().startswith("/subscriptions/")
            ]
        finally:
            sandbox.stop()
    if os.environ.get("BENCH_DEPLOY_TRACE"):
        for r in requests:
            print(f"{r['time'] - start_epoch:7.2f} {r['method']:5} {r['status']} {r['path'][-70:]}")
    done = [c for c in out.commands if c.name == "task.complete"]
    result = done[-1].prop("result") if done else "no result"
    if result != "Succeeded":
        print(out.text[-3000:])
    per_batch = math.ceil(instances * BATCH_PERCENT / 100)
    batches = math.ceil(instances / per_batch)
    bound = batches * INSTALL_SECONDS * TIME_SCALE
    return Rollout(instances, result, wall, bound, len(requests))


def report_size(run: Rollout) -> None:
    details = {
        "instances": run.instances,
        "result": run.result,
        "batch_percent": BATCH_PERCENT,
        "install_seconds_scaled": INSTALL_SECONDS * TIME_SCALE,
        "arm_requests": run.arm_requests,
    }
    report(
        Comparison(
            benchmark=BENCHMARK,
            measure=f"{run.instances} instances, Manual, batch {BATCH_PERCENT}%: wall time",
            ours=run.wall,
            baseline=run.bound,
            baseline_label="critical-path lower bound: batches x scaled install time",
            unit="s",
            details=details,
        )
    )
    report(
        Comparison(
            benchmark=BENCHMARK,
            measure=f"{run.instances} instances: ARM requests per instance",
            ours=run.per_instance,
            baseline=1.0,
            baseline_label="one request per instance",
            unit="requests/instance",
            details=details,
        )
    )


def report_growth(small: Rollout, large: Rollout) -> None:
    """How overhead and requests scale from the smallest size to the largest."""
    label = f"{small.instances} -> {large.instances} instances"
    report(
        Comparison(
            benchmark=BENCHMARK,
            measure=f"growth {label}: wall time / critical path at {large.instances}",
            ours=large.wall / large.bound,
            baseline=small.wall / small.bound,
            baseline_label=f"the same ratio at {small.instances} instances",
            unit="x bound",
        )
    )
    report(
        Comparison(
            benchmark=BENCHMARK,
            measure=f"growth {label}: ARM requests per instance at {large.instances}",
            ours=large.per_instance,
            baseline=small.per_instance,
            baseline_label=f"requests per instance at {small.instances} instances",
            unit="requests/instance",
        )
    )


def main() -> int:
    runs = [rollout(size) for size in SIZES]
    for run in runs:
        report_size(run)
    if len(runs) > 1:
        report_growth(runs[0], runs[-1])
    return 0 if all(run.result == "Succeeded" for run in runs) else 1
