"""HTTP handlers for Microsoft.Resources."""

from __future__ import annotations

from typing import Any

from pytask.sandbox.core.arm import require_resource_group
from pytask.sandbox.core.cloud import LOCATIONS, normalize_location
from pytask.sandbox.core.context import RequestContext
from pytask.sandbox.core.errors import ArmError, resource_group_not_found
from pytask.sandbox.core.lro import OperationKind
from pytask.sandbox.core.reply import Reply, reply
from pytask.sandbox.core.world import public
from pytask.sandbox.providers.resources import metadata, models
from pytask.sandbox.providers.resources.filters import parse_filter

NAMESPACE = "Microsoft.Resources"


def get_metadata(ctx: RequestContext) -> dict[str, Any]:
    if ctx.api_version == "2015-01-01":
        return metadata.metadata_2015(ctx.world)
    return metadata.metadata_2022(ctx.world)


def list_subscriptions(ctx: RequestContext) -> dict[str, Any]:
    return ctx.page([models.subscription(ctx.world)])


def list_locations(ctx: RequestContext) -> dict[str, Any]:
    return {"value": models.locations(ctx.world)}


def get_subscription(ctx: RequestContext) -> dict[str, Any]:
    return models.subscription(ctx.world)


def _validate_rg_name(name: str) -> None:
    bad = models.invalid_rg_name_chars(name)
    if bad or name.endswith("."):
        raise ArmError(
            400,
            "InvalidResourceGroup",
            f"The provided resource group name '{name}' has these invalid characters: "
            f"'{bad or '.'}'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'. "
            "For more details, visit https://aka.ms/ARMResourceGroupNaming.",
        )
    if len(name) > models.RG_MAX_LENGTH:
        raise ArmError(
            400,
            "InvalidResourceGroup",
            f"The provided resource group name '{name}' is too long. The name can be at most "
            f"{models.RG_MAX_LENGTH} characters long.",
        )


def _not_deleting(doc: dict[str, Any]) -> None:
    if doc["properties"].get("provisioningState") == "Deleting":
        raise ArmError(
            409,
            "ResourceGroupBeingDeleted",
            f"The resource group '{doc['name']}' is in deprovisioning state and cannot perform "
            "this operation.",
        )


def put_resource_group(ctx: RequestContext) -> Reply:
    name = ctx.params["resourceGroupName"]
    _validate_rg_name(name)
    body = ctx.json_object()
    location = body.get("location")
    if not isinstance(location, str) or not location:
        raise ArmError(
            400, "LocationRequired", "The location property is required for this definition."
        )
    if normalize_location(location) not in LOCATIONS:
        raise ArmError(
            400,
            "LocationNotAvailableForResourceGroup",
            f"The provided location '{location}' is not available for resource group. List of "
            f"available regions is '{','.join(LOCATIONS)}'.",
        )
    tags = body.get("tags")
    if tags is not None and not isinstance(tags, dict):
        raise ArmError(400, "InvalidRequestContent", "The 'tags' property must be an object.")
    existing = models.resource_group(ctx.world, name)
    if existing is not None:
        _not_deleting(existing)
        if normalize_location(existing["location"]) != normalize_location(location):
            raise ArmError(
                409,
                "InvalidResourceGroupLocation",
                f"Invalid resource group location '{location}'. The Resource group already "
                f"exists in location '{existing['location']}'.",
            )
        location = existing["location"]
    doc, created = models.put_resource_group(
        ctx.world, name, normalize_location(location), tags, body.get("managedBy")
    )
    return reply(public(doc), 201 if created else 200)


def get_resource_group(ctx: RequestContext) -> dict[str, Any]:
    return public(require_resource_group(ctx))


def check_resource_group(ctx: RequestContext) -> Reply:
    """HEAD: 204 if it exists, 404 otherwise (no body)."""
    found = models.resource_group(ctx.world, ctx.params["resourceGroupName"]) is not None
    return reply(None, 204 if found else 404)


def patch_resource_group(ctx: RequestContext) -> dict[str, Any]:
    doc = require_resource_group(ctx)
    _not_deleting(doc)
    models.patch_resource_group(ctx.world, doc, ctx.json_object())
    return public(doc)


def delete_resource_group(ctx: RequestContext) -> Reply:
    name = ctx.params["resourceGroupName"]
    doc = models.resource_group(ctx.world, name)
    if doc is None:
        raise resource_group_not_found(name)
    _validate_force_deletion(ctx.query.get("forceDeletionTypes"))
    if doc["properties"].get("provisioningState") == "Deleting":
        return reply(None, 202, _pending_delete_headers(ctx, doc))
    count = models.mark_deleting(ctx.world, doc)
    duration = models.RG_DELETE_BASE + models.RG_DELETE_PER_RESOURCE * count
    op, headers = ctx.start_operation(
        duration,
        location=doc["location"],
        kind=OperationKind.LOCATION,
        on_success=("delete_resource_group", {"id": doc["id"]}),
        on_failure=("restore_resource_group", {"id": doc["id"]}),
        subscription_level=True,
        done_status=200,
    )
    doc["_deleteOperation"] = op.id
    ctx.world.put(doc)
    return reply(None, 202, headers)


def _pending_delete_headers(ctx: RequestContext, doc: dict[str, Any]) -> dict[str, str]:
    op_id = doc.get("_deleteOperation")
    if op_id is None:
        return {}
    return {
        "Location": f"{ctx.base_url}/subscriptions/{ctx.world.subscription_id}/operationresults/"
        f"{op_id}?api-version={ctx.api_version}",
        "Retry-After": str(ctx.clock.retry_after(15)),
    }


FORCE_DELETION_TYPES = (
    "microsoft.compute/virtualmachines",
    "microsoft.compute/virtualmachinescalesets",
)


def _validate_force_deletion(value: str | None) -> None:
    if not value:
        return
    for item in value.split(","):
        if item.strip().lower() not in FORCE_DELETION_TYPES:
            raise ArmError(
                400,
                "InvalidForceDeletionTypes",
                f"The value '{item}' of forceDeletionTypes is not supported. Supported values "
                "are 'Microsoft.Compute/virtualMachines,"
                "Microsoft.Compute/virtualMachineScaleSets'.",
            )


def restore_resource_group(world: Any, args: dict[str, Any]) -> None:
    """Effect of a failed delete: the group stays, provisioningState back to Succeeded."""
    doc = world.get(args["id"])
    if doc is not None:
        doc["properties"]["provisioningState"] = "Succeeded"
        doc.pop("_deleteOperation", None)
        world.put(doc)


def list_resource_groups(ctx: RequestContext) -> dict[str, Any]:
    predicate = parse_filter(ctx.query.get("$filter"))
    groups = [g for g in models.list_resource_groups(ctx.world) if predicate(g)]
    return ctx.page(groups)


def list_resources_in_group(ctx: RequestContext) -> dict[str, Any]:
    group = require_resource_group(ctx)
    predicate = parse_filter(ctx.query.get("$filter"))
    items = [r for r in models.tracked_resources(ctx.world, group["id"]) if predicate(r)]
    return ctx.page(items)


def list_resources(ctx: RequestContext) -> dict[str, Any]:
    predicate = parse_filter(ctx.query.get("$filter"))
    scope = f"/subscriptions/{ctx.world.subscription_id}"
    items = [r for r in models.tracked_resources(ctx.world, scope) if predicate(r)]
    return ctx.page(items)
