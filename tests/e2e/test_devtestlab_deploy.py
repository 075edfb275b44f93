"""The handoff DevTestLabEnv exists for: its `vmResourceIds` output, as it is, is DeployVmApp's
`targets`, and the application lands on the environment's Microsoft.Compute VMs."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.test_deploy_world import (
    PYTASK,
    REPO,
    Arm,
    Sandbox,
    base_seed,
    publish_version,
    run_deploy,
    start_sandbox,
)
from tests.helpers.vso import Output

pytestmark = pytest.mark.e2e

LAB = "dtl-handoff"
SEED = base_seed(
    {
        "labs": [
            {
                "name": LAB,
                "resourceGroup": "rg-app",
                "repositories": [{"name": "team", "path": "builtin:sample-repository"}],
            }
        ]
    }
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Arm]]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("dtl-deploy"), SEED, time_scale=0.002)
    try:
        yield sandbox, Arm(sandbox)
    finally:
        sandbox.stop()


def run_env(sandbox: Sandbox, inputs: dict[str, str]) -> Output:
    args = [PYTASK, "run", "DevTestLabEnv", "--connection", str(sandbox.ready_file)]
    for name, value in {"lab": LAB, "labResourceGroup": "rg-app", **inputs}.items():
        args += ["--input", f"{name}={value}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=REPO)
    return Output(done.stdout)


def test_environment_vms_take_a_vm_application(world: tuple[Sandbox, Arm]) -> None:
    sandbox, arm = world
    env = run_env(
        sandbox,
        {
            "name": "handoff",
            "artifactSource": "team",
            "template": "LinuxVMs",
            "parameters": json.dumps({"vmCount": 2, "adminPassword": "Handoff-Pw-1"}),
        },
    )
    assert env.result == "Succeeded", env.errors
    targets = env.outputs["vmResourceIds"]
    version = publish_version(sandbox, arm, "webapp", "1.0.0")

    deploy = run_deploy(sandbox, {"targets": targets, "applicationVersionId": version})
    done = [c for c in deploy.commands if c.name == "task.complete"]
    assert done and done[-1].prop("result") == "Succeeded", deploy.text[-3000:]
    deployed = json.loads(
        next(c.message for c in deploy.commands if c.prop("variable") == "deployedTargets")
    )
    assert deployed == json.loads(targets)
    for vm_id in deployed:
        apps = arm.get(vm_id)["properties"]["applicationProfile"]["galleryApplications"]
        assert [a["packageReferenceId"].lower() for a in apps] == [version.lower()]
