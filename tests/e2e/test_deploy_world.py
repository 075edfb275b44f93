"""A sandbox world for DeployVmApp tests and the deploy bench: the server as a child process,
gallery versions published through ARM (package blob uploaded to Azurite, SAS mediaLink), and
helpers to read targets back. (The provider itself is tested in tests/sandbox/test_vm_*.py.)
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import RunningSandbox
from tests.conftest import start_sandbox as start_running
from tests.helpers.vso import Output

REPO = Path(__file__).resolve().parents[2]
PYTASK = str(Path(sys.executable).with_name("pytask"))
COMPUTE_API = "2025-04-01"
GALLERY_API = "2025-03-03"
STORAGE_API = "2025-06-01"
RG = "rg-app"
ACCOUNT = "vmapppackages"
GALLERY = "releases"


def base_seed(extra: Mapping[str, Any]) -> dict[str, Any]:
    seed: dict[str, Any] = {
        "resourceGroups": [{"name": RG, "location": "eastus"}],
        "storageAccounts": [{"name": ACCOUNT, "resourceGroup": RG, "containers": ["packages"]}],
        "galleries": [
            {
                "name": GALLERY,
                "resourceGroup": RG,
                "applications": [
                    {"name": "webapp", "osType": "Linux"},
                    {"name": "agent", "osType": "Linux"},
                    {"name": "winapp", "osType": "Windows"},
                ],
            }
        ],
    }
    seed.update(extra)
    return seed


@dataclass
class Sandbox:
    """The shared conftest sandbox process, with the ids and helpers deploy tests use."""

    running: RunningSandbox

    @property
    def ready(self) -> dict[str, Any]:
        return self.running.ready

    @property
    def subscription(self) -> str:
        return str(self.ready["subscription_id"])

    @property
    def ready_file(self) -> Path:
        return self.running.ready_file

    def group_id(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{RG}"

    def vm_id(self, name: str) -> str:
        return f"{self.group_id()}/providers/Microsoft.Compute/virtualMachines/{name}"

    def vmss_id(self, name: str) -> str:
        return f"{self.group_id()}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"

    def app_id(self, app: str) -> str:
        return (
            f"{self.group_id()}/providers/Microsoft.Compute/galleries/{GALLERY}/applications/{app}"
        )

    def version_id(self, app: str, version: str) -> str:
        return f"{self.app_id(app)}/versions/{version}"

    def requests(self) -> list[dict[str, Any]]:
        return self.running.requests_log()

    def set_faults(self, document: Mapping[str, Any]) -> None:
        self.running.set_faults(yaml.safe_dump(dict(document)))

    def stop(self) -> None:
        self.running.stop()


def start_sandbox(root: Path, seed: Mapping[str, Any], time_scale: float) -> Sandbox:
    running = start_running(root / "state", seed=yaml.safe_dump(dict(seed)), time_scale=time_scale)
    return Sandbox(running)


class Arm:
    """Plain ARM calls as the sandbox's service principal (for arranging and asserting)."""

    def __init__(self, sandbox: Sandbox) -> None:
        from pytask.cloud.session import CloudSession
        from pytask.localrun import parse_connection

        os.environ["REQUESTS_CA_BUNDLE"] = sandbox.ready["ca_bundle"]
        os.environ["SSL_CERT_FILE"] = sandbox.ready["ca_bundle"]
        connection = parse_connection(sandbox.ready["connection"], sandbox.ready_file)
        self.session = CloudSession.from_connection(connection)
        self.client = self.session.arm()

    def get(self, path: str, api: str = COMPUTE_API) -> Any:
        return self.client.request("GET", path, api)

    def put(self, path: str, body: Any, api: str = COMPUTE_API, **headers: str) -> Any:
        """The initial answer only; use `settle` to wait (pollers fall back to 10 s polls)."""
        return self.client.request("PUT", path, api, body=body, headers=headers)

    def patch(self, path: str, body: Any, api: str = COMPUTE_API) -> Any:
        return self.client.request("PATCH", path, api, body=body)

    def settle(self, path: str, api: str = COMPUTE_API, timeout: float = 30) -> dict[str, Any]:
        """Poll the resource until its provisioning state is terminal."""
        deadline = time.monotonic() + timeout
        while True:
            doc = self.get(path, api)
            state = doc["properties"].get("provisioningState")
            if state not in ("Creating", "Updating", "Accepted", "InProgress"):
                return dict(doc)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} still {state}")
            time.sleep(0.1)


def package_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("install.sh", "#!/bin/sh\necho installed\n")
    return buffer.getvalue()


def publish_version(sandbox: Sandbox, arm: Arm, app: str, version: str, **profile: Any) -> str:
    """Upload a package and create the version through ARM, as PublishVmApp would."""
    from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

    account_id = f"{sandbox.group_id()}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
    keys = arm.client.request("POST", f"{account_id}/listKeys", STORAGE_API)["keys"]
    account = arm.get(account_id, STORAGE_API)
    blob_url = account["properties"]["primaryEndpoints"]["blob"].rstrip("/")
    key = keys[0]["value"]
    service = BlobServiceClient(blob_url, credential={"account_name": ACCOUNT, "account_key": key})
    blob = f"{app}/{version}/{app}.zip"
    service.get_blob_client("packages", blob).upload_blob(package_zip(), overwrite=True)
    sas = generate_blob_sas(
        ACCOUNT, "packages", blob, account_key=key, permission=BlobSasPermissions(read=True),
        expiry=datetime.now(timezone.utc) + timedelta(days=1),
    )  # fmt: skip
    publishing = {
        "source": {"mediaLink": f"{blob_url}/packages/{blob}?{sas}"},
        "manageActions": {"install": f"bash install.sh # {app}", "remove": "true"},
        "targetRegions": [{"name": "eastus"}],
        **profile,
    }
    body = {"location": "eastus", "properties": {"publishingProfile": publishing}}
    arm.put(sandbox.version_id(app, version), body, GALLERY_API)
    done = arm.settle(sandbox.version_id(app, version), GALLERY_API)
    assert done["properties"]["provisioningState"] == "Succeeded", done
    return sandbox.version_id(app, version)


def run_deploy(sandbox: Sandbox, inputs: Mapping[str, str], timeout: float = 120) -> Output:
    args = [PYTASK, "run", "DeployVmApp", "--connection", str(sandbox.ready_file)]
    for name, value in inputs.items():
        args += ["--input", f"{name}={value}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    return Output(done.stdout + done.stderr)


def gallery_apps(arm: Arm, target_id: str) -> list[dict[str, Any]]:
    model = arm.get(target_id)
    props = model["properties"]
    profile = (props.get("virtualMachineProfile") or props).get("applicationProfile") or {}
    return list(profile.get("galleryApplications") or [])


def puts(sandbox: Sandbox, since: int = 0) -> list[dict[str, Any]]:
    """Client writes to Microsoft.Compute since request number `since` (seed writes excluded)."""
    return [
        r
        for r in sandbox.requests()[since:]
        if r["method"] in ("PUT", "PATCH", "POST")
        and "/providers/microsoft.compute/" in r["path"].lower()
        and "/galleries/" not in r["path"].lower()
        and (r.get("principal") or {}).get("appid") != "pytask-sandbox-seed"
    ]
