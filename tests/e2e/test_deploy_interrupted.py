"""DeployVmApp killed half-way, re-run, then rolled back from the RE-RUN's rollbackState: every
target goes back to what it ran before the interrupted deploy, not to the half-applied state
the re-run found. What makes it possible is the trail tag each write sets on its target
(pytask/tasks/deploy/trail.py); these tests read it back through ARM as a user would."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytask.tasks.deploy import trail
from tests.conftest import start_sandbox
from tests.e2e.test_deploy_world import RG, Sandbox, base_seed, gallery_apps, publish_version
from tests.helpers.agent_env import run_pytask, start_pytask
from tests.helpers.vso import Output
from tests.reliability import invariants
from tests.reliability.invariants import Cloud

pytestmark = pytest.mark.e2e

TAG = "vmapp.previous.releases.webapp"
SEED = base_seed(
    {
        "virtualMachines": [{"name": "vm-t", "resourceGroup": RG, "tags": {"team": "web"}}],
        "scaleSets": [{"name": "ss-t", "resourceGroup": RG, "instances": 2}],
    }
)


def pipeline_run(build: int) -> dict[str, str]:
    return {
        "Build.BuildId": str(build),
        "System.CollectionId": "c0ffee",
        "System.StageAttempt": "1",
    }


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    state = tmp_path_factory.mktemp("deploy-interrupted") / "state"
    running = start_sandbox(state, seed=yaml.safe_dump(SEED), time_scale=0.002)
    try:
        cloud = Cloud(running)
        for version in ("1.0.0", "1.1.0"):
            publish_version(cloud.sandbox, cloud.arm, "webapp", version)
        yield cloud
    finally:
        running.stop()


def targets(sandbox: Sandbox) -> list[str]:
    return [sandbox.vm_id("vm-t"), sandbox.vmss_id("ss-t")]


def deploy(cloud: Cloud, version: str, build: int, work: Path) -> Output:
    inputs = {
        "targets": "\n".join(targets(cloud.sandbox)),
        "applicationVersionId": cloud.sandbox.version_id("webapp", version),
        "batchSize": "1",
    }
    code, out, stderr = run_pytask(
        "DeployVmApp",
        connection=cloud.running.ready_file,
        inputs=inputs,
        variables=pipeline_run(build),
        work=work,
    )
    assert code == 0, stderr
    return out


def previous_versions(out: Output) -> dict[str, str | None]:
    state = json.loads(out.outputs["rollbackState"])
    return {
        t["id"].rsplit("/", 1)[-1]: (t["previous"] or {})
        .get("packageReferenceId", "/absent")
        .rsplit("/", 1)[-1]
        for t in state["targets"]
    }


def kill_at_the_scale_set_upgrade(cloud: Cloud, version: str, build: int, work: Path) -> None:
    """Start the deploy and SIGKILL it once it lists the scale set's instances (held by a
    delay): the VM and the scale-set model are on `version`, no instance is upgraded yet."""
    cloud.sandbox.set_faults(
        {"rules": [{"name": "hold-listing", "method": "GET", "inject": "delay", "seconds": 20,
                    "path": "virtualMachineScaleSets/ss-t/virtualMachines", "nth": 1}]}
    )  # fmt: skip
    inputs = {
        "targets": "\n".join(targets(cloud.sandbox)),
        "applicationVersionId": cloud.sandbox.version_id("webapp", version),
        "batchSize": "1",
    }
    task = start_pytask(
        "DeployVmApp",
        connection=cloud.running.ready_file,
        inputs=inputs,
        variables=pipeline_run(build),
        work=work,
    )
    try:
        deadline = time.monotonic() + 90
        fired = False
        while not fired and task.running() and time.monotonic() < deadline:
            fired = any(f["rule"] == "hold-listing" for f in cloud.running.faults_log())
            time.sleep(0.02)
        assert fired and task.kill(), "the deploy never reached the scale set's instances"
    finally:
        cloud.running.clear_faults()
        task.wait(timeout=30)


def test_rollback_from_the_rerun_restores_what_ran_before_the_killed_deploy(
    cloud: Cloud, tmp_path: Path
) -> None:
    sandbox, arm = cloud.sandbox, cloud.arm
    first = deploy(cloud, "1.0.0", 41, tmp_path / "first")
    assert first.result == "Succeeded", first.errors
    original = {t: gallery_apps(arm, t) for t in targets(sandbox)}

    kill_at_the_scale_set_upgrade(cloud, "1.1.0", 42, tmp_path / "killed")
    half = {t: gallery_apps(arm, t)[0]["packageReferenceId"] for t in targets(sandbox)}
    assert all(ref.endswith("/1.1.0") for ref in half.values()), half
    tags = arm.get(sandbox.vm_id("vm-t"))["tags"]
    assert tags["team"] == "web"
    assert json.loads(tags[TAG])["by"] == "1.1.0"
    assert json.loads(tags[TAG])["was"]["version"] == "1.0.0"

    rerun = deploy(cloud, "1.1.0", 42, tmp_path / "rerun")
    assert rerun.result == "Succeeded", rerun.errors
    # What each target ran before the killed attempt, not the 1.1.0 it found.
    assert previous_versions(rerun) == {"vm-t": "1.0.0", "ss-t": "1.0.0"}
    assert "written by an earlier attempt of this pipeline run" in "\n".join(rerun.plain)
    # Another pipeline run finds 1.1.0 in place and records that: the tag is not its own.
    other = deploy(cloud, "1.1.0", 43, tmp_path / "other")
    assert other.result == "Succeeded", other.errors
    assert previous_versions(other) == {"vm-t": "1.1.0", "ss-t": "1.1.0"}

    state = rerun.outputs["rollbackState"]
    code, back, stderr = run_pytask(
        "DeployVmApp",
        connection=cloud.running.ready_file,
        inputs={"action": "rollback", "rollbackState": state},
        variables=pipeline_run(42),
        work=tmp_path / "rollback",
    )
    assert code == 0 and back.result == "Succeeded", (stderr, back.errors)
    assert {t: gallery_apps(arm, t) for t in targets(sandbox)} == original
    assert not invariants.half_applied(cloud, targets(sandbox))
    # The rollback removed its tag in the same write and kept everyone else's.
    assert arm.get(sandbox.vm_id("vm-t"))["tags"] == {"team": "web"}
    assert not (arm.get(sandbox.vmss_id("ss-t")).get("tags") or {})


def test_trail_values_fit_azure_tags_and_keep_sas_out() -> None:
    app = (
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/applications/a"
    )
    was: dict[str, Any] = {
        "packageReferenceId": f"{app}/versions/1.0.0",
        "order": 2,
        "treatFailureAsDeploymentFailure": True,
        "configurationReference": "https://acct.blob.core.windows.net/c/cfg.json?sv=x&sig=SECRET",
    }
    left = trail.Trail("42@abcd1234", "1.1.0", was)
    value = trail.encode(left)
    assert value is not None and len(value) <= 256 and "SECRET" not in value
    back = trail.decode(value, app)
    assert back is not None and back.partial and back.by == "1.1.0"
    assert back.was == {k: v for k, v in was.items() if k != "configurationReference"}
    # A long entry drops what it can; the version and flags stay.
    was["configurationReference"] = "https://acct.blob.core.windows.net/c/" + "x" * 300
    slim = trail.decode(trail.encode(left) or "", app)
    assert slim is not None and slim.partial and slim.was and slim.was["order"] == 2
    # Others' tags are kept, ARM's 50-tag limit respected, names compared without case.
    full = {f"t{i}": "v" for i in range(50)}
    assert trail.with_trail(full, app, left) is None
    tags = trail.with_trail({"Owner": "me", "VMAPP.PREVIOUS.G.A": "old"}, app, left)
    assert tags is not None and set(tags) == {"Owner", "vmapp.previous.g.a"}
    assert trail.without_trail(tags, app) == {"Owner": "me"}
    assert trail.decode("not json", app) is None
