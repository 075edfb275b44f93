"""Requests a deployment (or a lab) makes on the caller's behalf, through the sandbox's own
routes and handlers: a template's VM is the same Microsoft.Compute VM a client's PUT creates.

Resource types no provider serves are kept as plain documents (id, name, type, location,
properties; provisioningState Succeeded) so that templates with, say, Microsoft.Web resources
still deploy and report outputs.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pytask.sandbox.core.context import CaseInsensitive, Principal, RequestContext
from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.provider import Provider
from pytask.sandbox.core.reply import Reply
from pytask.sandbox.core.routing import Router


@lru_cache(maxsize=1)
def _router() -> Router:
    """Every provider the server serves (those not present were already reported by the
    server at start; they are skipped quietly here)."""
    from pytask.sandbox.core.registry import PROVIDER_MODULES

    providers: list[Provider] = []
    for name in PROVIDER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        providers.append(module.PROVIDER)
    return Router(providers)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.status < 400

    def error(self) -> dict[str, Any]:
        body = self.body if isinstance(self.body, dict) else {}
        error = body.get("error")
        return dict(error) if isinstance(error, dict) else {"code": "Unknown", "message": ""}


def request(
    ctx: RequestContext,
    method: str,
    path: str,
    api_version: str,
    body: Any = None,
    router: Router | None = None,
) -> Answer:
    """One request as the caller of `ctx`, without authentication, RBAC or faults."""
    match = (router or _router()).match(method, path)
    if match is None:
        raise LookupError(path)
    inner = RequestContext(
        method=method,
        path=path,
        params=match.params,
        query=CaseInsensitive([("api-version", api_version)]),
        headers=CaseInsensitive([("content-type", "application/json")]),
        body=b"" if body is None else json.dumps(body).encode("utf-8"),
        base_url=ctx.base_url,
        clock=ctx.clock,
        world=ctx.world,
        route=match.route,
        namespace=match.provider.namespace,
        principal=ctx.principal or Principal("", "", ""),
        page_size=ctx.page_size,
        operation_log=ctx.operation_log,  # a deployment's own operations are Azure's time too
    )
    try:
        _check_api_version(match.provider, match.route.resource_type, api_version)
        result = match.route.handler(inner)
    except ArmError as error:
        return Answer(error.status, error.body(), dict(error.headers))
    if isinstance(result, Reply):
        return Answer(result.status, result.body, dict(result.headers))
    return Answer(200, result, {})


def served(path: str, router: Router | None = None) -> bool:
    return (router or _router()).match("PUT", path) is not None


def _check_api_version(provider: Provider, resource_type: str | None, requested: str) -> None:
    if resource_type is None:
        return
    supported: Sequence[str] = provider.api_versions.get(resource_type, ())
    if requested.lower() in (v.lower() for v in supported):
        return
    raise ArmError(
        400,
        "NoRegisteredProviderFound",
        f"No registered resource provider found for API version '{requested}' and type "
        f"'{resource_type}'. The supported api-versions are "
        f"'{', '.join(sorted(supported, reverse=True))}'.",
    )
