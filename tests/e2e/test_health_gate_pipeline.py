"""The release chain on the sandbox with nothing declared by hand: PublishVmApp-style versions
in the gallery, DeployVmApp installs 1.0.0 then updates to 2.0.0 on two VMs, and HealthGate,
fed DeployVmApp's `deployedTargets` and `deploymentStartTime` outputs, fails the update on its
error rate. The workspace's telemetry follows what the VM provider says each VM runs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from tests.e2e.test_deploy_world import (  # the deploy tests' sandbox world
    RG,
    Arm,
    Sandbox,
    base_seed,
    publish_version,
    run_deploy,
    start_sandbox,
)
from tests.helpers.agent_env import run_pytask

SEED = base_seed(
    {
        "virtualMachines": [
            {"name": "pipe-1", "resourceGroup": RG},
            {"name": "pipe-2", "resourceGroup": RG},
        ],
        "scaleSets": [{"name": "ss-gate", "resourceGroup": RG, "instances": 2}],
        "workspaces": [
            {
                "name": "law-pipe",
                "resourceGroup": RG,
                "ingestionDelaySeconds": 100,  # 1 s at time scale 0.01
                "sampleSeconds": 1,
                "historySeconds": 600,
                "telemetry": {
                    "default": {"requestsPerMinute": 600, "errorRate": 0.002},
                    "versions": [{"application": "webapp", "version": "2.0.0", "errorRate": 0.06}],
                },
            }
        ],
    }
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Arm]]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("pipeline"), SEED, time_scale=0.01)
    try:
        arm = Arm(sandbox)
        for version in ("1.0.0", "2.0.0"):
            publish_version(sandbox, arm, "webapp", version)
        yield sandbox, arm
    finally:
        sandbox.stop()


def _deploy(sandbox: Sandbox, version: str) -> dict[str, str]:
    out = run_deploy(
        sandbox,
        {
            "targets": f"{sandbox.vm_id('pipe-1')}\n{sandbox.vm_id('pipe-2')}",
            "applicationVersionId": sandbox.version_id("webapp", version),
            "strategy": "allAtOnce",
        },
    )
    outputs = out.outputs
    assert out.result == "Succeeded", out.text[-2000:]
    return outputs


def test_deploy_then_gate_fails_the_worse_version(world: tuple[Sandbox, Arm]) -> None:
    sandbox, arm = world
    _deploy(sandbox, "1.0.0")
    deployed = _deploy(sandbox, "2.0.0")
    workspace = arm.get(
        f"{sandbox.group_id()}/providers/Microsoft.OperationalInsights/workspaces/law-pipe",
        "2023-09-01",
    )
    time.sleep(2)  # some requests served by 2.0.0 and ingested
    code, out, stderr = run_pytask(
        "HealthGate",
        connection=sandbox.ready_file,
        inputs={
            "targets": deployed["deployedTargets"],
            "deploymentStartTime": deployed["deploymentStartTime"],
            "workspace": workspace["properties"]["customerId"],
            "checks": "- heartbeat\n- errorRate\n",
            "initialDelaySeconds": "0",
            "intervalSeconds": "1",
            "durationMinutes": "1",
        },
    )
    assert code == 0, stderr
    assert out.result == "Failed", out.text[-3000:]
    assert json.loads(out.outputs["failedChecks"]) == ["errorRate"]
    report = json.loads(Path(out.outputs["report"]).read_text())
    assert report["scope"]["computers"] == ["pipe-1", "pipe-2"]
    heartbeat, errors = report["checks"]
    assert set(heartbeat["timeline"]) == {"Pass"}
    explanation = errors["results"][-1]["explanation"]
    assert explanation["value"] > 0.03 and explanation["baselineValue"] < 0.01


def test_a_scale_set_target_is_its_instances(world: tuple[Sandbox, Arm]) -> None:
    sandbox, arm = world
    workspace = arm.get(
        f"{sandbox.group_id()}/providers/Microsoft.OperationalInsights/workspaces/law-pipe",
        "2023-09-01",
    )
    cpu = {"name": "cpu", "source": {"kind": "metric", "metric": "Percentage CPU"},
           "rule": {"threshold": "< 90", "aggregate": "mean"}}  # fmt: skip
    code, out, stderr = run_pytask(
        "HealthGate",
        connection=sandbox.ready_file,
        inputs={
            "targets": sandbox.vmss_id("ss-gate"),
            "deploymentStartTime": (datetime.now(timezone.utc) - timedelta(seconds=30)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "workspace": workspace["properties"]["customerId"],
            "checks": yaml.safe_dump(["heartbeat", cpu]),
            "initialDelaySeconds": "0",
            "intervalSeconds": "1",
            "consecutiveSuccessesToPass": "1",
        },
    )
    assert code == 0, stderr
    assert out.result == "Succeeded", out.text[-3000:]
    report = json.loads(Path(out.outputs["report"]).read_text())
    instances = arm.get(f"{sandbox.vmss_id('ss-gate')}/virtualMachines")["value"]
    names = sorted(i["properties"]["osProfile"]["computerName"] for i in instances)
    assert report["scope"]["computers"] == names and len(names) == 2
    heartbeat, cpu_check = report["checks"]
    assert heartbeat["results"][0]["explanation"]["value"] == 0
    assert 20 < cpu_check["results"][0]["explanation"]["value"] < 50
