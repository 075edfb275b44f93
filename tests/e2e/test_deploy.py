"""DeployVmApp end to end: `pytask run DeployVmApp` against the sandbox, asserting on the ##vso
output the agent would read and on the state left in the sandbox."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_deploy_world import (
    PYTASK,
    REPO,
    RG,
    Arm,
    Sandbox,
    base_seed,
    gallery_apps,
    publish_version,
    puts,
    run_deploy,
    start_sandbox,
)
from tests.helpers.vso import Output

pytestmark = pytest.mark.e2e

SEED = base_seed(
    {
        "virtualMachines": [
            {"name": "vm-1", "resourceGroup": RG, "tags": {"role": "web"}},
            {"name": "vm-2", "resourceGroup": RG, "tags": {"role": "web"}},
            {"name": "vm-3", "resourceGroup": RG},
            {"name": "vm-4", "resourceGroup": RG},
            {"name": "vm-5", "resourceGroup": RG},
            {"name": "vm-6", "resourceGroup": RG},
            {"name": "vm-7", "resourceGroup": RG},
        ],
        "scaleSets": [
            {"name": "ss-manual", "resourceGroup": RG, "instances": 4},
            {
                "name": "ss-rolling",
                "resourceGroup": RG,
                "instances": 4,
                "upgradePolicy": "Rolling",
                "rollingUpgradePolicy": {"maxBatchInstancePercent": 50},
            },
            {"name": "ss-auto", "resourceGroup": RG, "instances": 2, "upgradePolicy": "Automatic"},
            {"name": "ss-fail", "resourceGroup": RG, "instances": 4},
            {"name": "ss-conc", "resourceGroup": RG, "instances": 1},
            {"name": "ss-crash", "resourceGroup": RG, "instances": 3},
            {"name": "ss-err", "resourceGroup": RG, "instances": 2},
            {
                "name": "ss-rollfail",
                "resourceGroup": RG,
                "instances": 4,
                "upgradePolicy": "Rolling",
                "rollingUpgradePolicy": {
                    "maxBatchInstancePercent": 25,
                    "maxUnhealthyUpgradedInstancePercent": 20,
                },
            },
        ],
    }
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Arm]]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("deploy"), SEED, time_scale=0.002)
    try:
        arm = Arm(sandbox)
        for app, version in (("webapp", "1.0.0"), ("webapp", "1.1.0"), ("agent", "1.0.0")):
            publish_version(sandbox, arm, app, version)
        publish_version(sandbox, arm, "webapp", "2.0.0")
        publish_version(sandbox, arm, "winapp", "1.0.0")
        yield sandbox, arm
    finally:
        sandbox.stop()


def outputs(out: Output) -> dict[str, str]:
    return {
        c.prop("variable") or "": c.message
        for c in out.commands
        if c.name == "task.setvariable" and c.prop("isOutput") == "true"
    }


def result(out: Output) -> str:
    done = [c for c in out.commands if c.name == "task.complete"]
    assert done, out.text[-3000:]
    return done[-1].prop("result") or ""


def instance_state(arm: Arm, view: dict[str, Any], app: str) -> tuple[str, str] | None:
    extension = next(e for e in view.get("extensions", []) if e["name"] == "VMAppExtension")
    message = extension["statuses"][0]["message"]
    state = json.loads(message[message.index("{") :])["CurrentState"]
    found = [s for s in state if s["applicationName"] == app]
    return (found[0]["version"], found[0]["result"]) if found else None


def test_vm_list_deploys_then_rerun_changes_nothing(world: tuple[Sandbox, Arm]) -> None:
    sandbox, arm = world
    version = sandbox.version_id("webapp", "1.0.0")
    inputs = {
        "targets": f"{sandbox.vm_id('vm-1')}\n{sandbox.vm_id('vm-2')}",
        "applicationVersionId": version,
        "batchSize": "1",
        "pauseBetweenBatchesSeconds": "1",
    }
    out = run_deploy(sandbox, inputs)
    assert result(out) == "Succeeded", out.text[-3000:]
    values = outputs(out)
    assert json.loads(values["deployedTargets"]) == [sandbox.vm_id("vm-1"), sandbox.vm_id("vm-2")]
    assert json.loads(values["failedInstances"]) == []
    state = json.loads(values["rollbackState"])
    assert [t["previous"] for t in state["targets"]] == [None, None]
    assert values["deploymentStartTime"].endswith("Z") and values["deploymentId"]
    # The rollback state is output before the first write, and each batch has its group.
    assert out.text.index("variable=rollbackState") < out.text.index("##[group]Batch 1: vm-1")
    assert "##[group]Batch 2: vm-2" in out.text
    assert out.text.count("Pausing 1 s before the next batch.") == 1
    assert any(c.name == "task.setprogress" and c.prop("value") == "100" for c in out.commands)
    assert "vm-1 | vm-1 | absent → 1.0.0 | succeeded | Install SUCCESS" in out.text
    view = arm.get(sandbox.vm_id("vm-2") + "/instanceView")
    assert instance_state(arm, view, "webapp") == ("1.0.0", "Install SUCCESS")

    before = len(sandbox.requests())
    again = run_deploy(sandbox, inputs)
    assert result(again) == "Succeeded", again.text[-3000:]
    assert puts(sandbox, before) == []


def test_resource_group_with_tag_filter_selects_targets(world: tuple[Sandbox, Arm]) -> None:
    sandbox, _ = world
    out = run_deploy(
        sandbox,
        {
            "resourceGroup": RG,
            "tagFilter": "role=web",
            "applicationVersionId": sandbox.version_id("webapp", "1.0.0"),
            "strategy": "allAtOnce",
        },
    )
    assert result(out) == "Succeeded", out.text[-3000:]
    assert "##[group]Batch 1: vm-1, vm-2" in out.text
    deployed = json.loads(outputs(out)["deployedTargets"])
    assert deployed == [sandbox.vm_id("vm-1"), sandbox.vm_id("vm-2")]


def test_scale_sets_under_each_upgrade_policy(world: tuple[Sandbox, Arm]) -> None:
    sandbox, arm = world
    targets = [sandbox.vmss_id(n) for n in ("ss-manual", "ss-rolling", "ss-auto")]
    out = run_deploy(
        sandbox,
        {
            "targets": json.dumps(targets),
            "galleryResourceGroup": RG,
            "galleryName": "releases",
            "applicationName": "webapp",
            "version": "1.1.0",
            "batchSize": "50%",
        },
    )
    assert result(out) == "Succeeded", out.text[-3000:]
    assert "##[group]Batch 1: ss-manual instances 0, 1" in out.text
    assert "##[group]Batch 2: ss-manual instances 2, 3" in out.text
    assert "ss-rolling rolling upgrade Completed: 4 succeeded" in out.text
    assert "ss-auto (Automatic upgrade policy)" in out.text
    for target in targets:
        instances = arm.get(target + "/virtualMachines?$expand=instanceView")["value"]
        assert all(i["properties"]["latestModelApplied"] for i in instances)
        for item in instances:
            view = item["properties"]["instanceView"]
            assert instance_state(arm, view, "webapp") == ("1.1.0", "Install SUCCESS")
    rolling = arm.get(sandbox.vmss_id("ss-rolling") + "/rollingUpgrades/latest")
    assert rolling["properties"]["runningStatus"]["code"] == "Completed"


def test_other_applications_are_preserved_in_order(world: tuple[Sandbox, Arm]) -> None:
    sandbox, arm = world
    vm = sandbox.vm_id("vm-3")
    agent = run_deploy(
        sandbox, {"targets": vm, "applicationVersionId": sandbox.version_id("agent", "1.0.0")}
    )
    assert result(agent) == "Succeeded", agent.text[-3000:]
    for version in ("1.1.0",):
        out = run_deploy(
            sandbox,
            {
                "targets": vm,
                "applicationVersionId": sandbox.version_id("webapp", version),
                "order": "2",
                "tags": "release-42",
            },
        )
        assert result(out) == "Succeeded", out.text[-3000:]
    apps = gallery_apps(arm, vm)
    assert [a["packageReferenceId"].rsplit("/", 3)[-3] for a in apps] == ["agent", "webapp"]
    assert apps[0]["packageReferenceId"] == sandbox.version_id("agent", "1.0.0")
    assert apps[1]["packageReferenceId"] == sandbox.version_id("webapp", "1.1.0")
    assert apps[1]["order"] == 2 and apps[1]["tags"] == "release-42"
    view = arm.get(vm + "/instanceView")
    assert instance_state(arm, view, "agent") == ("1.0.0", "Install SUCCESS")

    removed = run_deploy(
        sandbox,
        {
            "action": "remove",
            "targets": vm,
            "applicationVersionId": sandbox.version_id("webapp", "1.1.0"),
        },
    )
    assert result(removed) == "Succeeded", removed.text[-3000:]
    assert [a["packageReferenceId"] for a in gallery_apps(arm, vm)] == [
        sandbox.version_id("agent", "1.0.0")
    ]
    assert instance_state(arm, arm.get(vm + "/instanceView"), "webapp") is None


def _fail_instance_1(sandbox: Sandbox) -> None:
    sandbox.set_faults(
        {
            "rules": [],
            "vmApplicationFailures": [
                {
                    "instances": ["ss-fail/1", "ss-fail/3"],
                    "application": "webapp",
                    "version": "2.0.0",
                }
            ],
        }
    )


def test_failures_within_max_failures_succeed_with_issues(world: tuple[Sandbox, Arm]) -> None:
    sandbox, arm = world
    _fail_instance_1(sandbox)
    try:
        out = run_deploy(
            sandbox,
            {
                "targets": sandbox.vmss_id("ss-fail"),
                "applicationVersionId": sandbox.version_id("webapp", "2.0.0"),
                "maxFailures": "2",
                "batchSize": "2",
            },
        )
    finally:
        sandbox.set_faults({"rules": []})
    assert result(out) == "SucceededWithIssues", out.text[-3000:]
    failed = json.loads(outputs(out)["failedInstances"])
    assert [f["instance"] for f in failed] == ["ss-fail_1", "ss-fail_3"]
    assert "Install FAILED Error executing command" in failed[0]["message"]
    assert gallery_apps(arm, sandbox.vmss_id("ss-fail"))[0]["packageReferenceId"].endswith("2.0.0")


def test_failures_over_max_failures_stop_and_roll_back_exactly(world: tuple[Sandbox, Arm]) -> None:
    sandbox, arm = world
    target = sandbox.vmss_id("ss-fail")
    arrange = run_deploy(
        sandbox, {"targets": target, "applicationVersionId": sandbox.version_id("webapp", "1.0.0")}
    )
    assert result(arrange) == "Succeeded", arrange.text[-3000:]
    before = gallery_apps(arm, target)
    _fail_instance_1(sandbox)
    try:
        out = run_deploy(
            sandbox,
            {
                "targets": target,
                "applicationVersionId": sandbox.version_id("webapp", "2.0.0"),
                "maxFailures": "0",
                "batchSize": "2",
            },
        )
    finally:
        sandbox.set_faults({"rules": []})
    assert result(out) == "Failed", out.text[-3000:]
    errors = [c.message for c in out.commands if c.name == "task.logissue"]
    assert any("ss-fail_1: Update FAILED Error executing command" in e for e in errors), errors
    # Stopped after the first batch: instances 2 and 3 were never touched by 2.0.0.
    assert "##[group]Batch 2:" not in out.text.split("##[group]Rollback")[0]
    assert "##[group]Rollback" in out.text
    assert gallery_apps(arm, target) == before
    for item in arm.get(target + "/virtualMachines?$expand=instanceView")["value"]:
        view = item["properties"]["instanceView"]
        assert instance_state(arm, view, "webapp") in (
            ("1.0.0", "Install SUCCESS"),
            ("1.0.0", "Update SUCCESS"),
        )
    assert json.loads(outputs(out)["deployedTargets"]) == []


def test_action_rollback_restores_the_recorded_state(world: tuple[Sandbox, Arm]) -> None:
    sandbox, arm = world
    vm = sandbox.vm_id("vm-4")
    first = run_deploy(
        sandbox, {"targets": vm, "applicationVersionId": sandbox.version_id("webapp", "1.0.0")}
    )
    assert result(first) == "Succeeded", first.text[-3000:]
    before = gallery_apps(arm, vm)
    second = run_deploy(
        sandbox, {"targets": vm, "applicationVersionId": sandbox.version_id("webapp", "1.1.0")}
    )
    assert result(second) == "Succeeded", second.text[-3000:]
    state = outputs(second)["rollbackState"]
    back = run_deploy(sandbox, {"action": "rollback", "rollbackState": state})
    assert result(back) == "Succeeded", back.text[-3000:]
    assert gallery_apps(arm, vm) == before
    view = arm.get(vm + "/instanceView")
    assert instance_state(arm, view, "webapp") == ("1.0.0", "Update SUCCESS")


def test_concurrent_modification_is_detected_and_not_overwritten(
    world: tuple[Sandbox, Arm],
) -> None:
    sandbox, arm = world
    target = sandbox.vmss_id("ss-conc")
    # Hold the task's PUT; change the scale set meanwhile (a colleague's tag). The sandbox
    # logs the delay fault when the PUT arrives, before holding it: that is the moment to act,
    # whatever the machine's load (the task read the model earlier, so its If-Match is stale).
    sandbox.set_faults(
        {"rules": [{"name": "hold-put", "method": "PUT",
                    "path": "virtualMachineScaleSets/ss-conc$", "nth": 1,
                    "inject": "delay", "seconds": 3}]}
    )  # fmt: skip
    args = [PYTASK, "run", "DeployVmApp", "--connection", str(sandbox.ready_file),
            "--input", f"targets={target}",
            "--input", f"applicationVersionId={sandbox.version_id('webapp', '1.0.0')}"]  # fmt: skip
    task = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO)
    captured: list[bytes] = []
    reader = threading.Thread(target=lambda: captured.append(task.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not _fired(sandbox, "hold-put") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _fired(sandbox, "hold-put"), "the task never sent its PUT"
        arm.patch(target, {"tags": {"owner": "colleague"}})
        task.wait(timeout=90)
        reader.join()
    finally:
        sandbox.set_faults({"rules": []})
    out = Output(captured[0].decode())
    assert result(out) == "Succeeded", out.text[-3000:]
    assert "412 Precondition Failed" in out.text
    model = arm.get(target)
    # The colleague's tag is kept; the task's own tag (what the scale set ran before) is added.
    assert model["tags"]["owner"] == "colleague"
    assert set(model["tags"]) == {"owner", "vmapp.previous.releases.webapp"}
    assert gallery_apps(arm, target)[0]["packageReferenceId"].endswith("/webapp/versions/1.0.0")


def _fired(sandbox: Sandbox, rule: str) -> bool:
    return any(f["rule"] == rule for f in sandbox.running.faults_log())


def test_throttling_and_server_errors_are_survived(world: tuple[Sandbox, Arm]) -> None:
    sandbox, arm = world
    sandbox.set_faults(
        {
            "rules": [
                {"path": "virtualMachines/vm-5/instanceView", "count": 2, "inject": "status",
                 "status": 429, "retry_after": 1},
                {"method": "PATCH", "path": "virtualMachines/vm-5$", "nth": 1, "inject": "status",
                 "status": 503},
                {"method": "GET", "path": "virtualMachines/vm-5$", "nth": 1, "inject": "status",
                 "status": 500},
            ]
        }
    )  # fmt: skip
    try:
        out = run_deploy(
            sandbox,
            {
                "targets": sandbox.vm_id("vm-5"),
                "applicationVersionId": sandbox.version_id("webapp", "1.0.0"),
            },
        )
        faults = sandbox.running.faults_log()
    finally:
        sandbox.set_faults({"rules": []})
    assert result(out) == "Succeeded", out.text[-3000:]
    statuses = sorted(f["status"] for f in faults if "vm-5" in f["path"])
    assert statuses == [429, 429, 500, 503]
    view = arm.get(sandbox.vm_id("vm-5") + "/instanceView")
    assert instance_state(arm, view, "webapp") == ("1.0.0", "Install SUCCESS")


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ("windows-app-on-linux", "runs Linux but the application supports Windows"),
        ("missing-target", "does not exist"),
        ("not-a-vm", "is not a virtual machine"),
        ("missing-version", "does not exist"),
        ("both-target-kinds", "either 'targets' or 'resourceGroup'"),
        ("bad-batch", "batchSize"),
    ],
)
def test_bad_inputs_fail_before_any_write(
    world: tuple[Sandbox, Arm], case: str, problem: str
) -> None:
    sandbox, _ = world
    vm = sandbox.vm_id("vm-1")
    web = sandbox.version_id("webapp", "1.0.0")
    windows = sandbox.version_id("winapp", "1.0.0")
    missing = sandbox.version_id("webapp", "9.9.9")
    inputs = {
        "windows-app-on-linux": {"targets": vm, "applicationVersionId": windows},
        "missing-target": {
            "targets": f"{vm}\n{sandbox.vm_id('nope')}",
            "applicationVersionId": web,
        },
        "not-a-vm": {"targets": sandbox.group_id(), "applicationVersionId": web},
        "missing-version": {"targets": vm, "applicationVersionId": missing},
        "both-target-kinds": {"targets": vm, "resourceGroup": RG, "applicationVersionId": web},
        "bad-batch": {"targets": vm, "applicationVersionId": web, "batchSize": "0%"},
    }[case]
    before = len(sandbox.requests())
    out = run_deploy(sandbox, inputs)
    assert result(out) == "Failed", out.text[-3000:]
    errors = " ".join(c.message for c in out.commands if c.name == "task.logissue")
    assert problem in errors, errors
    assert puts(sandbox, before) == []


def test_rerun_after_a_crash_completes_the_remaining_instances(world: tuple[Sandbox, Arm]) -> None:
    sandbox, arm = world
    target = sandbox.vmss_id("ss-crash")
    version = sandbox.version_id("webapp", "1.0.0")
    # What a run killed after its first batch leaves behind: the model changed, instance 0 done.
    model = arm.get(target)
    model["properties"]["virtualMachineProfile"]["applicationProfile"] = {
        "galleryApplications": [
            {
                "packageReferenceId": version,
                "treatFailureAsDeploymentFailure": True,
                "enableAutomaticUpgrade": False,
            }
        ]
    }
    arm.put(target, model, **{"If-Match": model["etag"]})
    arm.client.request("POST", target + "/manualupgrade", "2025-04-01", body={"instanceIds": ["0"]})
    before = len(sandbox.requests())
    out = run_deploy(
        sandbox, {"targets": target, "applicationVersionId": version, "batchSize": "1"}
    )
    assert result(out) == "Succeeded", out.text[-3000:]
    assert "1 instance(s) already run the wanted model; upgrading the other 2" in out.text
    writes = puts(sandbox, before)
    assert [(w["method"], w["path"].rsplit("/", 1)[-1]) for w in writes] == [
        ("POST", "manualupgrade"),
        ("POST", "manualupgrade"),
    ]
    instances = arm.get(target + "/virtualMachines")["value"]
    assert all(i["properties"]["latestModelApplied"] for i in instances)


def test_platform_faulting_a_rolling_upgrade_fails_and_rolls_back(
    world: tuple[Sandbox, Arm],
) -> None:
    sandbox, arm = world
    target = sandbox.vmss_id("ss-rollfail")
    before = gallery_apps(arm, target)
    sandbox.set_faults(
        {
            "rules": [],
            "vmApplicationFailures": [{"instances": ["ss-rollfail/1"], "version": "2.0.0"}],
        }
    )
    try:
        out = run_deploy(
            sandbox,
            {
                "targets": target,
                "applicationVersionId": sandbox.version_id("webapp", "2.0.0"),
                "maxFailures": "3",
            },
        )
    finally:
        sandbox.set_faults({"rules": []})
    assert result(out) == "Failed", out.text[-3000:]
    assert "the platform stopped the rolling upgrade of ss-rollfail: Faulted" in out.text
    assert "ss-rollfail rolling upgrade Faulted: 1 succeeded, 1 failed" in out.text
    assert "##[group]Rollback" in out.text
    assert gallery_apps(arm, target) == before


def test_latest_resolves_to_the_newest_version(world: tuple[Sandbox, Arm]) -> None:
    sandbox, arm = world
    vm = sandbox.vm_id("vm-6")
    out = run_deploy(
        sandbox,
        {
            "targets": vm,
            "galleryResourceGroup": RG,
            "galleryName": "releases",
            "applicationName": "webapp",
            "version": "latest",
        },
    )
    assert result(out) == "Succeeded", out.text[-3000:]
    assert "Application: webapp 2.0.0 (Linux)" in out.text
    assert gallery_apps(arm, vm)[0]["packageReferenceId"] == sandbox.version_id("webapp", "2.0.0")


def test_without_rollback_on_failure_the_failed_version_stays(world: tuple[Sandbox, Arm]) -> None:
    sandbox, arm = world
    vm = sandbox.vm_id("vm-7")
    sandbox.set_faults(
        {"rules": [], "vmApplicationFailures": [{"instances": ["vm-7"], "message": "disk full"}]}
    )
    try:
        out = run_deploy(
            sandbox,
            {
                "targets": vm,
                "applicationVersionId": sandbox.version_id("webapp", "2.0.0"),
                "rollbackOnFailure": "false",
            },
        )
    finally:
        sandbox.set_faults({"rules": []})
    assert result(out) == "Failed", out.text[-3000:]
    assert "##[group]Rollback" not in out.text
    failed = json.loads(outputs(out)["failedInstances"])
    assert failed == [{"target": vm, "instance": "vm-7", "message": "Install FAILED disk full"}]
    assert gallery_apps(arm, vm)[0]["packageReferenceId"].endswith("/webapp/versions/2.0.0")
    assert json.loads(outputs(out)["deployedTargets"]) == [vm]


def test_an_azure_error_half_way_stops_and_rolls_back(world: tuple[Sandbox, Arm]) -> None:
    sandbox, arm = world
    target = sandbox.vmss_id("ss-err")
    before = gallery_apps(arm, target)
    sandbox.set_faults(
        {"rules": [{"method": "POST", "path": "ss-err/manualupgrade$", "count": 1,
                    "inject": "status", "status": 409, "code": "OperationNotAllowed",
                    "message": "The operation is not allowed right now."}]}
    )  # fmt: skip
    try:
        out = run_deploy(
            sandbox,
            {"targets": target, "applicationVersionId": sandbox.version_id("webapp", "1.0.0")},
        )
    finally:
        sandbox.set_faults({"rules": []})
    assert result(out) == "Failed", out.text[-3000:]
    assert "Azure answered an error: (OperationNotAllowed)" in out.text
    assert "##[group]Rollback" in out.text
    assert gallery_apps(arm, target) == before
