"""ARM handlers for Microsoft.OperationalInsights workspaces."""

from __future__ import annotations

from typing import Any

from pytask.sandbox.core import Reply, RequestContext, public, reply
from pytask.sandbox.core.arm import (
    request_resource_id,
    require_resource,
    require_resource_group,
)
from pytask.sandbox.core.cloud import LOCATIONS, normalize_location

from . import workspaces


def put_workspace(ctx: RequestContext) -> Reply:
    require_resource_group(ctx)
    body = ctx.json_object()
    ctx.require("location" in body, "LocationRequired", "The location property is required.")
    location = normalize_location(str(body["location"]))
    ctx.require(
        location in LOCATIONS,
        "LocationNotAvailableForResourceType",
        f"The provided location '{body['location']}' is not available for resource type "
        f"'{workspaces.WORKSPACE_TYPE}'. List of available regions is '{','.join(LOCATIONS)}'.",
    )
    sku = ((body.get("properties") or {}).get("sku") or {}).get("name", "PerGB2018")
    ctx.require(
        sku in workspaces.SKUS,
        "InvalidParameter",
        f"The SKU '{sku}' is not valid; valid values: {', '.join(workspaces.SKUS)}.",
    )
    rid = request_resource_id(ctx)
    with ctx.world.lock:
        existing = ctx.world.get(rid)
        ctx.check_preconditions(existing.get("etag") if existing else None, existing is not None)
        doc, created = workspaces.put_workspace(
            ctx.world, rid, ctx.params["workspaceName"], body, ctx.clock.now()
        )
    return reply(public(doc), 201 if created else 200)


def get_workspace(ctx: RequestContext) -> dict[str, Any]:
    doc = require_resource(ctx, workspaces.WORKSPACE_TYPE, ctx.params["workspaceName"])
    return public(doc)


def delete_workspace(ctx: RequestContext) -> Reply:
    require_resource_group(ctx)
    rid = request_resource_id(ctx)
    with ctx.world.lock:
        if ctx.world.delete(rid) is None:
            return reply(None, 204)
        workspaces.forget(ctx.world, rid)
    return reply(None, 200)


def list_workspaces(ctx: RequestContext) -> dict[str, Any]:
    group = ctx.params.get("resourceGroupName")
    if group is not None:
        require_resource_group(ctx)
    prefix = f"/subscriptions/{ctx.subscription_id}/".lower()
    if group is not None:
        prefix += f"resourcegroups/{group.lower()}/"
    found = [
        public(d)
        for d in workspaces.workspaces(ctx.world)
        if str(d["id"]).lower().startswith(prefix)
    ]
    return {"value": found}
