"""The world: everything the sandbox knows, as one JSON-serializable document behind a lock.

- `resources`: every ARM resource by lower-cased id (ARM ids are case-insensitive). The stored
  document is what GET returns; keys starting with `_` are private to the provider and stripped
  by `public()`. Keeping all providers' resources in one table is what makes "list resources in a
  resource group" and "delete a resource group with its resources" generic.
- `state[namespace]`: any other JSON state a provider keeps (its `initial_state()`).
- `operations`: long-running operations (see lro.py).
- `pending`: effects to apply when their time comes (an LRO finishing deletes a resource, ...).

Handlers run in a thread pool; they take `world.lock` (re-entrant) around read-modify-write.
The core holds it while it settles due effects and while it persists.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# An effect handler: (world, args) -> None, registered by a provider under a name.
EffectHandler = Callable[["World", dict[str, Any]], None]


@dataclass
class Effect:
    """Something that happens at `due` (epoch seconds): provider `namespace`'s effect `name`."""

    due: float
    namespace: str
    name: str
    args: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"due": self.due, "namespace": self.namespace, "name": self.name, "args": self.args}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Effect:
        return cls(float(data["due"]), data["namespace"], data["name"], dict(data["args"]))


def public(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The resource as clients see it: without the provider's private `_` keys."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _type_of(doc: Mapping[str, Any]) -> str:
    return str(doc.get("type", "")).lower()


def resource_key(resource_id: str) -> str:
    return resource_id.rstrip("/").lower()


@dataclass
class World:
    tenant_id: str
    subscription_id: str
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: list[Effect] = field(default_factory=list)
    # Registered at startup from the providers, not persisted.
    effect_handlers: dict[tuple[str, str], EffectHandler] = field(default_factory=dict, repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    # Bumped on every change so the core knows when to persist.
    version: int = 0
    # The sandbox's URLs for this run (arm_url, authority_url, blob_url, base_url, ...): set at
    # startup, not persisted (ports change between runs).
    endpoints: dict[str, str] = field(default_factory=dict)

    # --- resources -------------------------------------------------------------------------
    def get(self, resource_id: str) -> dict[str, Any] | None:
        return self.resources.get(resource_key(resource_id))

    def put(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Store a resource document (must carry its `id`)."""
        with self.lock:
            self.resources[resource_key(doc["id"])] = doc
            self.touch()
        return doc

    def delete(self, resource_id: str) -> dict[str, Any] | None:
        """Remove a resource and everything below it (child resources); return it."""
        key = resource_key(resource_id)
        with self.lock:
            doc = self.resources.pop(key, None)
            for child in [k for k in self.resources if k.startswith(key + "/")]:
                del self.resources[child]
            self.touch()
        return doc

    def children(self, parent_id: str, resource_type: str | None = None) -> list[dict[str, Any]]:
        """Resources directly or indirectly under `parent_id`, optionally of one full type
        (e.g. `Microsoft.Compute/galleries/applications`), in insertion order."""
        prefix = resource_key(parent_id) + "/"
        wanted = resource_type.lower() if resource_type else None
        return [
            doc
            for key, doc in self.resources.items()
            if key.startswith(prefix) and (wanted is None or _type_of(doc) == wanted)
        ]

    # --- provider state and effects --------------------------------------------------------
    def provider_state(self, namespace: str) -> Any:
        return self.state[namespace]

    def schedule(self, effect: Effect) -> None:
        with self.lock:
            self.pending.append(effect)
            self.touch()

    def settle(self, now: float) -> int:
        """Apply every effect whose time has come, in due order. Returns how many ran."""
        ran = 0
        with self.lock:
            while True:
                due = [e for e in self.pending if e.due <= now]
                if not due:
                    return ran
                effect = min(due, key=lambda e: e.due)
                self.pending.remove(effect)
                handler = self.effect_handlers.get((effect.namespace, effect.name))
                try:
                    if handler is None:
                        raise LookupError(f"no effect {effect.namespace}/{effect.name}")
                    handler(self, effect.args)
                except Exception:
                    # One broken effect must not fail every later request of the sandbox.
                    traceback.print_exc(file=sys.stderr)
                self.touch()
                ran += 1

    def touch(self) -> None:
        self.version += 1

    # --- persistence -----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "tenant_id": self.tenant_id,
                "subscription_id": self.subscription_id,
                "resources": list(self.resources.values()),
                "state": self.state,
                "operations": self.operations,
                "pending": [e.to_json() for e in self.pending],
            }

    def load_json(self, data: Mapping[str, Any]) -> None:
        with self.lock:
            self.tenant_id = data["tenant_id"]
            self.subscription_id = data["subscription_id"]
            self.resources = {resource_key(d["id"]): d for d in data["resources"]}
            self.state.update(data.get("state", {}))
            self.operations = dict(data.get("operations", {}))
            self.pending = [Effect.from_json(e) for e in data.get("pending", [])]

    def iter_resources(self) -> Iterator[dict[str, Any]]:
        return iter(list(self.resources.values()))
