"""Small ARM helpers every provider needs: ids, the resource group check, 404s."""

from __future__ import annotations

from typing import Any

from pytask.sandbox.core.context import RequestContext
from pytask.sandbox.core.errors import ArmError, not_found, resource_group_not_found

RESOURCE_GROUP_TYPE = "Microsoft.Resources/resourceGroups"


def resource_group_id(subscription_id: str, resource_group: str) -> str:
    return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"


def request_resource_id(ctx: RequestContext) -> str:
    """The resource id the request addresses: its path, without a trailing slash."""
    return ctx.path.rstrip("/")


def require_resource_group(ctx: RequestContext) -> dict[str, Any]:
    """The request's resource group (from `{resourceGroupName}`), or ARM's ResourceGroupNotFound.

    A resource group being deleted still answers (as in Azure, until the delete completes).
    """
    name = ctx.params["resourceGroupName"]
    group = ctx.world.get(resource_group_id(ctx.subscription_id, name))
    if group is None:
        raise resource_group_not_found(name)
    return group


def require_resource(ctx: RequestContext, full_type: str, name: str) -> dict[str, Any]:
    """The resource at the request path, or ResourceGroupNotFound / ResourceNotFound as ARM
    answers (the group is checked first)."""
    require_resource_group(ctx)
    doc = ctx.world.get(request_resource_id(ctx))
    if doc is None:
        raise not_found(full_type, name, ctx.params["resourceGroupName"])
    return doc


def conflict(message: str) -> ArmError:
    return ArmError(409, "Conflict", message)
