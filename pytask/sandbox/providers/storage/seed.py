"""The `storageAccounts:` seed section: accounts through ARM's own PUT, then their containers.

```yaml
storageAccounts:
  - name: vmappsdev
    resourceGroup: rg-dev
    location: eastus            # default: the sandbox's default location
    allowSharedKeyAccess: false # default: not set (allowed)
    kind: StorageV2             # default
    sku: Standard_LRS           # default
    tags: {team: apps}
    containers: [packages]
```

Containers are data-plane objects: they are recorded in the provider state and created in
Azurite as soon as the blob service runs (now, or when it starts).
"""

from __future__ import annotations

from typing import Any

from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.provider import Seeder
from pytask.sandbox.providers.storage import models, service

API_VERSION = "2025-06-01"
_KNOWN = {
    "name",
    "resourceGroup",
    "location",
    "allowSharedKeyAccess",
    "kind",
    "sku",
    "tags",
    "containers",
}


def initial_state() -> dict[str, Any]:
    # seedContainers: account name -> container names the seed asked for.
    return {"seedContainers": {}}


def create_body(entry: dict[str, Any], default_location: str) -> dict[str, Any]:
    """The ARM PUT body a client would send for this seed entry."""
    properties: dict[str, Any] = {}
    if "allowSharedKeyAccess" in entry:
        properties["allowSharedKeyAccess"] = entry["allowSharedKeyAccess"]
    return {
        "location": entry.get("location", default_location),
        "kind": entry.get("kind", "StorageV2"),
        "sku": {"name": entry.get("sku", "Standard_LRS")},
        "tags": dict(entry.get("tags") or {}),
        "properties": properties,
    }


def _check_entry(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict) or "name" not in entry or "resourceGroup" not in entry:
        raise ArmError(
            400, "InvalidSeed", f"storageAccounts entry needs name and resourceGroup: {entry!r}"
        )
    unknown = set(entry) - _KNOWN
    if unknown:
        raise ArmError(400, "InvalidSeed", f"unknown storageAccounts keys: {sorted(unknown)}")
    return entry


def seed(seeder: Seeder, spec: Any) -> None:
    entries = [_check_entry(e) for e in (spec or [])]
    for entry in entries:
        path = (
            f"/subscriptions/{seeder.subscription_id}/resourceGroups/{entry['resourceGroup']}"
            f"/providers/{models.TYPE}/{entry['name']}"
        )
        seeder.request("PUT", path, API_VERSION, create_body(entry, seeder.default_location))
    seeder.finish_operations()
    world = seeder.world
    with world.lock:
        wanted = world.state.setdefault(models.NAMESPACE, initial_state())["seedContainers"]
        for entry in entries:
            names = wanted.setdefault(entry["name"], [])
            names.extend(c for c in entry.get("containers", []) if c not in names)
        world.touch()
    running = service.running(world)
    if running is not None:
        running.create_seed_containers()
