"""The Log Analytics query API (`/v1/workspaces/{id}/query`, `/v1/{resourceId}/query`, GET and
POST) as azure-monitor-query's LogsQueryClient calls it."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from pytask.sandbox.core import ArmError, Reply, RequestContext, reply
from pytask.sandbox.identity.rbac import is_allowed, role_definitions
from pytask.sandbox.identity.state import identity

from . import data, query, workspaces
from .auth import require_token
from .errors import DataPlaneError, bad_argument
from .timespan import TimespanError, parse_timespan

# The public cloud's audiences, besides the one this sandbox publishes in its metadata.
PUBLIC_AUDIENCES = {"https://api.loganalytics.io", "https://api.loganalytics.azure.com"}
QUERY_ACTION = "Microsoft.OperationalInsights/workspaces/query/read"
# The service's documented per-user limit: 200 requests per 30 seconds.
RATE_LIMIT, RATE_WINDOW = 200, 30.0
_recent: dict[str, deque[float]] = {}


def audiences(ctx: RequestContext) -> set[str]:
    published = ctx.world.endpoints.get("log_analytics_audience") or ctx.base_url
    return {published, ctx.base_url, *PUBLIC_AUDIENCES}


def _throttle(caller: str) -> None:
    now = time.monotonic()
    recent = _recent.setdefault(caller, deque())
    while recent and recent[0] <= now - RATE_WINDOW:
        recent.popleft()
    if len(recent) >= RATE_LIMIT:
        wait = max(1, round(recent[0] + RATE_WINDOW - now))
        raise DataPlaneError(
            429,
            "ThrottledError",
            f"Your request was throttled: more than {RATE_LIMIT} requests in "
            f"{RATE_WINDOW:.0f} seconds. Retry after {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )
    recent.append(now)


def _request(ctx: RequestContext) -> tuple[str, str | None]:
    """(query, timespan) from the query string (GET) or the JSON body (POST)."""
    if ctx.method == "GET":
        text, span = ctx.query.get("query"), ctx.query.get("timespan")
    else:
        body: Any = ctx.json()
        if not isinstance(body, dict):
            raise bad_argument("QueryValidationError", "The request body must be a JSON object")
        text, span = body.get("query"), body.get("timespan")
    if not isinstance(text, str) or not text.strip():
        raise bad_argument("QueryValidationError", "Query is required and must not be empty")
    return text, span if isinstance(span, str) and span else None


def _span(ctx: RequestContext, text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        return parse_timespan(text, ctx.clock.now())
    except TimespanError as error:
        raise bad_argument("InvalidTimespan", str(error)) from error


def _authorize(ctx: RequestContext, scope: str) -> None:
    """The query API applies Azure RBAC: the caller must be allowed to query the workspace (or
    read the resource, for a resource-centric query)."""
    state = identity(ctx.world)
    principal = ctx.principal
    assert principal is not None
    roles = role_definitions(state.role_definitions)
    if not is_allowed(principal.object_id, QUERY_ACTION, scope, state.role_assignments, roles):
        raise DataPlaneError(
            403,
            "InsufficientAccessError",
            "The provided credentials have insufficient access to perform the requested operation",
        )


def _answer(ctx: RequestContext, workspace: dict[str, Any], resource: str | None = None) -> Reply:
    principal = require_token(ctx, audiences(ctx))
    ctx.principal = principal
    _authorize(ctx, resource or str(workspace["id"]))
    _throttle(principal.object_id or principal.app_id)
    text, timespan = _request(ctx)
    snap = data.snapshot(ctx.world, workspace["id"], ctx.clock, _span(ctx, timespan))
    con = data.connection(ctx.world, workspace["id"], snap, resource)
    started = time.perf_counter()
    result = query.run_kql(con, text, snap.model.max_records)
    body = result.body()
    if "include-statistics=true" in (ctx.headers.get("prefer") or "").lower():
        elapsed = time.perf_counter() - started
        body["statistics"] = {"query": {"executionTime": elapsed}}
    return reply(body, 200)


def query_workspace(ctx: RequestContext) -> Reply:
    workspace_id = ctx.params["workspaceId"]
    found = workspaces.by_customer_id(ctx.world, workspace_id)
    if found is None:
        found = ctx.world.get(workspace_id) if workspace_id.startswith("/") else None
    if found is None:
        require_token(ctx, audiences(ctx))
        raise DataPlaneError(
            404,
            "WorkspaceNotFoundError",
            f"Workspace '{workspace_id}' could not be found.",
        )
    return _answer(ctx, found)


def query_resource(ctx: RequestContext) -> Reply:
    """Resource-centric: rows of the resource (or of everything under it) in the workspaces
    it reports to; a workspace's own id queries the whole workspace."""
    resource = "/" + ctx.params["resourceId"].strip("/")
    own = ctx.world.get(resource)
    if own is not None and str(own.get("type", "")).lower() == workspaces.WORKSPACE_TYPE.lower():
        return _answer(ctx, own)
    every = workspaces.workspaces(ctx.world)
    if not every:
        require_token(ctx, audiences(ctx))
        raise ArmError(404, "ResourceNotFoundError", f"No workspace receives data from {resource}.")
    return _answer(ctx, every[0], resource)
