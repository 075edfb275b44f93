"""Microsoft.Storage end to end: `pytask sandbox serve` in a child process, driven by the real
azure-identity, azure-mgmt-storage and azure-storage-blob clients configured only with the
sandbox's URLs and CA bundle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.identity import ClientSecretCredential
from azure.mgmt.storage import StorageManagementClient
from azure.storage.blob import BlobClient, BlobSasPermissions, BlobServiceClient, generate_blob_sas

from pytask.sandbox.azurite import default_main_js

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not default_main_js().exists(), reason="azurite not installed"),
]

EXAMPLES = Path(__file__).resolve().parent / "examples" / "storage"
CLOSED_ACCOUNT = "providers/Microsoft.Storage/storageAccounts/seededclosed"
SEED = """
resourceGroups:
  - {name: rg-apps, location: eastus}
  - {name: rg-other, location: westeurope}
storageAccounts:
  - name: seededopen
    resourceGroup: rg-apps
    containers: [packages]
  - name: seededclosed
    resourceGroup: rg-apps
    allowSharedKeyAccess: false
    containers: [packages, configs]
identity:
  principals:
    - {name: blobReader, kind: spnKey}
    - {name: contributorOnly, kind: spnKey}
  roleAssignments:
    - principal: blobReader
      role: Storage Blob Data Reader
      scope: /subscriptions/{subscriptionId}/resourceGroups/rg-apps/CLOSED_ACCOUNT
    - {principal: contributorOnly, role: Contributor, scope: "/subscriptions/{subscriptionId}"}
""".replace("CLOSED_ACCOUNT", CLOSED_ACCOUNT)


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    ready: dict[str, Any]
    state: Path

    @property
    def ca(self) -> str:
        return str(self.ready["ca_bundle"])

    def credential(self, principal: str | None = None) -> ClientSecretCredential:
        params = self.ready["connection"]["parameters"]
        client_id, secret = params["serviceprincipalid"], params["serviceprincipalkey"]
        if principal is not None:
            entry = self.ready["principals"][principal]
            client_id, secret = entry["client_id"], entry["secret"]
        return ClientSecretCredential(
            params["tenantid"],
            client_id,
            secret,
            authority=self.ready["authority_url"],
            # As for any custom cloud (Azure Stack): the authority is not a public-cloud one.
            disable_instance_discovery=True,
            connection_verify=self.ca,
        )

    def storage(self) -> StorageManagementClient:
        audience = self.ready["connection"]["data"]["activeDirectoryServiceEndpointResourceId"]
        return StorageManagementClient(
            self.credential(),
            self.ready["subscription_id"],
            base_url=self.ready["arm_url"],
            credential_scopes=[audience.rstrip("/") + "/.default"],
            connection_verify=self.ca,
            polling_interval=0,
        )

    def blob(self, account_url: str, principal: str | None = None) -> BlobServiceClient:
        return BlobServiceClient(
            account_url.rstrip("/"),
            credential=self.credential(principal),
            connection_verify=self.ca,
        )

    def token(self, scope: str) -> str:
        return self.credential().get_token(scope).token

    def arm(self, method: str, path: str, api_version: str, body: Any = None) -> requests.Response:
        audience = self.ready["connection"]["data"]["activeDirectoryServiceEndpointResourceId"]
        token = self.token(audience.rstrip("/") + "/.default")
        return requests.request(
            method,
            f"{self.ready['arm_url'].rstrip('/')}{path}",
            params={"api-version": api_version},
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            verify=self.ca,
            timeout=30,
        )


def serve(state: Path, seed: str | None = None) -> Served:
    ready_file = state / "ready.json"
    ready_file.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "pytask",
        "sandbox",
        "serve",
        "--port",
        "0",
        "--state",
        str(state),
        "--ready-file",
        str(ready_file),
        "--time-scale",
        "0.01",
    ]
    if seed is not None:
        seed_file = state.parent / f"{state.name}-seed.yml"
        seed_file.write_text(seed, encoding="utf-8")
        command += ["--seed", str(seed_file)]
    log = open(state.parent / f"{state.name}-serve.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not ready_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            text = (state.parent / f"{state.name}-serve.log").read_text(errors="replace")
            raise RuntimeError(f"sandbox did not start:\n{text[-3000:]}")
        time.sleep(0.05)
    time.sleep(0.05)  # the file is written atomically, but be gentle
    return Served(process, json.loads(ready_file.read_text()), state)


def stop(served: Served) -> None:
    served.process.send_signal(signal.SIGTERM)
    try:
        served.process.wait(30)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Served]]:
    """The module's sandbox; the restart test replaces it with its successor."""
    state = tmp_path_factory.mktemp("storage-arm") / "state"
    state.mkdir()
    served = [serve(state, SEED)]
    try:
        yield served
    finally:
        stop(served[-1])


@pytest.fixture
def sandbox(sandboxes: list[Served]) -> Served:
    return sandboxes[-1]


def _name() -> str:
    return "st" + uuid.uuid4().hex[:16]


def _create_body(**properties: Any) -> dict[str, Any]:
    return {
        "location": "eastus",
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS"},
        "properties": properties,
    }


def test_ready_file_names_the_blob_service(sandbox: Served) -> None:
    assert sandbox.ready["blob_url"].startswith("https://127.0.0.1:")


def test_create_get_list_keys_through_the_sdk(sandbox: Served) -> None:
    name = _name()
    with sandbox.storage() as client:
        poller = client.storage_accounts.begin_create("rg-apps", name, _create_body())
        account = poller.result()
        assert account.provisioning_state == "Succeeded"
        assert account.primary_endpoints.blob == f"{sandbox.ready['blob_url']}/{name}/"
        got = client.storage_accounts.get_properties("rg-apps", name)
        assert got.id == account.id and got.sku.name == "Standard_LRS"
        keys = client.storage_accounts.list_keys("rg-apps", name).keys_property
        assert [k.key_name for k in keys] == ["key1", "key2"]
        in_group = [a.name for a in client.storage_accounts.list_by_resource_group("rg-apps")]
        assert name in in_group and "seededopen" in in_group
        assert name in [a.name for a in client.storage_accounts.list()]


def test_create_answers_202_with_location_then_the_account(sandbox: Served) -> None:
    name = _name()
    path = (
        f"/subscriptions/{sandbox.ready['subscription_id']}/resourceGroups/rg-apps"
        f"/providers/Microsoft.Storage/storageAccounts/{name}"
    )
    first = sandbox.arm("PUT", path, "2025-06-01", _create_body())
    assert first.status_code == 202
    assert first.content == b""
    assert "/asyncoperations/" in first.headers["Location"]
    assert first.headers["Retry-After"].isdigit()
    time.sleep(0.5)  # 20 s scaled by 0.01
    done = requests.get(
        first.headers["Location"],
        headers={"Authorization": first.request.headers["Authorization"]},
        verify=sandbox.ca,
        timeout=30,
    )
    assert done.status_code == 200
    assert done.json()["properties"]["provisioningState"] == "Succeeded"
    again = sandbox.arm("PUT", path, "2025-06-01", _create_body())
    assert again.status_code == 200  # an existing account: synchronous


def test_name_rules_and_global_uniqueness(sandbox: Served) -> None:
    sub = sandbox.ready["subscription_id"]
    base = f"/subscriptions/{sub}/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%s"
    bad = sandbox.arm("PUT", base % ("rg-apps", "Not-Valid"), "2025-06-01", _create_body())
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "AccountNameInvalid"
    taken = sandbox.arm("PUT", base % ("rg-other", "seededopen"), "2025-06-01", _create_body())
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "StorageAccountInAnotherResourceGroup"
    no_group = sandbox.arm("PUT", base % ("rg-missing", _name()), "2025-06-01", _create_body())
    assert no_group.status_code == 404
    assert no_group.json()["error"]["code"] == "ResourceGroupNotFound"
    with sandbox.storage() as client:
        result = client.storage_accounts.check_name_availability(
            {"name": "seededopen", "type": "Microsoft.Storage/storageAccounts"}
        )
        assert result.name_available is False and result.reason == "AlreadyExists"


def test_update_and_delete(sandbox: Served) -> None:
    name = _name()
    with sandbox.storage() as client:
        client.storage_accounts.begin_create("rg-apps", name, _create_body()).result()
        updated = client.storage_accounts.update(
            "rg-apps", name, {"properties": {"allowSharedKeyAccess": False}}
        )
        assert updated.allow_shared_key_access is False
        client.storage_accounts.delete("rg-apps", name)
    path = (
        f"/subscriptions/{sandbox.ready['subscription_id']}/resourceGroups/rg-apps"
        f"/providers/Microsoft.Storage/storageAccounts/{name}"
    )
    assert sandbox.arm("GET", path, "2025-06-01").status_code == 404
    assert sandbox.arm("DELETE", path, "2025-06-01").status_code == 204


def test_entra_upload_and_user_delegation_sas_on_a_seeded_keyless_account(
    sandbox: Served,
) -> None:
    with sandbox.storage() as client:
        account = client.storage_accounts.get_properties("rg-apps", "seededclosed")
    service = sandbox.blob(account.primary_endpoints.blob)
    assert sorted(c.name for c in service.list_containers()) == ["configs", "packages"]
    data = os.urandom(3 * 1024 * 1024)
    blob = service.get_blob_client("packages", "app/1.0.0/app.zip")
    blob.upload_blob(data, overwrite=True, max_concurrency=4)
    assert blob.get_blob_properties().size == len(data)
    now = datetime.now(timezone.utc)
    key = service.get_user_delegation_key(now - timedelta(minutes=5), now + timedelta(hours=1))
    sas = generate_blob_sas(
        "seededclosed",
        "packages",
        "app/1.0.0/app.zip",
        user_delegation_key=key,
        permission=BlobSasPermissions(read=True),
        expiry=now + timedelta(hours=1),
        protocol="https",
    )
    reader = BlobClient.from_blob_url(f"{blob.url}?{sas}", connection_verify=sandbox.ca)
    assert reader.download_blob().readall() == data


def test_shared_key_rejected_only_where_disabled(sandbox: Served) -> None:
    with sandbox.storage() as client:
        closed = client.storage_accounts.get_properties("rg-apps", "seededclosed")
        closed_key = (
            client.storage_accounts.list_keys("rg-apps", "seededclosed").keys_property[0].value
        )
        opened = client.storage_accounts.get_properties("rg-apps", "seededopen")
        open_key = client.storage_accounts.list_keys("rg-apps", "seededopen").keys_property[0].value
    keyed = BlobServiceClient(
        closed.primary_endpoints.blob.rstrip("/"),
        credential={"account_name": "seededclosed", "account_key": closed_key},
        connection_verify=sandbox.ca,
    )
    with pytest.raises(HttpResponseError) as refused:
        keyed.get_container_client("packages").get_container_properties()
    assert refused.value.status_code == 403
    assert refused.value.error_code == "KeyBasedAuthenticationNotPermitted"
    allowed = BlobServiceClient(
        opened.primary_endpoints.blob.rstrip("/"),
        credential={"account_name": "seededopen", "account_key": open_key},
        connection_verify=sandbox.ca,
    )
    assert allowed.get_container_client("packages").exists()


def test_data_plane_follows_role_assignments(sandbox: Served) -> None:
    """A data reader reads but cannot write; Contributor alone reaches no blob data."""
    with sandbox.storage() as client:
        endpoint = client.storage_accounts.get_properties("rg-apps", "seededclosed")
    url = endpoint.primary_endpoints.blob
    sandbox.blob(url).get_blob_client("packages", "rbac.txt").upload_blob(b"hi", overwrite=True)
    reader = sandbox.blob(url, "blobReader")
    assert reader.get_blob_client("packages", "rbac.txt").download_blob().readall() == b"hi"
    with pytest.raises(HttpResponseError) as write:
        reader.get_blob_client("packages", "new.txt").upload_blob(b"no")
    assert write.value.status_code == 403
    assert write.value.error_code == "AuthorizationPermissionMismatch"
    contributor = sandbox.blob(url, "contributorOnly")
    assert contributor.get_container_client("packages").exists()  # an action: allowed
    with pytest.raises(HttpResponseError) as read:
        contributor.get_blob_client("packages", "rbac.txt").download_blob().readall()
    assert read.value.error_code == "AuthorizationPermissionMismatch"
    # A user delegation SAS can do no more than its principal may.
    now = datetime.now(timezone.utc)
    key = contributor.get_user_delegation_key(now - timedelta(minutes=5), now + timedelta(hours=1))
    sas = generate_blob_sas(
        "seededclosed",
        "packages",
        "rbac.txt",
        user_delegation_key=key,
        permission=BlobSasPermissions(read=True),
        expiry=now + timedelta(hours=1),
    )
    blob_url = f"{url.rstrip('/')}/packages/rbac.txt?{sas}"
    with pytest.raises(HttpResponseError) as via_sas:
        BlobClient.from_blob_url(blob_url, connection_verify=sandbox.ca).download_blob()
    assert via_sas.value.error_code == "AuthorizationPermissionMismatch"


def test_arm_token_is_not_a_storage_token(sandbox: Served) -> None:
    with sandbox.storage() as client:
        account = client.storage_accounts.get_properties("rg-apps", "seededopen")
    audience = sandbox.ready["connection"]["data"]["activeDirectoryServiceEndpointResourceId"]
    token = sandbox.token(audience.rstrip("/") + "/.default")
    answer = requests.put(
        f"{account.primary_endpoints.blob}newcontainer?restype=container",
        headers={"Authorization": f"Bearer {token}", "x-ms-version": "2025-01-05"},
        verify=sandbox.ca,
        timeout=30,
    )
    assert answer.status_code == 401
    assert answer.headers["x-ms-error-code"] == "InvalidAuthenticationInfo"
    assert "Audience validation failed" in answer.text


def test_deleting_the_resource_group_takes_the_account_off_the_data_plane(
    sandbox: Served,
) -> None:
    sub = sandbox.ready["subscription_id"]
    group = f"/subscriptions/{sub}/resourcegroups/rg-doomed"
    assert sandbox.arm("PUT", group, "2024-11-01", {"location": "eastus"}).status_code == 201
    name = _name()
    with sandbox.storage() as client:
        account = client.storage_accounts.begin_create("rg-doomed", name, _create_body()).result()
    service = sandbox.blob(account.primary_endpoints.blob)
    service.create_container("packages")
    deleting = sandbox.arm("DELETE", group, "2024-11-01")
    assert deleting.status_code == 202
    auth = {"Authorization": deleting.request.headers["Authorization"]}
    deadline = time.monotonic() + 15
    polled = 202
    while time.monotonic() < deadline:  # poll the delete to its end, as a client does
        polled = requests.get(
            deleting.headers["Location"], headers=auth, verify=sandbox.ca, timeout=30
        ).status_code
        if polled != 202:
            break
        time.sleep(0.1)
    while time.monotonic() < deadline:
        try:
            service.get_container_client("packages").get_container_properties()
        except HttpResponseError as gone:
            assert gone.status_code == 404
            break
        time.sleep(0.1)
    else:
        gate = json.loads((sandbox.state / "azurite" / "gate.json").read_text())
        group_now = sandbox.arm("GET", group, "2024-11-01").status_code
        log = sandbox.state.parent / f"{sandbox.state.name}-serve.log"
        pytest.fail(
            f"{name} still answers after its group was deleted (last delete poll: "
            f"{polled}, GET group now: {group_now}); gate: {sorted(gate['accounts'])}"
            f"\nsandbox log tail:\n{log.read_text(errors='replace')[-2000:]}"
        )


def test_examples_replay(sandbox: Served) -> None:
    """The official create request is accepted as sent; answers carry the examples' keys."""
    create = json.loads((EXAMPLES / "StorageAccountCreate.json").read_text())
    get = json.loads((EXAMPLES / "StorageAccountGetProperties.json").read_text())
    keys = json.loads((EXAMPLES / "StorageAccountListKeys.json").read_text())
    name = _name()
    path = (
        f"/subscriptions/{sandbox.ready['subscription_id']}/resourceGroups/rg-apps"
        f"/providers/Microsoft.Storage/storageAccounts/{name}"
    )
    version = create["parameters"]["api-version"]
    first = sandbox.arm("PUT", path, version, create["parameters"]["parameters"])
    assert first.status_code in {int(code) for code in create["responses"]}
    time.sleep(0.5)
    ours = sandbox.arm("GET", path, version).json()
    expected = get["responses"]["200"]["body"]
    for key in ("id", "name", "type", "location", "kind", "sku", "tags", "properties"):
        assert key in ours and key in expected
    for key in ("provisioningState", "creationTime", "primaryEndpoints", "encryption"):
        assert type(ours["properties"][key]) is type(expected["properties"][key])
    assert ours["sku"] == create["responses"]["200"]["body"]["sku"]
    listed = sandbox.arm("POST", path + "/listKeys", version).json()
    expected_keys = keys["responses"]["200"]["body"]["keys"]
    assert set(expected_keys[0]) <= set(listed["keys"][0])


def test_accounts_and_blobs_survive_a_restart(sandboxes: list[Served]) -> None:
    """Last in this module: stops the module's sandbox and serves the same state again."""
    first = sandboxes[-1]
    with first.storage() as client:
        account = client.storage_accounts.get_properties("rg-apps", "seededclosed")
    blob = first.blob(account.primary_endpoints.blob).get_blob_client("packages", "k.txt")
    blob.upload_blob(b"kept")
    stop(first)
    second = serve(first.state)
    sandboxes.append(second)
    with second.storage() as client:
        account = client.storage_accounts.get_properties("rg-apps", "seededclosed")
        assert account.allow_shared_key_access is False
    service = second.blob(account.primary_endpoints.blob)
    assert service.get_blob_client("packages", "k.txt").download_blob().readall() == b"kept"
    with pytest.raises(ResourceExistsError):
        service.create_container("configs")  # the seeded container is still there
