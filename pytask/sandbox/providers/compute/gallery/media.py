"""Reading a version's source blob, as GalleryRP does before it replicates.

The sandbox really fetches `mediaLink` (HTTPS GET with whatever SAS the URL carries), so an
expired, wrong-permission or missing blob fails the version the way it fails in Azure. Handlers
run under the world lock, so only the first megabytes are read (the answer to the GET is what
decides readability) and the rest is left unread: a multi-GB package does not stall the sandbox.
The URL's query (the SAS) never appears in a message.

Azure's own readers (GalleryRP, the VM agent downloading a package) retry what Blob Storage
answers transiently -- a 500 or 503, a timeout, a dropped connection -- so a blip on the
storage account (the sandbox's --faults, `service: blob`) does not fail a version or an
install; `get` does the same, at once rather than after Retry-After, because its callers hold
the world lock.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests

CHUNK = 1 << 20
READ_LIMIT = 4 * CHUNK
TIMEOUT_SECONDS = 60.0
TRANSIENT_STATUSES = (408, 500, 502, 503, 504)
ATTEMPTS = 8
BACKOFF_SECONDS = 0.05  # times the attempt number


@dataclass(frozen=True)
class MediaCheck:
    ok: bool
    size: int = 0  # the blob's length as served (Content-Length), or the bytes read
    problem: str = ""  # why it could not be read (no SAS in it)


def without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def trust() -> str | bool:
    """The CA bundle that verifies the sandbox's own HTTPS endpoints (the blob gateway): the
    server process exports it as REQUESTS_CA_BUNDLE / SSL_CERT_FILE, else system trust."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or True


def get(
    url: str, verify: str | bool, timeout: float = TIMEOUT_SECONDS, stream: bool = False
) -> requests.Response:
    """GET a blob as Azure's own services do: transient failures retried (see the module)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = requests.get(url, stream=stream, timeout=timeout, verify=verify)
        except (requests.ConnectionError, requests.Timeout):
            if attempt == ATTEMPTS:
                raise
        else:
            if response.status_code not in TRANSIENT_STATUSES or attempt == ATTEMPTS:
                return response
            response.close()
        time.sleep(BACKOFF_SECONDS * attempt)
    raise AssertionError("unreachable: the last attempt returns or raises")


def fetch(url: str, verify: str | bool | None = None) -> MediaCheck:
    """GET the blob and read its first bytes; any failure is a MediaCheck with a reason."""
    where = without_query(url)
    if urlsplit(url).scheme.lower() != "https":
        return MediaCheck(False, problem=f"The blob '{where}' must be reached over HTTPS.")
    read = 0
    try:
        with get(url, trust() if verify is None else verify, stream=True) as response:
            if response.status_code != 200:
                code = response.headers.get("x-ms-error-code", "")
                return MediaCheck(
                    False,
                    problem=f"Reading the blob '{where}' failed with HTTP "
                    f"{response.status_code}{f' ({code})' if code else ''}.",
                )
            for chunk in response.iter_content(CHUNK):
                read += len(chunk)
                if read >= READ_LIMIT:
                    break
            length = response.headers.get("Content-Length", "")
    except requests.RequestException as exc:
        return MediaCheck(
            False, problem=f"The blob '{where}' could not be reached ({type(exc).__name__})."
        )
    return MediaCheck(True, size=int(length) if length.isdigit() else read)
