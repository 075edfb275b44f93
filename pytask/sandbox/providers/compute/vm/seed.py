"""The `virtualMachines:` and `scaleSets:` seed sections, created through the same PUTs a client
sends (network resources included: a virtual network per resource group and a NIC per VM, as
the portal creates them).

```yaml
virtualMachines:
  - name: web-vm-1
    resourceGroup: rg-app
    location: eastus                  # default: the sandbox's default location
    osType: Linux                     # or Windows
    tags: {role: web}
    installSeconds: 30                # real-Azure seconds one application action takes
    executeScripts: false             # true: really run install commands (Linux; scripts.py)
    applications:                     # optional applicationProfile.galleryApplications
      - packageReferenceId: /subscriptions/.../versions/1.0.0
scaleSets:
  - name: web-vmss
    resourceGroup: rg-app
    instances: 4
    osType: Linux
    upgradePolicy: Manual             # Manual | Rolling | Automatic
    rollingUpgradePolicy: {maxBatchInstancePercent: 25, pauseTimeBetweenBatches: PT0S}
    tags: {role: web}
```

Applications in the seed are installed as part of seeding: the world starts settled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytask.sandbox.core.provider import Seeder
from pytask.sandbox.providers.compute.vm import models

API_VERSION = "2025-04-01"
NETWORK_API_VERSION = "2024-05-01"
_IMAGES = {
    "Linux": {
        "publisher": "Canonical",
        "offer": "ubuntu-24_04-lts",
        "sku": "server",
        "version": "latest",
    },
    "Windows": {
        "publisher": "MicrosoftWindowsServer",
        "offer": "WindowsServer",
        "sku": "2022-datacenter-azure-edition",
        "version": "latest",
    },
}


def _group(seeder: Seeder, spec: Mapping[str, Any]) -> str:
    return f"/subscriptions/{seeder.subscription_id}/resourceGroups/{spec['resourceGroup']}"


def _id(seeder: Seeder, spec: Mapping[str, Any], kind: str, name: str) -> str:
    """The id of a `kind` (e.g. `Microsoft.Network/virtualNetworks`) in the spec's group."""
    return f"{_group(seeder, spec)}/providers/{kind}/{name}"


def _subnet(seeder: Seeder, spec: Mapping[str, Any], location: str) -> str:
    """The resource group's seeded virtual network and its `default` subnet (created once)."""
    vnet_id = _id(
        seeder, spec, "Microsoft.Network/virtualNetworks", f"{spec['resourceGroup']}-vnet"
    )
    if seeder.world.get(vnet_id) is None:
        body = {
            "location": location,
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                "subnets": [{"name": "default", "properties": {"addressPrefix": "10.0.0.0/20"}}],
            },
        }
        seeder.request("PUT", vnet_id, NETWORK_API_VERSION, body)
    return f"{vnet_id}/subnets/default"


def _os(spec: Mapping[str, Any]) -> str:
    return "Windows" if str(spec.get("osType", "Linux")).lower() == "windows" else "Linux"


def _storage(os_type: str) -> dict[str, Any]:
    return {
        "imageReference": dict(_IMAGES[os_type]),
        "osDisk": {
            "osType": os_type,
            "createOption": "FromImage",
            "caching": "ReadWrite",
            "managedDisk": {"storageAccountType": "Premium_LRS"},
        },
    }


def _apps(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {"galleryApplications": [dict(a) for a in spec.get("applications") or []]}


def seed_vms(seeder: Seeder, spec: Any) -> None:
    for vm in spec or []:
        location = vm.get("location", seeder.default_location)
        subnet = _subnet(seeder, vm, location)
        nic_id = _id(seeder, vm, "Microsoft.Network/networkInterfaces", f"{vm['name']}-nic")
        nic = {
            "location": location,
            "properties": {
                "ipConfigurations": [
                    {"name": "ipconfig1", "properties": {"subnet": {"id": subnet}}}
                ]
            },
        }
        seeder.request("PUT", nic_id, NETWORK_API_VERSION, nic)
        os_type = _os(vm)
        body: dict[str, Any] = {
            "location": location,
            "properties": {
                "hardwareProfile": {"vmSize": vm.get("size", "Standard_B2s")},
                "storageProfile": _storage(os_type),
                "osProfile": {"computerName": vm["name"][:15], "adminUsername": "azureuser"},
                "networkProfile": {
                    "networkInterfaces": [{"id": nic_id, "properties": {"primary": True}}]
                },
                "applicationProfile": _apps(vm),
            },
        }
        if vm.get("tags"):
            body["tags"] = dict(vm["tags"])
        path = _id(seeder, vm, "Microsoft.Compute/virtualMachines", vm["name"])
        _machine_settings(seeder, path, vm)
        seeder.request("PUT", path, API_VERSION, body)
    seeder.finish_operations()
    models.settle_all(seeder.world)


def seed_scale_sets(seeder: Seeder, spec: Any) -> None:
    for vmss in spec or []:
        location = vmss.get("location", seeder.default_location)
        subnet = _subnet(seeder, vmss, location)
        os_type = _os(vmss)
        policy: dict[str, Any] = {"mode": vmss.get("upgradePolicy", "Manual")}
        if vmss.get("rollingUpgradePolicy"):
            policy["rollingUpgradePolicy"] = dict(vmss["rollingUpgradePolicy"])
        nic_config = {
            "name": f"{vmss['name']}-nic",
            "properties": {
                "primary": True,
                "ipConfigurations": [
                    {"name": f"{vmss['name']}-ip", "properties": {"subnet": {"id": subnet}}}
                ],
            },
        }
        body: dict[str, Any] = {
            "location": location,
            "sku": {
                "name": vmss.get("size", "Standard_B2s"),
                "tier": "Standard",
                "capacity": int(vmss.get("instances", 2)),
            },
            "properties": {
                "overprovision": False,
                "upgradePolicy": policy,
                "virtualMachineProfile": {
                    "storageProfile": _storage(os_type),
                    "osProfile": {
                        "computerNamePrefix": vmss["name"][:9],
                        "adminUsername": "azureuser",
                    },
                    "networkProfile": {"networkInterfaceConfigurations": [nic_config]},
                    "applicationProfile": _apps(vmss),
                },
            },
        }
        if vmss.get("tags"):
            body["tags"] = dict(vmss["tags"])
        path = _id(seeder, vmss, "Microsoft.Compute/virtualMachineScaleSets", vmss["name"])
        _machine_settings(seeder, path, vmss)
        seeder.request("PUT", path, API_VERSION, body)
    seeder.finish_operations()
    models.settle_all(seeder.world)


def _machine_settings(seeder: Seeder, path: str, spec: Mapping[str, Any]) -> None:
    if spec.get("installSeconds") is not None:
        models.set_install_seconds(seeder.world, path, float(spec["installSeconds"]))
    if spec.get("executeScripts"):
        models.set_execute_scripts(seeder.world, path, True)
