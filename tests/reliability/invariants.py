"""Checks over a sandbox world that must hold after any run, interrupted or not, once the task
has been re-run to success. Each check returns its violations as sentences (empty: it holds).

- versions: no gallery application version twice (names compare case-insensitively, as ARM
  ids do), none left Creating/Updating/Failed.
- blobs: every blob in the package container is the package (or default configuration) of a
  version that exists. The task names blobs by application, version and SHA-256, so an
  interrupted upload is resumed under the same name and a re-run leaves nothing behind.
- targets: no VM or scale set on a half-applied `applicationProfile`: the model is settled,
  every scale-set instance runs the latest model, and every machine reports exactly the
  applications (and versions) of its model, installed.
- lab: after a delete, no environment of that name, no resource group DevTest Labs made for
  it (tagged with the environment's id) and nothing inside one; no lab VM of given names.

Reads go through ARM (what a client would see), except the resource list, which is the
sandbox's own world file (every resource, whatever its provider).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from azure.storage.blob import BlobServiceClient

from tests.conftest import RunningSandbox
from tests.e2e.test_deploy_world import COMPUTE_API, STORAGE_API, Arm, Sandbox

DTL_API = "2018-09-15"
VERSION_TYPE = "microsoft.compute/galleries/applications/versions"
UNSETTLED = ("Creating", "Updating", "Deleting", "Failed", "Migrating")


class Cloud:
    """A running sandbox and an ARM client as its service principal, for checks."""

    def __init__(self, running: RunningSandbox) -> None:
        self.running = running
        self.sandbox = Sandbox(running)
        self.arm = Arm(self.sandbox)

    def resources(self) -> list[dict[str, Any]]:
        """Every resource the sandbox holds (its persisted world)."""
        world = json.loads((self.running.state_dir / "world.json").read_text())
        return [dict(r) for r in world["resources"]]

    def get(self, path: str, api: str = COMPUTE_API) -> dict[str, Any] | None:
        from azure.core.exceptions import HttpResponseError

        try:
            return dict(self.arm.get(path, api))
        except HttpResponseError as exc:
            if exc.status_code == 404:
                return None
            raise


# --- gallery versions and package blobs --------------------------------------------------------
def versions(cloud: Cloud) -> list[dict[str, Any]]:
    return [r for r in cloud.resources() if str(r.get("type", "")).lower() == VERSION_TYPE]


def duplicate_versions(cloud: Cloud) -> list[str]:
    seen: dict[str, int] = {}
    for doc in versions(cloud):
        key = str(doc["id"]).lower()
        seen[key] = seen.get(key, 0) + 1
    return [f"version {key} exists {n} times" for key, n in seen.items() if n > 1]


def unsettled_versions(cloud: Cloud) -> list[str]:
    """Versions not Succeeded, as ARM reports them (the sandbox settles states on read)."""
    problems = []
    for doc in versions(cloud):
        live = cloud.get(str(doc["id"]), "2025-03-03")
        state = ((live or {}).get("properties") or {}).get("provisioningState")
        if live is not None and state in UNSETTLED:
            problems.append(f"version {doc['id']} is {state}")
    return problems


def _blob_path(link: str, endpoint: str) -> str | None:
    """`container/name` of a blob URL under the account's endpoint (SAS dropped); None for a
    blob of another account."""
    bare = link.split("?", 1)[0]
    base = endpoint.rstrip("/") + "/"
    return unquote(bare[len(base) :]) if bare.lower().startswith(base.lower()) else None


def referenced_blobs(cloud: Cloud, endpoint: str) -> set[str]:
    found: set[str] = set()
    for doc in versions(cloud):
        source = (doc.get("properties") or {}).get("publishingProfile", {}).get("source") or {}
        for key in ("mediaLink", "defaultConfigurationLink"):
            path = _blob_path(str(source.get(key) or ""), endpoint)
            if path:
                found.add(path)
    return found


def blob_names(cloud: Cloud, group: str, account: str, container: str) -> tuple[str, list[str]]:
    """The account's blob endpoint and `container/name` of every blob in the container
    (listed with the account key fetched through ARM)."""
    account_id = (
        f"{cloud.sandbox.group_id().rsplit('/', 1)[0]}/{group}/providers/"
        f"Microsoft.Storage/storageAccounts/{account}"
    )
    keys = cloud.arm.client.request("POST", f"{account_id}/listKeys", STORAGE_API)["keys"]
    endpoint = cloud.arm.get(account_id, STORAGE_API)["properties"]["primaryEndpoints"]["blob"]
    service = BlobServiceClient(
        endpoint, credential={"account_name": account, "account_key": keys[0]["value"]}
    )
    listing = service.get_container_client(container).list_blobs()
    return str(endpoint), [f"{container}/{b.name}" for b in listing]


def leaked_blobs(cloud: Cloud, group: str, account: str, container: str) -> list[str]:
    """Blobs of the container that no version's package or configuration link names."""
    endpoint, names = blob_names(cloud, group, account, container)
    referenced = referenced_blobs(cloud, endpoint)
    return [f"blob {name} belongs to no version" for name in names if name not in referenced]


# --- VMs and scale sets -------------------------------------------------------------------------
def reported_apps(view: Mapping[str, Any]) -> dict[str, tuple[str, str]] | None:
    """application name (lower) -> (version, result) from the VMAppExtension's status
    document; None when the extension is missing or mid-transition."""
    for extension in view.get("extensions") or []:
        if extension.get("name") != "VMAppExtension":
            continue
        statuses = extension.get("statuses") or []
        message = str((statuses[0] if statuses else {}).get("message", ""))
        if "{" not in message:
            return None
        state = json.loads(message[message.index("{") :]).get("CurrentState") or []
        return {
            str(s["applicationName"]).lower(): (str(s.get("version")), str(s.get("result")))
            for s in state
        }
    return {}


def _wanted(profile: Mapping[str, Any] | None) -> dict[str, str]:
    """application name (lower) -> version the model asks for."""
    apps = (profile or {}).get("galleryApplications") or []
    wanted = {}
    for entry in apps:
        parts = str(entry["packageReferenceId"]).rstrip("/").split("/")
        wanted[parts[-3].lower()] = parts[-1]
    return wanted


def _machine_problems(name: str, wanted: dict[str, str], view: Mapping[str, Any]) -> list[str]:
    reported = reported_apps(view)
    if reported is None:
        return [f"{name}: the VM application extension has not settled"]
    if not wanted and not reported:
        return []
    problems = []
    for app, version in wanted.items():
        got = reported.get(app)
        if got is None or got[0] != version or "SUCCESS" not in got[1].upper():
            problems.append(f"{name}: model wants {app} {version}, machine reports {got}")
    for app in set(reported) - set(wanted):
        problems.append(f"{name}: reports {app} {reported[app]} that its model no longer has")
    return problems


def half_applied(cloud: Cloud, target_ids: Iterable[str]) -> list[str]:
    problems: list[str] = []
    for target in target_ids:
        model = cloud.get(target)
        if model is None:
            problems.append(f"{target} is gone")
            continue
        props = model["properties"]
        state = props.get("provisioningState")
        name = target.rsplit("/", 1)[-1]
        if state != "Succeeded":
            problems.append(f"{name}: model is {state}")
        if "virtualMachineProfile" not in props:
            view = cloud.arm.get(f"{target}/instanceView")
            problems += _machine_problems(name, _wanted(props.get("applicationProfile")), view)
            continue
        wanted = _wanted(props["virtualMachineProfile"].get("applicationProfile"))
        listing = cloud.arm.get(f"{target}/virtualMachines?$expand=instanceView")["value"]
        for item in listing:
            iprops = item["properties"]
            label = f"{name}/{item['instanceId']}"
            if not iprops.get("latestModelApplied"):
                problems.append(f"{label}: does not run the latest model")
            problems += _machine_problems(label, wanted, iprops.get("instanceView") or {})
    return problems


# --- DevTest Labs ---------------------------------------------------------------------------
def lab_environments(cloud: Cloud, lab_id: str) -> list[dict[str, Any]]:
    listing = cloud.arm.get(f"{lab_id}/users/@all/environments", DTL_API)
    return list(listing.get("value") or [])


ENVIRONMENT_TAG = "hidden-DevTestLabs-EnvironmentResourceId"


def environment_groups(cloud: Cloud, name: str) -> list[str]:
    """Resource groups DevTest Labs made for an environment of this name (its tag says which)."""
    suffix = f"/environments/{name}".lower()
    return [
        str(r["id"])
        for r in cloud.resources()
        if str(r.get("type", "")).lower() == "microsoft.resources/resourcegroups"
        and str((r.get("tags") or {}).get(ENVIRONMENT_TAG, "")).lower().endswith(suffix)
    ]


def lab_leftovers(cloud: Cloud, lab_id: str, name: str) -> list[str]:
    """What a delete of environment `name` left: the environment, a resource group made for
    it, or anything inside such a group."""
    problems = [
        f"environment {e['id']} is still there ({e['properties'].get('provisioningState')})"
        for e in lab_environments(cloud, lab_id)
        if str(e["name"]).lower() == name.lower()
    ]
    for group in environment_groups(cloud, name):
        problems.append(f"resource group {group} is still there")
        problems += [
            f"{r['id']} is still there"
            for r in cloud.resources()
            if str(r["id"]).lower().startswith(group.lower() + "/")
        ]
    return problems


def lab_vm_leftovers(cloud: Cloud, lab_id: str, names: Iterable[str]) -> list[str]:
    wanted = {n.lower() for n in names}
    listing = cloud.arm.get(f"{lab_id}/virtualMachines", DTL_API)
    return [
        f"lab VM {v['id']} is still there"
        for v in listing.get("value") or []
        if str(v["name"]).lower() in wanted
    ] + [
        f"compute VM {r['id']} is still there"
        for r in cloud.resources()
        if str(r.get("type", "")).lower() == "microsoft.compute/virtualmachines"
        and str(r.get("name", "")).lower() in wanted
    ]
