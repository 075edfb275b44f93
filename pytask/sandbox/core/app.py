"""The ASGI app: turns HTTP requests into `Incoming`, runs them through the Dispatcher in a
worker thread, and serves the admin endpoints under /_sandbox/."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute

from pytask.sandbox.core.dispatch import (
    Dispatcher,
    Incoming,
    Outcome,
    fault_reply,
    new_request_id,
)
from pytask.sandbox.core.faults import FaultConfigError
from pytask.sandbox.core.reply import Reply

# Admin handler: (dispatcher, request) -> response. Non-Azure, test-only, loopback-only.
AdminHandler = Callable[[Dispatcher, Request], Awaitable[Response]]

# The key under which our uvicorn protocol puts the connection's transport (for resets).
TRANSPORT_SCOPE_KEY = "pytask.sandbox.transport"

_EMPTY_SEGMENTS = re.compile(r"/{2,}")


def build_app(dispatcher: Dispatcher, admin: dict[str, AdminHandler] | None = None) -> Starlette:
    handlers = {**ADMIN_HANDLERS, **(admin or {})}

    async def endpoint(request: Request) -> Response:
        path = request.url.path
        if path.startswith("/_sandbox/"):
            handler = handlers.get(f"{request.method} {path}")
            if handler is None:
                return JSONResponse({"error": f"no admin endpoint {request.method} {path}"}, 404)
            return await handler(dispatcher, request)
        return await _serve(dispatcher, request)

    methods = ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(routes=[StarletteRoute("/{path:path}", endpoint, methods=methods)])


def _arm_path(path: str) -> str:
    """ARM ignores empty path segments: clients that join a base URL ending in `/` with a path
    starting with `/` send `//` (`az cloud register --endpoint-resource-manager https://…/`
    asks for `…//metadata/endpoints`) and Azure still serves them."""
    return _EMPTY_SEGMENTS.sub("/", path)


async def _serve(dispatcher: Dispatcher, request: Request) -> Response:
    incoming = Incoming(
        method=request.method,
        path=_arm_path(request.url.path),
        query=list(request.query_params.multi_items()),
        headers=list(request.headers.items()),
        body=await request.body(),
    )
    request_id = new_request_id()
    correlation_id = request.headers.get("x-ms-correlation-request-id") or new_request_id()
    routed = dispatcher.route(incoming)
    if isinstance(routed, Reply):
        outcome = Outcome(routed)
    else:
        fault = dispatcher.pick_fault(incoming, routed, request_id)
        if fault is not None and fault.inject == "reset":
            dispatcher.log(incoming, Outcome(Reply(0), routed, fault), 0, request_id)
            _reset_connection(request)
            return Response(b"", 500)  # never reaches the client: the socket is gone
        if fault is not None and fault.inject == "status":
            outcome = Outcome(fault_reply(fault), routed, fault)
        else:
            if fault is not None and fault.inject == "delay":
                await asyncio.sleep(fault.seconds)
            outcome = await run_in_threadpool(dispatcher.execute, incoming, routed, fault=fault)
    reply = dispatcher.finish(incoming, outcome, request_id, correlation_id)
    return to_response(reply)


def to_response(reply: Reply) -> Response:
    if reply.raw is not None:
        return Response(reply.raw, reply.status, reply.headers, media_type=reply.media_type)
    if reply.body is None:
        return Response(b"", reply.status, reply.headers)
    payload = json.dumps(reply.body).encode("utf-8")
    return Response(payload, reply.status, reply.headers, media_type=reply.media_type)


def _reset_connection(request: Request) -> None:
    """Drop the TCP connection with a RST, as a flaky network or load balancer does."""
    transport = request.scope.get(TRANSPORT_SCOPE_KEY)
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


# --- admin endpoints ----------------------------------------------------------------------
async def _health(dispatcher: Dispatcher, request: Request) -> Response:
    return JSONResponse({"status": "ok", "endpoints": dispatcher.world.endpoints})


async def _get_faults(dispatcher: Dispatcher, request: Request) -> Response:
    rules = [
        {"name": r.name, "inject": r.inject, "seen": r.seen, "fired": r.fired}
        for r in dispatcher.faults.rules
    ]
    return JSONResponse({"rules": rules})


async def _put_faults(dispatcher: Dispatcher, request: Request) -> Response:
    """Replace the fault rules (YAML or JSON body); counters start from zero."""
    try:
        document: Any = yaml.safe_load((await request.body()).decode("utf-8"))
        dispatcher.faults.replace(document)
    except (yaml.YAMLError, FaultConfigError, UnicodeDecodeError) as error:
        return JSONResponse({"error": str(error)}, 400)
    return JSONResponse({"rules": len(dispatcher.faults.rules)})


async def _pick_fault(dispatcher: Dispatcher, request: Request) -> Response:
    """The fault for one request another data plane serves (the blob gate asks for each blob
    request), decided by the same rules and logged to the same faults.jsonl."""
    try:
        asked = json.loads(await request.body())
        service, method, path = str(asked["service"]), str(asked["method"]), str(asked["path"])
    except (ValueError, KeyError, TypeError) as error:
        return JSONResponse({"error": f"expected service, method, path: {error}"}, 400)
    operation = str(asked.get("operation") or "")
    fault = dispatcher.faults.pick(method, path, operation, new_request_id(), service)
    if fault is None:
        return JSONResponse({"fault": None})
    code, message = fault.code_and_message()
    answer = {"rule": fault.rule, "inject": fault.inject, "status": fault.status}
    answer.update(seconds=fault.seconds, code=code, message=message, headers=fault.headers())
    return JSONResponse({"fault": answer})


ADMIN_HANDLERS: dict[str, AdminHandler] = {
    "GET /_sandbox/health": _health,
    "GET /_sandbox/faults": _get_faults,
    "PUT /_sandbox/faults": _put_faults,
    "POST /_sandbox/faults/pick": _pick_fault,
}
