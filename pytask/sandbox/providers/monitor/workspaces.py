"""Microsoft.OperationalInsights workspaces: the ARM resource (what GET returns) and the
telemetry model each one carries (provider state, set by the seed)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pytask.sandbox.core import World, new_etag
from pytask.sandbox.core.clock import iso

from .telemetry import WorkspaceModel

NAMESPACE = "Microsoft.Insights"  # the provider's namespace (its world.state key)
WORKSPACE_TYPE = "Microsoft.OperationalInsights/workspaces"
SKUS = ("PerGB2018", "Free", "Standalone", "PerNode", "Standard", "Premium", "CapacityReservation")


def initial_state() -> dict[str, Any]:
    return {"models": {}}  # lower-case workspace resource id -> WorkspaceModel JSON


def _models(world: World) -> dict[str, Any]:
    state = world.state.setdefault(NAMESPACE, initial_state())
    models: dict[str, Any] = state.setdefault("models", {})
    return models


def put_workspace(
    world: World, resource_id: str, name: str, body: Mapping[str, Any], now: float
) -> tuple[dict[str, Any], bool]:
    """Create or update; the customerId (the query API's workspace id) never changes."""
    existing = world.get(resource_id)
    props = dict(body.get("properties") or {})
    sku = dict(props.get("sku") or {"name": "PerGB2018"})
    old = (existing or {}).get("properties", {})
    doc = {
        "id": resource_id,
        "name": name,
        "type": WORKSPACE_TYPE,
        "location": str(body["location"]).replace(" ", "").lower(),
        "etag": new_etag(),
        "properties": {
            "customerId": old.get("customerId", str(uuid.uuid4())),
            "provisioningState": "Succeeded",
            "sku": {"name": sku.get("name", "PerGB2018"), "lastSkuUpdate": iso(now)},
            "retentionInDays": int(props.get("retentionInDays", 30)),
            "features": {
                "legacy": 0,
                "searchVersion": 1,
                "enableLogAccessUsingOnlyResourcePermissions": True,
            },
            "workspaceCapping": {
                "dailyQuotaGb": -1.0,
                "quotaNextResetTime": iso(now + 86400),
                "dataIngestionStatus": "RespectQuota",
            },
            "publicNetworkAccessForIngestion": "Enabled",
            "publicNetworkAccessForQuery": "Enabled",
            "createdDate": old.get("createdDate", iso(now)),
            "modifiedDate": iso(now),
        },
    }
    if body.get("tags") is not None:
        doc["tags"] = dict(body["tags"])
    world.put(doc)
    if existing is None:
        set_model(world, resource_id, WorkspaceModel(seeded_at=now))
    return doc, existing is None


def workspaces(world: World) -> list[dict[str, Any]]:
    found = [
        d
        for d in world.iter_resources()
        if str(d.get("type", "")).lower() == WORKSPACE_TYPE.lower()
    ]
    return sorted(found, key=lambda d: str(d["properties"].get("createdDate", "")))


def by_customer_id(world: World, customer_id: str) -> dict[str, Any] | None:
    for doc in workspaces(world):
        if str(doc["properties"]["customerId"]).lower() == customer_id.strip().lower():
            return doc
    return None


def model_of(world: World, resource_id: str) -> WorkspaceModel:
    data = _models(world).get(resource_id.lower())
    return WorkspaceModel.from_json(data) if data else WorkspaceModel()


def set_model(world: World, resource_id: str, model: WorkspaceModel) -> None:
    _models(world)[resource_id.lower()] = model.to_json()
    world.touch()


def forget(world: World, resource_id: str) -> None:
    _models(world).pop(resource_id.lower(), None)
    world.touch()
