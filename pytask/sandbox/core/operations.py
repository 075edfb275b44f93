"""Polling endpoints for every provider's long-running operations (see lro.py)."""

from __future__ import annotations

from pytask.sandbox.core.context import RequestContext
from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.lro import Operation
from pytask.sandbox.core.provider import Provider, Route
from pytask.sandbox.core.reply import Reply, reply

POLL_INTERVAL = 10.0  # real-Azure seconds between polls suggested by Retry-After


def _operation(ctx: RequestContext) -> Operation:
    data = ctx.world.operations.get(ctx.params["operationId"])
    if data is None:
        raise ArmError(
            404,
            "OperationNotFound",
            f"The operation '{ctx.params['operationId']}' could not be found.",
        )
    return Operation.from_json(data)


def _retry_after(ctx: RequestContext) -> dict[str, str]:
    return {"Retry-After": str(ctx.clock.retry_after(POLL_INTERVAL))}


def get_status(ctx: RequestContext) -> Reply:
    """Azure-AsyncOperation: always 200 with the status document."""
    op = _operation(ctx)
    now = ctx.clock.now()
    headers = {} if op.done(now) else _retry_after(ctx)
    return reply(op.status_document(now), 200, headers)


def get_result(ctx: RequestContext) -> Reply:
    """Location: 202 while running, then the result (200/204) or the operation's error."""
    op = _operation(ctx)
    now = ctx.clock.now()
    if not op.done(now):
        headers = {"Location": op.result_url(ctx.base_url), **_retry_after(ctx)}
        return reply(None, 202, headers)
    if op.outcome != "Succeeded":
        error = op.error or {"code": "OperationFailed", "message": "The operation failed."}
        return reply({"error": error}, op.error_status)
    return reply(op.result, 200) if op.result is not None else reply(None, op.done_status)


def _dispatch(ctx: RequestContext) -> Reply:
    """`.../locations/{loc}/{segment}/{id}`: result semantics when the segment is the
    operation's result segment, status semantics otherwise."""
    op = _operation(ctx)
    if ctx.params["segment"].lower() == op.result_segment.lower():
        return get_result(ctx)
    return get_status(ctx)


PROVIDER = Provider(
    namespace="Sandbox.Operations",
    routes=[
        Route(
            "GET",
            "/subscriptions/{subscriptionId}/providers/{namespace}/locations/{location}"
            "/{segment}/{operationId}",
            _dispatch,
            operation="Operations_Get",
            action="",
        ),
        Route(
            "GET",
            "/subscriptions/{subscriptionId}/operationresults/{operationId}",
            get_result,
            operation="OperationResults_Get",
            action="",
        ),
    ],
)
