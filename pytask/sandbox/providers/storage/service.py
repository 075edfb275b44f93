"""The blob data plane of the sandbox: Azurite behind the blob gate, following the world.

`BlobService.start()` starts Azurite (HTTPS with the sandbox's certificate, data under
STATE/azurite) with `gate.js` preloaded, and keeps the gate file (STATE/azurite/gate.json) in
step with the world: the storage accounts (names, keys, allowSharedKeyAccess), the token policy
(the sandbox's signing keys and issuer) and the data-plane grants of the seeded role
assignments (dataroles.py). Azurite reads the gate file live, so accounts created or deleted
through ARM are served or gone at once, with no Azurite restart.

Storage handlers call `sync(world)` after a change; a watcher thread also syncs whenever the
world's version moves, which covers changes made by other providers (a resource group deleted
with its accounts).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.storage.blob import BlobServiceClient

from pytask.sandbox.azurite import Azurite, AzuriteConfig, AzuriteError
from pytask.sandbox.core import issued
from pytask.sandbox.core.provider import Runtime
from pytask.sandbox.core.world import World
from pytask.sandbox.identity.state import NAMESPACE as IDENTITY_NAMESPACE
from pytask.sandbox.identity.state import identity
from pytask.sandbox.providers.storage import dataroles, models

GATE_JS = Path(__file__).with_name("gate.js")
# After the gate, so that it wraps it: faults apply before the gate's checks, as at Azure's front.
FAULTS_JS = Path(__file__).with_name("faults.js")
BLOB_LOG = "blob-requests.jsonl"  # in the state dir, next to requests.jsonl
STORAGE_AUDIENCES = (
    "https://storage.azure.com",
    "https://storage.azure.com/",
    "e406a681-f3d4-42a8-90b6-c2b029497af1",  # Azure Storage's application id
)
WATCH_INTERVAL = 0.2


@dataclass(frozen=True)
class TokenPolicy:
    """What a bearer token for the blob service must satisfy."""

    issuers: tuple[str, ...]
    jwks: dict[str, Any]
    authorization_uri: str  # for the WWW-Authenticate challenge on a 401
    audiences: tuple[str, ...] = STORAGE_AUDIENCES
    # Per-account audiences, `{account}` replaced by the account the request addresses.
    account_audiences: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "issuers": list(self.issuers),
            "jwks": self.jwks,
            "authorizationUri": self.authorization_uri,
            "audiences": list(self.audiences),
            "accountAudiences": list(self.account_audiences),
        }


def gate_document(world: World, tokens: TokenPolicy | None, admin_secret: str) -> dict[str, Any]:
    accounts = {
        a.name: {
            "id": a.resource_id,
            "key1": a.key1,
            "key2": a.key2,
            "allowSharedKeyAccess": a.allow_shared_key_access,
        }
        for a in models.data_plane_accounts(world)
    }
    return {
        "accounts": accounts,
        "tokens": tokens.to_json() if tokens else None,
        "rbac": _grants(world),
        "adminSecret": admin_secret,
    }


def _grants(world: World) -> dict[str, list[dict[str, Any]]]:
    if IDENTITY_NAMESPACE not in world.state:
        return {}
    state = identity(world)
    return dataroles.grants(state.role_assignments, state.role_definitions)


def write_atomically(path: Path, text: str) -> None:
    """Readers (the gate in Azurite) see the old file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds account keys
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


@dataclass
class BlobService:
    world: World
    directory: Path  # STATE/azurite
    cert_file: Path
    key_file: Path
    ca_file: Path  # what the service's own blob client trusts
    tokens: TokenPolicy | None = None
    port: int = 0
    azurite: Azurite | None = field(default=None, init=False)
    _written: str = field(default="", init=False)
    # Lets the sandbox's own requests past the shared-key check (never leaves this process
    # and the gate file).
    _admin_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _watcher: threading.Thread | None = field(default=None, init=False)

    @property
    def gate_file(self) -> Path:
        return self.directory / "gate.json"

    @property
    def url(self) -> str:
        if self.azurite is None:
            raise RuntimeError("the blob service is not running")
        return self.azurite.url

    def start(self) -> str:
        """Start Azurite behind the gate; returns blob_url (also put in world.endpoints)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.sync()
        config = AzuriteConfig(
            location=self.directory,
            cert_file=self.cert_file,
            key_file=self.key_file,
            port=self.port,
            preloads=(GATE_JS, FAULTS_JS),
            env={
                "SANDBOX_BLOB_GATE": str(self.gate_file.resolve()),
                **issued.child_env(),
                **self._faults_env(),
            },
        )
        self.azurite = Azurite(config)
        self.azurite.start()
        with self.world.lock:
            self.world.endpoints["blob_url"] = self.azurite.url
        _running[id(self.world)] = self
        self.create_seed_containers()
        self._stop.clear()
        self._watcher = threading.Thread(target=self._watch, name="blob-gate-sync", daemon=True)
        self._watcher.start()
        return self.azurite.url

    def _faults_env(self) -> dict[str, str]:
        """What faults.js needs: where to ask for a request's fault, and where to log."""
        base_url = self.world.endpoints.get("base_url")
        if not base_url:
            return {}
        return {
            "SANDBOX_FAULTS_URL": f"{base_url}/_sandbox/faults/pick",
            "SANDBOX_CA_FILE": str(self.ca_file.resolve()),
            "SANDBOX_BLOB_LOG": str((self.directory.parent / BLOB_LOG).resolve()),
            "SANDBOX_BLOB_ADMIN": self._admin_secret,
        }

    def stop(self) -> None:
        _running.pop(id(self.world), None)
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None
        if self.azurite is not None:
            self.azurite.stop()
            self.azurite = None

    def sync(self) -> bool:
        """Write the gate file if the accounts or the token policy changed. True if written."""
        # Lock order: the world's first (request handlers already hold it), then ours.
        with self.world.lock, self._lock:
            document = gate_document(self.world, self.tokens, self._admin_secret)
            text = json.dumps(document, sort_keys=True)
            if text == self._written:
                return False
            write_atomically(self.gate_file, text)
            self._written = text
            return True

    def client(self, account: str) -> BlobServiceClient:
        """A shared-key client for `account` straight to Azurite, for the sandbox's own use.
        Pass `headers=self.admin_headers` on each call to pass the gate."""
        with self.world.lock:
            doc = models.find(self.world, account)
            if doc is None:
                raise KeyError(account)
            key = models.data_plane(doc).key1
        return BlobServiceClient(
            f"{self.url}/{account}",
            credential={"account_name": account, "account_key": key},
            connection_verify=str(self.ca_file),
            retry_total=1,  # callers may hold the world lock: fail fast if Azurite is down
        )

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"x-sandbox-admin": self._admin_secret}

    def purge(self, account: str) -> int:
        """Delete whatever containers Azurite still holds under this account name (left by a
        deleted account of the same name: a new Azure account starts empty). Returns how many."""
        client = self.client(account)
        names = [c.name for c in client.list_containers(headers=self.admin_headers)]
        for name in names:
            client.delete_container(name, headers=self.admin_headers)
        return len(names)

    def create_containers(self, account: str, names: list[str]) -> None:
        client = self.client(account)
        for name in names:
            with contextlib.suppress(ResourceExistsError):
                client.create_container(name, headers=self.admin_headers)

    def create_seed_containers(self) -> None:
        """The containers the seed asked for (idempotent: run at every start)."""
        with self.world.lock:
            state = self.world.state.get(models.NAMESPACE, {})
            wanted = {k: list(v) for k, v in state.get("seedContainers", {}).items()}
        for account, names in wanted.items():
            with self.world.lock:
                exists = models.find(self.world, account) is not None
            if exists:
                self.create_containers(account, names)

    def _watch(self) -> None:
        seen = -1
        while not self._stop.wait(WATCH_INTERVAL):
            # One failed round (a full disk, Azurite refusing to restart) must not end the
            # watcher: every later ARM-side change (a group deleted with its accounts) would
            # silently never reach the data plane.
            try:
                version = self.world.version
                if version != seen:
                    self.sync()
                    seen = version
                self._revive()
            except Exception as error:  # logged; the next round tries again
                print(f"sandbox: blob gate watcher: {error!r}", file=sys.stderr, flush=True)

    def _revive(self) -> None:
        """Azurite died under a running sandbox (OOM killer, a stray kill): start it again on
        the same port, so clients see a blip rather than a dead endpoint."""
        azurite = self.azurite
        if azurite is None or azurite.running or self._stop.is_set():
            return
        print("sandbox: Azurite exited unexpectedly; restarting it", file=sys.stderr, flush=True)
        try:
            azurite.start()
        except AzuriteError as error:
            print(f"sandbox: Azurite restart failed: {error}", file=sys.stderr, flush=True)


def on_start(runtime: Runtime) -> Callable[[], None]:
    """The provider's start hook: Azurite under STATE/azurite, `blob_url` in world.endpoints,
    tokens checked against the sandbox's own issuer and keys. Returns the stop callable."""
    tokens = TokenPolicy(runtime.token_issuers, runtime.jwks, runtime.authorization_uri)
    blob = BlobService(
        runtime.world,
        runtime.state_dir / "azurite",
        runtime.cert_file,
        runtime.key_file,
        runtime.ca_file,
        tokens,
    )
    blob.start()
    return blob.stop


# One blob service per world in this process (the sandbox serves one world).
_running: dict[int, BlobService] = {}


def running(world: World) -> BlobService | None:
    return _running.get(id(world))


def sync(world: World) -> None:
    """After a storage change: let the data plane see it now (no-op without a blob service)."""
    service = running(world)
    if service is not None:
        service.sync()


def account_created(world: World, name: str) -> None:
    """A new account: served at once, and empty even if an earlier one had the same name."""
    service = running(world)
    if service is None:
        return
    service.sync()
    try:
        service.purge(name)
    except AzureError as error:
        # The ARM create stands (as in Azure); only leftovers of a namesake may remain.
        print(f"sandbox: could not clear old blobs of {name}: {error}", file=sys.stderr)
