"""Request bodies of VM and scale-set PUT/PATCH checked as ComputeRP checks them.

Errors use ComputeRP's codes and message style: `InvalidParameter` with the JSON path as
`target`, "Required parameter 'x' is missing (null).", `LocationRequired`,
`InvalidResourceReference` for network resources that do not exist, `PropertyChangeNotAllowed`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.providers.compute.vm.packages import (
    PackageVersion,
    VersionLookup,
    parse_reference,
)

UPGRADE_MODES = ("Automatic", "Manual", "Rolling")
# VM and scale-set names: letters, digits, '-', '_', '.'; not starting with '_', not ending
# with '.' or '-' (Linux limit 64; Windows computer names are checked separately).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9_]$|^[A-Za-z0-9]$")

# Finds a stored resource document by id (the network provider's NICs and virtual networks).
FindResource = Callable[[str], "dict[str, Any] | None"]


def invalid(message: str, target: str) -> ArmError:
    return ArmError(400, "InvalidParameter", message, target=target)


def missing(name: str, target: str) -> ArmError:
    return invalid(f"Required parameter '{name}' is missing (null).", target)


def need(body: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted `path` in `body`; InvalidParameter if it is absent."""
    node: Any = body
    for part in path.split("."):
        if not isinstance(node, Mapping) or node.get(part) is None:
            raise missing(part, path)
        node = node[part]
    return node


def get(body: Mapping[str, Any], path: str) -> Any:
    node: Any = body
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def check_name(name: str, kind: str) -> None:
    if not _NAME.match(name):
        raise invalid(
            f"The {kind} name '{name}' is invalid. It can contain only letters, digits, "
            "'-', '_' and '.', must start with a letter or digit and cannot end with '.' or '-'.",
            "name",
        )


def check_location(body: Mapping[str, Any], existing: Mapping[str, Any] | None) -> str:
    location = body.get("location")
    if not isinstance(location, str) or not location:
        raise ArmError(
            400, "LocationRequired", "The location property is required for this definition."
        )
    if existing is not None and _norm(existing["location"]) != _norm(location):
        raise ArmError(
            409,
            "PropertyChangeNotAllowed",
            "Changing property 'location' is not allowed.",
            target="location",
        )
    return location


# ARM's tag limits (Azure Resource Manager, "Use tags": 50 per resource, names up to 512
# characters without <, >, %, &, \, ?, / or control characters, values up to 256).
MAX_TAGS = 50
_RESERVED_TAG_CHARACTERS = re.compile(r"[<>%&\\?/\x00-\x1f]")


def check_tags(body: Mapping[str, Any]) -> None:
    tags = body.get("tags")
    if tags is None:
        return
    if not isinstance(tags, Mapping) or not all(isinstance(v, str) for v in tags.values()):
        raise invalid("Tags must be an object of string values.", "tags")
    reserved = [name for name in tags if _RESERVED_TAG_CHARACTERS.search(name)]
    if reserved:
        raise ArmError(
            400,
            "InvalidTagNameCharacters",
            f"The tag names '{','.join(reserved)}' have reserved characters "
            "'<,>,%,&,\\,?,/' or control characters.",
        )
    for name, value in tags.items():
        if len(name) > 512:
            raise ArmError(
                400,
                "InvalidTagNameLength",
                f"The tag name '{name[:40]}...' exceeded the maximum length of 512 characters.",
            )
        if len(value) > 256:
            raise ArmError(
                400,
                "InvalidTagValueLength",
                f"The value of tag '{name}' exceeded the maximum length of 256 characters.",
            )
    if len(tags) > MAX_TAGS:
        raise ArmError(
            400,
            "InvalidTagsCount",
            f"The resource has {len(tags)} tags; at most {MAX_TAGS} are allowed.",
        )


def os_type(storage_profile: Mapping[str, Any], os_profile: Mapping[str, Any] | None) -> str:
    """Linux or Windows: from the OS disk, else the OS profile, else the image publisher."""
    declared = get(storage_profile, "osDisk.osType")
    if isinstance(declared, str):
        if declared.lower() not in ("linux", "windows"):
            raise invalid(
                f"The value '{declared}' of parameter 'osType' is not allowed. "
                "Allowed values are 'Windows', 'Linux'.",
                "storageProfile.osDisk.osType",
            )
        return "Windows" if declared.lower() == "windows" else "Linux"
    if os_profile and "windowsConfiguration" in os_profile:
        return "Windows"
    publisher = str(get(storage_profile, "imageReference.publisher") or "")
    return "Windows" if "windows" in publisher.lower() else "Linux"


@dataclass(frozen=True)
class ResolvedApp:
    entry: dict[str, Any]  # the galleryApplications entry as stored
    package: PackageVersion


def check_application_profile(
    profile: Any, target: str, machine_os: str, region: str, lookup: VersionLookup
) -> list[ResolvedApp]:
    """Validate `applicationProfile` and resolve each entry to its gallery version."""
    if profile is None:
        return []
    apps = profile.get("galleryApplications") if isinstance(profile, Mapping) else None
    if apps is None:
        return []
    if not isinstance(apps, list):
        raise invalid("galleryApplications must be an array.", f"{target}.galleryApplications")
    resolved: list[ResolvedApp] = []
    seen: set[str] = set()
    for index, entry in enumerate(apps):
        path = f"{target}.galleryApplications[{index}]"
        resolved.append(_check_app(entry, path, machine_os, region, lookup))
        key = resolved[-1].package.application.lower()
        if key in seen:
            raise invalid(
                f"Gallery application '{resolved[-1].package.application}' is referenced more "
                "than once in the application profile.",
                path,
            )
        seen.add(key)
    return resolved


def _check_app(
    entry: Any, path: str, machine_os: str, region: str, lookup: VersionLookup
) -> ResolvedApp:
    if not isinstance(entry, Mapping):
        raise invalid("A gallery application entry must be an object.", path)
    reference = entry.get("packageReferenceId")
    if not isinstance(reference, str) or not reference:
        raise missing("packageReferenceId", f"{path}.packageReferenceId")
    if parse_reference(reference) is None:
        raise invalid(
            f"The packageReferenceId '{reference}' is not a valid gallery application version id.",
            f"{path}.packageReferenceId",
        )
    _check_types(entry, path)
    package = lookup(reference)
    if package is None:
        raise ArmError(
            404,
            "NotFound",
            f"The gallery application version '{reference}' was not found.",
            target=f"{path}.packageReferenceId",
        )
    if package.os_type.lower() != machine_os.lower():
        raise invalid(
            f"The gallery application '{package.application}' supports {package.os_type} but the "
            f"virtual machine runs {machine_os}.",
            f"{path}.packageReferenceId",
        )
    if not package.replicated_to(region):
        raise invalid(
            f"The gallery application version '{package.id}' is not available in region "
            f"'{region}'. Replicate it to that region first.",
            f"{path}.packageReferenceId",
        )
    return ResolvedApp(dict(entry), package)


_ENTRY_TYPES: dict[str, tuple[type, ...]] = {
    "order": (int,),
    "tags": (str,),
    "configurationReference": (str,),
    "treatFailureAsDeploymentFailure": (bool,),
    "enableAutomaticUpgrade": (bool,),
}


def _check_types(entry: Mapping[str, Any], path: str) -> None:
    for name, types in _ENTRY_TYPES.items():
        value = entry.get(name)
        bad_int = name == "order" and isinstance(value, bool)
        if value is not None and (bad_int or not isinstance(value, types)):
            raise invalid(f"The value of parameter '{name}' is invalid.", f"{path}.{name}")


def check_nic_reference(nic_id: Any, target: str, region: str, find: FindResource) -> None:
    if not isinstance(nic_id, str) or not nic_id:
        raise missing("id", target)
    nic = find(nic_id)
    if nic is None or _norm(nic.get("location", "")) != _norm(region):
        raise ArmError(
            400,
            "InvalidResourceReference",
            f"Resource {nic_id} referenced by resource {target} was not found. Please make sure "
            "that the referenced resource exists, and that both resources are in the same region.",
            target=target,
        )


def check_upgrade_mode(body: Mapping[str, Any]) -> str:
    mode = get(body, "properties.upgradePolicy.mode") or "Manual"
    for allowed in UPGRADE_MODES:
        if str(mode).lower() == allowed.lower():
            return allowed
    raise invalid(
        f"The value '{mode}' of parameter 'upgradePolicy.mode' is not allowed. "
        "Allowed values are 'Automatic', 'Manual', 'Rolling'.",
        "properties.upgradePolicy.mode",
    )


def check_capacity(body: Mapping[str, Any]) -> int:
    capacity = get(body, "sku.capacity")
    if capacity is None:
        return 0
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
        raise invalid("The value of parameter 'sku.capacity' is invalid.", "sku.capacity")
    return capacity


def _norm(region: str) -> str:
    return region.replace(" ", "").lower()
