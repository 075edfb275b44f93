"""A normalised snapshot of a sandbox world's final state, read as a client reads it (ARM over
HTTPS with an Entra token, blobs with azure-storage-blob), for comparing two runs of the same
release: equal snapshots mean the same end state.

What it holds: every resource's id, type and tags (so leaks show: a lab environment's resource
group, a VM left behind); gallery applications and versions with their properties; each VM's
and scale set's `applicationProfile.galleryApplications` and each instance's model and
VM-application states from its instance view; blobs per container with length, MD5 and
metadata; DevTest Labs environments and lab VMs.

What it drops, because it legitimately differs between two runs of the same release: the
sandbox's own identifiers (subscription, tenant, every GUID: principals, vmIds, operation
ids), its URLs (the ARM and blob ports), timestamps (any ISO 8601 value: creation times,
expiry tags), etags, and SAS query strings in URLs (signed for each run).

Reads only: call it with no fault rule active (`RunningSandbox.clear_faults()`), after the run
whose state it describes.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from azure.storage.blob import BlobServiceClient

from tests.conftest import principal_credential

COMPUTE = "2025-04-01"
GALLERY = "2024-03-03"
STORAGE = "2025-06-01"
LABS = "2018-09-15"
RESOURCES = "2025-04-01"

_DROPPED_KEYS = {"etag", "timecreated", "time", "createdtime", "changedtime", "publisheddate"}
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
# A SAS (its query has a signature), and the loopback host:port a sandbox service listens on.
_SAS = re.compile(r"\?([^\s\"]*&)?sig=[^\s\"]*")
_LOOPBACK = re.compile(r"https://(127\.0\.0\.1|localhost):\d+", re.I)


class _Reader:
    """ARM and blob reads as the ready-file's service principal."""

    def __init__(self, ready: dict[str, Any]) -> None:
        self.ready = ready
        self.arm_url = str(ready["arm_url"]).rstrip("/")
        self.verify = str(ready["ca_bundle"])
        self.credential = principal_credential(ready)
        scope = str(ready["arm_audience"]).rstrip("/") + "/.default"
        self.token = self.credential.get_token(scope).token
        self.subscription = f"/subscriptions/{ready['subscription_id']}"

    def get(self, path: str, api_version: str) -> Any:
        url = path if path.startswith("https://") else f"{self.arm_url}{path}"
        params = None if "api-version=" in url else {"api-version": api_version}
        answer = requests.get(
            url,
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
            verify=self.verify,
            timeout=30,
        )
        answer.raise_for_status()
        return answer.json()

    def items(self, path: str, api_version: str) -> Iterator[dict[str, Any]]:
        """Every item of a paged ARM list (following nextLink)."""
        page: Any = self.get(path, api_version)
        while True:
            yield from page.get("value", [])
            if not page.get("nextLink"):
                return
            page = self.get(page["nextLink"], api_version)

    def blob_service(self, account_url: str) -> BlobServiceClient:
        return BlobServiceClient(
            account_url, credential=self.credential, connection_verify=self.verify
        )


def take(ready_file: Path) -> dict[str, Any]:
    """The normalised snapshot of the world behind a sandbox's ready-file."""
    ready = json.loads(Path(ready_file).read_text(encoding="utf-8"))
    reader = _Reader(ready)
    raw = {
        "resources": _inventory(reader),
        "galleries": _galleries(reader),
        "virtualMachines": _virtual_machines(reader),
        "scaleSets": _scale_sets(reader),
        "blobs": _blobs(reader),
        "labs": _labs(reader),
    }
    return normalise(raw, _known_values(ready))


def differences(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Where two snapshots differ, one line per differing leaf (for a readable failure)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(actual)):
            here = f"{where}/{key}"
            if key not in actual:
                out.append(f"{here}: missing (expected {_short(expected[key])})")
            elif key not in expected:
                out.append(f"{here}: unexpected {_short(actual[key])}")
            else:
                out += differences(expected[key], actual[key], here)
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [
            d
            for i, pair in enumerate(zip(expected, actual, strict=True))
            for d in differences(*pair, f"{where}[{i}]")
        ]
    return (
        [] if expected == actual else [f"{where}: {_short(actual)} (expected {_short(expected)})"]
    )


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."


# --- what is read --------------------------------------------------------------------------
def _inventory(reader: _Reader) -> list[dict[str, Any]]:
    groups = list(reader.items(f"{reader.subscription}/resourcegroups", RESOURCES))
    resources = list(reader.items(f"{reader.subscription}/resources", RESOURCES))
    entries = [
        {"id": r["id"].lower(), "type": r.get("type"), "tags": r.get("tags") or {}}
        for r in groups + resources
    ]
    return sorted(entries, key=lambda e: e["id"])


def _galleries(reader: _Reader) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for gallery in reader.items(
        f"{reader.subscription}/providers/Microsoft.Compute/galleries", GALLERY
    ):
        applications = {}
        for app in reader.items(f"{gallery['id']}/applications", GALLERY):
            versions = {
                v["name"]: _resource(v) for v in reader.items(f"{app['id']}/versions", GALLERY)
            }
            applications[app["name"]] = {**_resource(app), "versions": versions}
        out[gallery["id"].lower()] = applications
    return out


def _virtual_machines(reader: _Reader) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for vm in reader.items(
        f"{reader.subscription}/providers/Microsoft.Compute/virtualMachines", COMPUTE
    ):
        view = reader.get(f"{vm['id']}/instanceView", COMPUTE)
        out[vm["id"].lower()] = {
            "tags": vm.get("tags") or {},
            "applicationProfile": vm.get("properties", {}).get("applicationProfile"),
            "applications": _application_states(view),
        }
    return out


def _scale_sets(reader: _Reader) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for scale_set in reader.items(
        f"{reader.subscription}/providers/Microsoft.Compute/virtualMachineScaleSets", COMPUTE
    ):
        profile = scale_set.get("properties", {}).get("virtualMachineProfile", {})
        instances = {}
        for instance in reader.items(f"{scale_set['id']}/virtualMachines", COMPUTE):
            view = reader.get(f"{instance['id']}/instanceView", COMPUTE)
            properties = instance.get("properties", {})
            instances[instance.get("instanceId", instance["name"])] = {
                "latestModelApplied": properties.get("latestModelApplied"),
                "applicationProfile": properties.get("applicationProfile"),
                "applications": _application_states(view),
            }
        out[scale_set["id"].lower()] = {
            "tags": scale_set.get("tags") or {},
            "applicationProfile": profile.get("applicationProfile"),
            "instances": instances,
        }
    return out


def _application_states(view: dict[str, Any]) -> list[Any]:
    """The VM-application extension's statuses; each per-application result is a JSON document
    in `message` (the documented VMAppExtension instance view), read as JSON."""
    states = []
    for extension in view.get("extensions") or []:
        if "vmapp" not in str(extension.get("type", "")).lower():
            continue
        for status in extension.get("statuses") or []:
            message = status.get("message")
            with contextlib.suppress(ValueError):
                message = json.loads(message) if isinstance(message, str) else message
            states.append({"code": status.get("code"), "message": message})
    return states


def _blobs(reader: _Reader) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for account in reader.items(
        f"{reader.subscription}/providers/Microsoft.Storage/storageAccounts", STORAGE
    ):
        endpoint = (account.get("properties", {}).get("primaryEndpoints") or {}).get("blob")
        if not endpoint:
            continue
        containers: dict[str, Any] = {}
        with reader.blob_service(endpoint) as service:
            for container in service.list_containers():
                client = service.get_container_client(container.name)
                containers[container.name] = {
                    blob.name: _blob(blob) for blob in client.list_blobs(include=["metadata"])
                }
        out[account["name"]] = containers
    return out


def _blob(blob: Any) -> dict[str, Any]:
    md5 = blob.content_settings.content_md5
    return {
        "length": blob.size,
        "md5": base64.b64encode(bytes(md5)).decode() if md5 else None,
        "metadata": dict(blob.metadata or {}),
    }


def _labs(reader: _Reader) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for lab in reader.items(f"{reader.subscription}/providers/Microsoft.DevTestLab/labs", LABS):
        environments = {
            e["name"]: _resource(e)
            for e in reader.items(f"{lab['id']}/users/@all/environments", LABS)
        }
        machines = {
            m["name"]: _resource(m) for m in reader.items(f"{lab['id']}/virtualmachines", LABS)
        }
        out[lab["id"].lower()] = {"environments": environments, "virtualMachines": machines}
    return out


def _resource(resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "tags": resource.get("tags") or {},
        "properties": resource.get("properties") or {},
    }


# --- normalisation -------------------------------------------------------------------------
def _known_values(ready: dict[str, Any]) -> dict[str, str]:
    """The run's own values, replaced by stable names before the generic rules apply."""
    known = {
        str(ready.get("blob_url", "")).rstrip("/"): "<blob>",
        str(ready.get("base_url", "")).rstrip("/"): "<sandbox>",
        str(ready["subscription_id"]): "<subscription>",
        str(ready["tenant_id"]): "<tenant>",
    }
    return {k: v for k, v in known.items() if k}


def normalise(value: Any, known: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            normalise(k, known): normalise(v, known)
            for k, v in value.items()
            if str(k).lower() not in _DROPPED_KEYS
        }
    if isinstance(value, list):
        return [normalise(v, known) for v in value]
    if isinstance(value, str):
        return _normalise_text(value, known)
    return value


def _normalise_text(text: str, known: dict[str, str]) -> str:
    for raw, name in known.items():
        text = re.sub(re.escape(raw), name, text, flags=re.I)
    text = _SAS.sub("?<sas>", text)
    text = _LOOPBACK.sub("https://<loopback>", text)
    text = _TIMESTAMP.sub("<time>", text)
    return _GUID.sub("<guid>", text)
