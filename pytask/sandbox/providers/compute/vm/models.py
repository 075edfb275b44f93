"""VMs, scale sets and their instances on the World: documents, application rollout, views.

No HTTP here. Handlers validate through `validate`, then call these with a `Site` (what the
models need from the rest of the sandbox: the clock, the gallery lookup, the install faults,
the package download). Time-dependent state (installs, rolling upgrades, `latestModelApplied`)
is stored as start times and computed when read.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytask.sandbox.core.clock import iso
from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.etag import new_etag
from pytask.sandbox.core.world import World, public
from pytask.sandbox.providers.compute.vm import validate
from pytask.sandbox.providers.compute.vm.failures import InstallFaults
from pytask.sandbox.providers.compute.vm.machine import (
    EXTENSION_NAME,
    EXTENSION_PUBLISHER,
    Desired,
    MachineApps,
    extension_type,
)
from pytask.sandbox.providers.compute.vm.packages import PackageVersion, VersionLookup
from pytask.sandbox.providers.compute.vm.rolling import (
    RollingPolicy,
    RollingUpgrade,
    parse_duration,
)

VM_TYPE = "Microsoft.Compute/virtualMachines"
SCALE_SET_TYPE = "Microsoft.Compute/virtualMachineScaleSets"
# Scale-set instances answer with the VM type (as in VirtualMachineScaleSetVM_Get); the private
# `_kind` tells them apart in the World.
INSTANCE_KIND = "scaleSetVM"

# Read-only properties a client may echo back from a GET; a PUT ignores them.
_READ_ONLY = ("provisioningState", "vmId", "instanceView", "uniqueId", "timeCreated")


@dataclass(frozen=True)
class Site:
    """What the VM models need from the rest of the sandbox, for one request."""

    now: float
    # Sandbox seconds one application action takes on the machines of a VM or scale set id.
    install_time: Callable[[str], float]
    lookup: VersionLookup
    faults: InstallFaults
    find: validate.FindResource
    # Downloads a version's package for a machine; returns an error message or None.
    fetch: Callable[[PackageVersion], str | None]
    scale: Callable[[float], float]  # real-Azure seconds -> sandbox seconds
    # Really runs an action's command when the seed asked for it (see scripts.py):
    # (owner id, machine, operation, package) -> error message or None.
    run_script: Callable[[str, str, str, PackageVersion], str | None] = (
        lambda owner, machine, operation, package: None
    )


# --- provider settings -----------------------------------------------------------------------
# Where the VM provider keeps settings that are not resources, in world.state.
STATE_KEY = "Microsoft.Compute/virtualMachines"
# Real Azure: a small VM application installs in tens of seconds.
DEFAULT_INSTALL_SECONDS = 30.0


def settings(world: World) -> dict[str, Any]:
    found = world.state.setdefault(STATE_KEY, {})
    assert isinstance(found, dict)
    return found


def set_install_seconds(world: World, resource_id: str, seconds: float) -> None:
    """How long (real-Azure seconds) one application action takes on this VM or scale set."""
    settings(world).setdefault("installSeconds", {})[resource_id.lower()] = seconds


def set_execute_scripts(world: World, resource_id: str, enabled: bool) -> None:
    """Whether this VM or scale set really runs its applications' commands (scripts.py)."""
    settings(world).setdefault("executeScripts", {})[resource_id.lower()] = enabled


def executes_scripts(world: World, resource_id: str) -> bool:
    return bool(settings(world).get("executeScripts", {}).get(resource_id.lower(), False))


def install_seconds(world: World, resource_id: str) -> float:
    overrides = settings(world).get("installSeconds", {})
    return float(overrides.get(resource_id.lower(), DEFAULT_INSTALL_SECONDS))


def settle_all(world: World) -> None:
    """Finish every application action now (a seeded world starts settled)."""
    now = time.time()
    with world.lock:
        for doc in world.iter_resources():
            apps = doc.get("_apps")
            if not apps:
                continue
            shift = max(0.0, max(a["start"] + a["duration"] for a in apps) - now)
            for action in apps:
                action["start"] -= shift
            doc["_applied"] = [[at - shift, g] for at, g in doc.get("_applied", [])]
        world.touch()


# --- machines (shared by VMs and instances) --------------------------------------------------
def machine_apps(doc: Mapping[str, Any]) -> MachineApps:
    return MachineApps.from_json(doc.get("_apps"))


def _desired(resolved: Sequence[validate.ResolvedApp]) -> list[Desired]:
    out = []
    for index, app in enumerate(resolved):
        out.append(
            Desired(
                package=app.package,
                package_reference_id=app.entry["packageReferenceId"],
                order=int(app.entry.get("order") or 0) * 10_000 + index,
                treat_failure=bool(app.entry.get("treatFailureAsDeploymentFailure", False)),
            )
        )
    return out


def _converge(doc: dict[str, Any], desired: Sequence[Desired], start: float, site: Site) -> bool:
    """Schedule the machine's actions towards `desired` from `start`; True if any failed
    in a way that fails the deployment."""
    apps = machine_apps(doc)
    machine = str(doc.get("_machine", doc["name"]))
    owner = str(doc["id"]).rsplit("/virtualMachines/", 1)[0] if doc.get("_kind") else doc["id"]

    def outcome(operation: str, package: PackageVersion) -> str | None:
        if operation == "Remove":
            site.run_script(owner, machine, operation, package)
            return None
        fetched = site.fetch(package)
        if fetched is not None:
            return fetched
        command = package.update if operation == "Update" and package.update else package.install
        injected = site.faults.error_for(machine, package, command)
        return injected or site.run_script(owner, machine, operation, package)

    new = apps.apply(desired, site.now, start, site.install_time(owner), outcome)
    doc["_apps"] = apps.to_json()
    return any(a.error is not None and a.treat_failure for a in new)


def resolve_profile(
    profile: Any, target: str, os_type: str, location: str, site: Site
) -> list[validate.ResolvedApp]:
    return validate.check_application_profile(profile, target, os_type, location, site.lookup)


def _extension_resource(doc: Mapping[str, Any], now: float) -> dict[str, Any]:
    apps = machine_apps(doc)
    return {
        "id": f"{doc['id']}/extensions/{EXTENSION_NAME}",
        "name": EXTENSION_NAME,
        "type": "Microsoft.Compute/virtualMachines/extensions",
        "location": doc.get("location", doc.get("_location")),
        "properties": {
            "autoUpgradeMinorVersion": True,
            "provisioningState": apps.provisioning_state(now),
            "publisher": EXTENSION_PUBLISHER,
            "type": extension_type(doc["_os"]),
            "typeHandlerVersion": "1.0",
        },
    }


def instance_view(doc: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The machine's instance view (VirtualMachineInstanceView shape)."""
    apps = machine_apps(doc)
    state = apps.provisioning_state(now)
    number = int(doc.get("_instance", 0))
    os_disk = doc["properties"].get("storageProfile", {}).get("osDisk", {})
    created = doc.get("_created", now)
    view: dict[str, Any] = {
        "platformUpdateDomain": number % 5,
        "platformFaultDomain": number % 2,
        "computerName": doc["properties"].get("osProfile", {}).get("computerName", doc["name"]),
        "osName": "ubuntu" if doc["_os"] == "Linux" else "Windows Server 2022 Datacenter",
        "osVersion": "24.04" if doc["_os"] == "Linux" else "Microsoft Windows NT 10.0.20348.0",
        "hyperVGeneration": "V2",
        "disks": [
            {
                "name": os_disk.get("name") or f"{doc['name']}_OsDisk_1",
                "statuses": [
                    {
                        "code": "ProvisioningState/succeeded",
                        "level": "Info",
                        "displayStatus": "Provisioning succeeded",
                        "time": iso(created),
                    }
                ],
            }
        ],
        "vmAgent": {
            "vmAgentVersion": "2.13.1.1",
            "statuses": [
                {
                    "code": "ProvisioningState/succeeded",
                    "level": "Info",
                    "displayStatus": "Ready",
                    "message": "GuestAgent is running and processing the extensions.",
                    "time": iso(now),
                }
            ],
        },
        "statuses": [_provisioning_status(state, created), _POWER_RUNNING],
    }
    view["isVMInStandbyPool"] = False
    extension = apps.extension_status(now, doc["_os"])
    if extension is not None:
        view["extensions"] = [extension]
        view["vmAgent"]["extensionHandlers"] = [
            {
                "type": extension["type"],
                "typeHandlerVersion": extension["typeHandlerVersion"],
                "status": {
                    "code": "ProvisioningState/succeeded",
                    "level": "Info",
                    "displayStatus": "Ready",
                },
            }
        ]
    return view


_POWER_RUNNING = {"code": "PowerState/running", "level": "Info", "displayStatus": "VM running"}


def _provisioning_status(state: str, when: float) -> dict[str, Any]:
    display = {"Succeeded": "Provisioning succeeded", "Failed": "Provisioning failed"}
    return {
        "code": f"ProvisioningState/{state.lower()}",
        "level": "Error" if state == "Failed" else "Info",
        "displayStatus": display.get(state, "Updating"),
        "time": iso(when),
    }


def machine_view(doc: Mapping[str, Any], now: float, expand: bool = False) -> dict[str, Any]:
    """The machine as GET answers it: public keys, computed provisioning state."""
    out = copy.deepcopy(public(doc))
    out["properties"]["provisioningState"] = machine_apps(doc).provisioning_state(now)
    if doc.get("_apps"):
        out["resources"] = [_extension_resource(doc, now)]
    if expand:
        out["properties"]["instanceView"] = instance_view(doc, now)
    return out


def failure_message(doc: Mapping[str, Any], now: float) -> str:
    summary = machine_apps(doc).failure_summary(now)
    return (
        f"VM has reported a failure when processing extension '{EXTENSION_NAME}' "
        f"(publisher '{EXTENSION_PUBLISHER}' and type '{extension_type(doc['_os'])}'). "
        f"Error message: '{summary}'."
    )


# --- virtual machines ------------------------------------------------------------------------
def check_vm_body(
    body: Mapping[str, Any], name: str, existing: Mapping[str, Any] | None, site: Site
) -> tuple[str, str, list[validate.ResolvedApp]]:
    """Validate a VM PUT body; returns (location, osType, resolved applications)."""
    validate.check_name(name, "virtual machine")
    location = validate.check_location(body, existing)
    validate.check_tags(body)
    props = validate.need(body, "properties")
    validate.need(body, "properties.hardwareProfile.vmSize")
    storage = validate.need(body, "properties.storageProfile")
    os_profile = props.get("osProfile")
    if existing is None and validate.get(storage, "osDisk.createOption") != "Attach":
        validate.need(body, "properties.osProfile.adminUsername")
    nics = validate.need(body, "properties.networkProfile.networkInterfaces")
    if not isinstance(nics, list) or not nics:
        raise validate.missing("networkInterfaces", "properties.networkProfile.networkInterfaces")
    for index, nic in enumerate(nics):
        target = f"properties.networkProfile.networkInterfaces[{index}].id"
        nic_id = nic.get("id") if isinstance(nic, Mapping) else None
        validate.check_nic_reference(nic_id, target, location, site.find)
    os_type = validate.os_type(storage, os_profile)
    if existing is not None and existing["_os"] != os_type:
        raise ArmError(
            409,
            "PropertyChangeNotAllowed",
            "Changing property 'osType' is not allowed.",
            target="properties.storageProfile.osDisk.osType",
        )
    apps = resolve_profile(
        props.get("applicationProfile"), "properties.applicationProfile", os_type, location, site
    )
    return location, os_type, apps


def put_vm(
    world: World,
    resource_id: str,
    name: str,
    body: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    site: Site,
) -> tuple[dict[str, Any], bool]:
    """Create or replace a VM; returns (document, whether its application install fails the
    deployment). Application changes start installing now."""
    location, os_type, apps = check_vm_body(body, name, existing, site)
    props = {
        k: v for k, v in copy.deepcopy(dict(body["properties"])).items() if k not in _READ_ONLY
    }
    _vm_defaults(props, name, resource_id, os_type)
    props["vmId"] = existing["properties"]["vmId"] if existing else str(uuid.uuid4())
    props["timeCreated"] = iso(existing["_created"] if existing else site.now)
    doc: dict[str, Any] = {
        "id": resource_id,
        "name": name,
        "type": VM_TYPE,
        "location": location,
        "etag": new_etag(),
        "properties": props,
        "_os": os_type,
        "_created": existing["_created"] if existing else site.now,
        "_apps": existing.get("_apps", []) if existing else [],
    }
    if body.get("tags") is not None:
        doc["tags"] = dict(body["tags"])
    if body.get("zones") is not None:
        doc["zones"] = list(body["zones"])
    failed = _converge(doc, _desired(apps), site.now, site)
    world.put(doc)
    return doc, failed


def _vm_defaults(props: dict[str, Any], name: str, resource_id: str, os_type: str) -> None:
    """What ComputeRP fills in on a VM model the client did not send."""
    storage = props.setdefault("storageProfile", {})
    os_disk = storage.setdefault("osDisk", {})
    os_disk["osType"] = os_type
    os_disk.setdefault("name", f"{name}_OsDisk_1_{uuid.uuid5(uuid.NAMESPACE_URL, resource_id).hex}")
    disk_id = resource_id.split("/providers/")[0] + "/providers/Microsoft.Compute/disks/"
    os_disk.setdefault("managedDisk", {}).setdefault("id", disk_id + os_disk["name"])
    os_disk.setdefault("diskSizeGB", 30)
    storage.setdefault("dataDisks", [])
    os_profile = props.setdefault("osProfile", {})
    os_profile.setdefault("computerName", name[:15])
    os_profile.setdefault("secrets", [])
    os_profile.pop("adminPassword", None)  # never returned by ComputeRP
    props.setdefault("extensionsTimeBudget", "PT1H30M")


def merge_patch(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """ARM PATCH semantics for the VM/scale-set update models: objects merge, the rest
    (arrays included) replace."""
    for key, value in patch.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            merge_patch(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def patched_body(existing: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """The full model a PATCH amounts to (existing public model, merged with the patch).

    `tags` is replaced whole, not merged, as in Azure: a PATCH with `{"tags": {}}` removes
    every tag (merging is what the separate Microsoft.Resources/tags API offers)."""
    base = copy.deepcopy(public(existing))
    base.pop("etag", None)
    if "tags" in patch:
        base.pop("tags", None)
    # The update models have no location: a PATCH cannot move a resource.
    return merge_patch(base, {k: v for k, v in patch.items() if k != "location"})


def vm_operation_duration(doc: Mapping[str, Any], site: Site) -> float:
    """Sandbox seconds until the VM's pending application actions are all done."""
    return max(0.0, machine_apps(doc).done_at() - site.now)


# --- scale sets ------------------------------------------------------------------------------
def check_scale_set_body(
    body: Mapping[str, Any], name: str, existing: Mapping[str, Any] | None, site: Site
) -> tuple[str, str, list[validate.ResolvedApp]]:
    validate.check_name(name, "virtual machine scale set")
    location = validate.check_location(body, existing)
    validate.check_tags(body)
    validate.need(body, "sku.name")
    validate.check_capacity(body)
    validate.check_upgrade_mode(body)
    profile = validate.need(body, "properties.virtualMachineProfile")
    storage = validate.need(body, "properties.virtualMachineProfile.storageProfile")
    if existing is None:
        validate.need(body, "properties.virtualMachineProfile.osProfile.computerNamePrefix")
        validate.need(body, "properties.virtualMachineProfile.osProfile.adminUsername")
    _check_nic_configurations(profile, location, site)
    os_type = validate.os_type(storage, profile.get("osProfile"))
    if existing is not None and existing["_os"] != os_type:
        raise ArmError(
            409, "PropertyChangeNotAllowed", "Changing property 'osType' is not allowed."
        )
    if validate.get(body, "properties.upgradePolicy.rollingUpgradePolicy.pauseTimeBetweenBatches"):
        pause = body["properties"]["upgradePolicy"]["rollingUpgradePolicy"]
        try:
            parse_duration(str(pause["pauseTimeBetweenBatches"]))
        except ValueError as exc:
            raise validate.invalid(
                str(exc), "properties.upgradePolicy.rollingUpgradePolicy.pauseTimeBetweenBatches"
            ) from exc
    target = "properties.virtualMachineProfile.applicationProfile"
    apps = resolve_profile(profile.get("applicationProfile"), target, os_type, location, site)
    return location, os_type, apps


def _check_nic_configurations(profile: Mapping[str, Any], location: str, site: Site) -> None:
    base = "properties.virtualMachineProfile.networkProfile.networkInterfaceConfigurations"
    configs = validate.get(profile, "networkProfile.networkInterfaceConfigurations")
    if not isinstance(configs, list) or not configs:
        raise validate.missing("networkInterfaceConfigurations", base)
    for i, config in enumerate(configs):
        ip_configs = validate.get(config, "properties.ipConfigurations") or []
        if not ip_configs:
            raise validate.missing("ipConfigurations", f"{base}[{i}].properties.ipConfigurations")
        for j, ip in enumerate(ip_configs):
            target = f"{base}[{i}].properties.ipConfigurations[{j}].properties.subnet.id"
            subnet = validate.get(ip, "properties.subnet.id")
            validate.check_nic_reference(subnet, target, location, _subnet_finder(site))


def _subnet_finder(site: Site) -> validate.FindResource:
    """Subnets live inside their virtual network's document (as NRP returns them)."""

    def find(subnet_id: str) -> dict[str, Any] | None:
        vnet_id, _, name = subnet_id.rstrip("/").rpartition("/subnets/")
        vnet = site.find(vnet_id) if vnet_id else None
        if vnet is None:
            return None
        for subnet in vnet.get("properties", {}).get("subnets", []):
            if subnet.get("name", "").lower() == name.lower():
                return {"location": vnet["location"], **subnet}
        return None

    return find


def upgrade_mode(scale_set: Mapping[str, Any]) -> str:
    mode = validate.get(scale_set, "properties.upgradePolicy.mode") or "Manual"
    return str(mode)


def put_scale_set(
    world: World,
    resource_id: str,
    name: str,
    body: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    site: Site,
) -> tuple[dict[str, Any], float, bool]:
    """Create or replace a scale set and reconcile its instances with its capacity and upgrade
    policy. Returns (document, sandbox seconds the operation takes, whether it fails)."""
    location, os_type, apps = check_scale_set_body(body, name, existing, site)
    props = {
        k: v for k, v in copy.deepcopy(dict(body["properties"])).items() if k not in _READ_ONLY
    }
    props.setdefault("upgradePolicy", {})["mode"] = validate.check_upgrade_mode(body)
    props["virtualMachineProfile"].setdefault("storageProfile", {}).setdefault("osDisk", {})[
        "osType"
    ] = os_type
    _scale_set_defaults(props["virtualMachineProfile"])
    props["uniqueId"] = existing["properties"]["uniqueId"] if existing else str(uuid.uuid4())
    props["timeCreated"] = iso(existing["_created"] if existing else site.now)
    old_model = _model_of(existing) if existing else None
    generation = int(existing["_generation"]) if existing else 0
    if old_model != props["virtualMachineProfile"]:
        generation += 1
    doc: dict[str, Any] = {
        "id": resource_id,
        "name": name,
        "type": SCALE_SET_TYPE,
        "location": location,
        "etag": new_etag(),
        "sku": copy.deepcopy(body["sku"]),
        "properties": props,
        "_os": os_type,
        "_created": existing["_created"] if existing else site.now,
        "_generation": generation,
        "_next_instance": existing["_next_instance"] if existing else 0,
        "_rolling": existing.get("_rolling") if existing else None,
    }
    doc["sku"].setdefault("capacity", 0)
    if body.get("tags") is not None:
        doc["tags"] = dict(body["tags"])
    world.put(doc)
    desired = _desired(apps)
    _reconcile_capacity(world, doc, desired, site)
    changed = old_model is not None and old_model != props["virtualMachineProfile"]
    duration, failed = _roll_out(world, doc, desired, changed, site)
    world.put(doc)
    return doc, duration, failed


def _scale_set_defaults(profile: dict[str, Any]) -> None:
    """What ComputeRP fills in on a scale set's network configurations."""
    network = profile.get("networkProfile") or {}
    for config in network.get("networkInterfaceConfigurations") or []:
        props = config.setdefault("properties", {})
        props.setdefault("enableAcceleratedNetworking", False)
        props.setdefault("enableIPForwarding", False)
        props.setdefault("dnsSettings", {"dnsServers": []})
        for ip in props.get("ipConfigurations") or []:
            ip.setdefault("properties", {}).setdefault("privateIPAddressVersion", "IPv4")
    os_profile = profile.get("osProfile")
    if isinstance(os_profile, dict):
        os_profile.setdefault("secrets", [])
        os_profile.pop("adminPassword", None)  # never returned by ComputeRP


def _model_of(scale_set: Mapping[str, Any]) -> Any:
    return scale_set["properties"]["virtualMachineProfile"]


def instances(world: World, scale_set: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = [d for d in world.children(scale_set["id"]) if d.get("_kind") == INSTANCE_KIND]
    return sorted(found, key=lambda d: int(d["_instance"]))


def _reconcile_capacity(
    world: World, scale_set: dict[str, Any], desired: Sequence[Desired], site: Site
) -> None:
    """New instances are created on the latest model (installing its apps); extra instances
    are removed, highest ids first."""
    current = instances(world, scale_set)
    capacity = int(scale_set["sku"]["capacity"])
    for doc in current[capacity:]:
        world.delete(doc["id"])
    for _ in range(capacity - len(current)):
        number = int(scale_set["_next_instance"])
        scale_set["_next_instance"] = number + 1
        doc = _new_instance(scale_set, number, site)
        _upgrade_instance(doc, scale_set, desired, site.now, site)
        world.put(doc)


def _new_instance(scale_set: Mapping[str, Any], number: int, site: Site) -> dict[str, Any]:
    prefix = validate.get(
        scale_set, "properties.virtualMachineProfile.osProfile.computerNamePrefix"
    )
    return {
        "id": f"{scale_set['id']}/virtualMachines/{number}",
        "name": f"{scale_set['name']}_{number}",
        "type": VM_TYPE,
        # Kept private so that generic resource listings do not show instances (as in ARM);
        # the instance's own GET adds it back.
        "_location": scale_set["location"],
        "instanceId": str(number),
        "etag": new_etag(),
        "properties": {
            "vmId": str(uuid.uuid4()),
            "osProfile": {"computerName": f"{prefix or scale_set['name']}{number:06d}"},
            "modelDefinitionApplied": "VirtualMachineScaleSet",
            "timeCreated": iso(site.now),
        },
        "_kind": INSTANCE_KIND,
        "_instance": number,
        "_machine": f"{scale_set['name']}/{number}",
        "_os": scale_set["_os"],
        "_created": site.now,
        "_applied": [],  # [[at, generation], ...]: the model generation applied from `at`
        "_apps": [],
    }


def _upgrade_instance(
    doc: dict[str, Any],
    scale_set: Mapping[str, Any],
    desired: Sequence[Desired],
    at: float,
    site: Site,
) -> tuple[float, bool]:
    """Bring one instance to the scale set's model from `at`: (when done, deployment failed)."""
    # Only the generation in force now matters from the past; later ones were superseded.
    applied = [e for e in doc.get("_applied", []) if e[0] <= site.now][-1:]
    applied.append([at, int(scale_set["_generation"])])
    doc["_applied"] = applied
    failed = _converge(doc, desired, at, site)
    doc["etag"] = new_etag()
    return max(at, machine_apps(doc).done_at()), failed


def applied_generation(doc: Mapping[str, Any], now: float) -> int:
    live = [g for at, g in doc.get("_applied", []) if at <= now]
    return int(live[-1]) if live else -1


def _roll_out(
    world: World, scale_set: dict[str, Any], desired: Sequence[Desired], changed: bool, site: Site
) -> tuple[float, bool]:
    """Apply a changed model as the upgrade policy says: (operation seconds, failed)."""
    if not changed:
        return 0.0, False
    mode = upgrade_mode(scale_set)
    if mode == "Automatic":
        ends, failed = [], False
        for doc in instances(world, scale_set):
            end, bad = _upgrade_instance(doc, scale_set, desired, site.now, site)
            ends.append(end)
            failed = failed or bad
            world.put(doc)
        return max([site.now, *ends]) - site.now, failed
    if mode == "Rolling":
        start_rolling_upgrade(world, scale_set, desired, site)
    return 0.0, False


def start_rolling_upgrade(
    world: World, scale_set: dict[str, Any], desired: Sequence[Desired], site: Site
) -> RollingUpgrade:
    policy = RollingPolicy.from_model(
        validate.get(scale_set, "properties.upgradePolicy.rollingUpgradePolicy")
    )
    docs = {d["instanceId"]: d for d in instances(world, scale_set)}
    stale = [
        i for i, d in docs.items() if applied_generation(d, site.now) != scale_set["_generation"]
    ]

    def upgrade(instance_id: str, at: float) -> tuple[float, bool]:
        result = _upgrade_instance(docs[instance_id], scale_set, desired, at, site)
        world.put(docs[instance_id])
        return result

    pause = site.scale(parse_duration(policy.pause_time_between_batches))
    rolling = RollingUpgrade.plan(policy, stale, site.now, pause, upgrade)
    scale_set["_rolling"] = rolling.to_json()
    return rolling


def rolling_status(scale_set: Mapping[str, Any], now: float) -> dict[str, Any]:
    if not scale_set.get("_rolling"):
        raise ArmError(
            404,
            "NotFound",
            "Rolling upgrade was never run on the virtual machine scale set "
            f"'{scale_set['name']}'.",
        )
    return RollingUpgrade.from_json(scale_set["_rolling"]).document(now, scale_set)


def manual_upgrade(
    world: World, scale_set: Mapping[str, Any], instance_ids: Sequence[str], site: Site
) -> tuple[float, list[dict[str, Any]]]:
    """Bring the listed instances to the latest model now: (operation seconds, instances whose
    application install fails the deployment)."""
    by_id = {d["instanceId"]: d for d in instances(world, scale_set)}
    if "*" in instance_ids:
        # `["*"]` is the documented "all instances" (VM Applications docs, `az vmss
        # update-instances --instance-ids '*'`), which ComputeRP accepts.
        instance_ids = list(by_id)
    unknown = [i for i in instance_ids if str(i) not in by_id]
    if unknown or not instance_ids:
        raise validate.invalid(
            f"The provided instanceId(s) {', '.join(map(str, unknown)) or '(none)'} are not "
            "active Virtual Machine Scale Set VM instanceId(s).",
            "instanceIds",
        )
    os_type, location = scale_set["_os"], scale_set["location"]
    profile = validate.get(scale_set, "properties.virtualMachineProfile.applicationProfile")
    target = "properties.virtualMachineProfile.applicationProfile"
    desired = _desired(resolve_profile(profile, target, os_type, location, site))
    end, failed = site.now, []
    for instance_id in dict.fromkeys(str(i) for i in instance_ids):
        doc = by_id[instance_id]
        done, bad = _upgrade_instance(doc, scale_set, desired, site.now, site)
        world.put(doc)
        end = max(end, done)
        if bad:
            failed.append(doc)
    return end - site.now, failed


def instance_model(
    doc: Mapping[str, Any], scale_set: Mapping[str, Any], now: float, expand: bool = False
) -> dict[str, Any]:
    view = {"location": doc["_location"], **machine_view(doc, now, expand)}
    view["properties"].update(_instance_profile(doc, scale_set))
    view["properties"]["latestModelApplied"] = (
        applied_generation(doc, now) == scale_set["_generation"]
    )
    return view


def _instance_profile(doc: Mapping[str, Any], scale_set: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of an instance's model that come from the scale set's model."""
    profile = scale_set["properties"]["virtualMachineProfile"]
    storage = copy.deepcopy(profile.get("storageProfile") or {})
    os_disk = storage.setdefault("osDisk", {})
    os_disk["name"] = (
        f"{scale_set['name']}_{doc['instanceId']}_OsDisk_1_{doc['properties']['vmId'][:8]}"
    )
    disk_id = scale_set["id"].split("/providers/")[0] + "/providers/Microsoft.Compute/disks/"
    os_disk.setdefault("managedDisk", {})["id"] = disk_id + os_disk["name"]
    os_disk.setdefault("diskSizeGB", 30)
    storage.setdefault("dataDisks", [])
    image = storage.get("imageReference")
    if isinstance(image, dict) and image.get("publisher"):
        # An instance runs one concrete image version, even when the model says `latest`.
        version = str(image.get("version", "latest"))
        image["exactVersion"] = "1.0.20251120" if version == "latest" else version
    os_profile = {
        k: copy.deepcopy(v)
        for k, v in (profile.get("osProfile") or {}).items()
        if k not in ("computerNamePrefix", "adminPassword", "customData")
    }
    os_profile["computerName"] = doc["properties"]["osProfile"]["computerName"]
    os_profile.setdefault("secrets", [])
    configs = (profile.get("networkProfile") or {}).get("networkInterfaceConfigurations") or []
    return {
        "hardwareProfile": {},
        "storageProfile": storage,
        "osProfile": os_profile,
        "networkProfileConfiguration": {"networkInterfaceConfigurations": copy.deepcopy(configs)},
        "networkProfile": {
            "networkInterfaces": [
                {"id": f"{doc['id']}/networkInterfaces/{c.get('name', 'nic')}"} for c in configs
            ]
        },
    }


def scale_set_view(scale_set: Mapping[str, Any], world: World, now: float) -> dict[str, Any]:
    out = copy.deepcopy(public(scale_set))
    docs = instances(world, scale_set)
    states = [machine_apps(d).provisioning_state(now) for d in docs]
    out["properties"]["provisioningState"] = "Updating" if "Updating" in states else "Succeeded"
    return out


def scale_set_instance_view(
    scale_set: Mapping[str, Any], world: World, now: float
) -> dict[str, Any]:
    """VirtualMachineScaleSetInstanceView: counts of instance and extension statuses."""
    docs = instances(world, scale_set)
    vm_codes: dict[str, int] = {}
    ext_codes: dict[str, int] = {}
    for doc in docs:
        code = "ProvisioningState/" + machine_apps(doc).provisioning_state(now).lower()
        vm_codes[code] = vm_codes.get(code, 0) + 1
        extension = machine_apps(doc).extension_status(now, doc["_os"])
        if extension is not None:
            ext = extension["statuses"][0]["code"]
            ext_codes[ext] = ext_codes.get(ext, 0) + 1
    view: dict[str, Any] = {
        "virtualMachine": {"statusesSummary": _summary(vm_codes)},
        "statuses": [
            _provisioning_status(
                scale_set_view(scale_set, world, now)["properties"]["provisioningState"],
                scale_set["_created"],
            )
        ],
        "orchestrationServices": [
            {"serviceName": "AutomaticRepairs", "serviceState": "NotRunning"}
        ],
    }
    if ext_codes:
        view["extensions"] = [{"name": EXTENSION_NAME, "statusesSummary": _summary(ext_codes)}]
    return view


def _summary(codes: Mapping[str, int]) -> list[dict[str, Any]]:
    return [{"code": code, "count": count} for code, count in sorted(codes.items())]
