"""PublishVmApp's per-input rules: what Azure will accept, checked before touching Azure.

Each parser turns an input's text into a value or raises ValueError; `CHECKS` hands them to the
agent runner, which reports every broken input at once (one message each) before the task body
runs. The rules mirror GalleryRP's and Blob Storage's own, so a bad value never reaches Azure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from urllib.parse import urlsplit

from pytask.agent import Check

INT32_MAX = 2_147_483_647
MAX_COMMAND = 4096
MAX_REPLICAS = 10
MAX_TIMEOUT_MINUTES = 7 * 24 * 60
STORAGE_TYPES = ("Standard_LRS", "Standard_ZRS", "Premium_LRS")
MAX_TAGS = 50  # Azure's limit per resource, ours included
OUR_TAGS = 3

_GALLERY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._]{0,78}[A-Za-z0-9])?$")
_APPLICATION = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9])?$")
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_RESOURCE_GROUP = re.compile(r"^[-\w._()]{1,90}$")
_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
_REGION = re.compile(r"^[A-Za-z][A-Za-z0-9 ]{1,40}$")
_FILE_NAME = re.compile(r'^[^/\\:*?"<>|\x00-\x1f]{1,255}$')
_TAG_NAME_FORBIDDEN = re.compile(r"[<>%&\\?/]")


def gallery_name(text: str) -> str:
    if not _GALLERY.match(text):
        raise ValueError(text)
    return text


def application_name(text: str) -> str:
    if not _APPLICATION.match(text):
        raise ValueError(text)
    return text


def version(text: str) -> str:
    match = _VERSION.match(text)
    if match is None or any(int(part) > INT32_MAX for part in match.groups()):
        raise ValueError(text)
    return text


def resource_group(text: str) -> str:
    if not _RESOURCE_GROUP.match(text) or text.endswith("."):
        raise ValueError(text)
    return text


def storage_account(text: str) -> str:
    if not _ACCOUNT.match(text):
        raise ValueError(text)
    return text


def container(text: str) -> str:
    if not _CONTAINER.match(text):
        raise ValueError(text)
    return text


def command(text: str) -> str:
    if len(text) > MAX_COMMAND:
        raise ValueError(text)
    return text


def file_name(text: str) -> str:
    if not _FILE_NAME.match(text) or text in (".", "..") or text != text.strip():
        raise ValueError(text)
    return text


def replicas(text: str) -> int:
    number = int(text)
    if not 1 <= number <= MAX_REPLICAS:
        raise ValueError(text)
    return number


def timeout_minutes(text: str) -> int:
    number = int(text)
    if not 1 <= number <= MAX_TIMEOUT_MINUTES:
        raise ValueError(text)
    return number


def future_date(text: str) -> datetime:
    """An ISO 8601 date or date-time (UTC when no zone is given), strictly in the future."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if moment <= datetime.now(timezone.utc):
        raise ValueError(text)
    return moment


def web_uri(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(text)
    return text


@dataclass(frozen=True)
class BlobLocation:
    account_url: str  # https://account.blob.core.windows.net
    container: str
    blob: str

    @property
    def url(self) -> str:
        return f"{self.account_url}/{self.container}/{self.blob}"


def blob_url(text: str) -> BlobLocation:
    """An https blob URL without a query (a SAS belongs to no input: the task makes its own).

    Parsed as azure-storage-blob parses it, so both account styles work: host-style
    (https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB) and path-style for IP or localhost
    endpoints (https://127.0.0.1:10000/ACCOUNT/CONTAINER/BLOB, as Azurite serves).
    """
    from azure.storage.blob import BlobClient  # here: only packageUrl needs it

    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(text)
    try:
        client = BlobClient.from_blob_url(text)
    except ValueError:
        raise ValueError(text) from None
    if not client.blob_name or not client.container_name:
        raise ValueError(text)
    container(client.container_name)
    return BlobLocation(
        f"https://{client.primary_hostname}", client.container_name, client.blob_name
    )


@dataclass(frozen=True)
class TargetRegion:
    name: str
    replicas: int | None = None
    storage_type: str | None = None


def target_region(line: str) -> TargetRegion:
    """`region[:replicas[:storageType]]`."""
    parts = [p.strip() for p in line.split(":")]
    if len(parts) > 3 or not _REGION.match(parts[0]):
        raise ValueError(line)
    count = replicas(parts[1]) if len(parts) > 1 and parts[1] else None
    storage = parts[2] if len(parts) > 2 and parts[2] else None
    if storage is not None and storage not in STORAGE_TYPES:
        raise ValueError(line)
    return TargetRegion(parts[0], count, storage)


def canonical_region(name: str) -> str:
    return name.replace(" ", "").lower()


def target_regions(text: str) -> tuple[TargetRegion, ...]:
    regions = tuple(target_region(line) for line in text.splitlines() if line.strip())
    names = [canonical_region(r.name) for r in regions]
    if len(set(names)) != len(names):
        raise ValueError(text)
    return regions


def tags(text: str) -> dict[str, str]:
    """A YAML or JSON object of scalar values; Azure's tag limits."""
    try:
        data = json.loads(text)
    except ValueError:
        # Imported here: most publications give no tags or JSON ones, and PyYAML cost 12 ms
        # of every run's start (bench_overhead).
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ValueError(text) from None
    if not isinstance(data, dict):
        raise ValueError(text)
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, (dict, list)) or value is None:
            raise ValueError(text)
        name, shown = str(key), _tag_value(value)
        if not name or len(name) > 512 or _TAG_NAME_FORBIDDEN.search(name) or len(shown) > 256:
            raise ValueError(text)
        out[name] = shown
    if len(out) > MAX_TAGS - OUR_TAGS:
        raise ValueError(text)
    return out


def _tag_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


CHECKS: tuple[Check[object], ...] = (
    Check(
        "resourceGroup",
        resource_group,
        "a resource group name (up to 90 letters, digits, "
        "'-', '_', '.', '(' and ')', not ending with '.')",
    ),
    Check(
        "galleryName",
        gallery_name,
        "a gallery name: letters, digits, '.' and '_', not "
        "starting or ending with '.' or '_', up to 80 characters",
    ),
    Check(
        "applicationName",
        application_name,
        "an application name: letters, digits, '-', "
        "'_' and '.', starting and ending with a letter or digit, up to 80 characters",
    ),
    Check(
        "version",
        version,
        "Major.Minor.Patch with each part a whole number from 0 to 2147483647, for example 1.4.0",
    ),
    Check(
        "packageUrl",
        blob_url,
        "the https URL of a blob, https://ACCOUNT.blob.core.windows."
        "net/CONTAINER/PATH, without a SAS (the task makes its own read-only SAS)",
    ),
    Check("packageFileName", file_name, "a file name without path separators"),
    Check("configFileName", file_name, "a file name without path separators"),
    Check(
        "storageAccount",
        storage_account,
        "a storage account name: 3 to 24 lower-case letters and digits",
    ),
    Check(
        "storageContainer",
        container,
        "a container name: 3 to 63 lower-case letters, digits "
        "and single hyphens, starting and ending with a letter or digit",
    ),
    Check("storageResourceGroup", resource_group, "a resource group name"),
    Check("installCommand", command, f"a command of at most {MAX_COMMAND} characters"),
    Check("removeCommand", command, f"a command of at most {MAX_COMMAND} characters"),
    Check("updateCommand", command, f"a command of at most {MAX_COMMAND} characters"),
    Check(
        "targetRegions",
        target_regions,
        "one region per line as region[:replicas["
        ":storageType]], replicas 1 to 10, storageType one of "
        + ", ".join(STORAGE_TYPES)
        + ", each region once",
    ),
    Check("replicaCount", replicas, f"a whole number from 1 to {MAX_REPLICAS}"),
    Check("endOfLifeDate", future_date, "an ISO 8601 date in the future, for example 2030-12-31"),
    Check("applicationEndOfLifeDate", future_date, "an ISO 8601 date in the future"),
    Check("privacyStatementUri", web_uri, "an http or https URL"),
    Check("releaseNoteUri", web_uri, "an http or https URL"),
    Check(
        "tags",
        tags,
        "a YAML or JSON object of text values (names up to 512 characters "
        "without <>%&\\?/, values up to 256, at most 47 tags)",
    ),
    Check(
        "timeoutMinutes",
        timeout_minutes,
        f"a whole number of minutes from 1 to {MAX_TIMEOUT_MINUTES}",
    ),
)
