"""Reliability 2 (issue 9): crash and resume. Each task is started as the agent starts it,
SIGKILLed after the k-th request the sandbox logged for it (k random, inside the task's work:
from its last read before the first write to its last request, as an uninterrupted run of the
same task measured them), then run again with the same inputs. The re-run must succeed, leave
the final state an uninterrupted run leaves, and keep the invariants (tests/reliability/
invariants.py). DeployVmApp also goes back with `action: rollback`, from the rollbackState the
killed run output before its first write, and from the one its re-run output (which must still
name what the targets ran before the killed attempt: each round is one pipeline run, its
attempts share Build.BuildId). DevTestLabEnv covers environments and lab VMs (`kind: vm`).

`ledger.scale(2, 50)` kills per task. RELIABILITY_SEED fixes the random kill points.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import RunningSandbox, start_sandbox
from tests.e2e.test_deploy_world import GALLERY_API, RG, base_seed, publish_version
from tests.helpers.agent_env import StartedTask, start_pytask
from tests.helpers.vso import Output
from tests.reliability import invariants, ledger
from tests.reliability.invariants import Cloud

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

KILLS = ledger.scale(2, 50)
SEED = int(os.environ.get("RELIABILITY_SEED", random.SystemRandom().randrange(10**6)))
ACCOUNT, CONTAINER, GALLERY = "vmapppackages", "packages", "releases"
VARIABLES = {"Build.SourceVersion": "0123456789abcdef", "Build.BuildId": "42"}
WRITES = ("PUT", "PATCH", "DELETE", "POST")
LAB_RG, LAB = "rg-lab", "dtl-crash"
LAB_SEED = [
    {
        "name": LAB,
        "resourceGroup": LAB_RG,
        "repositories": [
            {"name": "team-repo", "displayName": "Team", "path": "builtin:sample-repository"}
        ],
    }
]
GATE_VMS = ("healthy-1", "healthy-2")


# --- the harness -------------------------------------------------------------------------------
class RequestCounter:
    """Counts the sandbox's logged requests from now on, reading only what was appended."""

    def __init__(self, running: RunningSandbox) -> None:
        self.path = running.state_dir / "requests.jsonl"
        self.offset = self.path.stat().st_size if self.path.exists() else 0
        self.count = 0

    def poll(self) -> int:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            chunk = log.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        self.count += complete.count(b"\n")
        return self.count


@dataclass
class Run:
    """One task run: its output and the requests the sandbox logged meanwhile."""

    out: Output
    stderr: str
    requests: list[dict[str, Any]]
    killed: bool = False
    seconds: float = 0.0

    @property
    def first_write(self) -> int:
        """How many requests came before the first ARM write (a token POST writes nothing)."""
        for index, request in enumerate(self.requests):
            if request["method"] in WRITES and request["path"].startswith("/subscriptions/"):
                return index
        return len(self.requests)


def run_task(
    running: RunningSandbox,
    task: str,
    inputs: Mapping[str, str],
    logs: Path,
    kill_after: int | None = None,
    sources: Path | None = None,
    variables: Mapping[str, str] | None = None,
) -> Run:
    """Run the task to its end, or SIGKILL it once `kill_after` requests were logged."""
    before = len(running.requests_log())
    counter = RequestCounter(running)
    began = time.monotonic()
    started = start_pytask(
        task,
        connection=running.ready_file,
        inputs=inputs,
        variables={**VARIABLES, **(variables or {})},
        sources=sources,
        work=logs / "work",
    )
    killed = False
    deadline = time.monotonic() + 180
    while kill_after is not None and started.running() and time.monotonic() < deadline:
        if counter.poll() >= kill_after:
            killed = started.kill()
            break
        time.sleep(0.005)
    code, out, stderr = _finish(started)
    assert killed or code == 0, stderr
    requests = running.requests_log()[before:]
    took = time.monotonic() - began
    print(f"{task} {len(requests)} requests, {took:.1f} s, killed={killed}")
    return Run(out, stderr, requests, killed, took)


def _finish(started: StartedTask) -> tuple[int, Output, str]:
    return started.wait(timeout=180)


def kill_point(rng: random.Random, reference: Run) -> int:
    """k inside the task's work: from its last read before the first write to its last-but-one
    request (a kill after the last one would find the task already finished)."""
    low = max(1, reference.first_write)
    high = max(low, len(reference.requests) - 1)
    return rng.randint(low, high)


@dataclass
class Tally:
    """One task's counts."""

    kills: int = 0
    finished_first: int = 0  # the kill point came after the task had ended
    reruns: int = 0
    reruns_succeeded: int = 0
    rollbacks: int = 0  # DeployVmApp: re-runs that went back with the killed run's state
    rerun_rollbacks: int = 0  # DeployVmApp: rollbacks from the re-run's state after a re-run
    invariant_violations: list[str] = field(default_factory=list)
    final_state_mismatches: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "kills": self.kills,
            "finished_before_kill": self.finished_first,
            "reruns": self.reruns,
            "reruns_succeeded": self.reruns_succeeded,
            "rollbacks": self.rollbacks,
            "rerun_rollbacks": self.rerun_rollbacks,
            "invariant_violations": len(self.invariant_violations),
            "final_state_mismatches": len(self.final_state_mismatches),
        }


TALLIES: dict[str, Tally] = {}


def record(task: str, tally: Tally) -> None:
    """Record every task's counts so far (each test adds its own: partial runs still report)."""
    TALLIES[task] = tally
    totals = [t.counts() for t in TALLIES.values()]
    ledger.record(
        "crash_resume",
        kills=sum(t["kills"] for t in totals),
        per_task={name: t.counts() for name, t in TALLIES.items()},
        reruns_succeeded=sum(t["reruns_succeeded"] for t in totals),
        reruns=sum(t["reruns"] for t in totals),
        invariant_violations=sum(t["invariant_violations"] for t in totals),
        final_state_mismatches=sum(t["final_state_mismatches"] for t in totals),
        seed=SEED,
    )


def rerun_ok(tally: Tally, run: Run) -> bool:
    tally.reruns += 1
    ok = run.out.result in ("Succeeded", "SucceededWithIssues")
    tally.reruns_succeeded += ok
    return ok


def crash_then_rerun(
    tally: Tally,
    running: RunningSandbox,
    task: str,
    inputs: Mapping[str, str],
    logs: Path,
    k: int,
    sources: Path | None = None,
) -> tuple[Run, Run]:
    """The killed run and the re-run that follows it."""
    crashed = run_task(running, task, inputs, logs / "killed", kill_after=k, sources=sources)
    tally.kills += crashed.killed
    tally.finished_first += not crashed.killed
    again = run_task(running, task, inputs, logs / "rerun", sources=sources)
    if not rerun_ok(tally, again):
        tally.invariant_violations.append(f"{task} re-run after kill at {k}: {again.out.errors}")
    return crashed, again


def compare(tally: Tally, label: str, wanted: Any, got: Any) -> None:
    if wanted != got:
        tally.final_state_mismatches.append(f"{label}: wanted {wanted!r}, got {got!r}")


def report(tally: Tally) -> str:
    return "\n".join(tally.invariant_violations + tally.final_state_mismatches)


# --- the gallery world (PublishVmApp, DeployVmApp) ----------------------------------------------
GALLERY_SEED = base_seed(
    {
        "virtualMachines": [
            {"name": "vm-1", "resourceGroup": RG},
            {"name": "vm-2", "resourceGroup": RG},
        ],
        "scaleSets": [{"name": "ss-manual", "resourceGroup": RG, "instances": 2}],
    }
)


@dataclass
class World:
    """One sandbox for the four tasks: a gallery with a storage account, two VMs and a Manual
    scale set, a lab, and a workspace with telemetry for two VMs (the gate's)."""

    cloud: Cloud
    gate: Any  # tests.e2e.test_health_gate.GateWorld


def world_seed(now: datetime) -> dict[str, Any]:
    from tests.e2e.test_health_gate import seed as gate_seed

    seed = dict(GALLERY_SEED)
    gate = gate_seed(now)
    workspace = dict(gate["workspaces"][0])
    workspace["machines"] = [m for m in workspace["machines"] if m["computer"] in GATE_VMS]
    seed["resourceGroups"] = [*seed["resourceGroups"], *gate["resourceGroups"]]
    seed["resourceGroups"].append({"name": LAB_RG, "location": "eastus"})
    seed["virtualMachines"] = [
        *seed["virtualMachines"],
        *(v for v in gate["virtualMachines"] if v["name"] in GATE_VMS),
    ]
    seed["workspaces"] = [workspace]
    seed["labs"] = LAB_SEED
    return seed


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from tests.e2e.test_health_gate import GateWorld, _workspace_id, deployed_at

    now = datetime.now(timezone.utc).replace(microsecond=0)
    state = tmp_path_factory.mktemp("crash") / "state"
    running = start_sandbox(state, seed=yaml.safe_dump(world_seed(now)), time_scale=0.001)
    try:
        cloud = Cloud(running)
        for version in ("1.0.0", "1.1.0"):
            publish_version(cloud.sandbox, cloud.arm, "agent", version)
        gate = GateWorld(running, _workspace_id(running), now, deployed_at(now))
        yield World(cloud, gate)
    finally:
        running.stop()


@pytest.fixture(scope="module")
def rng() -> random.Random:
    return random.Random(SEED)


def publish_inputs(version: str) -> dict[str, str]:
    return {
        "resourceGroup": RG,
        "galleryName": GALLERY,
        "applicationName": "webapp",
        "version": version,
        "osType": "Linux",
        "package": "app.bin",
        "storageAccount": ACCOUNT,
        "storageContainer": CONTAINER,
        "installCommand": "./install.sh",
        "removeCommand": "./remove.sh",
        "targetRegions": "eastus\nwestus:2",
        "tags": "team: payments",
    }


def version_snapshot(cloud: Cloud, version: str) -> dict[str, Any] | None:
    """The version as ARM shows it, with what differs between versions by design (its name,
    the SAS, times) taken out."""
    found = cloud.get(cloud.sandbox.version_id("webapp", version), GALLERY_API)
    if found is None:
        return None
    props = found["properties"]
    profile = dict(props["publishingProfile"])
    media = str(profile.pop("source")["mediaLink"]).split("?", 1)[0]
    profile.pop("publishedDate", None)
    text = json.dumps(
        {
            "state": props["provisioningState"],
            "media": media,
            "profile": profile,
            "tags": found.get("tags"),
            "safety": props.get("safetyProfile"),
        },
        sort_keys=True,
    )
    return dict(json.loads(text.replace(f"/{version}/", "/{version}/")))


def gallery_invariants(cloud: Cloud) -> list[str]:
    return (
        invariants.duplicate_versions(cloud)
        + invariants.unsettled_versions(cloud)
        + invariants.leaked_blobs(cloud, RG, ACCOUNT, CONTAINER)
    )


@pytest.mark.timeout(3600)
def test_publish_resumes_after_a_kill(world: World, rng: random.Random, tmp_path: Path) -> None:
    cloud, tally = world.cloud, Tally()
    sources = tmp_path / "s"
    sources.mkdir()
    (sources / "app.bin").write_bytes(b"one release, many versions\n" * 5000)
    reference = run_task(
        cloud.running, "PublishVmApp", publish_inputs("1.0.0"), tmp_path / "ref", sources=sources
    )
    assert reference.out.result == "Succeeded", reference.out.errors
    wanted = version_snapshot(cloud, "1.0.0")
    for index in range(KILLS):
        version = f"1.0.{index + 1}"
        k = kill_point(rng, reference)
        _, again = crash_then_rerun(
            tally,
            cloud.running,
            "PublishVmApp",
            publish_inputs(version),
            tmp_path / version,
            k,
            sources,
        )
        label = f"publish {version} killed after request {k}"
        compare(tally, label, wanted, version_snapshot(cloud, version))
        compare(
            tally,
            label + " (output)",
            cloud.sandbox.version_id("webapp", version),
            again.out.outputs.get("applicationVersionId"),
        )
        tally.invariant_violations += [f"{label}: {v}" for v in gallery_invariants(cloud)]
    record("PublishVmApp", tally)
    assert not tally.invariant_violations and not tally.final_state_mismatches, report(tally)
    assert tally.reruns_succeeded == tally.reruns == KILLS


# --- DeployVmApp -------------------------------------------------------------------------------
def deploy_targets(cloud: Cloud) -> list[str]:
    sandbox = cloud.sandbox
    return [sandbox.vm_id("vm-1"), sandbox.vm_id("vm-2"), sandbox.vmss_id("ss-manual")]


def deploy_inputs(cloud: Cloud, version: str) -> dict[str, str]:
    return {
        "targets": "\n".join(deploy_targets(cloud)),
        "applicationVersionId": cloud.sandbox.version_id("agent", version),
        "batchSize": "1",
    }


def targets_snapshot(cloud: Cloud) -> dict[str, Any]:
    """Each target's application entries and what each of its machines reports."""
    snapshot: dict[str, Any] = {}
    for target in deploy_targets(cloud):
        model = cloud.arm.get(target)
        props = model["properties"]
        profile = (props.get("virtualMachineProfile") or props).get("applicationProfile") or {}
        entries = [
            {k: v for k, v in sorted(e.items())} for e in profile.get("galleryApplications") or []
        ]
        if "virtualMachineProfile" in props:
            listing = cloud.arm.get(f"{target}/virtualMachines?$expand=instanceView")["value"]
            machines = {
                i["instanceId"]: _installed(i["properties"].get("instanceView") or {})
                for i in listing
            }
        else:
            machines = {"vm": _installed(cloud.arm.get(f"{target}/instanceView"))}
        snapshot[target.rsplit("/", 1)[-1]] = {"entries": entries, "machines": machines}
    return snapshot


def _installed(view: Mapping[str, Any]) -> dict[str, tuple[str, bool]] | None:
    """application -> (version, succeeded): the verb in the result ("Install SUCCESS",
    "Update SUCCESS") tells the machine's history, which differs between runs by design."""
    reported = invariants.reported_apps(view)
    if reported is None:
        return None
    return {
        app: (version, "SUCCESS" in result.upper()) for app, (version, result) in reported.items()
    }


def deploy_checks(cloud: Cloud, label: str) -> list[str]:
    return [f"{label}: {v}" for v in invariants.half_applied(cloud, deploy_targets(cloud))]


def pipeline_run(index: int) -> dict[str, str]:
    """Round `index` is one pipeline run: its killed attempt, re-run and rollback share it."""
    return {"Build.BuildId": str(1000 + index), "System.StageAttempt": "1"}


@pytest.mark.timeout(3600)
def test_deploy_resumes_or_rolls_back_after_a_kill(
    world: World, rng: random.Random, tmp_path: Path
) -> None:
    """Each round kills a deploy to the other version, then: odd rounds roll back from the
    killed run's rollbackState; even rounds re-run it, and every other even round then rolls
    back from the RE-RUN's rollbackState (the original state, not the half-applied one the
    re-run found); the rest keep the new version."""
    cloud, tally = world.cloud, Tally()
    reference = run_task(
        cloud.running, "DeployVmApp", deploy_inputs(cloud, "1.0.0"), tmp_path / "ref"
    )
    assert reference.out.result == "Succeeded", reference.out.errors
    on = {"1.0.0": targets_snapshot(cloud)}
    assert not deploy_checks(cloud, "reference"), deploy_checks(cloud, "reference")
    current = "1.0.0"
    for index in range(KILLS):
        version = "1.1.0" if current == "1.0.0" else "1.0.0"
        before = targets_snapshot(cloud)
        k = kill_point(rng, reference)
        logs, attempt = tmp_path / f"kill-{index}", pipeline_run(index)
        inputs = deploy_inputs(cloud, version)
        label = f"deploy {version} killed after request {k}"
        crashed = run_task(
            cloud.running, "DeployVmApp", inputs, logs / "killed", k, variables=attempt
        )
        tally.kills += crashed.killed
        tally.finished_first += not crashed.killed
        state = crashed.out.outputs.get("rollbackState")
        if index % 2 == 1 and state:
            # Back to where the killed run started, from the state it output first.
            label += ", rolled back"
            tally.rollbacks += 1
            again = roll_back(cloud, state, logs / "rollback", attempt)
            wanted = before
        else:
            again = run_task(
                cloud.running, "DeployVmApp", inputs, logs / "rerun", variables=attempt
            )
            wanted = on.get(version)
            current = version
        if not rerun_ok(tally, again):
            tally.invariant_violations.append(f"{label}: re-run {again.out.errors}")
        got = targets_snapshot(cloud)
        on.setdefault(current, got)
        if wanted is not None:
            compare(tally, label, wanted, got)
        tally.invariant_violations += deploy_checks(cloud, label)
        rerun_state = again.out.outputs.get("rollbackState")
        if index % 4 == 0 and rerun_state and current == version:
            # The re-run found some targets already on `version`; its state must still name
            # what they ran before the killed attempt.
            label += ", re-run, rolled back from the re-run's state"
            tally.rerun_rollbacks += 1
            back = roll_back(cloud, rerun_state, logs / "rerun-rollback", attempt)
            if back.out.result not in ("Succeeded", "SucceededWithIssues"):
                tally.invariant_violations.append(f"{label}: {back.out.errors}")
            compare(tally, label, before, targets_snapshot(cloud))
            tally.invariant_violations += deploy_checks(cloud, label)
            current = "1.1.0" if version == "1.0.0" else "1.0.0"
    record("DeployVmApp", tally)
    assert not tally.invariant_violations and not tally.final_state_mismatches, report(tally)
    assert tally.reruns_succeeded == tally.reruns == KILLS


def roll_back(cloud: Cloud, state: str, logs: Path, attempt: Mapping[str, str]) -> Run:
    back = {"action": "rollback", "rollbackState": state}
    return run_task(cloud.running, "DeployVmApp", back, logs, variables=attempt)


# --- DevTestLabEnv -----------------------------------------------------------------------------
def lab_id(cloud: Cloud) -> str:
    return (
        f"/subscriptions/{cloud.sandbox.subscription}/resourceGroups/{LAB_RG}"
        f"/providers/Microsoft.DevTestLab/labs/{LAB}"
    )


def env_inputs(name: str, action: str = "create") -> dict[str, str]:
    parameters = {"adminPassword": "Pa55-w0rd!x", "namePrefix": "app", "vmCount": 1}
    return {
        "lab": LAB,
        "labResourceGroup": LAB_RG,
        "action": action,
        "name": name,
        "artifactSource": "Team",
        "template": "LinuxVMs",
        "parameters": json.dumps(parameters),
        "expiresInHours": "4",
    }


def environment_snapshot(cloud: Cloud, name: str) -> dict[str, Any] | None:
    """The environment, its group's tags and the resources in it, less what a name or a run's
    moment changes (group name, expiry and creation stamps)."""
    environments = invariants.lab_environments(cloud, lab_id(cloud))
    found = [e for e in environments if str(e["name"]).lower() == name.lower()]
    if not found:
        return None
    env = found[0]
    group = str(env["properties"].get("resourceGroupId") or "")
    group_doc = cloud.get(group, "2024-03-01") if group else None
    inside = sorted(
        f"{r['type']}/{r['name']}"
        for r in cloud.resources()
        if group and str(r["id"]).lower().startswith(group.lower() + "/")
    )

    def stable(tags: Mapping[str, str] | None) -> dict[str, str]:
        return {k: v for k, v in (tags or {}).items() if k not in TIME_TAGS}

    snapshot = {
        "state": env["properties"].get("provisioningState"),
        "tags": stable(env.get("tags")),
        "group_tags": stable((group_doc or {}).get("tags")),
        "resources": inside,
    }
    # The environment's name shows in its group's tag and its deployment's name (with a
    # random suffix DevTest Labs picks).
    text = re.sub(rf"deployments/{name}-\w+", "deployments/{name}", json.dumps(snapshot))
    return dict(json.loads(text.replace(f"/environments/{name}", "/environments/{name}")))


TIME_TAGS = ("vmapp.expiresAt", "vmapp.createdAt")


@pytest.mark.timeout(3600)
def test_lab_environment_create_and_delete_resume_after_a_kill(
    world: World, rng: random.Random, tmp_path: Path
) -> None:
    cloud, tally = world.cloud, Tally()
    task = "DevTestLabEnv"
    reference = run_task(cloud.running, task, env_inputs("ref"), tmp_path / "ref")
    assert reference.out.result == "Succeeded", reference.out.errors
    wanted = environment_snapshot(cloud, "ref")
    deleted = run_task(cloud.running, task, env_inputs("ref", "delete"), tmp_path / "ref-del")
    assert deleted.out.result == "Succeeded", deleted.out.errors
    assert not invariants.lab_leftovers(cloud, lab_id(cloud), "ref")
    # Each round kills a create and then the delete of what it made: two kills.
    for index in range((KILLS + 1) // 2):
        name = f"crash-{index}"
        k = kill_point(rng, reference)
        logs = tmp_path / name
        crash_then_rerun(tally, cloud.running, task, env_inputs(name), logs, k)
        label = f"create {name} killed after request {k}"
        compare(tally, label, wanted, environment_snapshot(cloud, name))
        # One environment, hence one resource group: a killed create must not leave a second.
        groups = invariants.environment_groups(cloud, name)
        if len(groups) != 1:
            tally.invariant_violations.append(f"{label}: resource groups {groups}")
        k = kill_point(rng, deleted)
        crash_then_rerun(tally, cloud.running, task, env_inputs(name, "delete"), logs / "del", k)
        tally.invariant_violations += [
            f"delete {name} killed after request {k}: {v}"
            for v in invariants.lab_leftovers(cloud, lab_id(cloud), name)
        ]
    record(task, tally)
    assert not tally.invariant_violations and not tally.final_state_mismatches, report(tally)
    assert tally.reruns_succeeded == tally.reruns == 2 * ((KILLS + 1) // 2)


def vm_inputs(name: str, action: str = "create") -> dict[str, str]:
    """Two lab VMs (`name`-1, `name`-2) from a gallery image, or their delete."""
    common = {"lab": LAB, "labResourceGroup": LAB_RG, "action": action, "kind": "vm"}
    if action == "delete":
        return {**common, "name": name}
    return {
        **common,
        "name": name,
        "vmCount": "2",
        "image": "Canonical:ubuntu-24_04-lts:server",
        "size": "Standard_B2s",
        "userName": "azureuser",
        "password": "Pa55-w0rd!x",
        "expiresInHours": "4",
    }


def lab_vm_names(name: str) -> list[str]:
    return [f"{name}-1", f"{name}-2"]


def lab_vms_snapshot(cloud: Cloud, name: str) -> list[dict[str, Any]]:
    """The lab VMs of this name and their compute VMs, less what a name or a run's moment
    changes (names, ids, expiry and creation stamps)."""
    listing = cloud.arm.get(f"{lab_id(cloud)}/virtualMachines", invariants.DTL_API)
    found = []
    for vm in sorted(listing.get("value") or [], key=lambda v: str(v["name"])):
        if str(vm["name"]).lower() not in lab_vm_names(name):
            continue
        props = vm["properties"]
        compute = cloud.get(str(props.get("computeId") or "")) if props.get("computeId") else None
        found.append(
            {
                "name": str(vm["name"]).replace(name, "{name}"),
                "state": props.get("provisioningState"),
                "size": props.get("size"),
                "tags": {k: v for k, v in (vm.get("tags") or {}).items() if k not in TIME_TAGS},
                "compute": None if compute is None else compute["properties"]["provisioningState"],
            }
        )
    return found


@pytest.mark.timeout(3600)
def test_lab_vm_create_and_delete_resume_after_a_kill(
    world: World, rng: random.Random, tmp_path: Path
) -> None:
    """Lab VMs (`kind: vm`): a create killed mid-way and re-run ends with the VMs an
    uninterrupted create makes (reused, not doubled); a delete killed mid-way and re-run
    leaves no lab VM and no compute VM of those names."""
    cloud, tally = world.cloud, Tally()
    task = "DevTestLabEnv"
    reference = run_task(cloud.running, task, vm_inputs("ref"), tmp_path / "ref")
    assert reference.out.result == "Succeeded", reference.out.errors
    wanted = lab_vms_snapshot(cloud, "ref")
    assert [v["compute"] for v in wanted] == ["Succeeded", "Succeeded"], wanted
    deleted = run_task(cloud.running, task, vm_inputs("ref", "delete"), tmp_path / "ref-del")
    assert deleted.out.result == "Succeeded", deleted.out.errors
    assert not invariants.lab_vm_leftovers(cloud, lab_id(cloud), lab_vm_names("ref"))
    # Each round kills a create and then the delete of what it made: two kills.
    for index in range((KILLS + 1) // 2):
        name = f"cvm{index}"
        k = kill_point(rng, reference)
        logs = tmp_path / name
        _, again = crash_then_rerun(tally, cloud.running, task, vm_inputs(name), logs, k)
        label = f"create lab VMs {name} killed after request {k}"
        compare(tally, label, wanted, lab_vms_snapshot(cloud, name))
        ids = json.loads(again.out.outputs.get("vmResourceIds") or "[]")
        compare(tally, label + " (output)", lab_vm_names(name), [i.rsplit("/", 1)[-1] for i in ids])
        k = kill_point(rng, deleted)
        crash_then_rerun(tally, cloud.running, task, vm_inputs(name, "delete"), logs / "del", k)
        tally.invariant_violations += [
            f"delete lab VMs {name} killed after request {k}: {v}"
            for v in invariants.lab_vm_leftovers(cloud, lab_id(cloud), lab_vm_names(name))
        ]
    record("DevTestLabEnv (lab VMs)", tally)
    assert not tally.invariant_violations and not tally.final_state_mismatches, report(tally)
    assert tally.reruns_succeeded == tally.reruns == 2 * ((KILLS + 1) // 2)


def test_a_create_killed_before_its_group_was_tagged_is_finished_by_the_rerun(
    world: World, tmp_path: Path
) -> None:
    """The window the random kills found: the environment exists, its resource group does
    not carry the run's tags yet. The re-run reuses the environment and tags the group."""
    cloud, task = world.cloud, "DevTestLabEnv"
    name = "untagged"
    reference = run_task(cloud.running, task, env_inputs("tagged"), tmp_path / "ref")
    assert reference.out.result == "Succeeded", reference.out.errors
    put = next(
        i
        for i, r in enumerate(reference.requests)
        if r["method"] == "PUT" and "/environments/" in r["path"]
    )
    # Killed while it waits for the deployment, before its PATCH of the group's tags.
    crashed = run_task(
        cloud.running, task, env_inputs(name), tmp_path / "killed", kill_after=put + 1
    )
    assert crashed.killed and not [r for r in crashed.requests if r["method"] == "PATCH"]
    again = run_task(cloud.running, task, env_inputs(name), tmp_path / "rerun")
    assert again.out.result == "Succeeded", again.out.errors
    assert environment_snapshot(cloud, name) == environment_snapshot(cloud, "tagged")


# --- HealthGate ----------------------------------------------------------------------------------
def gate_inputs(world: Any) -> dict[str, str]:
    from tests.e2e.test_health_gate import deployed_at, iso

    return {
        "targets": json.dumps([world.vm(name) for name in GATE_VMS]),
        "workspace": world.workspace_id,
        "checks": yaml.safe_dump(["errorRate"]),
        "deploymentStartTime": iso(deployed_at(world.now, "healthy")),
        "initialDelaySeconds": "0",
        "intervalSeconds": "1",
        "durationMinutes": "1",
        "consecutiveSuccessesToPass": "2",
    }


def arm_writes(run: Run) -> list[str]:
    return [
        f"{r['method']} {r['path']}"
        for r in run.requests
        if r["method"] in ("PUT", "PATCH", "DELETE") and r["path"].startswith("/subscriptions/")
    ]


@pytest.mark.timeout(3600)
def test_health_gate_reaches_the_same_verdict_after_a_kill(
    world: World, rng: random.Random, tmp_path: Path
) -> None:
    running, tally = world.cloud.running, Tally()
    inputs = gate_inputs(world.gate)
    reference = run_task(running, "HealthGate", inputs, tmp_path / "ref")
    assert reference.out.outputs.get("verdict") == "Passed", reference.out.plain
    for index in range(KILLS):
        # After the first Log Analytics query was answered: mid-evaluation.
        first = next(i for i, r in enumerate(reference.requests) if r["path"].startswith("/v1/"))
        k = rng.randint(first + 1, max(first + 1, len(reference.requests) - 1))
        crashed, again = crash_then_rerun(
            tally, running, "HealthGate", inputs, tmp_path / f"kill-{index}", k
        )
        label = f"gate killed after request {k}"
        compare(tally, label, "Passed", again.out.outputs.get("verdict"))
        for run in (crashed, again):
            tally.invariant_violations += [f"{label}: gate wrote {w}" for w in arm_writes(run)]
    record("HealthGate", tally)
    assert not tally.invariant_violations and not tally.final_state_mismatches, report(tally)
    assert tally.reruns_succeeded == tally.reruns == KILLS
