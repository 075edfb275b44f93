"""Microsoft.Storage storage accounts over ARM: parse, validate, call models, answer as Azure does.

Observed behaviour kept here: create answers 202 with an empty body, `Location` (an
`asyncoperations` URL) and `Retry-After: 17`, and the Location poll answers 202 until the
account is provisioned, then 200 with the account; a PUT on an existing account answers 200 at
once; delete answers 200, or 204 when there was nothing to delete.
"""

from __future__ import annotations

import copy
from typing import Any

from pytask.sandbox.core import OperationKind, Reply, RequestContext, issued, reply
from pytask.sandbox.core.arm import require_resource_group
from pytask.sandbox.core.errors import ArmError, not_found
from pytask.sandbox.providers.storage import models, service

CREATE_SECONDS = 20.0  # a storage account create takes ~20 s in Azure
CREATE_POLL_SECONDS = 17.0  # the Retry-After Azure sends with it


def _ref(ctx: RequestContext) -> models.AccountRef:
    return models.AccountRef(
        ctx.subscription_id, ctx.params["resourceGroupName"], ctx.params["accountName"]
    )


def _blob_url(ctx: RequestContext) -> str | None:
    return ctx.world.endpoints.get("blob_url")


def _account(ctx: RequestContext) -> dict[str, Any]:
    """The account the path names (also for `.../listKeys`-style action paths)."""
    require_resource_group(ctx)
    doc = ctx.world.get(_ref(ctx).id)
    if doc is None:
        raise not_found(models.TYPE, ctx.params["accountName"], ctx.params["resourceGroupName"])
    return doc


def create(ctx: RequestContext) -> Reply:
    """StorageAccounts_Create."""
    ref = _ref(ctx)
    group = require_resource_group(ctx)
    models.check_name(ref.name)
    body = ctx.json_object()
    models.check_create_body(body)
    with ctx.world.lock:
        existing = models.check_owner(ctx.world, ref)
        if existing is not None:
            models.check_same_location(existing, body)
            doc = models.update(ctx.world, existing, body)
            service.sync(ctx.world)
            return reply(models.render(doc, _blob_url(ctx)), 200)
        ref = models.AccountRef(ref.subscription_id, group["name"], ref.name)
        doc = models.create(ctx.world, ref, body, ctx.clock.now())
        finished = copy.deepcopy(doc)
        finished["properties"]["provisioningState"] = "Succeeded"
        _, headers = ctx.start_operation(
            CREATE_SECONDS,
            location=doc["location"],
            kind=OperationKind.LOCATION,
            on_success=("finish_create", {"id": doc["id"]}),
            on_failure=("fail_create", {"id": doc["id"]}),
            result=models.render(finished, _blob_url(ctx)),
            result_segment="asyncoperations",
            poll_interval=CREATE_POLL_SECONDS,
        )
    service.account_created(ctx.world, ref.name)
    return reply(None, 202, headers)


def get_properties(ctx: RequestContext) -> dict[str, Any]:
    """StorageAccounts_GetProperties."""
    return models.render(_account(ctx), _blob_url(ctx))


def update(ctx: RequestContext) -> dict[str, Any]:
    """StorageAccounts_Update (PATCH): synchronous, answers the whole account."""
    body = ctx.json_object()
    with ctx.world.lock:
        doc = models.update(ctx.world, _account(ctx), body)
    service.sync(ctx.world)
    return models.render(doc, _blob_url(ctx))


def delete(ctx: RequestContext) -> Reply:
    """StorageAccounts_Delete: 200 when deleted, 204 when there was no such account."""
    require_resource_group(ctx)
    with ctx.world.lock:
        doc = ctx.world.get(_ref(ctx).id)
        if doc is None:
            return reply(None, 204)
        ctx.world.delete(doc["id"])
    service.sync(ctx.world)
    return reply(None, 200)


def list_by_resource_group(ctx: RequestContext) -> dict[str, Any]:
    """StorageAccounts_ListByResourceGroup."""
    group = require_resource_group(ctx)
    docs = models.list_accounts(ctx.world, ctx.subscription_id, group["name"])
    return ctx.page([models.render(d, _blob_url(ctx)) for d in docs])


def list_by_subscription(ctx: RequestContext) -> dict[str, Any]:
    """StorageAccounts_List."""
    docs = models.list_accounts(ctx.world, ctx.subscription_id)
    return ctx.page([models.render(d, _blob_url(ctx)) for d in docs])


def list_keys(ctx: RequestContext) -> dict[str, Any]:
    """StorageAccounts_ListKeys: keys are listed even when shared-key access is disabled."""
    return _handed_out(models.keys_document(_account(ctx)))


def regenerate_key(ctx: RequestContext) -> dict[str, Any]:
    """StorageAccounts_RegenerateKey."""
    body = ctx.json_object()
    key_name = body.get("keyName")
    ctx.require(isinstance(key_name, str), "InvalidRequestContent", "keyName is required.")
    with ctx.world.lock:
        doc = _account(ctx)
        models.regenerate_key(ctx.world, doc, str(key_name), ctx.clock.now())
    service.sync(ctx.world)
    return _handed_out(models.keys_document(doc))


def _handed_out(keys: dict[str, Any]) -> dict[str, Any]:
    """Record the keys a client now holds (issued.py: the suite's secret scan)."""
    for key in keys["keys"]:
        issued.record("storage-account-key", key["value"])
    return keys


def check_name_availability(ctx: RequestContext) -> dict[str, Any]:
    """StorageAccounts_CheckNameAvailability."""
    body = ctx.json_object()
    name = body.get("name")
    ctx.require(isinstance(name, str), "InvalidRequestContent", "name is required.", "name")
    kind = str(body.get("type", models.TYPE))
    if kind.lower() != models.TYPE.lower():
        raise ArmError(400, "InvalidResourceType", f"The resource type '{kind}' is invalid.")
    return models.name_availability(ctx.world, str(name))
