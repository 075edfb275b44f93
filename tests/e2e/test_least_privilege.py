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
from tests.reliability import ledger

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


def principal(task: str, without: int | None = None) -> str:
    """The principal holding `task`'s documented roles, all of them or all but one."""
    return f"{task.lower()}-{'full' if without is None else f'without-{without}'}"


def identity_seed() -> dict[str, Any]:
    principals, assignments = [], []
    for task, grants in DOCUMENTED.items():
        for without in (None, *range(len(grants))):
            name = principal(task, without)
            principals.append({"name": name, "kind": "spnKey"})
            assignments.append({"principal": name, "role": "Reader", "scope": ELSEWHERE})
            assignments += [
                {"principal": name, "role": g.role, "scope": g.scope}
                for i, g in enumerate(grants)
                if i != without
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
    assert out.result == "Failed", "\n".join(out.plain)
    assert len(out.errors) == 1, out.errors
    [message] = out.errors
    assert "answered 403 " in message and "unexpectedly" not in message, message
    assert "lacks a role" in message, message
    assert action.lower() in message.lower(), message
    # Blob traffic goes to Azurite, outside the ARM request log: its refusal shows in the error.
    assert denied(requests) or message.startswith("Azure Storage answered 403"), "nothing refused"
    assert writes(requests) == []


@pytest.fixture(scope="module", autouse=True)
def tally() -> Iterator[dict[str, int]]:
    """Counts for the reliability figures (tests/reliability/ledger.py), kept as tests pass."""
    counts = {"documented_grants": sum(map(len, DOCUMENTED.values())), "full_roles_passed": 0,
              "removals_refused_and_named": 0}  # fmt: skip
    yield counts
    ledger.record("least_privilege", tasks=len(DOCUMENTED), **counts)


@pytest.fixture(scope="module")
def published(world: World) -> tuple[Output, list[dict[str, Any]]]:
    """PublishVmApp as the principal with exactly the documented roles."""
    return world.run("PublishVmApp", principal("PublishVmApp"), publish_inputs("lpapp"))


def test_publish_with_the_documented_roles(
    world: World, published: tuple[Output, list[dict[str, Any]]], tally: dict[str, int]
) -> None:
    out, requests = published
    assert out.result == "Succeeded", out.errors
    assert denied(requests) == []
    assert out.outputs["applicationVersionId"].endswith("/applications/lpapp/versions/1.0.0")
    assert out.outputs["replicationState"] == "Completed"
    assert blobs(world, "lpapp/1.0.0/")  # uploaded with Entra ID, no shared key
    tally["full_roles_passed"] += 1


def test_deploy_with_the_documented_roles(
    world: World, published: tuple[Output, list[dict[str, Any]]], tally: dict[str, int]
) -> None:
    version = published[0].outputs["applicationVersionId"]
    out, requests = world.run(
        "DeployVmApp", principal("DeployVmApp"), deploy_inputs(world, version)
    )
    assert out.result == "Succeeded", out.errors
    assert denied(requests) == []
    tally["full_roles_passed"] += 1


def test_lab_environment_with_the_documented_roles(world: World, tally: dict[str, int]) -> None:
    out, requests = world.run("DevTestLabEnv", principal("DevTestLabEnv"), lab_inputs("lp"))
    assert out.result == "Succeeded", out.errors
    assert denied(requests) == []
    assert json.loads(out.outputs["vmResourceIds"])
    tally["full_roles_passed"] += 1


def test_gate_with_the_documented_roles(world: World, tally: dict[str, int]) -> None:
    out, requests = world.run("HealthGate", principal("HealthGate"), gate_inputs(world))
    assert out.result == "Succeeded", out.errors
    assert out.outputs["verdict"] == "Passed"
    assert denied(requests) == []
    tally["full_roles_passed"] += 1


# Each documented grant, removed alone, and the permission the task's one error must then name:
# every row of the table is needed, and a missing one is diagnosed, not guessed at.
MISSING: dict[tuple[str, str], str] = {
    ("PublishVmApp", "Contributor"): "Microsoft.Compute/galleries/read",
    ("PublishVmApp", "Storage Blob Data Contributor"): "containers/blobs/read",
    ("PublishVmApp", "Storage Blob Delegator"): "blobServices/generateUserDelegationKey/action",
    ("PublishVmApp", "Reader"): "Microsoft.Storage/storageAccounts/read",
    ("DeployVmApp", "Virtual Machine Contributor"): "Microsoft.Compute/virtualMachines/read",
    ("DeployVmApp", "Reader"): "Microsoft.Compute/galleries/applications/read",
    ("DevTestLabEnv", "DevTest Labs User"): "Microsoft.DevTestLab/labs/read",
    ("HealthGate", "Log Analytics Reader"): "Microsoft.OperationalInsights/workspaces/query/read",
    ("HealthGate", "Monitoring Reader"): "Microsoft.Compute/virtualMachines/read",
}
REMOVALS = [
    pytest.param(task, index, id=f"{task}-without-{grant.role.replace(' ', '')}")
    for task, grants in DOCUMENTED.items()
    for index, grant in enumerate(grants)
]


def inputs_for(world: World, task: str, tag: str, published: Output) -> dict[str, str]:
    if task == "PublishVmApp":
        return publish_inputs(f"lpdenied{tag}")
    if task == "DeployVmApp":
        return deploy_inputs(world, published.outputs["applicationVersionId"])
    if task == "DevTestLabEnv":
        return lab_inputs(f"lpno{tag}")
    return gate_inputs(world)


@pytest.mark.parametrize(("task", "index"), REMOVALS)
def test_each_documented_role_is_needed_and_its_absence_is_named(
    world: World,
    published: tuple[Output, list[dict[str, Any]]],
    tally: dict[str, int],
    task: str,
    index: int,
) -> None:
    role = DOCUMENTED[task][index].role
    out, requests = world.run(
        task, principal(task, index), inputs_for(world, task, str(index), published[0])
    )
    assert_refused(out, requests, MISSING[(task, role)])
    tally["removals_refused_and_named"] += 1
    if task == "PublishVmApp":
        assert blobs(world, f"lpdenied{index}/") == []


def test_gate_alerts_check_needs_monitoring_reader_on_the_subscription(world: World) -> None:
    inputs = gate_inputs(world, ALERTS_CHECK)
    out, requests = world.run("HealthGate", principal("HealthGate"), inputs)
    assert_refused(out, requests, "Microsoft.AlertsManagement/alerts/read")
    assert any(r["status"] == 403 and r["path"].endswith("/alerts") for r in requests)
    out, requests = world.run("HealthGate", "healthgate-alerts", inputs)
    assert out.result == "Succeeded", out.errors
    assert out.outputs["verdict"] == "Passed"
    assert denied(requests) == []
