"""HTTP handlers for the Azure DevOps REST surface. The service authenticates callers itself
(Basic with a PAT as the password, or Bearer with the job's System.AccessToken), so these
routes use auth="none"; errors have the service's JSON shape, not ARM's."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from typing import Any

from pytask.sandbox.core import RequestContext, reply
from pytask.sandbox.core.cloud import DEVOPS_ORGANIZATION, DEVOPS_PROJECT
from pytask.sandbox.core.reply import Reply
from pytask.sandbox.identity.state import identity

from . import locations, models
from .models import DevOpsError

Handler = Callable[[RequestContext], "Reply | dict[str, Any] | None"]


def _error(error: DevOpsError) -> Reply:
    body = {
        "$id": "1",
        "innerException": None,
        "message": error.message,
        "typeName": f"Microsoft.VisualStudio.Services.{error.type_key}",
        "typeKey": error.type_key,
        "errorCode": 0,
        "eventId": 3000,
    }
    return reply(body, error.status)


def _caller(ctx: RequestContext) -> dict[str, Any]:
    header = ctx.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    token = ""
    if scheme.lower() == "basic":
        try:
            token = base64.b64decode(credential).decode("utf-8").partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            token = ""
    elif scheme.lower() == "bearer":
        token = credential.strip()
    if token and token == identity(ctx.world).job_access_token:
        service = f"{models.BUILD_SERVICE} ({DEVOPS_ORGANIZATION})"
        return models.add_user(ctx.world, service, f"build@{DEVOPS_ORGANIZATION}")
    user = models.user_by_pat(ctx.world, token) if token else None
    if user is None:
        raise DevOpsError(
            401,
            "UnauthorizedRequestException",
            "TF400813: The user '' is not authorized to access this resource.",
        )
    return user


def _project(ctx: RequestContext) -> dict[str, str]:
    wanted = ctx.params.get("project", "").lower()
    project_id = identity(ctx.world).devops_project_id
    if wanted not in (DEVOPS_PROJECT.lower(), project_id.lower()):
        raise DevOpsError(
            404,
            "ProjectDoesNotExistWithNameException",
            f"TF200016: The following project does not exist: {ctx.params.get('project')}.",
        )
    return {"id": project_id, "name": DEVOPS_PROJECT}


def _organization(ctx: RequestContext) -> None:
    if ctx.params.get("organization", "").lower() != DEVOPS_ORGANIZATION:
        raise DevOpsError(404, "OrganizationNotFoundException", "The organization was not found.")


def service(handler: Callable[[RequestContext, dict[str, Any]], Any]) -> Handler:
    """Organization and caller checked, DevOpsError answered in the service's shape."""

    @functools.wraps(handler)
    def wrapped(ctx: RequestContext) -> Reply | dict[str, Any] | None:
        try:
            _organization(ctx)
            result = handler(ctx, _caller(ctx))
        except DevOpsError as error:
            return _error(error)
        return result if isinstance(result, Reply) else reply(result)

    return wrapped


def _collection(items: list[Any]) -> dict[str, Any]:
    return {"count": len(items), "value": items}


def _org_url(ctx: RequestContext) -> str:
    return f"{ctx.base_url}/{DEVOPS_ORGANIZATION}/"


def _project_url(ctx: RequestContext) -> str:
    return f"{_org_url(ctx)}{identity(ctx.world).devops_project_id}"


def _int(value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise DevOpsError(400, "InvalidRequestException", f"{what} must be a number") from None


# ------------------------------------------------------------------ discovery


@service
def options(ctx: RequestContext, caller: dict[str, Any]) -> Any:
    return locations.locations_document()


@service
def resource_areas(ctx: RequestContext, caller: dict[str, Any]) -> Any:
    return locations.resource_areas_document(_org_url(ctx))


@service
def read_identities(ctx: RequestContext, caller: dict[str, Any]) -> Any:
    value = ctx.query.get("filterValue") or ""
    found = models.search_identities(ctx.world, value) if value else []
    return _collection(
        [
            {
                "id": u["id"],
                "descriptor": f"Microsoft.IdentityModel.Claims.ClaimsIdentity;{u['uniqueName']}",
                "providerDisplayName": u["displayName"],
                "isActive": True,
                "properties": {
                    "Account": {"$type": "System.String", "$value": u["uniqueName"]},
                    "Mail": {"$type": "System.String", "$value": u["uniqueName"]},
                },
            }
            for u in found
        ]
    )


# ------------------------------------------------------------------ environments


@service
def list_environments(ctx: RequestContext, caller: dict[str, Any]) -> Any:
    _project(ctx)
    found = models.environments(ctx.world)
    name = ctx.query.get("name")
    if name:
        found = [e for e in found if e["name"].lower() == name.lower()]
    top = ctx.query.get("$top")
    return _collection(found[: _int(top, "$top")] if top else found)


@service
def add_environment(ctx: RequestContext, caller: dict[str, Any]) -> Any:
    project = _project(ctx)
    body = ctx.json_object()
    name = str(body.get("name") or "").strip()
    if not name:
        raise DevOpsError(
            400, "ArgumentNullException", "Value cannot be null.\r\nParameter name: name"
        )
    return models.add_environment(
        ctx.world, project, name, str(body.get("description") or ""), caller
    )


@service
def get_environment(ctx: RequestContext, caller: dict[str, Any]) -> Any:
    _project(ctx)
    return models.environment(ctx.world, _int(ctx.params["environmentId"], "environmentId"))


@service
def delete_environment(ctx: RequestContext, caller: dict[str, Any]) -> Any:
    _project(ctx)
    models.delete_environment(ctx.world, _int(ctx.params["environmentId"], "environmentId"))
    return reply(None, 204)


# ------------------------------------------------------------------ checks


def _check_document(ctx: RequestContext, doc: dict[str, Any]) -> dict[str, Any]:
    url = f"{_project_url(ctx)}/_apis/pipelines/checks/configurations/{doc['id']}"
    return {**doc, "url": url, "_links": {"self": {"href": url}}}


@service
def add_check(ctx: RequestContext, caller: dict[str, Any]) -> Any:
    _project(ctx)
    body = ctx.json_object()
    if not (body.get("type") or {}).get("id") or not (body.get("resource") or {}).get("id"):
        raise DevOpsError(400, "InvalidRequestException", "type and resource are required.")
    return _check_document(ctx, models.add_check(ctx.world, body, caller))


@service
def list_checks(ctx: RequestContext, caller: dict[str, Any]) -> Any:
    _project(ctx)
    found = models.checks_on(ctx.world, ctx.query.get("resourceType"), ctx.query.get("resourceId"))
    expand = (ctx.query.get("$expand") or "").lower() == "settings"
    docs = [_check_document(ctx, c) for c in found]
    if not expand:
        docs = [{k: v for k, v in d.items() if k != "settings"} for d in docs]
    return _collection(docs)


@service
def get_check(ctx: RequestContext, caller: dict[str, Any]) -> Any:
    _project(ctx)
    doc = _check_document(ctx, models.check(ctx.world, _int(ctx.params["id"], "id")))
    if (ctx.query.get("$expand") or "").lower() != "settings":
        doc.pop("settings", None)
    return doc


@service
def delete_check(ctx: RequestContext, caller: dict[str, Any]) -> Any:
    _project(ctx)
    models.delete_check(ctx.world, _int(ctx.params["id"], "id"))
    return reply(None, 204)


# ------------------------------------------------------------------ approvals


def _approval_document(ctx: RequestContext, doc: dict[str, Any], expand: set[str]) -> Any:
    href = f"{_project_url(ctx)}/_apis/pipelines/approvals/{doc['id']}"
    out = {k: v for k, v in doc.items() if k != "pipeline" or "steps" in expand}
    if "steps" not in expand:
        out["steps"] = []
    out["_links"] = {"self": {"href": href}}
    return out


def _expand(ctx: RequestContext) -> set[str]:
    return {part.strip().lower() for part in (ctx.query.get("$expand") or "").split(",")}


@service
def query_approvals(ctx: RequestContext, caller: dict[str, Any]) -> Any:
    _project(ctx)
    found = models.approvals(ctx.world)
    ids = ctx.query.get("approvalIds")
    if ids:
        wanted = {i.strip().lower() for i in ids.split(",")}
        found = [a for a in found if a["id"] in wanted]
    state = ctx.query.get("state")
    if state and state.lower() != "all":
        found = [a for a in found if a["status"] == state.lower()]
    expand = _expand(ctx)
    return _collection([_approval_document(ctx, a, expand) for a in found])


@service
def get_approval(ctx: RequestContext, caller: dict[str, Any]) -> Any:
    _project(ctx)
    return _approval_document(
        ctx, models.approval(ctx.world, ctx.params["approvalId"]), _expand(ctx)
    )


@service
def update_approvals(ctx: RequestContext, caller: dict[str, Any]) -> Any:
    _project(ctx)
    body = ctx.json()
    if not isinstance(body, list):
        raise DevOpsError(400, "InvalidRequestException", "Expected a list of approval updates.")
    updated = [
        models.respond(
            ctx.world,
            str(item.get("approvalId") or ""),
            str(item.get("status") or "").lower(),
            str(item.get("comment") or ""),
            caller,
        )
        for item in body
    ]
    return _collection([_approval_document(ctx, a, {"steps"}) for a in updated])


# ------------------------------------------------------------------ build timeline


@service
def get_timeline(ctx: RequestContext, caller: dict[str, Any]) -> Any:
    _project(ctx)
    records = models.timeline(ctx.world, _int(ctx.params["buildId"], "buildId"))
    return {"records": records, "id": ctx.params.get("timelineId") or "", "changeId": len(records)}
