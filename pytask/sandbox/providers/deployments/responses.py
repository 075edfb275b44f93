"""HTTP handlers for Microsoft.Resources/deployments, and `deploy()`, which DevTest Labs
environments use to run their template the same way."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pytask.sandbox.core import OperationKind, Reply, RequestContext, reply
from pytask.sandbox.core.arm import request_resource_id, require_resource_group
from pytask.sandbox.core.errors import ArmError, not_found
from pytask.sandbox.core.world import World
from pytask.sandbox.providers.deployments import internal, models
from pytask.sandbox.providers.deployments.expressions import TemplateError
from pytask.sandbox.providers.deployments.functions import Scope
from pytask.sandbox.providers.deployments.parameters import unwrap
from pytask.sandbox.providers.deployments.template import Plan, PlannedResource


def scope_for(ctx: RequestContext, group: Mapping[str, Any], name: str) -> Scope:
    return Scope(
        subscription_id=ctx.world.subscription_id,
        tenant_id=ctx.world.tenant_id,
        resource_group={
            "id": group["id"],
            "name": group["name"],
            "location": group["location"],
            "tags": dict(group.get("tags") or {}),
        },
        deployment_name=name,
        lookup=ctx.world.get,
    )


def deploy(
    ctx: RequestContext,
    group: Mapping[str, Any],
    name: str,
    plan: Plan,
    scope: Scope,
    injected: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Create the plan's resources now; returns the deployment document (stored)."""
    now = ctx.clock.now()
    with ctx.world.lock:
        return models.run(
            ctx.world,
            models.deployment_id(group["id"], name),
            name,
            plan,
            scope,
            lambda resource: _create(ctx, resource, now),
            now,
            now + ctx.clock.scaled(models.BASE_SECONDS),
            injected,
            tags,
        )


def _create(ctx: RequestContext, resource: PlannedResource, now: float) -> models.Created:
    if not internal.served(resource.id):
        _store_generic(ctx.world, resource)
        return models.Created(None, now)
    answer = internal.request(ctx, "PUT", resource.id, resource.api_version, resource.body)
    if not answer.ok:
        return models.Created(answer.error(), now)
    return models.Created(None, operation_end(ctx.world, answer.headers, now))


def operation_end(world: World, headers: Mapping[str, str], now: float) -> float:
    for key in ("Azure-AsyncOperation", "Location"):
        url = headers.get(key)
        if url:
            op_id = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
            op = world.operations.get(op_id)
            if op is not None:
                return float(op["start"]) + float(op["duration"])
    return now


def _store_generic(world: World, resource: PlannedResource) -> None:
    """A resource type no sandbox provider serves: kept as its document."""
    body = copy.deepcopy(resource.body)
    props = dict(body.pop("properties", None) or {})
    props["provisioningState"] = "Succeeded"
    doc: dict[str, Any] = {
        "id": resource.id,
        "name": resource.name.split("/")[-1],
        "type": resource.type,
    }
    doc.update({k: v for k, v in body.items() if k in ("location", "tags", "kind", "sku")})
    doc["properties"] = props
    world.put(doc)


# --- Microsoft.Resources/deployments ------------------------------------------------------
def _deployment(ctx: RequestContext) -> dict[str, Any]:
    group = require_resource_group(ctx)
    doc = ctx.world.get(request_resource_id(ctx))
    if doc is None or doc.get("type") != models.TYPE:
        name = ctx.params["deploymentName"]
        raise ArmError(404, "DeploymentNotFound", f"Deployment '{name}' could not be found.")
    del group
    return doc


def _planned(ctx: RequestContext, group: Mapping[str, Any]) -> tuple[Plan, Scope]:
    """The request's template and parameters, validated as ARM does before anything runs."""
    props = ctx.json_object().get("properties")
    ctx.require(isinstance(props, dict), "InvalidRequestContent", "properties is required")
    assert isinstance(props, dict)
    if "templateLink" in props:
        raise ArmError(400, "InvalidTemplate", "The sandbox deploys inline templates only.")
    ctx.require("template" in props, "InvalidRequestContent", "properties.template is required")
    scope = scope_for(ctx, group, ctx.params["deploymentName"])
    try:
        given = unwrap(props.get("parameters"))
    except TemplateError as error:
        raise models.invalid_template(error) from error
    return models.validate(props["template"], given, scope), scope


def put_deployment(ctx: RequestContext) -> Reply:
    group = require_resource_group(ctx)
    body = ctx.json_object()
    name = ctx.params["deploymentName"]
    plan, scope = _planned(ctx, group)
    with ctx.world.lock:
        existing = ctx.world.get(request_resource_id(ctx))
        if existing is not None and models.state(existing, ctx.clock.now()) == "Running":
            raise ArmError(409, "DeploymentActive", f"The deployment '{name}' is already running.")
        doc = deploy(ctx, group, name, plan, scope, ctx.fail_operation, body.get("tags"))
        headers = start(ctx, group["location"], doc)
    return reply(models.view(doc, ctx.clock.now()), 200 if existing else 201, headers)


def start(ctx: RequestContext, location: str, doc: Mapping[str, Any]) -> dict[str, str]:
    """The deployment's Azure-AsyncOperation, ending when it does, failed as it fails."""
    error = doc.get("_error")
    ctx.fail_operation = dict(error) if error else None
    scale = ctx.clock.time_scale or 1.0
    op, headers = ctx.start_operation(
        (doc["_end"] - ctx.clock.now()) / scale,
        location=location,
        kind=OperationKind.ASYNC_OPERATION,
        poll_interval=15.0,
    )
    if error:
        ctx.world.operations[op.id]["error"] = copy.deepcopy(error)
    return headers


def validate_deployment(ctx: RequestContext) -> dict[str, Any]:
    """`POST …/deployments/{name}/validate`, which `az deployment group create` sends first:
    200 with the validated deployment, or 400 InvalidTemplate; nothing is deployed."""
    group = require_resource_group(ctx)
    plan, _ = _planned(ctx, group)
    resource_id = models.deployment_id(group["id"], ctx.params["deploymentName"])
    return models.validation_view(resource_id, ctx.params["deploymentName"], plan, ctx.clock.now())


def get_deployment(ctx: RequestContext) -> dict[str, Any]:
    return models.view(_deployment(ctx), ctx.clock.now())


def list_deployments(ctx: RequestContext) -> dict[str, Any]:
    group = require_resource_group(ctx)
    now = ctx.clock.now()
    return ctx.page([models.view(d, now) for d in models.in_group(ctx.world, group["id"])])


def list_operations(ctx: RequestContext) -> dict[str, Any]:
    group_id = f"/subscriptions/{ctx.params['subscriptionId']}/resourceGroups/"
    group_id += ctx.params["resourceGroupName"]
    doc = ctx.world.get(models.deployment_id(group_id, ctx.params["deploymentName"]))
    if doc is None or doc.get("type") != models.TYPE:
        require_resource_group(ctx)
        raise not_found(models.TYPE, ctx.params["deploymentName"], ctx.params["resourceGroupName"])
    return ctx.page(models.operations_view(doc, ctx.clock.now()))
