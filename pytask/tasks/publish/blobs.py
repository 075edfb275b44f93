"""The package in Blob Storage, with the connection's Entra identity only (no account keys):
idempotent upload, the remote hash, and a read-only user delegation SAS for the gallery.

Uploads go through azure-storage-blob's own parallel block upload with transactional MD5 per
block (`validate_content=True`), streaming from the file, so memory stays flat.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote

from azure.core.exceptions import ResourceNotFoundError

from pytask.cloud import CloudSession
from pytask.tasks.refusals import storage_refusal

# azure.storage.blob is imported where it is used: it is not needed before the task's first
# ARM requests, and importing it delayed them (bench_overhead).
if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobServiceClient

BLOCK_SIZE = 8 * 1024 * 1024
SINGLE_PUT_LIMIT = 8 * 1024 * 1024
CONCURRENCY = 4
SHA256_METADATA = "sha256"
# A user delegation key lives at most seven days.
MAX_SAS_LIFETIME = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=5)
# What each refused storage step needs (docs/installation.md, section 3).
_DATA = "Microsoft.Storage/storageAccounts/blobServices/containers"
READ = f"Storage Blob Data Contributor on the container (data action {_DATA}/blobs/read)"
WRITE = f"Storage Blob Data Contributor on the container (data action {_DATA}/blobs/write)"
DELEGATE = (
    "Storage Blob Delegator on the storage account (action "
    "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action)"
)


def blob_path(application: str, version: str, sha256: str, file_name: str) -> str:
    """Where a package lives: application, version and hash in the path, so a changed package
    never overwrites what an existing version was made from."""
    return f"{application}/{version}/{sha256}/{file_name}"


@dataclass(frozen=True)
class BlobRef:
    account_url: str
    container: str
    name: str

    @property
    def url(self) -> str:
        """The blob's URL without any SAS."""
        return f"{self.account_url.rstrip('/')}/{self.container}/{self.name}"


class BlobStore:
    """One storage account's blob endpoint, reached with the session's Entra credential."""

    def __init__(self, session: CloudSession, account_url: str) -> None:
        self._session = session
        self.account_url = account_url.rstrip("/")
        self._service = session.blob_service(self.account_url)

    @classmethod
    def for_account(cls, session: CloudSession, resource_group: str, account: str) -> BlobStore:
        """The account's blob endpoint as ARM reports it (sovereign clouds, custom domains)."""
        with session.blob_service_for_account(resource_group, account) as service:
            return cls(session, service.url)

    @property
    def service(self) -> BlobServiceClient:
        return self._service

    def ref(self, container: str, name: str) -> BlobRef:
        return BlobRef(self.account_url, container, name)

    def _client(self, ref: BlobRef) -> BlobClient:
        from azure.storage.blob import BlobClient

        return BlobClient(
            self.account_url,
            ref.container,
            ref.name,
            credential=self._session.credential,
            audience=self._session.endpoints.storage_audience,
            max_single_put_size=SINGLE_PUT_LIMIT,
            max_block_size=BLOCK_SIZE,
            **self._session.policy.storage_client_kwargs(),
        )

    def recorded_sha256(self, ref: BlobRef) -> str | None:
        """The SHA-256 this task recorded on the blob, or None when the blob is not there.
        A blob without the record answers "" (it exists but was not uploaded by us)."""
        try:
            with storage_refusal(f"read blob {ref.container}/{ref.name}", READ):
                properties = self._client(ref).get_blob_properties()
        except ResourceNotFoundError:
            return None
        return str((properties.metadata or {}).get(SHA256_METADATA, ""))

    def hash_remote(self, ref: BlobRef) -> str:
        """Stream the blob through SHA-256 (for a packageUrl without our record)."""
        digest = hashlib.sha256()
        with storage_refusal(f"read blob {ref.container}/{ref.name}", READ):
            downloader = self._client(ref).download_blob(max_concurrency=CONCURRENCY)
            for chunk in downloader.chunks():
                digest.update(chunk)
        return digest.hexdigest()

    def ensure_container(self, container: str) -> None:
        client = self._service.get_container_client(container)
        with storage_refusal(f"create container {container}", WRITE):
            if not client.exists():
                client.create_container()

    def upload(
        self,
        ref: BlobRef,
        path: Path,
        sha256: str,
        progress: Callable[[int, int], None],
        md5: bytes = b"",
    ) -> None:
        """Parallel block upload with a transactional MD5 per block; the whole file's MD5,
        when given, becomes the blob's Content-MD5."""
        from azure.storage.blob import ContentSettings

        size = path.stat().st_size
        settings = ContentSettings(content_md5=bytearray(md5) if md5 else None)
        step = f"write blob {ref.container}/{ref.name}"
        with path.open("rb") as stream, storage_refusal(step, WRITE):
            self._client(ref).upload_blob(
                stream,
                length=size,
                overwrite=True,
                max_concurrency=CONCURRENCY,
                validate_content=True,
                content_settings=settings,
                metadata={SHA256_METADATA: sha256},
                progress_hook=lambda done, total: progress(done, total or size),
            )

    def signer(
        self, lifetime: timedelta, secret: Callable[[str], None]
    ) -> Callable[[BlobRef], str]:
        """Get a user delegation key now (before any write, so a missing Storage Blob Delegator
        role stops the task with nothing written) and return what signs read-only, HTTPS-only
        SASs for single blobs with it. `secret` registers the key and each SAS for masking
        before either can reach a log."""
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        now = datetime.now(timezone.utc)
        start = now - CLOCK_SKEW
        expiry = now + min(lifetime, MAX_SAS_LIFETIME - CLOCK_SKEW)
        with storage_refusal("get a user delegation key to sign the package's SAS", DELEGATE):
            key = self._service.get_user_delegation_key(start, expiry)
        if key.value:
            secret(key.value)

        def sign(ref: BlobRef) -> str:
            sas = generate_blob_sas(
                account_name=self._service.account_name or "",
                container_name=ref.container,
                blob_name=ref.name,
                user_delegation_key=key,
                permission=BlobSasPermissions(read=True),
                start=start,
                expiry=expiry,
                protocol="https",
            )
            secret(sas)
            # The signature alone too, decoded and encoded, wherever a service echoes it.
            for signature in parse_qs(sas).get("sig", []):
                secret(signature)
                secret(quote(signature, safe=""))
            return sas

        return sign
