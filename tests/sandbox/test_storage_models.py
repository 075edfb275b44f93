"""Storage account state and rules, without HTTP: names, global uniqueness, defaults, updates,
keys, the data-plane view and the document shape against the official examples."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.world import World
from pytask.sandbox.providers.storage import dataroles, models
from pytask.sandbox.providers.storage.models import AccountRef

SUB = "00000000-0000-0000-0000-000000000001"
OTHER_SUB = "00000000-0000-0000-0000-000000000002"
EXAMPLES = Path(__file__).resolve().parent / "examples" / "storage"
BLOB_URL = "https://127.0.0.1:10443"


def body(**properties: Any) -> dict[str, Any]:
    return {
        "location": "East US",
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS"},
        "tags": {"team": "apps"},
        "properties": properties,
    }


def created(world: World, name: str = "vmapps", rg: str = "rg", **properties: Any) -> dict:
    doc = models.create(world, AccountRef(SUB, rg, name), body(**properties), now=1000.0)
    models.finish_create(world, doc["id"])
    return doc


@pytest.mark.parametrize("name", ["abc", "a" * 24, "vmapps01", "0123456789"])
def test_valid_names(name: str) -> None:
    models.check_name(name)


@pytest.mark.parametrize("name", ["ab", "a" * 25, "VMApps", "vm-apps", "vm_apps", "vm apps", ""])
def test_invalid_names_are_account_name_invalid(name: str) -> None:
    with pytest.raises(ArmError) as raised:
        models.check_name(name)
    assert (raised.value.status, raised.value.code) == (400, "AccountNameInvalid")
    assert "between 3 and 24 characters" in raised.value.message


@pytest.mark.parametrize(
    ("change", "target"),
    [
        ({"sku": None}, "sku"),
        ({"sku": {"name": "Gold_LRS"}}, "sku.name"),
        ({"kind": None}, "kind"),
        ({"kind": "Storage3"}, "kind"),
        ({"location": ""}, "location"),
        ({"properties": {"allowSharedKeyAccess": "no"}}, "properties.allowSharedKeyAccess"),
    ],
)
def test_create_body_validation(change: dict[str, Any], target: str) -> None:
    request = {**body(), **change}
    with pytest.raises(ArmError) as raised:
        models.check_create_body(request)
    assert raised.value.status == 400
    assert raised.value.target == target


def test_create_fills_azure_defaults_and_keeps_client_properties() -> None:
    world = World(tenant_id="t", subscription_id=SUB)
    doc = models.create(
        world, AccountRef(SUB, "rg", "vmapps"), body(allowSharedKeyAccess=False), 1000.0
    )
    props = doc["properties"]
    assert doc["location"] == "eastus"
    assert doc["sku"] == {"name": "Standard_LRS", "tier": "Standard"}
    assert props["provisioningState"] == "Creating"
    assert props["allowSharedKeyAccess"] is False
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["accessTier"] == "Hot"
    assert props["primaryLocation"] == "eastus"
    models.finish_create(world, doc["id"])
    assert world.get(doc["id"])["properties"]["provisioningState"] == "Succeeded"


def test_read_only_properties_from_the_client_are_ignored() -> None:
    world = World(tenant_id="t", subscription_id=SUB)
    doc = created(world, provisioningState="Succeeded", creationTime="1999-01-01T00:00:00Z")
    assert doc["properties"]["creationTime"] != "1999-01-01T00:00:00Z"


def test_keys_are_fresh_512_bit_base64_and_private() -> None:
    world = World(tenant_id="t", subscription_id=SUB)
    doc = created(world)
    keys = models.keys_document(doc)["keys"]
    assert [k["keyName"] for k in keys] == ["key1", "key2"]
    assert all(len(base64.b64decode(k["value"])) == 64 for k in keys)
    assert keys[0]["value"] != keys[1]["value"]
    assert "_keys" not in models.render(doc, BLOB_URL)
    assert keys[0]["value"] not in json.dumps(models.render(doc, BLOB_URL))


def test_regenerate_key_changes_only_that_key() -> None:
    world = World(tenant_id="t", subscription_id=SUB)
    doc = created(world)
    before = {k["keyName"]: k["value"] for k in doc["_keys"]}
    models.regenerate_key(world, doc, "key2", 2000.0)
    after = {k["keyName"]: k["value"] for k in doc["_keys"]}
    assert after["key1"] == before["key1"] and after["key2"] != before["key2"]
    with pytest.raises(ArmError):
        models.regenerate_key(world, doc, "key3", 2000.0)


def test_names_are_global_across_groups_and_subscriptions() -> None:
    world = World(tenant_id="t", subscription_id=SUB)
    doc = created(world, "vmapps", "rg")
    assert models.check_owner(world, AccountRef(SUB, "RG", "vmapps")) is doc
    with pytest.raises(ArmError) as same_sub:
        models.check_owner(world, AccountRef(SUB, "other", "vmapps"))
    assert (same_sub.value.status, same_sub.value.code) == (
        409,
        "StorageAccountInAnotherResourceGroup",
    )
    with pytest.raises(ArmError) as other_sub:
        models.check_owner(world, AccountRef(OTHER_SUB, "rg", "vmapps"))
    assert (other_sub.value.status, other_sub.value.code) == (409, "StorageAccountAlreadyTaken")
    assert models.check_owner(world, AccountRef(SUB, "rg", "freename")) is None


def test_name_availability() -> None:
    world = World(tenant_id="t", subscription_id=SUB)
    created(world, "vmapps")
    assert models.name_availability(world, "vmapps")["reason"] == "AlreadyExists"
    assert models.name_availability(world, "Bad-Name")["reason"] == "AccountNameInvalid"
    assert models.name_availability(world, "another") == {"nameAvailable": True}


def test_update_merges_properties_and_replaces_tags() -> None:
    world = World(tenant_id="t", subscription_id=SUB)
    doc = created(world)
    models.update(world, doc, {"properties": {"allowSharedKeyAccess": False}, "tags": {}})
    assert doc["properties"]["allowSharedKeyAccess"] is False
    assert doc["properties"]["minimumTlsVersion"] == "TLS1_2"
    assert doc["tags"] == {}
    with pytest.raises(ArmError):
        models.update(world, doc, {"sku": {"name": "Nope"}})


def test_list_by_group_and_subscription() -> None:
    world = World(tenant_id="t", subscription_id=SUB)
    created(world, "one", "rg1")
    created(world, "two", "rg2")
    assert [d["name"] for d in models.list_accounts(world, SUB, "RG1")] == ["one"]
    assert sorted(d["name"] for d in models.list_accounts(world, SUB)) == ["one", "two"]
    assert models.list_accounts(world, OTHER_SUB) == []


def test_render_points_the_blob_endpoint_at_the_blob_service_once_provisioned() -> None:
    world = World(tenant_id="t", subscription_id=SUB)
    doc = models.create(world, AccountRef(SUB, "rg", "vmapps"), body(), 1000.0)
    assert "primaryEndpoints" not in models.render(doc, BLOB_URL)["properties"]
    models.finish_create(world, doc["id"])
    endpoints = models.render(doc, BLOB_URL)["properties"]["primaryEndpoints"]
    assert endpoints == {"blob": f"{BLOB_URL}/vmapps/"}
    assert "primaryEndpoints" not in models.render(doc, None)["properties"]


def test_data_plane_view_follows_allow_shared_key_access() -> None:
    world = World(tenant_id="t", subscription_id=SUB)
    created(world, "open")
    created(world, "closed", allowSharedKeyAccess=False)
    created(world, "explicit", allowSharedKeyAccess=True)
    view = {a.name: a.allow_shared_key_access for a in models.data_plane_accounts(world)}
    assert view == {"closed": False, "explicit": True, "open": True}


def _assert_covers(example: Any, ours: Any, path: str = "") -> None:
    """Every key the example has that we emulate appears in ours with the same JSON type."""
    if isinstance(example, dict):
        assert isinstance(ours, dict), path
        for key, value in example.items():
            if key in ours:
                _assert_covers(value, ours[key], f"{path}.{key}")
    elif isinstance(example, list) and example:
        assert isinstance(ours, list) and ours, path
        _assert_covers(example[0], ours[0], f"{path}[0]")
    else:
        assert type(example) is type(ours), f"{path}: {example!r} vs {ours!r}"


def test_create_example_request_gives_the_example_response_shape() -> None:
    example = json.loads((EXAMPLES / "StorageAccountCreate.json").read_text())
    request = example["parameters"]["parameters"]
    expected = example["responses"]["200"]["body"]
    world = World(tenant_id="t", subscription_id=SUB)
    models.check_create_body(request)
    ref = AccountRef(SUB, "res9101", example["parameters"]["accountName"])
    doc = models.create(world, ref, request, 1000.0)
    models.finish_create(world, doc["id"])
    ours = models.render(doc, BLOB_URL)
    core = ("id", "name", "type", "location", "kind", "sku", "tags", "properties")
    assert all(key in ours for key in core)
    for key in ("provisioningState", "creationTime", "primaryEndpoints", "keyCreationTime"):
        assert key in ours["properties"]
    for key in request["properties"]:
        assert ours["properties"][key] == request["properties"][key]
    _assert_covers(expected, ours)
    assert ours["sku"] == expected["sku"]


def test_list_keys_example_shape() -> None:
    example = json.loads((EXAMPLES / "StorageAccountListKeys.json").read_text())
    world = World(tenant_id="t", subscription_id=SUB)
    ours = models.keys_document(created(world))
    expected = example["responses"]["200"]["body"]
    assert [k["keyName"] for k in ours["keys"]] == [k["keyName"] for k in expected["keys"]]
    _assert_covers(expected, ours)
    # The service spells the permission in capitals (the example's "Full" is the enum name).
    assert {k["permissions"].lower() for k in ours["keys"]} == {"full"}


def test_data_role_grants() -> None:
    scope = f"/subscriptions/{SUB}/resourceGroups/rg"
    assignments = [
        {"principal": "READER", "role": "Storage Blob Data Reader", "scope": scope},
        {"principal": "contrib", "role": "Contributor", "scope": scope},
        {"principal": "custom", "role": "Uploader", "scope": scope},
        {"principal": "typo", "role": "No Such Role", "scope": scope},
    ]
    custom = [{"name": "Uploader", "dataActions": ["*/blobs/write"], "actions": []}]
    table = dataroles.grants(assignments, custom)
    assert table["reader"][0]["dataActions"] == [
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
    ]
    assert table["reader"][0]["scope"] == scope
    assert table["contrib"][0]["actions"] == ["*"] and table["contrib"][0]["dataActions"] == []
    assert table["custom"][0]["dataActions"] == ["*/blobs/write"]
    assert table["typo"] == []  # constrained, granted nothing
    assert "someone-else" not in table


def test_an_existing_account_cannot_move() -> None:
    world = World(tenant_id="t", subscription_id=SUB)
    doc = created(world)
    models.check_same_location(doc, {"location": "East US"})
    with pytest.raises(ArmError) as moved:
        models.check_same_location(doc, {"location": "westeurope"})
    assert (moved.value.status, moved.value.code) == (409, "InvalidResourceLocation")
