"""Resolving what to deploy and where, and refusing bad input before any write.

Checks, for every target: it exists, it is a VM or a VM scale set, its OS is the application's
OS, and the version is provisioned and replicated to the target's region.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytask.agent import TaskError
from pytask.tasks.deploy.compute import GALLERY_API, Compute, is_scale_set, is_vm, profile_of
from pytask.tasks.deploy.spec import DeploySpec, VersionRef


@dataclass(frozen=True)
class AppVersion:
    application_id: str
    application: str  # the gallery application's name (what the instance view reports)
    os_type: str
    version_id: str | None  # None for `remove`
    version: str | None
    regions: frozenset[str]  # where the version is replicated (normalized names)


@dataclass
class Target:
    id: str
    name: str
    kind: str  # "vm" | "scaleSet"
    location: str
    os_type: str
    upgrade_mode: str  # "" for VMs
    model: dict[str, Any]

    @property
    def profile(self) -> dict[str, Any]:
        return profile_of(self.model)


def region(name: str) -> str:
    return name.replace(" ", "").lower()


def _version_key(name: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in name.split("."))
    except ValueError:
        return (-1,)


def application_id_of(ref: VersionRef, subscription: str) -> str:
    if ref.version_id:
        head, sep, _ = ref.version_id.rstrip("/").rpartition("/versions/")
        if not sep or "/applications/" not in head.lower():
            raise TaskError(f"applicationVersionId '{ref.version_id}' is not a version id.")
        return head
    return (
        f"/subscriptions/{subscription}/resourceGroups/{ref.gallery_group}/providers"
        f"/Microsoft.Compute/galleries/{ref.gallery}/applications/{ref.application}"
    )


def resolve_version(compute: Compute, ref: VersionRef, subscription: str) -> AppVersion:
    app_id = application_id_of(ref, subscription)
    application = compute.get(app_id, GALLERY_API)
    if application is None:
        raise TaskError(f"The gallery application {app_id} does not exist.")
    os_type = str((application.get("properties") or {}).get("supportedOSType", ""))
    wanted = ref.version_id.rstrip("/").rsplit("/", 1)[-1] if ref.version_id else ref.version
    if wanted is None:  # remove: any version of the application
        return AppVersion(app_id, application["name"], os_type, None, None, frozenset())
    if wanted.lower() == "latest":
        version = _latest(compute, app_id)
    else:
        version = compute.get(
            f"{app_id}/versions/{wanted}", GALLERY_API, **{"$expand": "ReplicationStatus"}
        )
    if version is None:
        raise TaskError(f"The application version {app_id}/versions/{wanted} does not exist.")
    props = version.get("properties") or {}
    if props.get("provisioningState") != "Succeeded":
        raise TaskError(
            f"The application version {version['id']} is {props.get('provisioningState')}, "
            "not Succeeded: wait for its publication to finish."
        )
    return AppVersion(
        app_id,
        application["name"],
        os_type,
        version["id"],
        version["name"],
        frozenset(_replicated_regions(props)),
    )


def _latest(compute: Compute, app_id: str) -> dict[str, Any] | None:
    candidates = [
        v
        for v in compute.pages(f"{app_id}/versions", GALLERY_API)
        if not (v.get("properties") or {}).get("publishingProfile", {}).get("excludeFromLatest")
        and (v.get("properties") or {}).get("provisioningState") == "Succeeded"
    ]
    if not candidates:
        return None
    best = max(candidates, key=lambda v: _version_key(v["name"]))
    return compute.get(best["id"], GALLERY_API, **{"$expand": "ReplicationStatus"})


def _replicated_regions(props: Mapping[str, Any]) -> list[str]:
    summary = (props.get("replicationStatus") or {}).get("summary")
    if summary:
        return [region(s["region"]) for s in summary if s.get("state") == "Completed"]
    targets = (props.get("publishingProfile") or {}).get("targetRegions") or []
    return [region(t["name"]) for t in targets]


def find_targets(compute: Compute, spec: DeploySpec, subscription: str) -> list[str]:
    """The target ids: as listed, or every VM and scale set of the resource group (tag-filtered)."""
    if spec.targets:
        return spec.targets
    group = f"/subscriptions/{subscription}/resourceGroups/{spec.resource_group}"
    if compute.get(group, "2024-03-01") is None:
        raise TaskError(f"The resource group '{spec.resource_group}' does not exist.")
    found: list[str] = []
    for kind in ("virtualMachines", "virtualMachineScaleSets"):
        for item in compute.pages(f"{group}/providers/Microsoft.Compute/{kind}"):
            tags = item.get("tags") or {}
            if spec.tag_filter and tags.get(spec.tag_filter[0]) != spec.tag_filter[1]:
                continue
            found.append(item["id"])
    if not found:
        narrowed = f" with tag {spec.tag_filter[0]}={spec.tag_filter[1]}" if spec.tag_filter else ""
        raise TaskError(
            f"No VMs or scale sets in resource group '{spec.resource_group}'{narrowed}."
        )
    return found


def load_target(compute: Compute, resource_id: str) -> Target:
    if not (is_vm(resource_id) or is_scale_set(resource_id)):
        raise TaskError(
            f"{resource_id} is not a virtual machine or a virtual machine scale set "
            "(Microsoft.Compute/virtualMachines or virtualMachineScaleSets)."
        )
    model = compute.get(resource_id)
    if model is None:
        raise TaskError(f"The target {resource_id} does not exist.")
    props = model.get("properties") or {}
    if is_scale_set(resource_id):
        storage = (props.get("virtualMachineProfile") or {}).get("storageProfile") or {}
        mode = str((props.get("upgradePolicy") or {}).get("mode") or "Manual")
        kind = "scaleSet"
    else:
        storage = props.get("storageProfile") or {}
        mode, kind = "", "vm"
    os_type = str((storage.get("osDisk") or {}).get("osType") or "")
    return Target(model["id"], model["name"], kind, model["location"], os_type, mode, model)


def check_target(target: Target, version: AppVersion) -> list[str]:
    """What makes this target unable to take the version (empty when it can)."""
    problems = []
    if version.os_type and target.os_type and target.os_type.lower() != version.os_type.lower():
        problems.append(
            f"{target.id} runs {target.os_type} but the application supports {version.os_type}."
        )
    if version.version_id and region(target.location) not in version.regions:
        # Naming where it IS replicated tells a pending replication from a missing region.
        where = ", ".join(sorted(version.regions)) or "no region yet"
        problems.append(
            f"{target.id} is in {target.location}, where version {version.version} is not "
            f"replicated (replicated to: {where}); add the region to the version's target "
            "regions or wait for its replication to finish."
        )
    return problems
