"""ARM's front door and Microsoft.Resources through the real SDK: 401/403, api-version checks,
errors, headers, resource groups with an LRO delete polled by the SDK poller, paging."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.conftest import RunningSandbox

pytestmark = pytest.mark.e2e


def _client(sandbox: RunningSandbox, name: str = "spnKey") -> ResourceManagementClient:
    return sandbox.resources(name, polling_interval=0.05)


@pytest.fixture
def client(sandbox_env: RunningSandbox) -> Iterator[ResourceManagementClient]:
    with _client(sandbox_env) as arm:
        yield arm


def _token(sandbox: RunningSandbox, name: str = "spnKey") -> str:
    return sandbox.credential(name).get_token(sandbox.arm_scope).token


def _get(sandbox: RunningSandbox, path: str, token: str | None, **params: str) -> requests.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return requests.get(
        f"{sandbox.base_url}{path}",
        params=params,
        headers=headers,
        verify=sandbox.ca_bundle,
        timeout=10,
    )


def _rg_path(sandbox: RunningSandbox, name: str) -> str:
    return f"/subscriptions/{sandbox['subscription_id']}/resourcegroups/{name}"


def _get_seeded(sandbox: RunningSandbox, token: str | None) -> requests.Response:
    return _get(sandbox, _rg_path(sandbox, "rg-seeded"), token, **{"api-version": "2025-04-01"})


# --- authentication -------------------------------------------------------------------------
def test_missing_token_is_401_with_arm_challenge(sandbox: RunningSandbox) -> None:
    response = _get_seeded(sandbox, None)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(
        f'Bearer authorization_uri="{sandbox.base_url}/{sandbox["tenant_id"]}", '
        'error="invalid_token", error_description='
    )


def test_forged_token_is_invalid(sandbox: RunningSandbox) -> None:
    forged = jwt.encode({"aud": sandbox["arm_audience"], "exp": time.time() + 600}, "k" * 32)
    response = _get(
        sandbox, _rg_path(sandbox, "rg-seeded"), forged, **{"api-version": "2025-04-01"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"


def _signed_with_sandbox_key(sandbox: RunningSandbox, claims: dict[str, Any]) -> str:
    # The test owns the state dir; it signs as the sandbox itself would to craft edge cases.
    world = json.loads((sandbox.state_dir / "world.json").read_text())
    key = world["state"]["Sandbox.Identity"]["signing_key"]
    return jwt.encode(claims, key["private_pem"], algorithm="RS256", headers={"kid": key["kid"]})


def test_expired_and_wrong_audience_tokens(sandbox_env: RunningSandbox) -> None:
    sandbox = sandbox_env
    valid = jwt.decode(_token(sandbox), options={"verify_signature": False})
    expired = _signed_with_sandbox_key(sandbox, {**valid, "exp": int(time.time()) - 60})
    response = _get(
        sandbox, _rg_path(sandbox, "rg-seeded"), expired, **{"api-version": "2025-04-01"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "ExpiredAuthenticationToken"
    storage = sandbox.credential().get_token("https://storage.azure.com/.default").token
    response = _get(
        sandbox, _rg_path(sandbox, "rg-seeded"), storage, **{"api-version": "2025-04-01"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_reader_can_read_but_not_write(sandbox_env: RunningSandbox) -> None:
    sandbox = sandbox_env
    with _client(sandbox, "readerApp") as reader:
        assert reader.resource_groups.get("rg-seeded").name == "rg-seeded"
        with pytest.raises(HttpResponseError) as denied:
            reader.resource_groups.create_or_update("rg-denied", {"location": "eastus"})
    assert denied.value.status_code == 403
    error = denied.value.error
    assert error is not None and error.code == "AuthorizationFailed"
    reader_id = sandbox["principals"]["readerApp"]
    assert str(error.message) == (
        f"The client '{reader_id['client_id']}' with object id '{reader_id['object_id']}' does "
        "not have authorization to perform action "
        "'Microsoft.Resources/subscriptions/resourceGroups/write' over scope "
        f"'/subscriptions/{sandbox['subscription_id']}/resourcegroups/rg-denied' or the scope "
        "is invalid. If access was recently granted, please refresh your credentials."
    )


# --- api-version and errors -----------------------------------------------------------------
def test_api_version_missing_and_unsupported(sandbox_env: RunningSandbox) -> None:
    sandbox = sandbox_env
    token = _token(sandbox)
    missing = _get(sandbox, _rg_path(sandbox, "rg-seeded"), token)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"
    wrong = _get(sandbox, _rg_path(sandbox, "rg-seeded"), token, **{"api-version": "2099-01-01"})
    assert wrong.status_code == 400
    body = wrong.json()["error"]
    assert body["code"] == "InvalidApiVersionParameter"
    assert body["message"].startswith("The api-version '2099-01-01' is invalid.")
    assert "2025-04-01" in body["message"]


def test_not_found_errors(client: ResourceManagementClient, sandbox: RunningSandbox) -> None:
    with pytest.raises(ResourceNotFoundError) as missing:
        client.resource_groups.get("rg-does-not-exist")
    assert missing.value.error is not None
    assert missing.value.error.code == "ResourceGroupNotFound"
    assert missing.value.error.message == "Resource group 'rg-does-not-exist' could not be found."
    other = _get(
        sandbox,
        f"/subscriptions/{uuid.uuid4()}/resourcegroups/x",
        _token(sandbox),
        **{"api-version": "2025-04-01"},
    )
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "SubscriptionNotFound"


def test_invalid_resource_group_name_and_location(client: ResourceManagementClient) -> None:
    with pytest.raises(HttpResponseError) as bad_name:
        client.resource_groups.create_or_update("bad name!", {"location": "eastus"})
    assert bad_name.value.error is not None and bad_name.value.error.code == "InvalidResourceGroup"
    with pytest.raises(HttpResponseError) as bad_location:
        client.resource_groups.create_or_update("rg-nowhere", {"location": "atlantis"})
    error = bad_location.value.error
    assert error is not None and error.code == "LocationNotAvailableForResourceGroup"


def test_arm_headers(sandbox_env: RunningSandbox) -> None:
    sandbox = sandbox_env
    correlation = str(uuid.uuid4())
    response = requests.get(
        f"{sandbox.base_url}{_rg_path(sandbox, 'rg-seeded')}",
        params={"api-version": "2025-04-01"},
        headers={
            "Authorization": f"Bearer {_token(sandbox)}",
            "x-ms-correlation-request-id": correlation,
        },
        verify=sandbox.ca_bundle,
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["x-ms-correlation-request-id"] == correlation
    uuid.UUID(response.headers["x-ms-request-id"])
    assert int(response.headers["x-ms-ratelimit-remaining-subscription-reads"]) < 12000


# --- resource groups and the LRO delete -----------------------------------------------------
def test_resource_group_lifecycle_with_sdk_poller(
    client: ResourceManagementClient, sandbox: RunningSandbox
) -> None:
    name = f"rg-{uuid.uuid4().hex[:8]}"
    created = client.resource_groups.create_or_update(
        name, {"location": "East US", "tags": {"run": "1"}}
    )
    assert created.location == "eastus"
    assert created.properties is not None
    assert created.properties.provisioning_state == "Succeeded"
    updated = client.resource_groups.update(name, {"tags": {"run": "2"}})
    assert updated.tags == {"run": "2"}
    assert client.resource_groups.check_existence(name) is True
    assert [r for r in client.resources.list_by_resource_group(name)] == []
    # (The group reads "Deleting" while the operation runs: see the persistence test, whose
    # time scale leaves room to look.)
    poller = client.resource_groups.begin_delete(name)
    poller.result()
    assert poller.status() == "Succeeded"
    assert client.resource_groups.check_existence(name) is False
    polls = [
        r
        for r in sandbox.requests_log()
        if r["operation"] == "OperationResults_Get" and r["status"] in (200, 202)
    ]
    assert polls, "the SDK poller followed the Location header"


def test_failed_delete_operation_surfaces_and_keeps_the_group(
    client: ResourceManagementClient, sandbox: RunningSandbox
) -> None:
    name = f"rg-{uuid.uuid4().hex[:8]}"
    client.resource_groups.create_or_update(name, {"location": "westeurope"})
    sandbox.set_faults(
        f"""
rules:
  - name: fail-delete
    operation: ResourceGroups_Delete
    path: "/{name}$"
    inject: fail_operation
    code: ResourceGroupDeletionBlocked
    message: Deletion was blocked.
"""
    )
    try:
        with pytest.raises(HttpResponseError, match="ResourceGroupDeletionBlocked"):
            client.resource_groups.begin_delete(name).result()
    finally:
        sandbox.clear_faults()
    group = client.resource_groups.get(name)
    assert group.properties is not None
    assert group.properties.provisioning_state == "Succeeded"
    assert any(f["rule"] == "fail-delete" for f in sandbox.faults_log())
    client.resource_groups.begin_delete(name).result()


def test_paging_follows_next_links(sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    groups = [{"name": f"rg-page-{i}", "location": "eastus"} for i in range(5)]
    seed = "resourceGroups:\n" + "".join(
        f"  - {{name: {g['name']}, location: {g['location']}}}\n" for g in groups
    )
    private = sandbox_factory(seed=seed, page_size=2)
    for name, value in private.env.items():
        monkeypatch.setenv(name, value)
    with _client(private) as arm:
        names = sorted(g.name for g in arm.resource_groups.list())
    assert names == [g["name"] for g in groups]
    lists = [r for r in private.requests_log() if r["operation"] == "ResourceGroups_List"]
    assert len(lists) == 3
    assert lists[-1]["query"]["$skiptoken"] == "4"
