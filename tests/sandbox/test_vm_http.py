"""The sandbox's VMs and scale sets over HTTPS, through the unmodified azure-mgmt-compute client
and plain ARM calls: shapes, validation, ETags, paging, upgrades and install outcomes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import ComputeManagementClient

from tests.conftest import RunningSandbox
from tests.e2e.test_deploy_world import RG, Arm, Sandbox, base_seed, publish_version

pytestmark = pytest.mark.e2e

SEED = base_seed(
    {
        "virtualMachines": [
            {"name": "vm-a", "resourceGroup": RG},
            {"name": "vm-b", "resourceGroup": RG},
        ],
        "scaleSets": [
            {"name": "ss-pages", "resourceGroup": RG, "instances": 5},
            {
                "name": "ss-roll",
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
)  # fmt: skip


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Sandbox, Arm, ComputeManagementClient, dict[str, str]]]:
    from tests.conftest import start_sandbox

    state = tmp_path_factory.mktemp("vm-http") / "state"
    running: RunningSandbox = start_sandbox(
        state, seed=yaml.safe_dump(SEED), time_scale=0.002, page_size=2
    )
    sandbox = Sandbox(running)
    try:
        arm = Arm(sandbox)
        versions = {
            "web1": publish_version(sandbox, arm, "webapp", "1.0.0"),
            "web2": publish_version(sandbox, arm, "webapp", "2.0.0"),
            "agent": publish_version(sandbox, arm, "agent", "1.0.0"),
            "win": publish_version(sandbox, arm, "winapp", "1.0.0"),
        }
        compute = arm.session.compute()
        yield sandbox, arm, compute, versions
    finally:
        running.stop()


World = tuple[Sandbox, Arm, ComputeManagementClient, dict[str, str]]


def wait_for(check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.05)


def app_state(view: Any) -> list[dict[str, Any]]:
    """CurrentState from an SDK or JSON instance view's VMAppExtension status."""
    extensions = view["extensions"] if isinstance(view, dict) else view.extensions
    extension = next(
        e for e in extensions if (e["name"] if isinstance(e, dict) else e.name) == "VMAppExtension"
    )
    status = extension["statuses"][0] if isinstance(extension, dict) else extension.statuses[0]
    message = status["message"] if isinstance(status, dict) else status.message
    return list(json.loads(message[message.index("{") :])["CurrentState"])


def test_sdk_reads_vm_models_and_instance_views(world: World) -> None:
    sandbox, arm, compute, versions = world
    poller = compute.virtual_machines.begin_update(
        RG,
        "vm-a",
        {"properties": {"applicationProfile": {"galleryApplications": [
            {"packageReferenceId": versions["agent"], "order": 1, "tags": "t1"},
            {"packageReferenceId": versions["web1"], "treatFailureAsDeploymentFailure": True},
        ]}}},
        polling_interval=0.05,
    )  # fmt: skip
    vm = poller.result()
    assert vm.provisioning_state == "Succeeded"
    apps = vm.application_profile.gallery_applications
    assert [a.package_reference_id for a in apps] == [versions["agent"], versions["web1"]]
    assert apps[0].order == 1 and apps[0].tags == "t1"
    assert vm.etag and vm.storage_profile.os_disk.os_type == "Linux"
    view = compute.virtual_machines.instance_view(RG, "vm-a")
    extension = next(e for e in view.extensions if e.name == "VMAppExtension")
    assert extension.type == "Microsoft.CPlat.Core.VMApplicationManagerLinux"
    assert extension.statuses[0].code == "ProvisioningState/succeeded"
    assert {(s["applicationName"], s["result"]) for s in app_state(view)} == {
        ("agent", "Install SUCCESS"),
        ("webapp", "Install SUCCESS"),
    }
    expanded = arm.get(sandbox.vm_id("vm-a") + "?$expand=instanceView")
    assert expanded["properties"]["instanceView"]["statuses"][1]["code"] == "PowerState/running"
    listed = [v.name for v in compute.virtual_machines.list(RG)]
    assert {"vm-a", "vm-b"} <= set(listed)


def test_stale_etag_on_vm_update_is_412(world: World) -> None:
    _, _, compute, _ = world
    vm = compute.virtual_machines.get(RG, "vm-b")
    compute.virtual_machines.begin_update(
        RG, "vm-b", {"tags": {"a": "1"}}, etag=vm.etag,
        match_condition=MatchConditions.IfNotModified, polling_interval=0.05,
    ).result()  # fmt: skip
    with pytest.raises(HttpResponseError) as stale:
        compute.virtual_machines.begin_update(
            RG, "vm-b", {"tags": {"a": "2"}}, etag=vm.etag,
            match_condition=MatchConditions.IfNotModified, polling_interval=0.05,
        )  # fmt: skip
    assert stale.value.status_code == 412
    assert compute.virtual_machines.get(RG, "vm-b").tags == {"a": "1"}


def test_tags_are_replaced_by_patch_kept_by_put_and_limited_like_arm(world: World) -> None:
    """A PATCH's `tags` replaces the whole set (Azure's update models; merging is the
    Microsoft.Resources/tags API's job); a PUT keeps what it sends; ARM's limits apply."""
    sandbox, arm, _, _ = world
    vm, vmss = sandbox.vm_id("vm-b"), sandbox.vmss_id("ss-pages")
    arm.patch(vm, {"tags": {"owner": "me", "cost": "1"}})
    arm.patch(vm, {"tags": {"owner": "you"}})
    assert arm.get(vm)["tags"] == {"owner": "you"}
    profile = arm.get(vm)["properties"].get("applicationProfile") or {}
    arm.patch(vm, {"properties": {"applicationProfile": profile}})
    assert arm.get(vm)["tags"] == {"owner": "you"}
    model = arm.get(vmss)
    model["tags"] = {"a": "1", "b": "2"}
    arm.put(vmss, model)
    assert arm.settle(vmss)["tags"] == {"a": "1", "b": "2"}
    arm.patch(vmss, {"tags": {}})
    assert not arm.settle(vmss).get("tags")

    def refused(tags: dict[str, str]) -> str:
        with pytest.raises(HttpResponseError) as error:
            arm.patch(vm, {"tags": tags})
        assert error.value.status_code == 400
        return str(error.value.error.code)

    assert refused({"a/b": "1"}) == "InvalidTagNameCharacters"
    assert refused({"n" * 513: "1"}) == "InvalidTagNameLength"
    assert refused({"a": "v" * 257}) == "InvalidTagValueLength"
    assert refused({f"t{i}": "1" for i in range(51)}) == "InvalidTagsCount"
    arm.patch(vm, {"tags": {"n" * 512: "v" * 256, **{f"t{i}": "1" for i in range(49)}}})
    assert len(arm.get(vm)["tags"]) == 50
    arm.patch(vm, {"tags": {}})


def test_requests_are_validated_like_computerp(world: World) -> None:
    sandbox, arm, _, versions = world
    vm = arm.get(sandbox.vm_id("vm-b"))

    def put_error(path: str, body: Any) -> dict[str, Any]:
        with pytest.raises(HttpResponseError) as refused:
            arm.put(path, body)
        return {"status": refused.value.status_code, "code": refused.value.error.code}

    body = {k: v for k, v in vm.items() if k != "location"}
    assert put_error(sandbox.vm_id("vm-new"), body) == {"status": 400, "code": "LocationRequired"}
    bad_nic = json.loads(json.dumps(vm))
    bad_nic["properties"]["networkProfile"]["networkInterfaces"] = [{"id": vm["id"] + "-nic"}]
    assert put_error(sandbox.vm_id("vm-new"), bad_nic)["code"] == "InvalidResourceReference"
    windows_app = json.loads(json.dumps(vm))
    windows_app["properties"]["applicationProfile"] = {
        "galleryApplications": [{"packageReferenceId": versions["win"]}]
    }
    assert put_error(sandbox.vm_id("vm-b"), windows_app) == {
        "status": 400,
        "code": "InvalidParameter",
    }
    twice = json.loads(json.dumps(vm))
    twice["properties"]["applicationProfile"] = {
        "galleryApplications": [{"packageReferenceId": versions["web1"]},
                                {"packageReferenceId": versions["web2"]}]
    }  # fmt: skip
    assert put_error(sandbox.vm_id("vm-b"), twice)["code"] == "InvalidParameter"
    missing = json.loads(json.dumps(vm))
    missing["properties"]["applicationProfile"] = {
        "galleryApplications": [{"packageReferenceId": versions["web1"][:-5] + "9.9.9"}]
    }
    assert put_error(sandbox.vm_id("vm-b"), missing)["status"] == 404
    vmss = arm.get(sandbox.vmss_id("ss-pages"))
    vmss["properties"]["upgradePolicy"]["mode"] = "Sometimes"
    assert put_error(sandbox.vmss_id("ss-pages"), vmss)["code"] == "InvalidParameter"


def test_scale_set_instances_page_and_manual_upgrade_applies_the_model(world: World) -> None:
    sandbox, arm, compute, versions = world
    model = arm.get(sandbox.vmss_id("ss-pages"))
    page = arm.get(sandbox.vmss_id("ss-pages") + "/virtualMachines")
    assert len(page["value"]) == 2 and "nextLink" in page
    model["properties"]["virtualMachineProfile"]["applicationProfile"] = {
        "galleryApplications": [{"packageReferenceId": versions["web1"]}]
    }
    arm.put(sandbox.vmss_id("ss-pages"), model, **{"If-Match": model["etag"]})
    instances = list(compute.virtual_machine_scale_set_vms.list(RG, "ss-pages"))
    assert [i.instance_id for i in instances] == ["0", "1", "2", "3", "4"]
    assert not any(i.latest_model_applied for i in instances)
    compute.virtual_machine_scale_sets.begin_update_instances(
        RG, "ss-pages", {"instanceIds": ["0", "3"]}, polling_interval=0.05
    ).result()
    applied = {i.instance_id: i.latest_model_applied
               for i in compute.virtual_machine_scale_set_vms.list(RG, "ss-pages")}  # fmt: skip
    assert applied == {"0": True, "1": False, "2": False, "3": True, "4": False}
    view = compute.virtual_machine_scale_set_vms.get_instance_view(RG, "ss-pages", "3")
    assert app_state(view) == [
        {"applicationName": "webapp", "version": "1.0.0", "result": "Install SUCCESS"}
    ]
    summary = arm.get(sandbox.vmss_id("ss-pages") + "/instanceView")
    assert summary["extensions"] == [
        {"name": "VMAppExtension",
         "statusesSummary": [{"code": "ProvisioningState/succeeded", "count": 2}]}
    ]  # fmt: skip
    with pytest.raises(HttpResponseError) as unknown:
        arm.client.request("POST", sandbox.vmss_id("ss-pages") + "/manualupgrade", "2025-04-01",
                           body={"instanceIds": ["42"]})  # fmt: skip
    assert unknown.value.error.code == "InvalidParameter"


def test_install_failure_fails_the_deployment_only_when_asked(world: World) -> None:
    sandbox, arm, compute, versions = world
    sandbox.set_faults({"rules": [], "vmApplicationFailures": [{"version": "2.0.0"}]})
    try:
        for name, treat in (("vm-a", True), ("vm-b", False)):
            vm = arm.get(sandbox.vm_id(name))
            vm["properties"]["applicationProfile"] = {"galleryApplications": [
                {"packageReferenceId": versions["web2"], "treatFailureAsDeploymentFailure": treat}
            ]}  # fmt: skip
            poller = compute.virtual_machines.begin_create_or_update(
                RG, name, vm, polling_interval=0.05
            )
            if treat:
                with pytest.raises(HttpResponseError) as failed:
                    poller.result()
                assert failed.value.error.code == "VMExtensionProvisioningError"
                assert "Update FAILED Error executing command" in failed.value.error.message
            else:
                poller.result()
    finally:
        sandbox.set_faults({"rules": []})
    assert compute.virtual_machines.get(RG, "vm-a").provisioning_state == "Failed"
    assert compute.virtual_machines.get(RG, "vm-b").provisioning_state == "Succeeded"
    view = compute.virtual_machines.instance_view(RG, "vm-a")
    extension = next(e for e in view.extensions if e.name == "VMAppExtension")
    assert extension.statuses[0].code == "ProvisioningState/failed"
    assert extension.statuses[0].message.startswith("Enable failed: ")
    lenient = app_state(compute.virtual_machines.instance_view(RG, "vm-b"))
    assert lenient[0]["version"] == "2.0.0" and lenient[0]["result"].startswith("Install FAILED")


def test_rolling_upgrade_goes_in_batches_and_faults_on_unhealthy_instances(world: World) -> None:
    sandbox, arm, compute, versions = world
    with pytest.raises(HttpResponseError) as never:
        compute.virtual_machine_scale_set_rolling_upgrades.get_latest(RG, "ss-roll")
    assert never.value.status_code == 404
    sandbox.set_faults({"rules": [], "vmApplicationFailures": [{"instances": ["ss-roll/1"]}]})
    try:
        model = arm.get(sandbox.vmss_id("ss-roll"))
        model["properties"]["virtualMachineProfile"]["applicationProfile"] = {
            "galleryApplications": [
                {"packageReferenceId": versions["web1"], "treatFailureAsDeploymentFailure": True}
            ]
        }
        arm.put(sandbox.vmss_id("ss-roll"), model)
    finally:
        sandbox.set_faults({"rules": []})
    first = compute.virtual_machine_scale_set_rolling_upgrades.get_latest(RG, "ss-roll")
    assert first.policy.max_batch_instance_percent == 25

    def finished() -> Any:
        latest = compute.virtual_machine_scale_set_rolling_upgrades.get_latest(RG, "ss-roll")
        return latest if latest.running_status.code != "RollingForward" else None

    latest = wait_for(finished)
    assert latest.running_status.code == "Faulted"
    assert latest.error.code == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
    progress = latest.progress
    assert (progress.successful_instance_count, progress.failed_instance_count) == (1, 1)
    assert progress.pending_instance_count == 2
    applied = [
        i.latest_model_applied for i in compute.virtual_machine_scale_set_vms.list(RG, "ss-roll")
    ]
    assert applied == [True, True, False, False]


def test_network_resources_are_validated(world: World) -> None:
    sandbox, arm, _, _ = world
    base = f"{sandbox.group_id()}/providers/Microsoft.Network"
    outside = {
        "location": "eastus",
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
            "subnets": [{"name": "s", "properties": {"addressPrefix": "10.2.0.0/24"}}],
        },
    }
    with pytest.raises(HttpResponseError) as refused:
        arm.put(f"{base}/virtualNetworks/vnet-x", outside, "2024-05-01")
    assert refused.value.error.code == "NetcfgSubnetRangeOutsideVnet"
    nic = {"location": "eastus", "properties": {"ipConfigurations": [
        {"name": "ip", "properties": {"subnet": {"id": f"{base}/virtualNetworks/nope/subnets/s"}}}
    ]}}  # fmt: skip
    with pytest.raises(HttpResponseError) as dangling:
        arm.put(f"{base}/networkInterfaces/nic-x", nic, "2024-05-01")
    assert dangling.value.error.code == "InvalidResourceReference"
    subnet = arm.get(f"{base}/virtualNetworks/{RG}-vnet/subnets/default", "2024-05-01")
    assert subnet["properties"]["addressPrefix"] == "10.0.0.0/20"
