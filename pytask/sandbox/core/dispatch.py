"""One request through the core: route, faults, authentication, api-version, RBAC, handler,
persistence, request log. Used by the HTTP app and, in-process, by the seed loader."""

from __future__ import annotations

import re
import sys
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pytask.sandbox.core.clock import Clock
from pytask.sandbox.core.cloud import DEFAULT_LOCATION, LOCATIONS, READS_PER_HOUR, WRITES_PER_HOUR
from pytask.sandbox.core.context import CaseInsensitive, Principal, RequestContext
from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.faults import Fault, FaultEngine
from pytask.sandbox.core.persistence import JsonLines, write_json_atomic
from pytask.sandbox.core.provider import Provider, Route
from pytask.sandbox.core.reply import Reply
from pytask.sandbox.core.routing import Match, Router
from pytask.sandbox.core.world import World

READ_METHODS = ("GET", "HEAD")
_PROVIDER_SEGMENT = re.compile(r"/providers/([^/]+)/([^/]+)", re.IGNORECASE)


class Security(Protocol):
    """Authentication and authorization for ARM routes (implemented by pytask.sandbox.identity)."""

    def authenticate(self, ctx: RequestContext) -> Principal:
        """The caller's verified principal, or ArmError 401 with WWW-Authenticate."""
        ...

    def authorize(self, ctx: RequestContext, action: str, scope: str) -> None:
        """Nothing, or ArmError 403 AuthorizationFailed."""
        ...


@dataclass(frozen=True)
class Incoming:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes = b""


@dataclass
class Outcome:
    """A dispatched request: the reply plus what the transport must do."""

    reply: Reply
    match: Match | None = None
    fault: Fault | None = None
    principal: Principal | None = None

    @property
    def reset(self) -> bool:
        return self.fault is not None and self.fault.inject == "reset"


@dataclass
class RateLimits:
    """ARM's remaining-requests counters per subscription and hour."""

    counts: dict[tuple[str, int, str], int] = field(default_factory=dict)

    def consume(self, subscription: str, kind: str) -> int:
        key = (subscription.lower(), int(time.time() // 3600), kind)
        self.counts[key] = self.counts.get(key, 0) + 1
        limit = READS_PER_HOUR if kind == "reads" else WRITES_PER_HOUR
        return max(0, limit - self.counts[key])


@dataclass
class Dispatcher:
    world: World
    providers: Sequence[Provider]
    clock: Clock
    security: Security
    faults: FaultEngine
    request_log: JsonLines
    state_file: Path
    page_size: int = 100
    operation_log: JsonLines | None = None  # operations.jsonl (see RequestContext)
    router: Router = field(init=False)
    rate_limits: RateLimits = field(default_factory=RateLimits)
    _saved_version: int = -1

    def __post_init__(self) -> None:
        self.router = Router(self.providers)

    @property
    def base_url(self) -> str:
        return self.world.endpoints.get("base_url", "")

    # --- the two phases: routing + faults (async side), then execution (worker thread) ----
    def route(self, incoming: Incoming) -> Match | Reply:
        match = self.router.match(incoming.method, incoming.path)
        if match is not None:
            return match
        if self.router.path_known(incoming.path):
            return _error_reply(
                ArmError(
                    405,
                    "MethodNotAllowed",
                    f"The requested resource does not support http method '{incoming.method}'.",
                )
            )
        unknown_type = self._unknown_resource_type(incoming)
        if unknown_type is not None:
            return _error_reply(unknown_type)
        return _error_reply(
            ArmError(
                404,
                "NotFound",
                f"No HTTP resource was found that matches the request URI "
                f"'{self.base_url}{incoming.path}'.",
            )
        )

    def _unknown_resource_type(self, incoming: Incoming) -> ArmError | None:
        """ARM's answer for a provider path no route serves: an unknown namespace, or a type
        the namespace does not have."""
        found = _PROVIDER_SEGMENT.search(incoming.path)
        if found is None or not incoming.path.lower().startswith("/subscriptions/"):
            return None
        namespace, resource_type = found.group(1), found.group(2)
        known = {p.namespace.lower() for p in self.providers}
        if namespace.lower() not in known:
            return ArmError(
                400, "InvalidResourceNamespace", f"The resource namespace '{namespace}' is invalid."
            )
        api_version = dict((k.lower(), v) for k, v in incoming.query).get("api-version", "")
        return ArmError(
            400,
            "InvalidResourceType",
            f"The resource type '{resource_type}' could not be found in the namespace "
            f"'{namespace}' for api version '{api_version}'.",
        )

    def pick_fault(self, incoming: Incoming, match: Match, request_id: str) -> Fault | None:
        operation = match.route.operation
        service = service_of(match)
        return self.faults.pick(incoming.method, incoming.path, operation, request_id, service)

    def execute(
        self,
        incoming: Incoming,
        match: Match,
        *,
        principal: Principal | None = None,
        fault: Fault | None = None,
    ) -> Outcome:
        """Run the route's handler under the world lock (called from a worker thread).

        `principal` set means an in-process caller (the seed loader) acting as the sandbox
        itself: authentication and RBAC are skipped.
        """
        with self.world.lock:
            self.world.settle(self.clock.now())
            ctx = self._context(incoming, match, fault)
            try:
                ctx.principal = principal or self._authenticate(ctx)
                self._check_subscription(match)
                _check_api_version(ctx, match)
                if principal is None and match.route.auth == "arm":
                    action, scope = _action_and_scope(ctx, match)
                    if action:
                        self.security.authorize(ctx, action, scope)
                reply = _as_reply(match.route.handler(ctx))
            except ArmError as error:
                reply = _error_reply(error)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                reply = _error_reply(
                    ArmError(
                        500, "InternalServerError", "The sandbox failed to handle the request."
                    )
                )
            self.persist()
        return Outcome(reply, match, fault, ctx.principal)

    def _context(self, incoming: Incoming, match: Match, fault: Fault | None) -> RequestContext:
        return RequestContext(
            method=incoming.method.upper(),
            path=incoming.path,
            params=match.params,
            query=CaseInsensitive(incoming.query),
            headers=CaseInsensitive(incoming.headers),
            body=incoming.body,
            base_url=self.base_url,
            clock=self.clock,
            world=self.world,
            route=match.route,
            namespace=match.provider.namespace,
            page_size=self.page_size,
            fail_operation=(
                fault.operation_error()
                if fault is not None and fault.inject == "fail_operation"
                else None
            ),
            fault_sections=self.faults.current_sections(),
            operation_log=self.operation_log,
        )

    def _check_subscription(self, match: Match) -> None:
        wanted = match.params.get("subscriptionId")
        if wanted is not None and wanted.lower() != self.world.subscription_id.lower():
            raise ArmError(
                404, "SubscriptionNotFound", f"The subscription '{wanted}' could not be found."
            )

    def _authenticate(self, ctx: RequestContext) -> Principal | None:
        if ctx.route.auth != "arm":
            return None
        return self.security.authenticate(ctx)

    def persist(self, force: bool = False) -> None:
        with self.world.lock:
            if force or self.world.version != self._saved_version:
                write_json_atomic(self.state_file, self.world.to_json())
                self._saved_version = self.world.version

    # --- response decoration ------------------------------------------------------------
    def finish(
        self, incoming: Incoming, outcome: Outcome, request_id: str, correlation_id: str
    ) -> Reply:
        reply = outcome.reply
        reply.headers.setdefault("x-ms-request-id", request_id)
        reply.headers.setdefault("x-ms-correlation-request-id", correlation_id)
        if outcome.match is not None and outcome.match.route.auth == "arm":
            kind = "reads" if incoming.method.upper() in READ_METHODS else "writes"
            subscription = outcome.match.params.get("subscriptionId", self.world.subscription_id)
            remaining = self.rate_limits.consume(subscription, kind)
            reply.headers[f"x-ms-ratelimit-remaining-subscription-{kind}"] = str(remaining)
        self.log(incoming, outcome, reply.status, request_id)
        return reply

    def log(self, incoming: Incoming, outcome: Outcome, status: int, request_id: str) -> None:
        principal = outcome.principal
        self.request_log.append(
            {
                "time": time.time(),
                "method": incoming.method.upper(),
                "path": incoming.path,
                "query": dict(incoming.query),
                "status": status,
                "operation": outcome.match.route.operation if outcome.match else None,
                "principal": None
                if principal is None
                else {"oid": principal.object_id, "appid": principal.app_id},
                "fault": outcome.fault.rule if outcome.fault else None,
                "request_id": request_id,
                # Repeated by an SDK's retries of one call (tests count retries with it).
                "client_request_id": _client_request_id(incoming.headers),
            }
        )


def new_request_id() -> str:
    return str(uuid.uuid4())


def service_of(match: Match) -> str:
    """The Azure service a route belongs to, as fault rules name it (faults.SERVICES)."""
    namespace = match.provider.namespace
    if namespace == "Sandbox.Identity":
        return "identity"
    if namespace == "AzureDevOps":
        return "devops"
    if match.route.auth == "arm" or match.route.operation == "Metadata_Endpoints":
        return "arm"
    return "monitor"  # the Log Analytics query and metrics batch data planes


def _client_request_id(headers: Sequence[tuple[str, str]]) -> str | None:
    """azure-core sends x-ms-client-request-id, MSAL client-request-id."""
    found = {k.lower(): v for k, v in headers}
    return found.get("x-ms-client-request-id") or found.get("client-request-id")


def _as_reply(result: Reply | dict[str, Any] | None) -> Reply:
    if isinstance(result, Reply):
        return result
    return Reply(200, result)


def _error_reply(error: ArmError) -> Reply:
    return Reply(error.status, error.body(), dict(error.headers))


def fault_reply(fault: Fault) -> Reply:
    return Reply(fault.status, fault.error_body(), fault.headers())


def _check_api_version(ctx: RequestContext, match: Match) -> None:
    resource_type = match.route.resource_type
    if resource_type is None:
        return
    requested = ctx.query.get("api-version")
    if not requested:
        raise ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    supported = list(match.provider.api_versions.get(resource_type, ()))
    if requested.lower() in (v.lower() for v in supported):
        return
    newest_first = sorted(supported, reverse=True)
    if match.provider.namespace.lower() == "microsoft.resources":
        raise ArmError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{requested}' is invalid. "
            f"The supported versions are '{','.join(newest_first)}'.",
        )
    raise ArmError(
        400,
        "NoRegisteredProviderFound",
        f"No registered resource provider found for location '{DEFAULT_LOCATION}' and API version "
        f"'{requested}' for type '{resource_type}'. The supported api-versions are "
        f"'{', '.join(newest_first)}'. The supported locations are '{', '.join(LOCATIONS)}'.",
    )


_METHOD_VERBS = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write"}


def _action_and_scope(ctx: RequestContext, match: Match) -> tuple[str, str]:
    """The RBAC action of this request and the scope it applies to (the addressed resource)."""
    route: Route = match.route
    scope = ctx.path.rstrip("/")
    if route.action is not None:
        return route.action, scope
    verb = _METHOD_VERBS.get(ctx.method, "delete" if ctx.method == "DELETE" else "action")
    resource_type = route.resource_type or ""
    return f"{match.provider.namespace}/{resource_type}/{verb}", scope
