"""Lab custom images and formulas: what a lab VM can be created from besides a marketplace
image. A custom image records its OS; a formula is a saved lab VM request (`formulaContent`)
that clients expand into a lab VM PUT, as the portal does."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pytask.sandbox.core.clock import iso
from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.world import World
from pytask.sandbox.providers.devtestlab import models as m

CUSTOM_IMAGE_TYPE = f"{m.NS}/labs/customimages"
FORMULA_TYPE = f"{m.NS}/labs/formulas"


def _bad(code: str, message: str, target: str) -> ArmError:
    return ArmError(400, code, message, target=target)


def image_os(world: World, props: Mapping[str, Any]) -> str:
    """Linux or Windows, from the source VM's OS info, the VHD's osType or the source VM."""
    vm = props.get("vm") or {}
    if vm.get("windowsOsInfo") is not None:
        return "Windows"
    if vm.get("linuxOsInfo") is not None:
        return "Linux"
    vhd = props.get("vhd") or {}
    if vhd.get("osType") in ("Linux", "Windows"):
        return str(vhd["osType"])
    source = world.get(str(vm.get("sourceVmId") or ""))
    if source is not None and source.get("type") == m.LAB_VM_TYPE:
        return str(source["properties"]["osType"])
    raise _bad(
        "InvalidCustomImageProperties",
        "A custom image needs vm.sourceVmId (a lab VM), vm.linuxOsInfo / vm.windowsOsInfo, or "
        "vhd.osType.",
        "properties",
    )


def custom_image_doc(
    world: World, resource_id: str, name: str, lab: Mapping[str, Any], body: Mapping[str, Any],
    now: float,
) -> dict[str, Any]:  # fmt: skip
    props = dict(body.get("properties") or {})
    os_type = image_os(world, props)
    doc: dict[str, Any] = {
        "id": resource_id,
        "name": name,
        "type": CUSTOM_IMAGE_TYPE,
        "_location": lab["location"],
        "_os": os_type,
        "properties": {
            **{k: copy.deepcopy(props[k]) for k in ("vm", "vhd", "description", "author")
               if k in props},
            "creationDate": iso(now),
            "provisioningState": "Succeeded",
            "uniqueIdentifier": m.new_identifier(),
        },
    }  # fmt: skip
    if body.get("tags"):
        doc["tags"] = dict(body["tags"])
    return doc


def formula_doc(
    world: World, resource_id: str, name: str, lab: Mapping[str, Any], body: Mapping[str, Any],
    now: float,
) -> dict[str, Any]:  # fmt: skip
    props = dict(body.get("properties") or {})
    content = props.get("formulaContent")
    inner = content.get("properties") if isinstance(content, Mapping) else None
    if not isinstance(content, Mapping) or not isinstance(inner, Mapping):
        raise _bad("InvalidFormulaContent", "formulaContent.properties is required.",
                   "properties.formulaContent")  # fmt: skip
    os_type = _formula_os(world, lab, inner)
    doc: dict[str, Any] = {
        "id": resource_id,
        "name": name,
        "type": FORMULA_TYPE,
        "_location": lab["location"],
        "properties": {
            "description": str(props.get("description") or ""),
            "author": str(props.get("author") or ""),
            "osType": os_type,
            "creationDate": iso(now),
            "formulaContent": _without_secrets(content),
            "provisioningState": "Succeeded",
            "uniqueIdentifier": m.new_identifier(),
        },
    }
    if body.get("tags"):
        doc["tags"] = dict(body["tags"])
    return doc


def _formula_os(world: World, lab: Mapping[str, Any], inner: Mapping[str, Any]) -> str:
    image = inner.get("galleryImageReference")
    if isinstance(image, Mapping) and image.get("publisher"):
        return str(image.get("osType") or "Linux")
    custom = find_custom_image(world, lab, str(inner.get("customImageId") or ""))
    if custom is None:
        raise _bad(
            "InvalidFormulaContent",
            "formulaContent needs a galleryImageReference or the customImageId of a custom "
            "image in the lab.",
            "properties.formulaContent.properties",
        )
    return str(custom["_os"])


def _without_secrets(content: Mapping[str, Any]) -> dict[str, Any]:
    """Formulas keep no passwords (Azure stores them in the lab's key vault instead)."""
    kept = copy.deepcopy(dict(content))
    kept.get("properties", {}).pop("password", None)
    return kept


def find_custom_image(world: World, lab: Mapping[str, Any], image_id: str) -> dict[str, Any] | None:
    doc = world.get(image_id) if image_id else None
    inside = image_id.lower().startswith(lab["id"].lower() + "/")
    return doc if doc is not None and doc.get("type") == CUSTOM_IMAGE_TYPE and inside else None
