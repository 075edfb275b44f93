"""HTTP handlers for virtual networks, subnets and network interfaces."""

from __future__ import annotations

from typing import Any

from pytask.sandbox.core import Reply, RequestContext, public, reply
from pytask.sandbox.core.arm import request_resource_id, require_resource, require_resource_group
from pytask.sandbox.core.errors import not_found
from pytask.sandbox.providers.network import models


def _put(ctx: RequestContext, build: Any) -> Reply:
    require_resource_group(ctx)
    body = ctx.json_object()
    resource_id = request_resource_id(ctx)
    with ctx.world.lock:
        existing = ctx.world.get(resource_id)
        ctx.check_preconditions(existing.get("etag") if existing else None, existing is not None)
        doc = ctx.world.put(build(resource_id, body))
    return reply(public(doc), 200 if existing else 201)


def put_vnet(ctx: RequestContext) -> Reply:
    name = ctx.params["virtualNetworkName"]
    return _put(ctx, lambda rid, body: models.vnet_doc(rid, name, body))


def put_nic(ctx: RequestContext) -> Reply:
    name = ctx.params["networkInterfaceName"]
    return _put(ctx, lambda rid, body: models.nic_doc(ctx.world, rid, name, body))


def get_vnet(ctx: RequestContext) -> dict[str, Any]:
    return public(require_resource(ctx, models.VNET_TYPE, ctx.params["virtualNetworkName"]))


def get_nic(ctx: RequestContext) -> dict[str, Any]:
    return public(require_resource(ctx, models.NIC_TYPE, ctx.params["networkInterfaceName"]))


def _vnet(ctx: RequestContext) -> dict[str, Any]:
    vnet_id = request_resource_id(ctx).rsplit("/subnets/", 1)[0]
    require_resource_group(ctx)
    vnet = ctx.world.get(vnet_id)
    if vnet is None:
        name = ctx.params["virtualNetworkName"]
        raise not_found(models.VNET_TYPE, name, ctx.params["resourceGroupName"])
    return vnet


def get_subnet(ctx: RequestContext) -> dict[str, Any]:
    _vnet(ctx)
    subnet = models.find_subnet(ctx.world, request_resource_id(ctx))
    if subnet is None:
        name = f"{ctx.params['virtualNetworkName']}/subnets/{ctx.params['subnetName']}"
        raise not_found(models.SUBNET_TYPE, name, ctx.params["resourceGroupName"])
    return {k: v for k, v in subnet.items() if k != "location"}


def put_subnet(ctx: RequestContext) -> Reply:
    body = ctx.json_object()
    with ctx.world.lock:
        vnet = _vnet(ctx)
        existed = models.find_subnet(ctx.world, request_resource_id(ctx)) is not None
        subnet = models.put_subnet(ctx.world, vnet, {**body, "name": ctx.params["subnetName"]})
    return reply(subnet, 200 if existed else 201)


def _delete(ctx: RequestContext, full_type: str, name: str) -> Reply:
    require_resource_group(ctx)
    with ctx.world.lock:
        doc = ctx.world.get(request_resource_id(ctx))
        if doc is None or doc.get("type") != full_type:
            return reply(None, 204)
        ctx.world.delete(doc["id"])
    return reply(None, 200)


def delete_vnet(ctx: RequestContext) -> Reply:
    return _delete(ctx, models.VNET_TYPE, ctx.params["virtualNetworkName"])


def delete_nic(ctx: RequestContext) -> Reply:
    return _delete(ctx, models.NIC_TYPE, ctx.params["networkInterfaceName"])


def _list(ctx: RequestContext, full_type: str) -> dict[str, Any]:
    group = require_resource_group(ctx)
    docs = [public(d) for d in ctx.world.children(group["id"], full_type)]
    return ctx.page(docs)


def list_vnets(ctx: RequestContext) -> dict[str, Any]:
    return _list(ctx, models.VNET_TYPE)


def list_nics(ctx: RequestContext) -> dict[str, Any]:
    return _list(ctx, models.NIC_TYPE)
