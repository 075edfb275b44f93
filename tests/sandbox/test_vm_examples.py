"""Replay ComputeRP's official examples (and the documented VMAppExtension status) against the
sandbox: same status codes, and every key of the example present with the same JSON type.

Keys the sandbox does not model are pruned from the example explicitly, each with its reason,
so that a missing key is a decision and not an accident.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import start_sandbox
from tests.e2e.test_deploy_world import RG, Arm, Sandbox, base_seed, publish_version
from tests.sandbox.test_sandbox_examples import shape_differences

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).with_name("examples") / "compute-vm"
API = "2025-04-01"


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return data


def prune(document: Any, *paths: str) -> Any:
    """The document without the dotted `paths` (a `[]` step applies to every item), and
    without null values (an example's null means 'may be absent')."""
    out = copy.deepcopy(document)
    for path in paths:
        _drop(out, path.split("."))
    return _without_nulls(out)


def _drop(node: Any, steps: list[str]) -> None:
    head, rest = steps[0], steps[1:]
    if head.endswith("[]"):
        items = node.get(head[:-2], []) if isinstance(node, dict) else []
        for item in items:
            if rest:
                _drop(item, rest)
        return
    if not isinstance(node, dict) or head not in node:
        return
    if rest:
        _drop(node[head], rest)
    else:
        del node[head]


def _without_nulls(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_without_nulls(v) for v in node]
    return node


SEED = base_seed(
    {
        "virtualMachines": [{"name": "vm-x", "resourceGroup": RG}],
        "scaleSets": [
            {"name": "ss-x", "resourceGroup": RG, "instances": 2},
            {"name": "ss-r", "resourceGroup": RG, "instances": 2, "upgradePolicy": "Rolling"},
        ],
    }
)

World = tuple[Sandbox, Arm, dict[str, str]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    state = tmp_path_factory.mktemp("vm-examples") / "state"
    sandbox = Sandbox(start_sandbox(state, seed=yaml.safe_dump(SEED), time_scale=0.002))
    try:
        arm = Arm(sandbox)
        versions = {
            "web": publish_version(sandbox, arm, "webapp", "1.0.0"),
            "agent": publish_version(sandbox, arm, "agent", "1.0.0"),
        }
        yield sandbox, arm, versions
    finally:
        sandbox.stop()


def _nic(sandbox: Sandbox) -> str:
    return f"{sandbox.group_id()}/providers/Microsoft.Network/networkInterfaces/vm-x-nic"


def test_vm_create_with_application_profile(world: World) -> None:
    sandbox, arm, versions = world
    recorded = example("VirtualMachine_Create_WithApplicationProfile.json")
    body = copy.deepcopy(recorded["parameters"]["parameters"])
    body["properties"]["networkProfile"]["networkInterfaces"][0]["id"] = _nic(sandbox)
    apps = body["properties"]["applicationProfile"]["galleryApplications"]
    apps[0]["packageReferenceId"], apps[1]["packageReferenceId"] = (
        versions["web"],
        versions["agent"],
    )
    body["location"] = "eastus"
    response = arm.client.send("PUT", sandbox.vm_id("vm-new"), API, body=body)
    assert response.status_code == 201
    assert "Azure-AsyncOperation" in response.headers
    expected = prune(
        recorded["responses"]["201"]["body"],
        # Derived by ComputeRP from the image and the (absent) SSH key in the example.
        "properties.osProfile.linuxConfiguration",
    )
    assert shape_differences(expected, response.json()) == []
    assert response.json()["properties"]["applicationProfile"]["galleryApplications"] == apps


def test_vm_get_and_instance_view(world: World) -> None:
    sandbox, arm, versions = world
    arm.patch(sandbox.vm_id("vm-x"), {"properties": {"applicationProfile": {"galleryApplications": [
        {"packageReferenceId": versions["web"], "order": 1, "tags": "t",
         "configurationReference": "https://example.invalid/c"}]}}})  # fmt: skip
    model = arm.settle(sandbox.vm_id("vm-x"))
    expected = prune(
        example("VirtualMachine_Get.json")["responses"]["200"]["body"],
        "tags",  # vm-x has none, and ComputeRP then sends no tags
        "managedBy",  # VMs of flexible scale sets not modelled
        "properties.availabilitySet",  # not modelled: no availability sets in the sandbox
        "properties.proximityPlacementGroup",  # nor placement groups
        "properties.userData",  # only with $expand=userData, not modelled
        "properties.diagnosticsProfile",  # boot diagnostics not modelled
        "properties.osProfile.windowsConfiguration",  # the example is a Windows VM
        "resources[].properties.settings",  # the example's CustomScript settings
        "resources[].tags",
    )
    assert shape_differences(expected, model) == []
    view = arm.get(sandbox.vm_id("vm-x") + "/instanceView")
    expected_view = prune(
        example("VirtualMachine_Get_InstanceView.json")["responses"]["200"]["body"],
        "bootDiagnostics",  # not modelled
        "patchStatus",  # guest patching not modelled
        "disks[].statuses[].message",
    )
    assert shape_differences(expected_view, view) == []
    documented = example("VMAppExtension_instanceView_extension_status.json")
    extension = next(e for e in view["extensions"] if e["name"] == "VMAppExtension")
    assert shape_differences(documented, extension) == []
    assert extension["type"] == documented["type"]
    message = extension["statuses"][0]["message"]
    assert message.startswith('Enable succeeded: {\n "CurrentState": [\n  {\n   ')


def test_scale_set_views_list_and_manual_upgrade(world: World) -> None:
    sandbox, arm, versions = world
    target = sandbox.vmss_id("ss-x")
    model = arm.get(target)
    model["properties"]["virtualMachineProfile"]["applicationProfile"] = {
        "galleryApplications": [{"packageReferenceId": versions["web"]}]
    }
    arm.put(target, model)
    upgrade = example("VirtualMachineScaleSet_UpdateInstances_MinimumSet_Gen.json")
    response = arm.client.send(
        "POST", target + "/manualupgrade", API, body={"instanceIds": ["0", "1"]}
    )
    assert str(response.status_code) in upgrade["responses"]
    assert response.status_code != 202 or "Location" in response.headers
    listed = arm.get(target + "/virtualMachines")
    expected_list = example("VirtualMachineScaleSetVM_List_MinimumSet_Gen.json")
    assert shape_differences(expected_list["responses"]["200"]["body"], listed) == []
    arm.settle(target + "/virtualMachines/1")
    instance = arm.get(target + "/virtualMachines/1")
    expected_instance = prune(
        example("VirtualMachineScaleSetVM_Get_WithUserData.json")["responses"]["200"]["body"],
        "properties.userData",  # only with $expand=userData, not modelled
        "properties.diagnosticsProfile",  # boot diagnostics not modelled
        "properties.storageProfile.dataDisks",  # the example has a data disk; these have none
        "properties.osProfile.windowsConfiguration",  # the example is Windows
        "properties.osProfile.allowExtensionOperations",
        "properties.osProfile.requireGuestProvisionSignal",
        "resources[].properties.settings",
        "resources[].tags",
        "tags",  # instances carry no tags of their own
    )
    assert shape_differences(expected_instance, instance) == []
    view = arm.get(target + "/virtualMachines/1/instanceView")
    expected_view = prune(
        example("VirtualMachineScaleSetVM_Get_InstanceViewAutoPlacedOnDedicatedHostGroup.json")[
            "responses"
        ]["200"]["body"],
        "assignedHost",  # dedicated hosts not modelled
    )
    assert shape_differences(expected_view, view) == []
    summary = arm.get(target + "/instanceView")
    expected_summary = prune(
        example("VirtualMachineScaleSet_GetInstanceView_MaximumSet_Gen.json")["responses"]["200"][
            "body"
        ],
        "statuses[].message",  # optional; a generated example fills every field
        "orchestrationServices[].latestOperationStatus",  # zone rebalancing not modelled
        "orchestrationServices[].lastStatusChangeTime",
    )
    assert shape_differences(expected_summary, summary) == []


def test_rolling_upgrade_latest(world: World) -> None:
    sandbox, arm, versions = world
    target = sandbox.vmss_id("ss-r")
    sandbox.set_faults({"rules": [], "vmApplicationFailures": [{"instances": ["ss-r/0"]}]})
    try:
        model = arm.get(target)
        model["properties"]["virtualMachineProfile"]["applicationProfile"] = {
            "galleryApplications": [
                {"packageReferenceId": versions["web"], "treatFailureAsDeploymentFailure": True}
            ]
        }
        arm.put(target, model)
    finally:
        sandbox.set_faults({"rules": []})
    latest = arm.get(target + "/rollingUpgrades/latest")
    expected = prune(
        example("VirtualMachineScaleSetRollingUpgrade_GetLatest_MaximumSet_Gen.json")["responses"][
            "200"
        ]["body"],
        "properties.error.innererror",  # the sandbox reports code, message and details
        "properties.error.target",
        "tags",  # the scale set has no tags
    )
    if latest["properties"]["runningStatus"]["code"] != "Faulted":
        expected["properties"].pop("error")
    assert shape_differences(expected, latest) == []
