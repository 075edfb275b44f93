"""The least-privilege roles of docs/installation.md, proven: for each task, a service principal
holding exactly the documented roles at the documented scopes runs it through `pytask run`, and
the same principal without one essential role fails with one clear error that names the missing
permission, having written nothing.

One sandbox for the module. Each concern lives in its own resource group, so that a role at a
group scope cannot stand in for a role the table puts elsewhere. The world is arranged by the
sandbox's default principal (unconstrained); every principal below is constrained by its roles.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytask.cloud import CloudSession
from pytask.localrun import read_connection_file
from pytask.tasks.publish.blobs import BlobStore
from tests.conftest import RunningSandbox, start_sandbox
from tests.helpers.agent_env import run_pytask
from tests.helpers.vso import Output

pytestmark = pytest.mark.e2e

SUB = "/subscriptions/{subscriptionId}"
# A principal without any role assignment is the sandbox's unconstrained default, so every
# principal here also holds Reader on a group that nothing else uses: constrained, no more.
ELSEWHERE = f"{SUB}/resourceGroups/rg-lp-elsewhere"
GALLERY_RG, APPS_RG, MONITOR_RG, LAB_RG = "rg-lp-gallery", "rg-lp-apps", "rg-lp-mon", "rg-lp-lab"
ACCOUNT, CONTAINER, GALLERY, LAB, WORKSPACE = "lppackages", "vmapps", "lpgal", "dtl-lp", "law-lp"
GALLERY_ID = f"{SUB}/resourceGroups/{GALLERY_RG}/providers/Microsoft.Compute/galleries/{GALLERY}"
GALLERY_GROUP_ID = f"{SUB}/resourceGroups/{GALLERY_RG}"
ACCOUNT_ID = f"{GALLERY_GROUP_ID}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
CONTAINER_ID = f"{ACCOUNT_ID}/blobServices/default/containers/{CONTAINER}"
APPS_GROUP_ID = f"{SUB}/resourceGroups/{APPS_RG}"
MONITOR_GROUP_ID = f"{SUB}/resourceGroups/{MONITOR_RG}"
WORKSPACE_ID = f"{MONITOR_GROUP_ID}/providers/Microsoft.OperationalInsights/workspaces/{WORKSPACE}"
LAB_ID = f"{SUB}/resourceGroups/{LAB_RG}/providers/Microsoft.DevTestLab/labs/{LAB}"
VMS = ("lp-vm-1", "lp-vm-2")
WRITES = ("PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Grant:
    """One row of the table in docs/installation.md section 3."""

    role: str
    scope: str


# The documented roles per task, and for each the one that, removed, must stop the task.
DOCUMENTED: dict[str, tuple[Grant, ...]] = {
    "PublishVmApp": (
        Grant("Contributor", GALLERY_ID),
        Grant("Storage Blob Data Contributor", CONTAINER_ID),
        Grant("Storage Blob Delegator", ACCOUNT_ID),
        Grant("Reader", ACCOUNT_ID),
    ),
    "DeployVmApp": (
        Grant("Virtual Machine Contributor", APPS_GROUP_ID),
        Grant("Reader", GALLERY_ID),
    ),
    "DevTestLabEnv": (Grant("DevTest Labs User", LAB_ID),),
    "HealthGate": (
        Grant("Log Analytics Reader", WORKSPACE_ID),
        Grant("Monitoring Reader", APPS_GROUP_ID),
    ),
}
# The alerts API lists a whole subscription's alerts (filtered by target), so an `alerts` check
# needs Monitoring Reader on the subscription: the table's extra HealthGate row.
GATE_WITH_ALERTS = (Grant("Log Analytics Reader", WORKSPACE_ID), Grant("Monitoring Reader", SUB))
ESSENTIAL: dict[str, str] = {
    "PublishVmApp": "Contributor",
    "DeployVmApp": "Virtual Machine Contributor",
    "DevTestLabEnv": "DevTest Labs User",
    "HealthGate": "Monitoring Reader",
}


def principal(task: str, complete: bool) -> str:
    return f"{task.lower()}-{'full' if complete else 'short'}"


def identity_seed() -> dict[str, Any]:
    principals, assignments = [], []
    for task, grants in DOCUMENTED.items():
        for complete in (True, False):
            name = principal(task, complete)
            principals.append({"name": name, "kind": "spnKey"})
            assignments.append({"principal": name, "role": "Reader", "scope": ELSEWHERE})
            assignments += [
                {"principal": name, "role": g.role, "scope": g.scope}
                for g in grants
                if complete or g.role != ESSENTIAL[task]
            ]
    principals.append({"name": "healthgate-alerts", "kind": "spnKey"})
    assignments += [
        {"principal": "healthgate-alerts", "role": g.role, "scope": g.scope}
        for g in GATE_WITH_ALERTS
    ]
    return {"principals": principals, "roleAssignments": assignments}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed(now: datetime) -> dict[str, Any]:
    vm_ids = [f"{APPS_GROUP_ID}/providers/Microsoft.Compute/virtualMachines/{n}" for n in VMS]
    since = iso(now - timedelta(seconds=600))
    return {
        "identity": identity_seed(),
        "resourceGroups": [
            {"name": group, "location": "eastus"}
            for group in (GALLERY_RG, APPS_RG, MONITOR_RG, LAB_RG, "rg-lp-elsewhere")
        ],
        "storageAccounts": [
            {
                "name": ACCOUNT,
                "resourceGroup": GALLERY_RG,
                "allowSharedKeyAccess": False,
                "containers": [CONTAINER],
            }
        ],
        "galleries": [{"name": GALLERY, "resourceGroup": GALLERY_RG, "applications": []}],
        "virtualMachines": [{"name": name, "resourceGroup": APPS_RG} for name in VMS],
        "workspaces": [
            {
                "name": WORKSPACE,
                "resourceGroup": MONITOR_RG,
                "ingestionDelaySeconds": 0,
                "sampleSeconds": 5,
                "historySeconds": 600,
                "telemetry": {"default": {"requestsPerMinute": 60, "errorRate": 0.0}},
                "machines": [
                    {
                        "computer": vm.rsplit("/", 1)[-1],
                        "resourceId": vm,
                        "versions": [{"application": "lpapp", "version": "1.0.0", "since": since}],
                    }
                    for vm in vm_ids
                ],
            }
        ],
        "labs": [
            {
                "name": LAB,
                "resourceGroup": LAB_RG,
                # The task tags the environment's resource group: its creator must be allowed
                # to write it (Azure's default, Reader, is not enough; see installation.md).
                "environmentPermission": "Contributor",
                "repositories": [
                    {
                        "name": "team-repo",
                        "displayName": "Team templates",
                        "path": "builtin:sample-repository",
                    }
                ],
            }
        ],
    }


@dataclass
class World:
    sandbox: RunningSandbox
    root: Path
    now: datetime

    def resource(self, template: str) -> str:
        return template.replace("{subscriptionId}", str(self.sandbox["subscription_id"]))

    def vm(self, name: str) -> str:
        return self.resource(f"{APPS_GROUP_ID}/providers/Microsoft.Compute/virtualMachines/{name}")

    def connection(self, name: str) -> Path:
        """A connection file for one seeded principal: the ready-file's spnKey connection with
        that principal's credentials."""
        path = self.root / f"{name}.json"
        if not path.exists():
            ready = dict(self.sandbox.ready)
            credentials = ready["principals"][name]
            connection = json.loads(json.dumps(ready["connection"]))
            connection["parameters"]["serviceprincipalid"] = credentials["client_id"]
            connection["parameters"]["serviceprincipalkey"] = credentials["secret"]
            ready["connection"] = connection
            path.write_text(json.dumps(ready))
        return path

    def run(
        self, task: str, name: str, inputs: Mapping[str, str], connection: Path | None = None
    ) -> tuple[Output, list[dict[str, Any]]]:
        """`pytask run` as `name` (or the default principal); the output and its requests."""
        before = len(self.sandbox.requests_log())
        work = self.root / f"work-{task}-{name}-{before}"
        sources = work / "s"
        sources.mkdir(parents=True)
        (sources / "app.bin").write_bytes(b"least privilege\n" * 64)
        code, out, err = run_pytask(
            task,
            connection=connection or self.connection(name),
            inputs=inputs,
            work=work,
            sources=sources,
            variables={"Build.BuildId": "77", "System.DefinitionId": "5"},
        )
        assert code == 0, err
        return out, self.sandbox.requests_log()[before:]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("least-privilege")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    sandbox = start_sandbox(root / "state", seed=yaml.safe_dump(seed(now)), time_scale=0.002)
    try:
        yield World(sandbox, root, now)
    finally:
        sandbox.stop()


def publish_inputs(app: str) -> dict[str, str]:
    return {
        "resourceGroup": GALLERY_RG,
        "galleryName": GALLERY,
        "applicationName": app,
        "version": "1.0.0",
        "osType": "Linux",
        "package": "app.bin",
        "storageAccount": ACCOUNT,
        "storageContainer": CONTAINER,
        "installCommand": "./install.sh",
        "removeCommand": "./remove.sh",
        "targetRegions": "eastus",
    }


def deploy_inputs(world: World, version_id: str) -> dict[str, str]:
    vms = [world.vm(name) for name in VMS]
    return {"targets": "\n".join(vms), "applicationVersionId": version_id}


def lab_inputs(name: str) -> dict[str, str]:
    return {
        "lab": LAB,
        "labResourceGroup": LAB_RG,
        "name": name,
        "artifactSource": "Team templates",
        "template": "LinuxVMs",
        "parameters": json.dumps({"adminPassword": "Pa55-w0rd!x", "namePrefix": name}),
    }


ALERTS_CHECK = {
    "name": "alerts",
    "source": {"kind": "alerts", "severity": ["Sev0", "Sev1"]},
    "rule": {"threshold": "== 0"},
}


def gate_inputs(world: World, *extra: Any) -> dict[str, str]:
    vms = [world.vm(name) for name in VMS]
    cpu = {
        "name": "cpu",
        "source": {"kind": "metric", "metric": "Percentage CPU", "aggregation": "average"},
        "rule": {"threshold": "< 90", "aggregate": "mean"},
    }
    return {
        "targets": json.dumps(vms),
        "workspace": world.resource(WORKSPACE_ID),
        "checks": yaml.safe_dump(["heartbeat", "errorRate", cpu, *extra]),
        "deploymentStartTime": iso(world.now - timedelta(seconds=300)),
        "initialDelaySeconds": "0",
        "intervalSeconds": "1",
        "durationMinutes": "1",
        "consecutiveSuccessesToPass": "1",
    }


def blobs(world: World, prefix: str) -> list[str]:
    """Package blobs under `prefix`, listed by the default (unconstrained) principal: uploads go
    to Azurite, so the ARM request log does not show them."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in world.sandbox.env.items():
            patch.setenv(name, value)
        connection = read_connection_file(world.sandbox.ready_file, None).connection
        store = BlobStore.for_account(CloudSession.from_connection(connection), GALLERY_RG, ACCOUNT)
        container = store.service.get_container_client(CONTAINER)
        return [b.name for b in container.list_blobs(name_starts_with=prefix)]


def writes(requests: list[dict[str, Any]]) -> list[str]:
    return [
        f"{r['method']} {r['path']}"
        for r in requests
        if r["method"] in WRITES and r["path"].startswith("/subscriptions/")
    ]


def denied(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in requests if r["status"] == 403]


def assert_refused(out: Output, requests: list[dict[str, Any]], action: str) -> None:
    """Failed with one error that names the missing permission, and nothing written."""
    assert out.result == "Failed", out.plain
    assert len(out.errors) == 1, out.errors
    [message] = out.errors
    assert "403 AuthorizationFailed" in message and "unexpectedly" not in message, message
    assert "lacks a role" in message, message
    assert action.lower() in message.lower(), message
    assert denied(requests), "the sandbox refused nothing"
    assert writes(requests) == []


@pytest.fixture(scope="module")
def published(world: World) -> tuple[Output, list[dict[str, Any]]]:
    """PublishVmApp as the principal with exactly the documented roles."""
    return world.run("PublishVmApp", principal("PublishVmApp", True), publish_inputs("lpapp"))


def test_publish_with_the_documented_roles(
    world: World, published: tuple[Output, list[dict[str, Any]]]
) -> None:
    out, requests = published
    assert out.result == "Succeeded", out.errors
    assert denied(requests) == []
    assert out.outputs["applicationVersionId"].endswith("/applications/lpapp/versions/1.0.0")
    assert out.outputs["replicationState"] == "Completed"
    assert blobs(world, "lpapp/1.0.0/")  # uploaded with Entra ID, no shared key


def test_publish_without_gallery_write_fails_cleanly(world: World) -> None:
    out, requests = world.run(
        "PublishVmApp", principal("PublishVmApp", False), publish_inputs("lpdenied")
    )
    assert_refused(out, requests, "Microsoft.Compute/galleries/read")
    assert blobs(world, "lpdenied/") == []


def test_deploy_with_the_documented_roles(
    world: World, published: tuple[Output, list[dict[str, Any]]]
) -> None:
    version = published[0].outputs["applicationVersionId"]
    out, requests = world.run(
        "DeployVmApp", principal("DeployVmApp", True), deploy_inputs(world, version)
    )
    assert out.result == "Succeeded", out.errors
    assert denied(requests) == []


def test_deploy_without_vm_contributor_fails_cleanly(
    world: World, published: tuple[Output, list[dict[str, Any]]]
) -> None:
    version = published[0].outputs["applicationVersionId"]
    out, requests = world.run(
        "DeployVmApp", principal("DeployVmApp", False), deploy_inputs(world, version)
    )
    assert_refused(out, requests, "Microsoft.Compute/virtualMachines/read")


def test_lab_environment_with_the_documented_roles(world: World) -> None:
    out, requests = world.run("DevTestLabEnv", principal("DevTestLabEnv", True), lab_inputs("lp"))
    assert out.result == "Succeeded", out.errors
    assert denied(requests) == []
    assert json.loads(out.outputs["vmResourceIds"])


def test_lab_environment_without_lab_user_fails_cleanly(world: World) -> None:
    out, requests = world.run(
        "DevTestLabEnv", principal("DevTestLabEnv", False), lab_inputs("lpno")
    )
    assert_refused(out, requests, "Microsoft.DevTestLab/labs/read")


def test_gate_with_the_documented_roles(world: World) -> None:
    out, requests = world.run("HealthGate", principal("HealthGate", True), gate_inputs(world))
    assert out.result == "Succeeded", out.errors
    assert out.outputs["verdict"] == "Passed"
    assert denied(requests) == []


def test_gate_without_monitoring_reader_fails_cleanly(world: World) -> None:
    out, requests = world.run("HealthGate", principal("HealthGate", False), gate_inputs(world))
    assert_refused(out, requests, "Microsoft.Compute/virtualMachines/read")


def test_gate_alerts_check_needs_monitoring_reader_on_the_subscription(world: World) -> None:
    inputs = gate_inputs(world, ALERTS_CHECK)
    out, requests = world.run("HealthGate", principal("HealthGate", True), inputs)
    assert out.outputs["verdict"] == "Inconclusive", out.plain
    assert "Microsoft.AlertsManagement/alerts/read" in out.text
    assert any(r["status"] == 403 and r["path"].endswith("/alerts") for r in requests)
    out, requests = world.run("HealthGate", "healthgate-alerts", inputs)
    assert out.result == "Succeeded", out.errors
    assert out.outputs["verdict"] == "Passed"
    assert denied(requests) == []
