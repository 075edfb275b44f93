"""Replay the official ARM examples against the sandbox: same status codes, and every key of
the example's response present with the same JSON type (values are illustrative)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import RunningSandbox

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).with_name("examples") / "arm"


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return data


# Free-form maps: only their type is compared, not the example's made-up keys.
FREE_FORM = ("tags",)


def shape_differences(example: Any, actual: Any, path: str = "$") -> list[str]:
    """Where `actual` lacks a key of `example` or holds another JSON type."""
    if isinstance(example, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object"]
        if path.rsplit(".", 1)[-1] in FREE_FORM:
            return []
        problems: list[str] = []
        for key, value in example.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += shape_differences(value, actual[key], f"{path}.{key}")
        return problems
    if isinstance(example, list):
        if not isinstance(actual, list):
            return [f"{path}: expected an array"]
        if example and actual:
            return shape_differences(example[0], actual[0], f"{path}[0]")
        return []
    if type(example) is not type(actual):
        return [f"{path}: {type(actual).__name__} instead of {type(example).__name__}"]
    return []


def test_shape_differences_can_fail() -> None:
    assert shape_differences({"a": {"b": 1}}, {"a": {"b": "x"}}) == ["$.a.b: str instead of int"]
    assert shape_differences({"a": 1, "c": [1]}, {"c": {}}) == [
        "$.a: missing",
        "$.c: expected an array",
    ]


def _call(
    sandbox: RunningSandbox,
    method: str,
    path: str,
    params: dict[str, str],
    body: Any = None,
    url: str | None = None,
) -> requests.Response:
    return requests.request(
        method,
        url or f"{sandbox.base_url}{path}",
        params=params,
        json=body,
        headers={"Authorization": f"Bearer {sandbox.arm_token()}"},
        verify=sandbox.ca_bundle,
        timeout=10,
    )


def test_create_resource_group(sandbox: RunningSandbox) -> None:
    example = _example("CreateResourceGroup.json")
    parameters = example["parameters"]
    name = f"{parameters['resourceGroupName']}-{uuid.uuid4().hex[:6]}"
    path = f"/subscriptions/{sandbox['subscription_id']}/resourcegroups/{name}"
    query = {"api-version": parameters["api-version"]}
    first = _call(sandbox, "PUT", path, query, parameters["parameters"])
    second = _call(sandbox, "PUT", path, query, parameters["parameters"])
    assert (first.status_code, second.status_code) == (201, 200)
    for response in (first, second):
        expected = example["responses"][str(response.status_code)]["body"]
        assert shape_differences(expected, response.json()) == []
        assert response.json()["name"] == name


def test_get_subscription(sandbox: RunningSandbox) -> None:
    example = _example("GetSubscription.json")
    query = {"api-version": example["parameters"]["api-version"]}
    response = _call(sandbox, "GET", f"/subscriptions/{sandbox['subscription_id']}", query)
    assert response.status_code == 200
    # managedByTenants is empty in the sandbox (no lighthouse tenants): shape of [] is fine.
    assert shape_differences(example["responses"]["200"]["body"], response.json()) == []
    assert response.json()["subscriptionId"] == sandbox["subscription_id"]
    assert response.json()["tenantId"] == sandbox["tenant_id"]


def test_list_locations(sandbox: RunningSandbox) -> None:
    path = f"/subscriptions/{sandbox['subscription_id']}/locations"
    response = _call(sandbox, "GET", path, {"api-version": "2022-12-01"})
    assert response.status_code == 200
    eastus = next(v for v in response.json()["value"] if v["name"] == "eastus")
    assert eastus["displayName"] == "East US"
    assert eastus["id"] == f"{path}/eastus"


def test_force_delete_resource_group(sandbox: RunningSandbox) -> None:
    example = _example("ForceDeleteVMsAndVMSSInResourceGroup.json")
    parameters = example["parameters"]
    name = f"rg-force-{uuid.uuid4().hex[:6]}"
    path = f"/subscriptions/{sandbox['subscription_id']}/resourcegroups/{name}"
    create = _call(sandbox, "PUT", path, {"api-version": "2025-04-01"}, {"location": "eastus"})
    assert create.status_code == 201
    query = {
        "api-version": parameters["api-version"],
        "forceDeletionTypes": parameters["forceDeletionTypes"],
    }
    accepted = _call(sandbox, "DELETE", path, query)
    assert accepted.status_code == 202
    example_location = example["responses"]["202"]["headers"]["location"]
    pattern = r"/subscriptions/[0-9a-f-]+/operationresults/[0-9a-zA-Z-]+\?api-version="
    assert re.search(pattern, example_location)
    location = accepted.headers["Location"]
    assert re.search(pattern, location)
    assert location.startswith(sandbox.base_url)
    status = 202
    for _ in range(100):
        status = _call(sandbox, "GET", "", {}, url=location).status_code
        if status != 202:
            break
    assert status == 200
    gone = _call(sandbox, "GET", path, {"api-version": "2025-04-01"})
    assert gone.status_code == 404


def test_metadata_endpoints(sandbox: RunningSandbox) -> None:
    example = json.loads((EXAMPLES / "metadata-endpoints-2022-09-01.json").read_text())
    response = requests.get(
        f"{sandbox.base_url}/metadata/endpoints",
        params={"api-version": "2022-09-01"},
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    assert response.status_code == 200
    body = response.json()
    differences = shape_differences(example, body)
    # Azurite serves accounts path-style: no DNS suffix can name them (docs/sandbox.md).
    allowed = {
        f"$.suffixes.{k}: missing"
        for k in example["suffixes"]
        if k not in ("keyVaultDns", "acrLoginServer", "sqlServerHostname")
    }
    assert set(differences) <= allowed
    assert body["resourceManager"] == sandbox.arm_url
    assert body["authentication"]["loginEndpoint"].rstrip("/") == sandbox.base_url
    assert body["authentication"]["audiences"][0] == sandbox["arm_audience"]
