"""Microsoft.Storage routes: storage accounts, their keys, name availability."""

from __future__ import annotations

from typing import Any

from pytask.sandbox.core.provider import Provider, Route
from pytask.sandbox.core.world import World
from pytask.sandbox.providers.storage import models, responses, seed, service

# 2025-08-01 is the newest stable spec (what the Azure CLI 2.91 sends); 2026-09-01 is what
# azure-mgmt-storage 25 sends.
API_VERSIONS = (
    "2021-09-01",
    "2022-05-01",
    "2022-09-01",
    "2023-01-01",
    "2023-04-01",
    "2023-05-01",
    "2024-01-01",
    "2025-01-01",
    "2025-06-01",
    "2025-08-01",
    "2026-09-01",
)

_SUB = "/subscriptions/{subscriptionId}"
_RG = _SUB + "/resourceGroups/{resourceGroupName}"
ACCOUNTS = _RG + "/providers/Microsoft.Storage/storageAccounts"
ACCOUNT = ACCOUNTS + "/{accountName}"
_T = "storageAccounts"
_KEYS_ACTION = "Microsoft.Storage/storageAccounts/listKeys/action"

ROUTES = (
    Route("PUT", ACCOUNT, responses.create, _T, "StorageAccounts_Create"),
    Route("GET", ACCOUNT, responses.get_properties, _T, "StorageAccounts_GetProperties"),
    Route("PATCH", ACCOUNT, responses.update, _T, "StorageAccounts_Update"),
    Route("DELETE", ACCOUNT, responses.delete, _T, "StorageAccounts_Delete"),
    Route(
        "GET", ACCOUNTS, responses.list_by_resource_group, _T, "StorageAccounts_ListByResourceGroup"
    ),
    Route(
        "GET",
        _SUB + "/providers/Microsoft.Storage/storageAccounts",
        responses.list_by_subscription,
        _T,
        "StorageAccounts_List",
    ),
    Route(
        "POST",
        ACCOUNT + "/listKeys",
        responses.list_keys,
        _T,
        "StorageAccounts_ListKeys",
        action=_KEYS_ACTION,
    ),
    Route(
        "POST",
        ACCOUNT + "/regenerateKey",
        responses.regenerate_key,
        _T,
        "StorageAccounts_RegenerateKey",
        action="Microsoft.Storage/storageAccounts/regeneratekey/action",
    ),
    Route(
        "POST",
        _SUB + "/providers/Microsoft.Storage/checkNameAvailability",
        responses.check_name_availability,
        _T,
        "StorageAccounts_CheckNameAvailability",
        action="Microsoft.Storage/checkNameAvailability/read",
    ),
)


def _finish_create(world: World, args: dict[str, Any]) -> None:
    models.finish_create(world, args["id"])


def _fail_create(world: World, args: dict[str, Any]) -> None:
    # A create that failed leaves no account behind.
    world.delete(args["id"])


PROVIDER = Provider(
    namespace=models.NAMESPACE,
    routes=ROUTES,
    api_versions={_T: API_VERSIONS},
    initial_state=seed.initial_state,
    seed_key="storageAccounts",
    seed=seed.seed,
    effects={"finish_create": _finish_create, "fail_create": _fail_create},
    seed_order=20,  # after resource groups, before galleries (whose mediaLinks name blobs)
    on_start=service.on_start,  # Azurite behind the blob gate
)
