"""VM provider state without HTTP: installs over time, failures, rolling plans, validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.world import World
from pytask.sandbox.providers.compute.vm import models
from pytask.sandbox.providers.compute.vm.failures import InstallFaults
from pytask.sandbox.providers.compute.vm.machine import Desired, MachineApps
from pytask.sandbox.providers.compute.vm.packages import PackageVersion, parse_reference
from pytask.sandbox.providers.compute.vm.rolling import (
    RollingPolicy,
    RollingUpgrade,
    parse_duration,
)

SUB = "00000000-0000-0000-0000-000000000001"
GALLERY = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g"


def package(app: str = "web", version: str = "1.0.0", os_type: str = "Linux") -> PackageVersion:
    return PackageVersion(
        id=f"{GALLERY}/applications/{app}/versions/{version}",
        application=app,
        version=version,
        os_type=os_type,
        regions=("East US",),
        media_link="https://blob/app.zip",
        install="bash install.sh",
        remove="bash remove.sh",
    )


def desired(pkg: PackageVersion, order: int = 0, treat: bool = True) -> Desired:
    return Desired(pkg, pkg.id, order, treat)


def ok(_operation: str, _package: PackageVersion) -> str | None:
    return None


def test_install_is_in_progress_then_reports_success_in_the_documented_shape() -> None:
    apps = MachineApps()
    apps.apply([desired(package())], now=100, start=100, duration=10, outcome=ok)
    assert apps.provisioning_state(105) == "Updating"
    status = apps.extension_status(105, "Linux")
    assert status is not None and status["statuses"][0]["code"] == "ProvisioningState/transitioning"
    done = apps.extension_status(111, "Linux")
    assert done is not None
    assert done["type"] == "Microsoft.CPlat.Core.VMApplicationManagerLinux"
    message = done["statuses"][0]["message"]
    assert message.startswith("Enable succeeded: ")
    document = json.loads(message.removeprefix("Enable succeeded: "))
    assert document == {
        "CurrentState": [
            {"applicationName": "web", "version": "1.0.0", "result": "Install SUCCESS"}
        ],
        "ActionsPerformed": [],
    }
    assert apps.provisioning_state(111) == "Succeeded"


def test_update_remove_and_untouched_apps() -> None:
    apps = MachineApps()
    other = package("other", "2.0.0")
    apps.apply([desired(package()), desired(other)], now=0, start=0, duration=1, outcome=ok)
    new = apps.apply([desired(package(version="1.1.0")), desired(other)], 5, 5, 1, ok)
    assert [(a.operation, a.version) for a in new] == [("Update", "1.1.0")]
    new = apps.apply([desired(other)], 10, 10, 1, ok)
    assert [(a.operation, a.application) for a in new] == [("Remove", "web")]
    assert [(s.application, s.version) for s in apps.current(20)] == [("other", "2.0.0")]
    assert apps.apply([desired(other)], 30, 30, 1, ok) == []


def test_failure_with_treat_flag_fails_provisioning_and_shows_the_message() -> None:
    apps = MachineApps()
    apps.apply([desired(package())], 0, 0, 1, lambda op, p: "Error executing command 'x'")
    assert apps.provisioning_state(2) == "Failed"
    status = apps.extension_status(2, "Linux")
    assert status is not None
    assert status["statuses"][0]["message"].startswith("Enable failed: ")
    assert "Install FAILED Error executing command 'x'" in status["statuses"][0]["message"]
    lenient = MachineApps()
    lenient.apply([desired(package(), treat=False)], 0, 0, 1, lambda op, p: "boom")
    assert lenient.provisioning_state(2) == "Succeeded"


def test_a_newer_model_supersedes_actions_not_yet_started() -> None:
    apps = MachineApps()
    apps.apply([desired(package())], now=0, start=50, duration=1, outcome=ok)
    apps.apply([desired(package(version="2.0.0"))], now=10, start=10, duration=1, outcome=ok)
    assert [(a.operation, a.version) for a in apps.actions] == [("Install", "2.0.0")]


def test_fault_rules_pick_instances_fractions_and_versions() -> None:
    faults = InstallFaults.from_json(
        [{"instances": ["vmss/1"]}, {"version": "9.9.9", "message": "bad build"}]
    )
    assert faults.error_for("vmss/1", package(), "bash install.sh") == (
        "Error executing command 'bash install.sh': command terminated with exit status=1"
    )
    assert faults.error_for("vmss/2", package(), "x") is None
    assert faults.error_for("vm", package(version="9.9.9"), "x") == "bad build"
    half = InstallFaults.from_json([{"fraction": 0.5}])
    failing = [i for i in range(400) if half.error_for(f"s/{i}", package(), "x")]
    assert 150 < len(failing) < 250
    assert failing == [i for i in range(400) if half.error_for(f"s/{i}", package(), "x")]
    with pytest.raises(ValueError):
        InstallFaults.from_json([{"fraction": 2}])


def test_rolling_plan_batches_and_faults_on_unhealthy_instances() -> None:
    assert parse_duration("PT1M30S") == 90
    policy = RollingPolicy(
        max_batch_instance_percent=25, max_unhealthy_upgraded_instance_percent=20
    )
    ids = [str(i) for i in range(8)]

    def upgrade(instance_id: str, at: float) -> tuple[float, bool]:
        return at + 10, instance_id in ("2", "3")

    rolling = RollingUpgrade.plan(policy, ids, start=0, scaled_pause=5, upgrade=upgrade)
    assert [b.instance_ids for b in rolling.batches] == [["0", "1"], ["2", "3"]]
    assert rolling.faulted and rolling.batches[1].start == 15
    scale_set = {"id": "/x/vmss", "location": "eastus"}
    assert rolling.document(12, scale_set)["properties"]["progress"] == {
        "successfulInstanceCount": 2,
        "failedInstanceCount": 0,
        "inProgressInstanceCount": 0,
        "pendingInstanceCount": 6,
    }
    final = rolling.document(30, scale_set)["properties"]
    assert final["runningStatus"]["code"] == "Faulted"
    assert final["progress"]["failedInstanceCount"] == 2
    assert (
        RollingUpgrade.from_json(rolling.to_json()).document(30, scale_set)["properties"] == final
    )


def test_package_reference_parsing() -> None:
    ref = parse_reference(f"{GALLERY}/applications/web/versions/latest")
    assert ref is not None and ref.version == "latest" and ref.application == "web"
    assert parse_reference("/subscriptions/x/whatever") is None


# --- models on a World -----------------------------------------------------------------------
RG = f"/subscriptions/{SUB}/resourceGroups/rg"
NIC = f"{RG}/providers/Microsoft.Network/networkInterfaces/nic1"


def world() -> World:
    w = World(tenant_id="t", subscription_id=SUB)
    w.put({"id": NIC, "name": "nic1", "type": "Microsoft.Network/networkInterfaces",
           "location": "eastus", "properties": {}})  # fmt: skip
    return w


def site(
    w: World, now: float, packages: dict[str, PackageVersion], faults: Any = None
) -> models.Site:
    return models.Site(
        now=now,
        install_time=lambda owner: 10.0,
        lookup=lambda ref: packages.get(ref.lower()),
        faults=InstallFaults.from_json(faults),
        find=w.get,
        fetch=lambda p: None,
        scale=lambda s: s,
    )


def vm_body(apps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "location": "eastus",
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_B2s"},
            "storageProfile": {"imageReference": {"publisher": "Canonical"}},
            "osProfile": {"adminUsername": "me", "computerName": "vm1"},
            "networkProfile": {"networkInterfaces": [{"id": NIC}]},
            "applicationProfile": {"galleryApplications": apps or []},
        },
    }


def test_put_vm_installs_and_validates_references() -> None:
    w = world()
    pkg = package()
    here = site(w, 0, {pkg.id.lower(): pkg})
    vm_id = f"{RG}/providers/Microsoft.Compute/virtualMachines/vm1"
    doc, failed = models.put_vm(
        w, vm_id, "vm1", vm_body([{"packageReferenceId": pkg.id}]), None, here
    )
    assert not failed and doc["_os"] == "Linux"
    assert models.machine_view(doc, 5)["properties"]["provisioningState"] == "Updating"
    view = models.instance_view(doc, 11)
    assert view["extensions"][0]["name"] == "VMAppExtension"
    with pytest.raises(ArmError) as missing:
        models.put_vm(
            w,
            vm_id,
            "vm1",
            vm_body([{"packageReferenceId": f"{GALLERY}/applications/x/versions/1.0.0"}]),
            doc,
            here,
        )
    assert missing.value.status == 404
    windows = package(os_type="Windows")
    with pytest.raises(ArmError) as wrong_os:
        models.put_vm(w, vm_id, "vm1", vm_body([{"packageReferenceId": windows.id}]), doc,
                      site(w, 0, {windows.id.lower(): windows}))  # fmt: skip
    assert wrong_os.value.code == "InvalidParameter"
    body = vm_body()
    body["properties"]["networkProfile"]["networkInterfaces"] = [{"id": NIC + "x"}]
    with pytest.raises(ArmError) as bad_nic:
        models.put_vm(w, vm_id, "vm1", body, doc, here)
    assert bad_nic.value.code == "InvalidResourceReference"
    with pytest.raises(ArmError) as no_location:
        models.put_vm(w, vm_id, "vm1", {"properties": {}}, None, here)
    assert no_location.value.code == "LocationRequired"


def test_history_stays_small_over_many_deploys() -> None:
    apps = MachineApps()
    other = package("other", "1.0.0")
    for i in range(50):
        now = i * 10.0
        apps.apply([desired(package(version=f"1.0.{i}")), desired(other)], now, now, 1, ok)
    assert len(apps.actions) <= 3
    assert {(s.application, s.version) for s in apps.current(1000)} == {
        ("web", "1.0.49"),
        ("other", "1.0.0"),
    }
