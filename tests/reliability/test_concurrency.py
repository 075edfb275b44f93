"""Reliability 3 (issue 9): concurrency. Two pipelines at once, each task run as the agent runs
it (tests/helpers/agent_env.start_pytask), against one sandbox:

- two PublishVmApp runs of the same version with the same inputs: one creates it, the other
  finds it identical (a no-op) or fails with a clear conflict; never a version that is not
  the one an uninterrupted run makes, never a second blob;
- two DeployVmApp runs of different applications to the same scale set, and to the same VM:
  both applications are on the target at the end and installed everywhere (the If-Match/412
  re-read keeps a concurrent change; nothing else would).

`ledger.scale(1, 10)` rounds of the three.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import start_sandbox
from tests.e2e.test_deploy_world import GALLERY_API, RG, base_seed, publish_version
from tests.helpers.agent_env import start_pytask
from tests.helpers.vso import Output
from tests.reliability import invariants, ledger
from tests.reliability.invariants import Cloud
from tests.reliability.test_crash_resume import (
    ACCOUNT,
    CONTAINER,
    VARIABLES,
    gallery_invariants,
    publish_inputs,
    version_snapshot,
)

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

ROUNDS = ledger.scale(1, 10)
SEED = base_seed(
    {
        "virtualMachines": [{"name": "vm-shared", "resourceGroup": RG}],
        "scaleSets": [{"name": "ss-shared", "resourceGroup": RG, "instances": 2}],
    }
)
# What a losing publish may say instead of finding the version identical.
CONFLICT_WORDS = ("conflict", "in progress", "already exists", "another operation")
# What a publish that wrote no version says (found it identical, or being written).
NO_OP_WORDS = ("nothing to write", "another run is creating it")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    state = tmp_path_factory.mktemp("concurrency") / "state"
    running = start_sandbox(state, seed=yaml.safe_dump(SEED), time_scale=0.01)
    try:
        yield Cloud(running)
    finally:
        running.stop()


def together(
    cloud: Cloud,
    task: str,
    runs: list[Mapping[str, str]],
    work: Path,
    sources: Path | None = None,
) -> list[Output]:
    """Start every run, then wait for all; their outputs in order."""
    started = [
        start_pytask(
            task,
            connection=cloud.running.ready_file,
            inputs=inputs,
            variables=VARIABLES,
            work=work / str(index),
            sources=sources,
        )
        for index, inputs in enumerate(runs)
    ]
    outputs = []
    for run in started:
        code, out, stderr = run.wait(timeout=180)
        assert code == 0, stderr
        outputs.append(out)
    return outputs


def is_clear_conflict(out: Output) -> bool:
    text = " ".join(out.errors).lower()
    return out.result == "Failed" and any(word in text for word in CONFLICT_WORDS)


def package_blobs(cloud: Cloud, version: str) -> list[str]:
    """Blobs in the version's folder of the package container."""
    _, names = invariants.blob_names(cloud, RG, ACCOUNT, CONTAINER)
    return [n for n in names if f"/{version}/" in n]


def hold(cloud: Cloud, method: str, path: str) -> None:
    """Delay the first matching request by a second (then it proceeds as sent)."""
    rule = {"name": "hold", "method": method, "path": path, "nth": 1, "inject": "delay",
            "seconds": 1}  # fmt: skip
    cloud.running.set_faults(yaml.safe_dump({"rules": [rule]}))


def apps_on(cloud: Cloud, target: str) -> list[str]:
    model = cloud.arm.get(target)
    props = model["properties"]
    profile = (props.get("virtualMachineProfile") or props).get("applicationProfile") or {}
    return sorted(str(e["packageReferenceId"]) for e in profile.get("galleryApplications") or [])


@pytest.mark.timeout(3600)
def test_two_pipelines_at_once(cloud: Cloud, tmp_path: Path) -> None:
    counts = {"rounds": 0, "publish_pairs": 0, "publish_noop": 0, "publish_conflicts": 0,
              "deploy_pairs": 0, "deploy_412_refusals": 0}  # fmt: skip
    problems: list[str] = []
    (tmp_path / "app.bin").write_bytes(b"one release, many versions\n" * 5000)
    reference = together(
        cloud, "PublishVmApp", [publish_inputs("9.0.0")], tmp_path / "ref", tmp_path
    )[0]
    assert reference.result == "Succeeded", reference.errors
    wanted = version_snapshot(cloud, "9.0.0")
    for index in range(ROUNDS):
        counts["rounds"] += 1
        version = f"9.1.{index}"
        work = tmp_path / f"round-{index}"
        problems += _publish_pair(cloud, version, work, tmp_path, wanted, counts)
        problems += _deploy_pair(cloud, index, "ss-shared", work / "ss", counts)
        problems += _deploy_pair(cloud, index, "vm-shared", work / "vm", counts)
    ledger.record("concurrency", **counts, violations=len(problems))
    assert not problems, "\n".join(problems)


def _publish_pair(
    cloud: Cloud, version: str, work: Path, sources: Path, wanted: Any, counts: dict[str, int]
) -> list[str]:
    # The first version PUT is held a second, so the other run reads "no version" meanwhile:
    # both decide to create it, whatever the machine's load.
    hold(cloud, "PUT", f"/versions/{version}$")
    try:
        outs = together(cloud, "PublishVmApp", [publish_inputs(version)] * 2, work, sources)
    finally:
        cloud.running.clear_faults()
    counts["publish_pairs"] += 1
    problems = []
    winners = [o for o in outs if o.result == "Succeeded"]
    for out in outs:
        if out.result == "Succeeded":
            continue
        if is_clear_conflict(out):
            counts["publish_conflicts"] += 1
        else:
            problems.append(
                f"publish {version}: neither success nor a clear conflict: {out.errors}"
            )
    if len(winners) < 2:
        # A clear conflict is what the issue tolerates; the task does better (it waits for
        # the twin version and is a no-op), so any failure here is a regression.
        problems.append(f"publish {version}: {len(winners)} of 2 runs succeeded")
    counts["publish_noop"] += sum(1 for o in winners if any(w in o.text for w in NO_OP_WORDS))
    got = version_snapshot(cloud, version)
    if got != wanted:
        problems.append(f"publish {version}: version is {json.dumps(got)}, wanted {wanted}")
    blobs = package_blobs(cloud, version)
    if len(blobs) != 1:
        problems.append(f"publish {version}: blobs {blobs}")
    problems += [f"publish {version}: {v}" for v in gallery_invariants(cloud)]
    return problems


def _deploy_pair(
    cloud: Cloud, index: int, name: str, work: Path, counts: dict[str, int]
) -> list[str]:
    sandbox = cloud.sandbox
    target = sandbox.vmss_id(name) if name.startswith("ss-") else sandbox.vm_id(name)
    version = "1.1.0" if index % 2 == 0 else "1.0.0"
    for app in ("webapp", "agent"):
        if cloud.get(sandbox.version_id(app, version), GALLERY_API) is None:
            publish_version(sandbox, cloud.arm, app, version)  # once, when a round needs it
    runs = [
        {"targets": target, "applicationVersionId": sandbox.version_id(app, version)}
        for app in ("webapp", "agent")
    ]
    # The first write to the target is held a second, so the other run reads the model
    # before it lands: one of the two writes is then refused (412) and must be re-applied.
    before = len(cloud.running.requests_log())
    hold(cloud, "PATCH" if name.startswith("vm-") else "PUT", f"/{name}$")
    try:
        outs = together(cloud, "DeployVmApp", runs, work)
    finally:
        cloud.running.clear_faults()
    counts["deploy_pairs"] += 1
    refused = [r for r in cloud.running.requests_log()[before:] if r["status"] == 412]
    counts["deploy_412_refusals"] += len(refused)
    problems = [f"deploy to {name}: {o.result} {o.errors}" for o in outs if o.result != "Succeeded"]
    wanted = sorted(sandbox.version_id(app, version) for app in ("webapp", "agent"))
    got = apps_on(cloud, target)
    if [g.lower() for g in got] != [w.lower() for w in wanted]:
        problems.append(f"deploy to {name}: applications {got}, wanted {wanted}")
    problems += [f"deploy to {name}: {v}" for v in invariants.half_applied(cloud, [target])]
    return problems
