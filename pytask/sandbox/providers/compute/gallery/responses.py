"""HTTP handlers for galleries, gallery applications and application versions.

Shapes follow GalleryRP as observed: gallery create is a 201 LRO; application create is a
synchronous 201; version create is a 201 with only `Azure-AsyncOperation` and
`provisioningState: Creating`, version update a 200 with the same header; deletes are 202 with
both `Azure-AsyncOperation` and `Location`; deleting what is not there is 204.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytask.sandbox.core import ArmError, OperationKind, Reply, RequestContext, new_etag, reply
from pytask.sandbox.core.arm import (
    conflict,
    request_resource_id,
    require_resource,
    require_resource_group,
)
from pytask.sandbox.core.world import public
from pytask.sandbox.providers.compute.gallery import media, models, names, replication, validation

# Real-Azure seconds (scaled by --time-scale).
GALLERY_SECONDS = 10.0
DELETE_SECONDS = 15.0
VERSION_UPDATE_SECONDS = 10.0
POLL_SECONDS = 15.0
SEGMENT = "capsOperations"  # GalleryRP's operation URLs: .../locations/{l}/capsOperations/{id}

BUSY = ("Creating", "Updating", "Deleting")

EFFECT_SETTLE = "gallery_settle"
EFFECT_REMOVE = "gallery_remove"


def _etag(doc: Mapping[str, Any] | None) -> str | None:
    return None if doc is None else doc.get("_etag")


def _etag_headers(doc: Mapping[str, Any]) -> dict[str, str]:
    return {"ETag": doc["_etag"]} if doc.get("_etag") else {}


def _parent_not_found(kind: str, name: str) -> ArmError:
    return ArmError(
        404,
        "ParentResourceNotFound",
        f"Can not perform requested operation on nested resource. Parent resource "
        f"'{name}' not found.",
        kind,
    )


def _gallery(ctx: RequestContext) -> dict[str, Any]:
    """The gallery above the request path (for child resources)."""
    require_resource_group(ctx)
    path = request_resource_id(ctx)
    marker = path.lower().index("/galleries/") + len("/galleries/")
    name = ctx.params["galleryName"]
    doc = ctx.world.get(path[:marker] + name)
    if doc is None:
        raise _parent_not_found("galleries", name)
    return doc


def _application(ctx: RequestContext) -> dict[str, Any]:
    gallery = _gallery(ctx)
    name = ctx.params["galleryApplicationName"]
    doc = ctx.world.get(f"{gallery['id']}/applications/{name}")
    if doc is None:
        raise _parent_not_found("galleries/applications", name)
    return doc


def _write(ctx: RequestContext, doc: dict[str, Any]) -> dict[str, Any]:
    """Store a new state of the resource (PUT replaces it whole, tags included)."""
    doc["_etag"] = new_etag()
    return ctx.world.put(doc)


def _start(
    ctx: RequestContext,
    doc: Mapping[str, Any],
    seconds: float,
    kind: OperationKind = OperationKind.ASYNC_OPERATION,
) -> dict[str, str]:
    """Start the LRO on `doc` and return its polling headers. A write settles the resource in
    Succeeded (or Failed); a delete (kind BOTH) removes it (or leaves it Failed)."""
    rid = doc["id"]
    done = (EFFECT_REMOVE, {"id": rid})
    if kind is OperationKind.ASYNC_OPERATION:
        done = (EFFECT_SETTLE, {"id": rid, "state": "Succeeded"})
    _, headers = ctx.start_operation(
        seconds,
        location=doc["location"],
        kind=kind,
        on_success=done,
        on_failure=(EFFECT_SETTLE, {"id": rid, "state": "Failed"}),
        status_segment=SEGMENT,
        poll_interval=POLL_SECONDS,
    )
    return headers


def _delete(ctx: RequestContext, doc: dict[str, Any] | None, children_type: str | None) -> Reply:
    if doc is None:
        return reply(None, 204)
    ctx.check_preconditions(doc.get("_etag"), True)
    if children_type is not None and ctx.world.children(doc["id"], children_type):
        raise conflict("Can not delete resource before nested resources are deleted.")
    if doc["properties"].get("provisioningState") in BUSY[:2]:
        raise conflict("Another operation on this resource is in progress.")
    doc["properties"]["provisioningState"] = "Deleting"
    ctx.world.put(doc)
    return reply(None, 202, _start(ctx, doc, DELETE_SECONDS, OperationKind.BOTH))


# --- galleries -----------------------------------------------------------------------------
def put_gallery(ctx: RequestContext) -> Reply:
    require_resource_group(ctx)
    name = ctx.params["galleryName"]
    names.check_gallery_name(name)
    body = ctx.json_object()
    validation.check_gallery(body)
    rid = request_resource_id(ctx)
    with ctx.world.lock:
        existing = ctx.world.get(rid)
        ctx.check_preconditions(_etag(existing), existing is not None)
        if existing is not None and existing["properties"].get("provisioningState") in BUSY:
            raise conflict("Another operation on this gallery is in progress.")
        state = "Updating" if existing else "Creating"
        doc = models.gallery_doc(rid, name, ctx.subscription_id, body, state)
        _write(ctx, doc)
        headers = _start(ctx, doc, GALLERY_SECONDS)
    return reply(public(doc), 200 if existing else 201, {**headers, **_etag_headers(doc)})


def get_gallery(ctx: RequestContext) -> Reply:
    doc = require_resource(ctx, models.GALLERY_TYPE, ctx.params["galleryName"])
    return reply(public(doc), 200, _etag_headers(doc))


def list_galleries(ctx: RequestContext) -> dict[str, Any]:
    if "resourceGroupName" in ctx.params:
        require_resource_group(ctx)
    scope = request_resource_id(ctx).rsplit("/providers/", 1)[0]
    docs = [public(d) for d in ctx.world.children(scope, models.GALLERY_TYPE)]
    return ctx.page(docs)


def delete_gallery(ctx: RequestContext) -> Reply:
    require_resource_group(ctx)
    with ctx.world.lock:
        doc = ctx.world.get(request_resource_id(ctx))
        return _delete(ctx, doc, models.APPLICATION_TYPE)


# --- applications --------------------------------------------------------------------------
def put_application(ctx: RequestContext) -> Reply:
    gallery = _gallery(ctx)
    name = ctx.params["galleryApplicationName"]
    names.check_application_name(name)
    body = ctx.json_object()
    validation.check_application(body, gallery["location"])
    rid = request_resource_id(ctx)
    with ctx.world.lock:
        existing = ctx.world.get(rid)
        ctx.check_preconditions(_etag(existing), existing is not None)
        doc = _write(ctx, models.application_doc(rid, name, body, existing))
    return reply(public(doc), 200 if existing else 201, _etag_headers(doc))


def patch_application(ctx: RequestContext) -> Reply:
    _gallery(ctx)
    doc = require_resource(ctx, models.APPLICATION_TYPE, ctx.params["galleryApplicationName"])
    body = ctx.json_object()
    validation.check_tags(body)
    with ctx.world.lock:
        ctx.check_preconditions(doc.get("_etag"), True)
        doc = _write(ctx, models.patch_application(doc, body))
    return reply(public(doc), 200, _etag_headers(doc))


def get_application(ctx: RequestContext) -> Reply:
    _gallery(ctx)
    doc = require_resource(ctx, models.APPLICATION_TYPE, ctx.params["galleryApplicationName"])
    return reply(public(doc), 200, _etag_headers(doc))


def list_applications(ctx: RequestContext) -> dict[str, Any]:
    gallery = _gallery(ctx)
    docs = [public(d) for d in ctx.world.children(gallery["id"], models.APPLICATION_TYPE)]
    return ctx.page(docs)


def delete_application(ctx: RequestContext) -> Reply:
    _gallery(ctx)
    with ctx.world.lock:
        doc = ctx.world.get(request_resource_id(ctx))
        return _delete(ctx, doc, models.VERSION_TYPE)


# --- versions ------------------------------------------------------------------------------
def put_version(ctx: RequestContext) -> Reply:
    application = _application(ctx)
    names.check_version_name(ctx.params["galleryApplicationVersionName"])
    return _write_version(ctx, application, ctx.json_object())


def patch_version(ctx: RequestContext) -> Reply:
    """GalleryApplicationVersions_Update: the updatable parts merged into the stored version."""
    application = _application(ctx)
    name = ctx.params["galleryApplicationVersionName"]
    existing = require_resource(ctx, models.VERSION_TYPE, name)
    patch = ctx.json_object()
    body = public(existing)
    props = patch.get("properties") or {}
    profile = dict(body["properties"]["publishingProfile"])
    profile.update(props.get("publishingProfile") or {})
    body["properties"] = {
        "publishingProfile": profile,
        "safetyProfile": {
            **body["properties"].get("safetyProfile", {}),
            **(props.get("safetyProfile") or {}),
        },
    }
    if patch.get("tags") is not None:
        body["tags"] = patch["tags"]
    return _write_version(ctx, application, body)


def _write_version(
    ctx: RequestContext, application: Mapping[str, Any], body: dict[str, Any]
) -> Reply:
    gallery_location = str(application["location"])
    validation.check_version(body, gallery_location)
    rid = request_resource_id(ctx)
    name = ctx.params["galleryApplicationVersionName"]
    now = ctx.clock.now()
    with ctx.world.lock:
        existing = ctx.world.get(rid)
        ctx.check_preconditions(_etag(existing), existing is not None)
        if existing is not None and existing["properties"].get("provisioningState") in BUSY:
            raise conflict("Another operation on this gallery application version is in progress.")
        doc = models.version_doc(rid, name, body, now, "Updating" if existing else "Creating")
        if existing is not None:
            models.check_version_update(existing, doc)
        models.check_version_limit(ctx.world, application["id"], doc)
    # Outside the lock: reading the source can take a while for a large package.
    source = doc["properties"]["publishingProfile"]["source"]
    check = _read_sources(source, _trust(ctx))
    with ctx.world.lock:
        # Another write may have landed while the sources were read: GalleryRP lets one
        # operation on a version run at a time, so the later request is refused, not merged.
        if _etag(ctx.world.get(rid)) != _etag(existing):
            raise conflict("Another operation on this gallery application version is in progress.")
        seconds = _plan(ctx, doc, existing, now, check)
        _write(ctx, doc)
        headers = _start(ctx, doc, seconds)
    return reply(
        models.version_view(doc, now, expand=False),
        200 if existing else 201,
        {**headers, **_etag_headers(doc)},
    )


def _trust(ctx: RequestContext) -> str | bool:
    """The sandbox's CA when this run published one (the blob gateway uses it)."""
    return ctx.world.endpoints.get("ca_bundle") or media.trust()


def _read_sources(source: Mapping[str, Any], verify: str | bool) -> media.MediaCheck:
    check = media.fetch(str(source["mediaLink"]), verify)
    config = source.get("defaultConfigurationLink")
    if check.ok and config:
        config_check = media.fetch(str(config), verify)
        if not config_check.ok:
            return config_check
    return check


def _plan(
    ctx: RequestContext,
    doc: dict[str, Any],
    existing: Mapping[str, Any] | None,
    now: float,
    check: media.MediaCheck,
) -> float:
    """Lay out replication and decide the operation's length (real-Azure seconds) and fate."""
    targets = doc["properties"]["publishingProfile"]["targetRegions"]
    real = replication.durations(targets)
    previous = models.plan_of(existing) if existing is not None else None
    plan = replication.new_plan(targets, now, [ctx.clock.scaled(s) for s in real], previous)
    fresh = [s for s, r in zip(real, plan.regions, strict=True) if r.start == now]
    seconds = max(fresh, default=VERSION_UPDATE_SECONDS)
    if not check.ok:
        # GalleryRP accepts the PUT, then fails the version when it cannot read the source.
        seconds = replication.SOURCE_CHECK_SECONDS
        message = (
            "The gallery application version source could not be read from "
            f"'properties.publishingProfile.source.mediaLink': {check.problem} Make sure the "
            "URL names an existing blob and carries a valid SAS with read permission."
        )
        ctx.fail_operation = {"code": "InvalidParameter", "message": message}
        replication.fail(plan, now + ctx.clock.scaled(seconds), message, only_last=False)
    elif ctx.fail_operation is not None:
        message = str(ctx.fail_operation.get("message", "Replication failed."))
        replication.fail(plan, now + ctx.clock.scaled(seconds), message, only_last=True)
    models.set_plan(doc, plan)
    return seconds


def get_version(ctx: RequestContext) -> Reply:
    _application(ctx)
    doc = require_resource(ctx, models.VERSION_TYPE, ctx.params["galleryApplicationVersionName"])
    expand = ctx.query.get("$expand", "")
    ctx.require(
        expand.lower() in ("", "replicationstatus", "userdata"),
        "InvalidParameter",
        f"The value '{expand}' of '$expand' is not valid. Allowed: ReplicationStatus.",
        "$expand",
    )
    view = models.version_view(doc, ctx.clock.now(), expand.lower() == "replicationstatus")
    return reply(view, 200, _etag_headers(doc))


def list_versions(ctx: RequestContext) -> dict[str, Any]:
    application = _application(ctx)
    now = ctx.clock.now()
    docs = ctx.world.children(application["id"], models.VERSION_TYPE)
    return ctx.page([models.version_view(d, now, expand=False) for d in docs])


def delete_version(ctx: RequestContext) -> Reply:
    _application(ctx)
    with ctx.world.lock:
        doc = ctx.world.get(request_resource_id(ctx))
        return _delete(ctx, doc, None)
