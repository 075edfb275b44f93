"""The demo's world: what the sandbox is seeded with, the sample application's package, and
the sandbox process itself."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

APP = "contoso-web"
RG = "rg-vmapp-demo"
LAB_RG = "rg-vmapp-lab"
LAB = "lab-dev"
GALLERY = "gal_demo"
STORAGE = "stvmappdemo"
CONTAINER = "packages"
TEST_SCALE_SET = "vmss-test"
PROD_SCALE_SET = "vmss-prod"
PROD_INSTANCES = 30
WORKSPACE = "law-demo"
HEALTHY, UNHEALTHY = "1.0.0", "1.1.0"
TIME_SCALE = 0.004  # ten minutes of Azure in 2.4 seconds
START_TIMEOUT = 60.0


def seed() -> dict[str, Any]:
    return {
        "resourceGroups": [
            {"name": RG, "location": "eastus"},
            {"name": LAB_RG, "location": "eastus"},
        ],
        "storageAccounts": [
            {
                "name": STORAGE,
                "resourceGroup": RG,
                "containers": [CONTAINER],
                "allowSharedKeyAccess": False,
            }
        ],
        "galleries": [{"name": GALLERY, "resourceGroup": RG, "location": "eastus"}],
        "labs": [
            {
                "name": LAB,
                "resourceGroup": LAB_RG,
                "repositories": [
                    {
                        "name": "team-repo",
                        "displayName": "Team templates",
                        "path": "builtin:sample-repository",
                    }
                ],
            }
        ],
        "scaleSets": [
            {"name": TEST_SCALE_SET, "resourceGroup": RG, "instances": 4, "tags": {"env": "test"}},
            {
                "name": PROD_SCALE_SET,
                "resourceGroup": RG,
                "instances": PROD_INSTANCES,
                "tags": {"env": "prod"},
            },
        ],
        "workspaces": [
            {
                "name": WORKSPACE,
                "resourceGroup": RG,
                "ingestionDelaySeconds": 60,
                "sampleSeconds": 1,
                "historySeconds": 600,
                "telemetry": {
                    # 10 requests a second per machine: the gate's first windows are a few
                    # seconds long, and at 2 a second one unlucky error in 16 requests broke
                    # the "< 5 %" limit of a healthy version about once in five demos.
                    "default": {"requestsPerMinute": 600, "errorRate": 0.002},
                    # The release candidate that must never reach prod.
                    "versions": [
                        {
                            "application": APP,
                            "version": UNHEALTHY,
                            "errorRate": 0.12,
                            "latencyMs": {"median": 450},
                        }
                    ],
                },
            }
        ],
    }


def write_package(folder: Path, version: str) -> Path:
    """The sample application: a tarball with an install script, one per version."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{APP}-{version}.tar.gz"
    script = f"#!/bin/sh\nmkdir -p /opt/{APP}\necho {version} > /opt/{APP}/VERSION\n"
    # gzip stamps the time it wrote the file: mtime=0 makes the same version the same bytes
    # (a reproducible build, so two releases of a version publish the same package).
    with (
        gzip.GzipFile(path, "wb", mtime=0) as packed,
        tarfile.open(fileobj=packed, mode="w") as archive,
    ):
        data = script.encode()
        info = tarfile.TarInfo("install.sh")
        info.size, info.mode, info.mtime = len(data), 0o755, 0
        archive.addfile(info, io.BytesIO(data))
    return path


@dataclass
class Sandbox:
    process: subprocess.Popen[bytes]
    ready_file: Path
    ready: dict[str, Any]
    stderr_file: Path

    @property
    def subscription(self) -> str:
        return str(self.ready["subscription_id"])

    def group_id(self, group: str = RG) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{group}"

    def scale_set_id(self, name: str) -> str:
        return f"{self.group_id()}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"

    def workspace_id(self) -> str:
        return f"{self.group_id()}/providers/Microsoft.OperationalInsights/workspaces/{WORKSPACE}"

    def requests(self) -> list[dict[str, Any]]:
        path = Path(self.ready["requests_log"])
        lines = path.read_text("utf-8").splitlines() if path.exists() else []
        return [json.loads(line) for line in lines if line.strip()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_sandbox(root: Path, faults: Path | None = None) -> Sandbox:
    """The seeded sandbox under `root` (its state kept there: a second start resumes it);
    `faults`, a --faults file (the reliability suite runs the release under faults)."""
    state = root / "sandbox"
    state.mkdir(parents=True, exist_ok=True)
    seed_file, ready_file, stderr_file = (
        root / "world.yml",
        root / "ready.json",
        root / "sandbox.log",
    )
    seed_file.write_text(yaml.safe_dump(seed()), encoding="utf-8")
    ready_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytask", "sandbox", "serve", "--port", "0"]
    command += ["--state", str(state), "--ready-file", str(ready_file)]
    command += ["--seed", str(seed_file), "--time-scale", str(TIME_SCALE)]
    if faults is not None:
        command += ["--faults", str(faults)]
    with stderr_file.open("wb") as err:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + START_TIMEOUT
    while not ready_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log = stderr_file.read_text("utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"the sandbox did not start:\n{log}")
        time.sleep(0.1)
    ready = json.loads(ready_file.read_text("utf-8"))
    return Sandbox(process, ready_file, ready, stderr_file)
