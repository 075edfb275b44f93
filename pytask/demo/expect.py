"""What must have happened, checked from the pipeline's point of view (stage results, step
outputs) and from the cloud's (the scale sets' application profiles, lab environments gone,
no write to prod during the bad release)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pytask.demo import world
from pytask.demo.model import ReleaseRun

# The gate's `verdict` output for a pass, as task.json documents it.
PASSED = ("Passed",)
STAGES = ("Publish", "dev", "test", "prod")


def check_outcome(runs: Sequence[ReleaseRun], sandbox: world.Sandbox) -> list[str]:
    problems: list[str] = []
    by_version = {run.version: run for run in runs}
    good, bad = by_version.get(world.HEALTHY), by_version.get(world.UNHEALTHY)
    if good is None or bad is None:
        return ["both releases must have run"]
    problems += _good_release(good)
    problems += _bad_release(bad)
    problems += _cloud_state(sandbox, good, bad)
    return problems


def _good_release(run: ReleaseRun) -> list[str]:
    out = []
    for stage in (run.stage(name) for name in STAGES):
        if stage.status != "succeeded":
            out.append(f"{run.version}: stage {stage.name} {stage.status}, expected succeeded")
    for name in ("test", "prod"):
        gate = run.stage(name).step("healthGate")
        verdict = gate.outputs.get("verdict") if gate else None
        if verdict not in PASSED:
            out.append(f"{run.version}: the {name} gate said {verdict}, expected Passed")
    return out


def _bad_release(run: ReleaseRun) -> list[str]:
    out = []
    expected = {"Publish": "succeeded", "dev": "succeeded", "test": "failed", "prod": "skipped"}
    for name, status in expected.items():
        if run.stage(name).status != status:
            out.append(f"{run.version}: stage {name} {run.stage(name).status}, expected {status}")
    test = run.stage("test")
    gate = test.step("healthGate")
    if gate is None or gate.outputs.get("verdict") != "Failed":
        verdict = gate.outputs.get("verdict") if gate else "no gate"
        out.append(f"{run.version}: the test gate said {verdict}, expected Failed")
    rollback = test.step("rollback")
    if rollback is None or not rollback.succeeded:
        out.append(f"{run.version}: test was not rolled back by the on.failure hook")
    if run.stage("prod").steps:
        out.append(f"{run.version}: something ran in prod")
    return out


def _versions_on(sandbox: world.Sandbox, scale_set: str) -> list[str]:
    from pytask.demo.cloud import arm_get

    doc = arm_get(sandbox, sandbox.scale_set_id(scale_set), "2025-04-01")
    profile = doc["properties"]["virtualMachineProfile"].get("applicationProfile") or {}
    refs = [a["packageReferenceId"] for a in profile.get("galleryApplications", [])]
    ours = f"/applications/{world.APP}/versions/"
    return [ref.rsplit("/", 1)[-1] for ref in refs if ours in ref.lower()]


def _cloud_state(sandbox: world.Sandbox, good: ReleaseRun, bad: ReleaseRun) -> list[str]:
    out = []
    for scale_set in (world.TEST_SCALE_SET, world.PROD_SCALE_SET):
        versions = _versions_on(sandbox, scale_set)
        if versions != [world.HEALTHY]:
            out.append(f"{scale_set} runs {versions}, expected [{world.HEALTHY!r}]")
    prod = sandbox.scale_set_id(world.PROD_SCALE_SET).lower()
    bad_started = _first_request_of_build(sandbox, bad)
    writes = [
        r
        for r in sandbox.requests()[bad_started:]
        if r["method"] in ("PUT", "PATCH", "POST", "DELETE") and r["path"].lower().startswith(prod)
    ]
    if writes:
        out.append(f"{len(writes)} write(s) reached {world.PROD_SCALE_SET} during {bad.version}")
    labs = _lab_environments(sandbox)
    if labs:
        out.append(f"lab environments left behind: {labs}")
    return out


def _first_request_of_build(sandbox: world.Sandbox, run: ReleaseRun) -> int:
    """Index in the request log where the run began (its Publish stage's first write)."""
    publish = run.stage("Publish").step("publishApp")
    marker = f"/versions/{run.version}".lower()
    for index, request in enumerate(sandbox.requests()):
        if request["method"] == "PUT" and request["path"].lower().endswith(marker):
            return index
    return 0 if publish is None else len(sandbox.requests())


def _lab_environments(sandbox: world.Sandbox) -> list[str]:
    from pytask.demo.cloud import arm_get

    path = (
        f"{sandbox.group_id(world.LAB_RG)}/providers/Microsoft.DevTestLab/labs/{world.LAB}"
        "/users/@all/environments"
    )
    found: Any = arm_get(sandbox, path, "2018-09-15")
    return (
        [str(e.get("name")) for e in found.get("value", [])]
        if isinstance(found, dict)
        else [json.dumps(found)]
    )
