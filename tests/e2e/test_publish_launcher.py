"""PublishVmApp through the packaged task, as the agent runs it: `node launcher.js` in the staged
task folder (`tools/build.py stage`), with PYTASK_PYTHON naming this venv's interpreter and the
agent's environment (INPUT_*, ENDPOINT_*) pointing at a sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import RunningSandbox, start_sandbox
from tests.helpers.agent_env import REPO, agent_environ, endpoint_from_json, run_subprocess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEED = {
    "resourceGroups": [{"name": "rg-launch", "location": "eastus"}],
    "storageAccounts": [
        {
            "name": "launchpkgs",
            "resourceGroup": "rg-launch",
            "allowSharedKeyAccess": False,
            "containers": ["packages"],
        }
    ],
    "galleries": [{"name": "launchgal", "resourceGroup": "rg-launch", "location": "eastus"}],
}


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    stage = tmp_path_factory.mktemp("stage")
    subprocess.run(
        [sys.executable, str(REPO / "tools" / "build.py"), "stage", "--stage-dir", str(stage)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    task = stage / "tasks" / "PublishVmApp"
    assert (task / "launcher.js").exists() and (task / "task.json").exists()
    return task


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    state = tmp_path_factory.mktemp("launcher-sandbox") / "state"
    running = start_sandbox(state, seed=yaml.safe_dump(SEED), time_scale=0.005)
    try:
        yield running
    finally:
        running.stop()


def test_packaged_task_publishes(staged: Path, cloud: RunningSandbox, tmp_path: Path) -> None:
    endpoint = endpoint_from_json(cloud["connection"])
    env = agent_environ(
        staged / "task.json",
        tmp_path,
        inputs={
            "azureSubscription": endpoint.id,
            "resourceGroup": "rg-launch",
            "galleryName": "launchgal",
            "applicationName": "launched",
            "version": "0.1.0",
            "osType": "Linux",
            "package": "pkg.tgz",
            "storageAccount": "launchpkgs",
            "storageContainer": "packages",
            "installCommand": "tar xzf launched -C /opt",
            "removeCommand": "rm -rf /opt/launched",
        },
        endpoints=(endpoint,),
        base={
            **{k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ},
            **cloud.env,
        },
    )
    (tmp_path / "s" / "pkg.tgz").write_bytes(b"\x1f\x8b" + b"packaged" * 100)
    env["PYTASK_PYTHON"] = sys.executable
    env.pop("PYTASK_TASK_JSON", None)  # the launcher names its own task.json
    code, out, err = run_subprocess(["node", str(staged / "launcher.js")], env)
    assert code == 0, err
    assert out.result == "Succeeded", (out.errors, err)
    assert out.outputs["replicationState"] == "Completed"
    assert out.outputs["applicationVersionId"].endswith("/applications/launched/versions/0.1.0")
    staged_json = json.loads((staged / "task.json").read_text())
    assert staged_json["name"] == "PublishVmApp"
