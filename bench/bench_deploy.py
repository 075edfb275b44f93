"""DeployVmApp on a 200-instance scale set (Manual upgrade policy, batches of 20%) in the
sandbox, at a fixed time scale.

    python -m bench deploy
    BENCH_DEPLOY_INSTANCES=50 python -m bench deploy

Prints the wall time of the task against the critical-path lower bound (batches x the scaled
install time of one instance: a batch cannot finish before its instances have installed), their
ratio, and the ARM requests the task made per instance.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path

from tests.e2e.test_deploy_world import (
    RG,
    Arm,
    base_seed,
    publish_version,
    run_deploy,
    start_sandbox,
)

INSTANCES = int(os.environ.get("BENCH_DEPLOY_INSTANCES", "200"))
BATCH_PERCENT = 20
TIME_SCALE = 0.1
INSTALL_SECONDS = 30.0  # real-Azure seconds for one application install
SCALE_SET = "ss-bench"


def main() -> int:
    seed = base_seed(
        {
            "scaleSets": [
                {
                    "name": SCALE_SET,
                    "resourceGroup": RG,
                    "instances": INSTANCES,
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
            if os.environ.get("BENCH_DEPLOY_TRACE"):
                for r in requests:
                    print(
                        f"{r['time'] - start_epoch:7.2f} {r['method']:5} {r['status']} "
                        f"{r['path'][-70:]}"
                    )
        finally:
            sandbox.stop()
    done = [c for c in out.commands if c.name == "task.complete"]
    outcome = done[-1].prop("result") if done else "no result"
    batches = math.ceil(100 / BATCH_PERCENT)
    bound = batches * INSTALL_SECONDS * TIME_SCALE
    report = {
        "instances": INSTANCES,
        "batches": batches,
        "result": outcome,
        "wall_seconds": round(wall, 2),
        "critical_path_seconds": round(bound, 2),
        "ratio": round(wall / bound, 2),
        "arm_requests": len(requests),
        "arm_requests_per_instance": round(len(requests) / INSTANCES, 3),
    }
    print(f"deploy to {INSTANCES} instances, Manual, batch {BATCH_PERCENT}%: {outcome}")
    print(f"  wall time            {wall:8.2f} s")
    each = INSTALL_SECONDS * TIME_SCALE
    print(f"  critical path bound  {bound:8.2f} s  ({batches} batches x {each:g} s)")
    print(f"  ratio                {wall / bound:8.2f}")
    print(
        f"  ARM requests         {len(requests):8d}  ({len(requests) / INSTANCES:.3f} per instance)"
    )
    print(json.dumps(report))
    if outcome != "Succeeded":
        print(out.text[-3000:])
        return 1
    return 0
