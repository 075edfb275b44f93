"""--seed WORLD.yml: each top-level section goes to the provider that declares it as its
`seed_key`, which creates things through the same dispatch path as a client's request."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from pytask.sandbox.core.cloud import DEFAULT_LOCATION
from pytask.sandbox.core.context import Principal
from pytask.sandbox.core.dispatch import Dispatcher, Incoming, Outcome, new_request_id
from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.provider import Provider
from pytask.sandbox.core.reply import Reply
from pytask.sandbox.core.world import World

# The sandbox acting on its own behalf (seeding): trusted, not subject to RBAC.
SANDBOX_PRINCIPAL = Principal(
    object_id="00000000-0000-0000-0000-000000000000",
    app_id="pytask-sandbox-seed",
    tenant_id="",
    claims={},
)


class SeedError(ValueError):
    pass


class InProcessSeeder:
    """The `Seeder` providers' seed hooks get."""

    def __init__(self, dispatcher: Dispatcher, default_location: str = DEFAULT_LOCATION) -> None:
        self._dispatcher = dispatcher
        self.world: World = dispatcher.world
        self.subscription_id = dispatcher.world.subscription_id
        self.default_location = default_location

    def request(self, method: str, path: str, api_version: str, body: Any = None) -> Reply:
        payload = b"" if body is None else json.dumps(body).encode("utf-8")
        incoming = Incoming(
            method=method.upper(),
            path=path,
            query=[("api-version", api_version)],
            headers=[("content-type", "application/json")],
            body=payload,
        )
        request_id = new_request_id()
        routed = self._dispatcher.route(incoming)
        if isinstance(routed, Reply):
            outcome = Outcome(routed)
        else:
            outcome = self._dispatcher.execute(incoming, routed, principal=SANDBOX_PRINCIPAL)
        reply = self._dispatcher.finish(incoming, outcome, request_id, request_id)
        if reply.status >= 400:
            error = (reply.body or {}).get("error", {}) if isinstance(reply.body, dict) else {}
            raise ArmError(
                reply.status,
                str(error.get("code", "SeedFailed")),
                f"seed: {method} {path} failed: {error.get('message', reply.body)}",
            )
        return reply

    def finish_operations(self) -> None:
        world = self.world
        now = self._dispatcher.clock.now()
        with world.lock:
            for op in world.operations.values():
                if op["start"] + op["duration"] > now:
                    op["duration"] = max(0.0, now - op["start"])
            world.settle(float("inf"))
            world.touch()


def load_seed(path: Path) -> Mapping[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(document, Mapping):
        raise SeedError(f"{path}: the seed must be a mapping of sections")
    return document


def check_sections(document: Mapping[str, Any], providers: Sequence[Provider]) -> None:
    """Every section must belong to a provider (a typo would otherwise be silently ignored)."""
    known = {p.seed_key for p in providers if p.seed_key and p.seed}
    unknown = sorted(set(document) - known)
    if unknown:
        raise SeedError(
            f"seed sections {unknown} are not handled by any provider (known: {sorted(known)})"
        )


def apply_seed(
    document: Mapping[str, Any], providers: Sequence[Provider], dispatcher: Dispatcher
) -> None:
    check_sections(document, providers)
    by_key = {p.seed_key: p for p in providers if p.seed_key and p.seed}
    seeder = InProcessSeeder(dispatcher)
    for provider in sorted(by_key.values(), key=lambda p: p.seed_order):
        key = provider.seed_key
        if key is not None and key in document and provider.seed is not None:
            provider.seed(seeder, document[key])
            seeder.finish_operations()
    dispatcher.persist(force=True)
