"""HTTP handlers for VMs, scale sets and scale-set instances (ComputeRP)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytask.sandbox.core import OperationKind, Reply, RequestContext, reply
from pytask.sandbox.core.arm import request_resource_id, require_resource_group
from pytask.sandbox.core.errors import not_found
from pytask.sandbox.core.world import World
from pytask.sandbox.providers.compute.vm import models, site
from pytask.sandbox.providers.compute.vm.models import SCALE_SET_TYPE, VM_TYPE

# ComputeRP answers model-only changes quickly; this is the floor of every write operation.
MIN_OPERATION_SECONDS = 2.0


def _expand_instance_view(ctx: RequestContext) -> bool:
    return ctx.query.get("$expand", "").lower() == "instanceview"


def _operation_reply(
    ctx: RequestContext,
    doc: dict[str, Any],
    status: int,
    sandbox_seconds: float,
    failure: str | None,
    body: dict[str, Any] | None,
) -> Reply:
    """Answer a write as ComputeRP does: the model now, and an Azure-AsyncOperation to poll
    until the machines are done (failed when an install fails the deployment)."""
    if failure is not None and ctx.fail_operation is None:
        ctx.fail_operation = {"code": "VMExtensionProvisioningError", "message": failure}
    scale = ctx.clock.time_scale
    real = sandbox_seconds / scale if scale > 0 else 0.0
    _, headers = ctx.start_operation(
        max(MIN_OPERATION_SECONDS, real), location=doc["location"], poll_interval=5.0
    )
    return reply(body, status, headers)


# --- virtual machines ------------------------------------------------------------------------
def _vm(ctx: RequestContext) -> dict[str, Any]:
    require_resource_group(ctx)
    group = f"/subscriptions/{ctx.subscription_id}/resourceGroups/{ctx.params['resourceGroupName']}"
    doc = ctx.world.get(
        f"{group}/providers/Microsoft.Compute/virtualMachines/{ctx.params['vmName']}"
    )
    if doc is None or doc.get("type") != VM_TYPE:
        raise not_found(VM_TYPE, ctx.params["vmName"], ctx.params["resourceGroupName"])
    return doc


def get_vm(ctx: RequestContext) -> dict[str, Any]:
    return models.machine_view(_vm(ctx), ctx.clock.now(), _expand_instance_view(ctx))


def vm_instance_view(ctx: RequestContext) -> dict[str, Any]:
    return models.instance_view(_vm(ctx), ctx.clock.now())


def _write_target(ctx: RequestContext, resource_type: str) -> tuple[str, dict[str, Any] | None]:
    """The id a PUT/PATCH addresses and what stands there now (if of that type), after the
    request's If-Match / If-None-Match are checked. Call with the world lock held."""
    resource_id = request_resource_id(ctx)
    existing = ctx.world.get(resource_id)
    if existing is not None and existing.get("type") != resource_type:
        existing = None
    ctx.check_preconditions(existing.get("etag") if existing else None, existing is not None)
    return resource_id, existing


def _write_vm(ctx: RequestContext, body_of: Callable[[dict[str, Any] | None], Any]) -> Reply:
    require_resource_group(ctx)
    with ctx.world.lock:
        resource_id, existing = _write_target(ctx, VM_TYPE)
        here = site.for_request(ctx)
        body = body_of(existing)
        name = ctx.params["vmName"]
        doc, failed = models.put_vm(ctx.world, resource_id, name, body, existing, here)
        seconds = models.vm_operation_duration(doc, here)
        # Outcomes are decided when scheduled: read them as they will be once all is done.
        failure = models.failure_message(doc, float("inf")) if failed else None
    view = models.machine_view(doc, ctx.clock.now())
    return _operation_reply(ctx, doc, 200 if existing else 201, seconds, failure, view)


def put_vm(ctx: RequestContext) -> Reply:
    body = ctx.json_object()
    return _write_vm(ctx, lambda existing: body)


def patch_vm(ctx: RequestContext) -> Reply:
    patch = ctx.json_object()

    def body_of(existing: dict[str, Any] | None) -> dict[str, Any]:
        if existing is None:
            raise not_found(VM_TYPE, ctx.params["vmName"], ctx.params["resourceGroupName"])
        return models.patched_body(existing, patch)

    return _write_vm(ctx, body_of)


def delete_vm(ctx: RequestContext) -> Reply:
    return _delete(ctx, VM_TYPE)


def _delete(ctx: RequestContext, full_type: str) -> Reply:
    require_resource_group(ctx)
    with ctx.world.lock:
        doc = ctx.world.get(request_resource_id(ctx))
        if doc is None or doc.get("type") != full_type:
            return reply(None, 204)
        ctx.check_preconditions(doc.get("etag"), True)
        _, headers = ctx.start_operation(
            30,
            location=doc["location"],
            kind=OperationKind.BOTH,
            on_success=(DELETE_EFFECT, {"id": doc["id"]}),
        )
    return reply(None, 202, headers)


DELETE_EFFECT = "vm_delete"


def delete_effect(world: World, args: dict[str, Any]) -> None:
    world.delete(args["id"])


def _list(ctx: RequestContext, full_type: str, view: Callable[[dict[str, Any]], Any]) -> Any:
    if "resourceGroupName" in ctx.params:
        parent = require_resource_group(ctx)["id"]
    else:
        parent = f"/subscriptions/{ctx.subscription_id}"
    docs = [d for d in ctx.world.children(parent, full_type) if d.get("_kind") is None]
    return ctx.page([view(d) for d in docs])


def list_vms(ctx: RequestContext) -> Any:
    now = ctx.clock.now()
    return _list(ctx, VM_TYPE, lambda d: models.machine_view(d, now))


# --- scale sets ------------------------------------------------------------------------------
def _scale_set(ctx: RequestContext) -> dict[str, Any]:
    name = ctx.params["vmScaleSetName"]
    require_resource_group(ctx)
    group = f"/subscriptions/{ctx.subscription_id}/resourceGroups/{ctx.params['resourceGroupName']}"
    doc = ctx.world.get(f"{group}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}")
    if doc is None or doc.get("type") != SCALE_SET_TYPE:
        raise not_found(SCALE_SET_TYPE, name, ctx.params["resourceGroupName"])
    return doc


def get_scale_set(ctx: RequestContext) -> dict[str, Any]:
    return models.scale_set_view(_scale_set(ctx), ctx.world, ctx.clock.now())


def scale_set_instance_view(ctx: RequestContext) -> dict[str, Any]:
    return models.scale_set_instance_view(_scale_set(ctx), ctx.world, ctx.clock.now())


def _write_scale_set(ctx: RequestContext, body_of: Callable[[dict[str, Any] | None], Any]) -> Reply:
    require_resource_group(ctx)
    with ctx.world.lock:
        resource_id, existing = _write_target(ctx, SCALE_SET_TYPE)
        here = site.for_request(ctx)
        body = body_of(existing)
        name = ctx.params["vmScaleSetName"]
        doc, seconds, failed = models.put_scale_set(
            ctx.world, resource_id, name, body, existing, here
        )
        failure = _instances_failure(ctx, doc) if failed else None
        view = models.scale_set_view(doc, ctx.world, ctx.clock.now())
    return _operation_reply(ctx, doc, 200 if existing else 201, seconds, failure, view)


def _instances_failure(ctx: RequestContext, scale_set: dict[str, Any]) -> str:
    docs = models.instances(ctx.world, scale_set)
    failing = [d for d in docs if models.machine_apps(d).failure_summary(float("inf"))]
    return "; ".join(models.failure_message(d, float("inf")) for d in failing[:5])


def put_scale_set(ctx: RequestContext) -> Reply:
    body = ctx.json_object()
    return _write_scale_set(ctx, lambda existing: body)


def patch_scale_set(ctx: RequestContext) -> Reply:
    patch = ctx.json_object()

    def body_of(existing: dict[str, Any] | None) -> dict[str, Any]:
        if existing is None:
            name = ctx.params["vmScaleSetName"]
            raise not_found(SCALE_SET_TYPE, name, ctx.params["resourceGroupName"])
        return models.patched_body(existing, patch)

    return _write_scale_set(ctx, body_of)


def delete_scale_set(ctx: RequestContext) -> Reply:
    return _delete(ctx, SCALE_SET_TYPE)


def list_scale_sets(ctx: RequestContext) -> Any:
    now = ctx.clock.now()
    return _list(ctx, SCALE_SET_TYPE, lambda d: models.scale_set_view(d, ctx.world, now))


def manual_upgrade(ctx: RequestContext) -> Reply:
    body = ctx.json_object()
    raw = body.get("instanceIds")
    ids: list[str] = raw if isinstance(raw, list) else []
    ctx.require(
        bool(ids) and all(isinstance(i, str) for i in ids),
        "InvalidParameter",
        "Required parameter 'instanceIds' is missing (null).",
        "instanceIds",
    )
    with ctx.world.lock:
        scale_set = _scale_set(ctx)
        here = site.for_request(ctx)
        seconds, failed = models.manual_upgrade(ctx.world, scale_set, ids, here)
        failure = "; ".join(models.failure_message(d, float("inf")) for d in failed[:5]) or None
    if failure is not None and ctx.fail_operation is None:
        ctx.fail_operation = {"code": "VMExtensionProvisioningError", "message": failure}
    scale = ctx.clock.time_scale
    real = seconds / scale if scale > 0 else 0.0
    _, headers = ctx.start_operation(
        max(MIN_OPERATION_SECONDS, real),
        location=scale_set["location"],
        kind=OperationKind.BOTH,
        poll_interval=5.0,
    )
    return reply(None, 202, headers)


def rolling_upgrade_latest(ctx: RequestContext) -> dict[str, Any]:
    return models.rolling_status(_scale_set(ctx), ctx.clock.now())


# --- scale-set instances ---------------------------------------------------------------------
def _instance(ctx: RequestContext) -> tuple[dict[str, Any], dict[str, Any]]:
    scale_set = _scale_set(ctx)
    doc = ctx.world.get(f"{scale_set['id']}/virtualMachines/{ctx.params['instanceId']}")
    if doc is None or doc.get("_kind") != models.INSTANCE_KIND:
        name = f"{scale_set['name']}/virtualMachines/{ctx.params['instanceId']}"
        raise not_found(f"{SCALE_SET_TYPE}/virtualMachines", name, ctx.params["resourceGroupName"])
    return scale_set, doc


def get_instance(ctx: RequestContext) -> dict[str, Any]:
    scale_set, doc = _instance(ctx)
    return models.instance_model(doc, scale_set, ctx.clock.now(), _expand_instance_view(ctx))


def instance_view(ctx: RequestContext) -> dict[str, Any]:
    _, doc = _instance(ctx)
    return models.instance_view(doc, ctx.clock.now())


def list_instances(ctx: RequestContext) -> Any:
    scale_set = _scale_set(ctx)
    now, expand = ctx.clock.now(), _expand_instance_view(ctx)
    docs = models.instances(ctx.world, scale_set)
    return ctx.page([models.instance_model(d, scale_set, now, expand) for d in docs])
