"""Microsoft.Resources state: subscription, resource groups, generic resource views. Pure
functions over the World; no HTTP."""

from __future__ import annotations

import re
from typing import Any

from pytask.sandbox.core.arm import RESOURCE_GROUP_TYPE, resource_group_id
from pytask.sandbox.core.cloud import LOCATION_NAMES
from pytask.sandbox.core.world import World, public

SUBSCRIPTION_NAME = "Sandbox Subscription"
# ARM: 1-90 characters; letters, digits, '-', '.', '(', ')', '_'; not ending with '.'.
_RG_CHARS = re.compile(r"[\w\-.()]", re.UNICODE)
RG_MAX_LENGTH = 90

# How long deleting a resource group takes in Azure (real seconds): a base plus per resource.
RG_DELETE_BASE = 20.0
RG_DELETE_PER_RESOURCE = 10.0


def subscription(world: World) -> dict[str, Any]:
    sub = world.subscription_id
    return {
        "id": f"/subscriptions/{sub}",
        "subscriptionId": sub,
        "tenantId": world.tenant_id,
        "displayName": SUBSCRIPTION_NAME,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "tags": {},
    }


def locations(world: World) -> list[dict[str, Any]]:
    sub = world.subscription_id
    return [
        {
            "id": f"/subscriptions/{sub}/locations/{name}",
            "name": name,
            "type": "Region",
            "displayName": display,
            "regionalDisplayName": f"({geography}) {display}",
            "metadata": {
                "regionType": "Physical",
                "regionCategory": "Recommended",
                "geographyGroup": geography,
            },
        }
        for name, (display, geography) in LOCATION_NAMES.items()
    ]


def invalid_rg_name_chars(name: str) -> str:
    """The characters of `name` ARM rejects in a resource group name ('' if none)."""
    return "".join(sorted({c for c in name if not _RG_CHARS.fullmatch(c)}))


def resource_group(world: World, name: str) -> dict[str, Any] | None:
    return world.get(resource_group_id(world.subscription_id, name))


def put_resource_group(
    world: World, name: str, location: str, tags: dict[str, str] | None, managed_by: str | None
) -> tuple[dict[str, Any], bool]:
    """Create or update; returns (document, created). The stored name keeps the case it was
    created with, as ARM does."""
    existing = resource_group(world, name)
    doc: dict[str, Any] = {
        "id": existing["id"] if existing else resource_group_id(world.subscription_id, name),
        "name": existing["name"] if existing else name,
        "type": RESOURCE_GROUP_TYPE,
        "location": location,
        "properties": {"provisioningState": "Succeeded"},
    }
    if tags:
        doc["tags"] = dict(tags)
    if managed_by:
        doc["managedBy"] = managed_by
    world.put(doc)
    return doc, existing is None


def patch_resource_group(world: World, doc: dict[str, Any], patch: dict[str, Any]) -> None:
    if "tags" in patch:
        if patch["tags"]:
            doc["tags"] = dict(patch["tags"])
        else:
            doc.pop("tags", None)
    if "managedBy" in patch:
        doc["managedBy"] = patch["managedBy"]
    world.put(doc)


def mark_deleting(world: World, doc: dict[str, Any]) -> int:
    """Flag the group as Deleting; returns how many resources it holds."""
    doc["properties"]["provisioningState"] = "Deleting"
    world.put(doc)
    return len(world.children(doc["id"]))


def delete_resource_group(world: World, args: dict[str, Any]) -> None:
    """Effect: the group and everything in it are gone."""
    world.delete(args["id"])


def list_resource_groups(world: World) -> list[dict[str, Any]]:
    prefix = f"/subscriptions/{world.subscription_id}/resourcegroups/".lower()
    return [
        public(doc)
        for doc in world.iter_resources()
        if doc.get("type") == RESOURCE_GROUP_TYPE and doc["id"].lower().startswith(prefix)
    ]


def generic_view(doc: dict[str, Any]) -> dict[str, Any]:
    """A resource as `GET .../resources` lists it (GenericResourceExpanded basics)."""
    keys = ("id", "name", "type", "location", "kind", "sku", "tags", "identity", "managedBy")
    return {k: doc[k] for k in keys if k in doc}


def tracked_resources(world: World, scope_id: str) -> list[dict[str, Any]]:
    """Tracked (located) resources under `scope_id`, other than resource groups."""
    return [
        generic_view(doc)
        for doc in world.children(scope_id)
        if "location" in doc and doc.get("type") != RESOURCE_GROUP_TYPE
    ]
