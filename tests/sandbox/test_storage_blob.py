"""The blob data plane: Azurite behind the gate, driven by the real azure-storage-blob client.

No ARM server here: accounts are put in the world with the storage models (as the ARM handlers
do) and tokens are signed with a sandbox signing key (as the identity endpoint does). The
end-to-end path through `pytask sandbox serve` (and persistence across its restart) is in
test_storage_arm.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import trustme
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.storage.blob import (
    BlobClient,
    BlobSasPermissions,
    BlobServiceClient,
    generate_blob_sas,
)

from pytask.sandbox.azurite import default_main_js
from pytask.sandbox.core.world import World
from pytask.sandbox.identity.keys import SigningKey
from pytask.sandbox.identity.tokens import sts_issuer
from pytask.sandbox.providers.storage import models, service
from pytask.sandbox.providers.storage.models import AccountRef

pytestmark = pytest.mark.skipif(not default_main_js().exists(), reason="azurite not installed")

TENANT = "11111111-2222-3333-4444-555555555555"
SUB = "00000000-0000-0000-0000-000000000001"


class SignedCredential:
    """A TokenCredential issuing what the sandbox's token endpoint issues (or a bad variant)."""

    def __init__(self, key: SigningKey, **overrides: Any) -> None:
        self.key = key
        self.overrides = overrides
        self.oid = str(uuid.uuid4())

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        now = int(time.time())
        claims = {
            "aud": scopes[0].removesuffix(".default"),
            "iss": sts_issuer(TENANT),
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "oid": self.oid,
            "tid": TENANT,
            "appid": "app",
        }
        claims.update(self.overrides)
        return AccessToken(self.key.sign(claims), int(claims["exp"]))


class Sandbox:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.world = World(tenant_id=TENANT, subscription_id=SUB)
        self.key = SigningKey.generate()
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = root / "ca.pem"
        self.cert_file = root / "cert.pem"
        self.key_file = root / "key.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        cert.private_key_pem.write_to_path(str(self.key_file))
        self.cert_file.write_bytes(b"".join(b.bytes() for b in cert.cert_chain_pems))
        self.service = self.new_service()

    def new_service(self) -> service.BlobService:
        tokens = service.TokenPolicy(
            issuers=(sts_issuer(TENANT),),
            jwks={"keys": [self.key.jwk()]},
            authorization_uri=f"https://127.0.0.1:1/{TENANT}/oauth2/authorize",
        )
        return service.BlobService(
            self.world, self.root / "azurite", self.cert_file, self.key_file, self.ca_file, tokens
        )

    def account(self, name: str, **properties: Any) -> dict[str, Any]:
        body = {"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}
        body["properties"] = properties
        doc = models.create(self.world, AccountRef(SUB, "rg", name), body, time.time())
        models.finish_create(self.world, doc["id"])
        service.account_created(self.world, name)
        return doc

    def url(self, name: str) -> str:
        return f"{self.service.url}/{name}"

    def entra(
        self, name: str, claims: dict[str, Any] | None = None, **config: Any
    ) -> BlobServiceClient:
        return BlobServiceClient(
            self.url(name),
            credential=SignedCredential(self.key, **(claims or {})),
            connection_verify=str(self.ca_file),
            **config,
        )

    def shared_key(self, doc: dict[str, Any]) -> BlobServiceClient:
        key = doc["_keys"][0]["value"]
        return BlobServiceClient(
            self.url(doc["name"]),
            credential={"account_name": doc["name"], "account_key": key},
            connection_verify=str(self.ca_file),
        )


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path_factory.mktemp("blob"))
    box.service.start()
    yield box
    box.service.stop()


def _name() -> str:
    return "acct" + uuid.uuid4().hex[:12]


def test_entra_upload_in_parallel_blocks_and_properties(sandbox: Sandbox) -> None:
    doc = sandbox.account(_name(), allowSharedKeyAccess=False)
    mib = 1024 * 1024
    client = sandbox.entra(doc["name"], max_single_put_size=mib, max_block_size=mib)
    client.create_container("packages")
    data = os.urandom(5 * mib + 123)
    blob = client.get_blob_client("packages", "app/1.0.0/app.zip")
    blob.upload_blob(data, max_concurrency=4, validate_content=True)
    assert len(blob.get_block_list("committed")[0]) == 6  # really uploaded in blocks
    props = blob.get_blob_properties()
    assert props.size == len(data)
    assert blob.download_blob(max_concurrency=2).readall() == data


def test_user_delegation_sas_reads_the_one_blob(sandbox: Sandbox) -> None:
    doc = sandbox.account(_name(), allowSharedKeyAccess=False)
    client = sandbox.entra(doc["name"])
    container = client.create_container("packages")
    container.upload_blob("app.zip", b"payload")
    container.upload_blob("other.zip", b"secret")
    now = datetime.now(timezone.utc)
    udk = client.get_user_delegation_key(now - timedelta(minutes=5), now + timedelta(hours=1))
    sas = generate_blob_sas(
        doc["name"],
        "packages",
        "app.zip",
        user_delegation_key=udk,
        permission=BlobSasPermissions(read=True),
        expiry=now + timedelta(hours=1),
        protocol="https",
    )
    verify = str(sandbox.ca_file)
    url = f"{sandbox.url(doc['name'])}/packages/app.zip?{sas}"
    assert BlobClient.from_blob_url(url, connection_verify=verify).download_blob().readall() == (
        b"payload"
    )
    other = f"{sandbox.url(doc['name'])}/packages/other.zip?{sas}"
    with pytest.raises(HttpResponseError) as refused:
        BlobClient.from_blob_url(other, connection_verify=verify).download_blob().readall()
    assert refused.value.status_code == 403


def test_shared_key_refused_when_disabled_as_azure_does(sandbox: Sandbox) -> None:
    doc = sandbox.account(_name(), allowSharedKeyAccess=False)
    sandbox.entra(doc["name"]).create_container("packages")
    with pytest.raises(HttpResponseError) as refused:
        sandbox.shared_key(doc).get_container_client("packages").get_container_properties()
    assert refused.value.status_code == 403
    assert refused.value.error_code == "KeyBasedAuthenticationNotPermitted"
    # A SAS signed with the account key is key-based too.
    sas = generate_blob_sas(
        doc["name"],
        "packages",
        "x.bin",
        account_key=doc["_keys"][0]["value"],
        permission=BlobSasPermissions(read=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    url = f"{sandbox.url(doc['name'])}/packages/x.bin?{sas}"
    with pytest.raises(HttpResponseError) as refused_sas:
        BlobClient.from_blob_url(url, connection_verify=str(sandbox.ca_file)).download_blob()
    assert refused_sas.value.error_code == "KeyBasedAuthenticationNotPermitted"


def test_shared_key_works_when_allowed_and_follows_updates(sandbox: Sandbox) -> None:
    doc = sandbox.account(_name())
    sandbox.shared_key(doc).create_container("packages")
    models.update(sandbox.world, doc, {"properties": {"allowSharedKeyAccess": False}})
    service.sync(sandbox.world)
    with pytest.raises(HttpResponseError) as refused:
        sandbox.shared_key(doc).get_container_client("packages").get_container_properties()
    assert refused.value.error_code == "KeyBasedAuthenticationNotPermitted"
    # Entra still works.
    assert sandbox.entra(doc["name"]).get_container_client("packages").exists()


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"exp": int(time.time()) - 3600}, "Lifetime validation failed"),
        ({"iss": "https://sts.windows.net/another-tenant/"}, "Issuer validation failed"),
        ({"aud": "https://management.sandbox.local/"}, "Audience validation failed"),
    ],
)
def test_bad_tokens_are_refused_with_azure_storage_401(
    sandbox: Sandbox, overrides: dict[str, Any], detail: str
) -> None:
    doc = sandbox.account(_name())
    with pytest.raises(ClientAuthenticationError) as refused:
        sandbox.entra(doc["name"], overrides).create_container("packages")
    response = refused.value.response
    assert response is not None and response.status_code == 401
    assert refused.value.error_code == "InvalidAuthenticationInfo"
    assert detail in response.text()
    assert response.headers["WWW-Authenticate"].startswith(
        f"Bearer authorization_uri=https://127.0.0.1:1/{TENANT}/oauth2/authorize"
    )


def test_token_signed_by_another_key_is_refused(sandbox: Sandbox) -> None:
    doc = sandbox.account(_name())
    forged = BlobServiceClient(
        sandbox.url(doc["name"]),
        credential=SignedCredential(SigningKey.generate()),
        connection_verify=str(sandbox.ca_file),
    )
    with pytest.raises(ClientAuthenticationError) as refused:
        forged.create_container("packages")
    assert "Signature validation failed" in refused.value.response.text()


def test_accounts_come_and_go_live_and_a_recreated_account_starts_empty(sandbox: Sandbox) -> None:
    assert sandbox.service.azurite is not None
    pid = sandbox.service.azurite.pid
    name = _name()
    with pytest.raises(HttpResponseError) as unknown:
        sandbox.entra(name).create_container("packages")
    assert unknown.value.status_code == 404
    doc = sandbox.account(name)
    sandbox.entra(name).create_container("packages")
    sandbox.world.delete(doc["id"])
    service.sync(sandbox.world)
    with pytest.raises(HttpResponseError) as gone:
        sandbox.entra(name).get_container_client("packages").get_container_properties()
    assert gone.value.status_code == 404
    sandbox.account(name)
    assert [c.name for c in sandbox.entra(name).list_containers()] == []
    assert sandbox.service.azurite.pid == pid  # no restart needed for any of it


def test_seed_containers_are_created(sandbox: Sandbox) -> None:
    doc = sandbox.account(_name(), allowSharedKeyAccess=False)
    with sandbox.world.lock:
        state = sandbox.world.state.setdefault(models.NAMESPACE, {"seedContainers": {}})
        state["seedContainers"][doc["name"]] = ["packages", "configs"]
    sandbox.service.create_seed_containers()
    sandbox.service.create_seed_containers()  # idempotent
    names = sorted(c.name for c in sandbox.entra(doc["name"]).list_containers())
    assert names == ["configs", "packages"]


def test_azurite_stops_when_the_sandbox_is_killed(tmp_path: Path) -> None:
    """SIGKILL of the parent leaves no Azurite behind (the stdin watchdog)."""
    box = Sandbox(tmp_path)  # only for its certificate files
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from pytask.sandbox.azurite import Azurite, AzuriteConfig
        a = Azurite(AzuriteConfig(location=Path({str(tmp_path / "az")!r}),
                    cert_file=Path({str(box.cert_file)!r}), key_file=Path({str(box.key_file)!r})))
        a.start()
        print(a.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True  # no /proc here (or it just went): ask kill() again
    return state != "Z"


def test_a_killed_azurite_is_started_again_on_the_same_port(sandbox: Sandbox) -> None:
    azurite = sandbox.service.azurite
    assert azurite is not None and azurite.pid is not None
    doc = sandbox.account(_name())
    port, pid = azurite.port, azurite.pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (azurite.pid == pid or not azurite.ready):
        time.sleep(0.05)
    assert azurite.ready and azurite.pid != pid and azurite.port == port
    sandbox.entra(doc["name"]).create_container("packages")
