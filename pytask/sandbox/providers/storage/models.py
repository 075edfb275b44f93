"""Storage accounts as state: name rules, documents, keys and the data-plane view of an account.

Pure state changes on the World (no HTTP). The stored document is what ARM returns, minus
`primaryEndpoints`, which depend on where the blob service (Azurite) listens in this run and
are rendered when read (`render`). The account keys live in the private `_keys` field.
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pytask.sandbox.core.clock import iso
from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.world import World

NAMESPACE = "Microsoft.Storage"
TYPE = "Microsoft.Storage/storageAccounts"

_NAME = re.compile(r"^[a-z0-9]{3,24}$")

KINDS = ("Storage", "StorageV2", "BlobStorage", "FileStorage", "BlockBlobStorage")
SKUS = (
    "Standard_LRS",
    "Standard_GRS",
    "Standard_RAGRS",
    "Standard_ZRS",
    "Premium_LRS",
    "Premium_ZRS",
    "Standard_GZRS",
    "Standard_RAGZRS",
    "StandardV2_LRS",
    "StandardV2_GRS",
    "StandardV2_ZRS",
    "StandardV2_GZRS",
    "PremiumV2_LRS",
    "PremiumV2_ZRS",
)
# Properties Azure reports but never accepts from a client.
READ_ONLY_PROPERTIES = frozenset(
    {
        "provisioningState",
        "creationTime",
        "primaryEndpoints",
        "secondaryEndpoints",
        "primaryLocation",
        "secondaryLocation",
        "statusOfPrimary",
        "statusOfSecondary",
        "keyCreationTime",
        "lastGeoFailoverTime",
        "geoReplicationStats",
        "blobRestoreStatus",
        "privateEndpointConnections",
        "accountMigrationInProgress",
        "isSkuConversionBlocked",
    }
)


@dataclass(frozen=True)
class AccountRef:
    """Where an account lives in ARM."""

    subscription_id: str
    resource_group: str
    name: str

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{TYPE}/{self.name}"
        )


@dataclass(frozen=True)
class DataPlaneAccount:
    """What the blob gate and Azurite need to know about one account."""

    name: str
    key1: str
    key2: str
    allow_shared_key_access: bool
    resource_id: str = ""  # the ARM id: the scope role assignments are matched against


# --- validation ---------------------------------------------------------------------------


def check_name(name: str) -> None:
    """Azure's storage account name rule: 3-24 characters, digits and lower-case letters."""
    if not _NAME.match(name):
        raise ArmError(
            400,
            "AccountNameInvalid",
            f"{name} is not a valid storage account name. Storage account name must be between "
            "3 and 24 characters in length and use numbers and lower-case letters only.",
        )


def name_availability(world: World, name: str) -> dict[str, Any]:
    """The checkNameAvailability answer for `name`."""
    try:
        check_name(name)
    except ArmError as error:
        return {"nameAvailable": False, "reason": "AccountNameInvalid", "message": error.message}
    if find(world, name) is not None:
        return {
            "nameAvailable": False,
            "reason": "AlreadyExists",
            "message": f"The storage account named {name} is already taken.",
        }
    return {"nameAvailable": True}


def check_create_body(body: Mapping[str, Any]) -> None:
    """The required fields and enums of StorageAccountCreateParameters."""
    sku = body.get("sku")
    if not isinstance(sku, dict) or not isinstance(sku.get("name"), str):
        raise _invalid("sku", "The parameter sku is required and must carry a name.")
    check_sku(sku["name"])
    kind = body.get("kind")
    if not isinstance(kind, str):
        raise _invalid("kind", "The parameter kind is required.")
    check_kind(kind)
    location = body.get("location")
    if not isinstance(location, str) or not location.strip():
        raise _invalid("location", "The parameter location is required.")
    check_properties(body.get("properties", {}))


def check_sku(name: str) -> None:
    if name not in SKUS:
        raise ArmError(
            400,
            "InvalidValuesForRequestParameters",
            f"Values for request parameters are invalid: sku.name '{name}'.",
            target="sku.name",
        )


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ArmError(
            400,
            "InvalidValuesForRequestParameters",
            f"Values for request parameters are invalid: kind '{kind}'.",
            target="kind",
        )


def check_properties(properties: Any) -> None:
    if not isinstance(properties, dict):
        raise _invalid("properties", "The parameter properties must be an object.")
    for flag in ("allowSharedKeyAccess", "allowBlobPublicAccess", "supportsHttpsTrafficOnly"):
        if flag in properties and not isinstance(properties[flag], (bool, type(None))):
            raise _invalid(f"properties.{flag}", f"The value of {flag} must be a boolean.")


def _invalid(target: str, message: str) -> ArmError:
    return ArmError(400, "InvalidRequestContent", message, target=target)


# --- lookups ------------------------------------------------------------------------------


def iter_accounts(world: World) -> Iterator[dict[str, Any]]:
    return (doc for doc in world.iter_resources() if doc.get("type", "").lower() == TYPE.lower())


def find(world: World, name: str) -> dict[str, Any] | None:
    """The account called `name` anywhere in the world: account names are global in Azure."""
    wanted = name.lower()
    return next((d for d in iter_accounts(world) if d["name"].lower() == wanted), None)


def list_accounts(
    world: World, subscription_id: str, resource_group: str | None = None
) -> list[dict[str, Any]]:
    prefix = f"/subscriptions/{subscription_id}/".lower()
    if resource_group is not None:
        prefix += f"resourcegroups/{resource_group}/".lower()
    return [d for d in iter_accounts(world) if d["id"].lower().startswith(prefix)]


def check_owner(world: World, ref: AccountRef) -> dict[str, Any] | None:
    """The existing account at `ref`, None if the name is free, or the conflict ARM answers."""
    existing = find(world, ref.name)
    if existing is None:
        return None
    if existing["id"].lower() == ref.id.lower():
        return existing
    same_subscription = existing["id"].lower().startswith(f"/subscriptions/{ref.subscription_id}/")
    if same_subscription:
        raise ArmError(
            409,
            "StorageAccountInAnotherResourceGroup",
            f"The account {ref.name} is already in another resource group in this subscription.",
        )
    raise ArmError(
        409, "StorageAccountAlreadyTaken", f"The storage account named {ref.name} is already taken."
    )


# --- state changes ------------------------------------------------------------------------


def new_key() -> str:
    """A fresh 512-bit account key, base64 as Azure shows it."""
    return base64.b64encode(secrets.token_bytes(64)).decode("ascii")


def create(world: World, ref: AccountRef, body: Mapping[str, Any], now: float) -> dict[str, Any]:
    """A new account document, stored with provisioningState Creating (the LRO finishes it)."""
    location = str(body["location"]).replace(" ", "").lower()
    stamp = iso(now)
    properties = _defaults(str(body["kind"]), location, stamp)
    properties.update(_writable(body.get("properties") or {}))
    doc: dict[str, Any] = {
        "id": ref.id,
        "name": ref.name,
        "type": TYPE,
        "location": location,
        "kind": body["kind"],
        "sku": sku_document(body["sku"]["name"]),
        "tags": dict(body.get("tags") or {}),
        "properties": properties,
        "_keys": [
            {"keyName": "key1", "value": new_key(), "creationTime": stamp},
            {"keyName": "key2", "value": new_key(), "creationTime": stamp},
        ],
    }
    if "extendedLocation" in body:
        doc["extendedLocation"] = body["extendedLocation"]
    if "identity" in body:
        doc["identity"] = body["identity"]
    return world.put(doc)


def finish_create(world: World, resource_id: str) -> None:
    """The create operation ended: the account is provisioned (if it still exists)."""
    doc = world.get(resource_id)
    if doc is not None:
        doc["properties"]["provisioningState"] = "Succeeded"
        world.touch()


def check_same_location(doc: Mapping[str, Any], body: Mapping[str, Any]) -> None:
    """A PUT on an existing account cannot move it (ARM's InvalidResourceLocation)."""
    wanted = str(body.get("location", doc["location"])).replace(" ", "").lower()
    if wanted != doc["location"]:
        group = doc["id"].split("/")[4]
        raise ArmError(
            409,
            "InvalidResourceLocation",
            f"The resource '{doc['name']}' already exists in location '{doc['location']}' in "
            f"resource group '{group}'. A resource with the same name cannot be created in "
            f"location '{wanted}'. Please select a new resource name.",
        )


def update(world: World, doc: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """PATCH (and PUT on an existing account): merge writable properties, replace tags/sku."""
    if "sku" in body and body["sku"] is not None:
        check_sku(body["sku"].get("name", ""))
        doc["sku"] = sku_document(body["sku"]["name"])
    if "kind" in body and body["kind"] is not None:
        check_kind(body["kind"])
        doc["kind"] = body["kind"]
    if "tags" in body and body["tags"] is not None:
        doc["tags"] = dict(body["tags"])
    check_properties(body.get("properties") or {})
    doc["properties"].update(_writable(body.get("properties") or {}))
    return world.put(doc)


def regenerate_key(world: World, doc: dict[str, Any], key_name: str, now: float) -> None:
    key = next((k for k in doc["_keys"] if k["keyName"] == key_name), None)
    if key is None:
        raise ArmError(
            400, "InvalidValuesForRequestParameters", f"Invalid key name '{key_name}'.", "keyName"
        )
    key["value"] = new_key()
    key["creationTime"] = iso(now)
    doc["properties"].setdefault("keyCreationTime", {})[key_name] = iso(now)
    world.put(doc)


def keys_document(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The listKeys answer (permissions spelled as the service answers them)."""
    return {
        "keys": [
            {
                "creationTime": key["creationTime"],
                "keyName": key["keyName"],
                "value": key["value"],
                "permissions": "FULL",
            }
            for key in doc["_keys"]
        ]
    }


def sku_document(name: str) -> dict[str, str]:
    return {"name": name, "tier": "Premium" if name.startswith("Premium") else "Standard"}


def _defaults(kind: str, location: str, stamp: str) -> dict[str, Any]:
    """What Azure fills in for a new account when the client does not say."""
    properties: dict[str, Any] = {
        "keyCreationTime": {"key1": stamp, "key2": stamp},
        "privateEndpointConnections": [],
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "networkAcls": {
            "bypass": "AzureServices",
            "virtualNetworkRules": [],
            "ipRules": [],
            "defaultAction": "Allow",
        },
        "supportsHttpsTrafficOnly": True,
        "encryption": {
            "services": {
                "file": {"keyType": "Account", "enabled": True, "lastEnabledTime": stamp},
                "blob": {"keyType": "Account", "enabled": True, "lastEnabledTime": stamp},
            },
            "keySource": "Microsoft.Storage",
        },
        "provisioningState": "Creating",
        "creationTime": stamp,
        "primaryLocation": location,
        "statusOfPrimary": "available",
    }
    if kind in ("StorageV2", "BlobStorage"):
        properties["accessTier"] = "Hot"
    return properties


def _writable(properties: Mapping[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in properties.items() if k not in READ_ONLY_PROPERTIES}


# --- reading ------------------------------------------------------------------------------


def blob_endpoint(blob_url: str | None, name: str) -> str | None:
    """The account's blob endpoint: path-style, as Azurite serves accounts."""
    if not blob_url:
        return None
    return f"{blob_url.rstrip('/')}/{name}/"


def render(doc: Mapping[str, Any], blob_url: str | None) -> dict[str, Any]:
    """The account as ARM answers it: public fields plus this run's endpoints."""
    body = {k: copy.deepcopy(v) for k, v in doc.items() if not k.startswith("_")}
    endpoint = blob_endpoint(blob_url, doc["name"])
    if endpoint is not None and body["properties"].get("provisioningState") == "Succeeded":
        body["properties"]["primaryEndpoints"] = {"blob": endpoint}
    return body


def data_plane(doc: Mapping[str, Any]) -> DataPlaneAccount:
    keys = {k["keyName"]: k["value"] for k in doc["_keys"]}
    # allowSharedKeyAccess: null means allowed, as in Azure.
    allowed = doc["properties"].get("allowSharedKeyAccess")
    return DataPlaneAccount(
        doc["name"], keys["key1"], keys["key2"], allowed is not False, doc["id"]
    )


def data_plane_accounts(world: World) -> list[DataPlaneAccount]:
    with world.lock:
        return sorted((data_plane(d) for d in iter_accounts(world)), key=lambda a: a.name)
