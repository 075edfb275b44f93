"""DevTestLabEnv end to end: `pytask run DevTestLabEnv` against a sandbox lab, asserting on the
##vso output the agent reads, on the sandbox's request log (what was written) and on its world
(what exists afterwards).

One sandbox for the module: a lab with Azure's default repositories and a team repository
(the shipped sample, whose `LinuxVMs` template deploys Microsoft.Compute VMs). Each test uses
its own environment or VM names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytask.tasks.devtestlab.spec import CHECKS
from pytask.tasks.devtestlab_env import body
from tests.conftest import RunningSandbox, start_sandbox
from tests.helpers.agent_env import (
    REPO,
    agent_environ,
    endpoint_from_json,
    run_in_process,
    run_pytask,
)
from tests.helpers.vso import Output

pytestmark = pytest.mark.e2e

TASK_JSON = REPO / "tasks" / "DevTestLabEnv" / "task.json"
LAB_RG = "rg-lab"
LAB = "dtl-e2e"
SEED = {
    "resourceGroups": [{"name": LAB_RG, "location": "eastus"}],
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
            "customImages": [{"name": "golden-ubuntu", "osType": "Linux"}],
            "formulas": [
                {
                    "name": "web-tester",
                    "customImage": "golden-ubuntu",
                    "size": "Standard_D2s_v5",
                    "userName": "tester",
                    "artifacts": [
                        {
                            "source": "public repo",
                            "artifact": "linux-apt-package",
                            "parameters": {"packages": "nginx"},
                        }
                    ],
                }
            ],
        }
    ],
}
WRITES = ("PUT", "PATCH", "DELETE", "POST")
PASSWORD = "Pa55 w0rd='x'-y"
PIPELINE = {"System.DefinitionId": "17", "Build.BuildId": "901", "System.StageName": "test"}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    state = tmp_path_factory.mktemp("dtl-sandbox") / "state"
    running = start_sandbox(state, seed=yaml.safe_dump(SEED), time_scale=0.005)
    try:
        yield running
    finally:
        running.stop()


def run(
    cloud: RunningSandbox,
    inputs: Mapping[str, str],
    variables: Mapping[str, str] | None = None,
    auth: str | None = None,
) -> tuple[Output, list[dict[str, Any]]]:
    """The task as `pytask run` runs it (as the ready-file's `auth` identity if given); its
    output and the requests it made."""
    before = len(cloud.requests_log())
    code, out, err = run_pytask(
        "DevTestLabEnv",
        connection=cloud.ready_file,
        auth=auth,
        inputs={"lab": LAB, "labResourceGroup": LAB_RG, **inputs},
        variables=variables or PIPELINE,
    )
    assert code == 0, err
    return out, cloud.requests_log()[before:]


def writes(requests: list[dict[str, Any]]) -> list[str]:
    """ARM writes (token requests are POSTs too, and write nothing)."""
    return [
        f"{r['method']} {r['path']}"
        for r in requests
        if r["method"] in WRITES and r["path"].startswith("/subscriptions/")
    ]


def world(cloud: RunningSandbox) -> dict[str, dict[str, Any]]:
    data = json.loads((cloud.state_dir / "world.json").read_text())
    return {doc["id"].lower(): doc for doc in data["resources"]}


def env_inputs(name: str, parameters: Mapping[str, Any], **more: str) -> dict[str, str]:
    return {
        "name": name,
        "artifactSource": "Team templates",
        "template": "LinuxVMs",
        "parameters": json.dumps(parameters),
        **more,
    }


def deployment_of(cloud: RunningSandbox, group_id: str) -> dict[str, Any]:
    docs = [
        d
        for key, d in world(cloud).items()
        if key.startswith(group_id.lower() + "/") and d["type"] == "Microsoft.Resources/deployments"
    ]
    assert len(docs) == 1
    return docs[0]


def leaked(out: Output, secret: str) -> bool:
    lines = [line for line in out.lines if not line.startswith("##vso[task.setsecret]")]
    return secret in "\n".join(lines)


# --- environments ----------------------------------------------------------------------------
def test_environment_with_typed_parameters_then_reuse_writes_nothing(
    cloud: RunningSandbox,
) -> None:
    parameters = {
        "vmCount": 2,
        "namePrefix": "web",
        "adminPassword": PASSWORD,
        "description": 'release "candidate" -x = 1 two  spaces',
        "enableDiagnostics": True,
        "extraTags": {"owner": "qa team", "cost-center": "a=b"},
        "openPorts": [22, 443],
    }
    out, requests = run(cloud, env_inputs("typed", parameters, tags="team: qa"))
    assert out.result == "Succeeded", out.errors
    outputs = out.outputs
    vm_ids = json.loads(outputs["vmResourceIds"])
    assert [v.rsplit("/", 1)[-1] for v in vm_ids] == ["web-vm1", "web-vm2"]
    state = world(cloud)
    for vm_id in vm_ids:  # real Microsoft.Compute VMs, where DeployVmApp will look
        assert "/providers/Microsoft.Compute/virtualMachines/" in vm_id
        assert state[vm_id.lower()]["type"] == "Microsoft.Compute/virtualMachines"
    assert len(json.loads(outputs["privateIps"])) == 2
    group_id = outputs["environmentResourceGroupId"]
    assert vm_ids[0].lower().startswith(group_id.lower() + "/")
    # Each value reached the template as itself: typed, unsplit, unquoted.
    recorded = deployment_of(cloud, group_id)["properties"]["parameters"]
    assert recorded["description"]["value"] == parameters["description"]
    assert recorded["vmCount"] == {"type": "Int", "value": 2}
    assert recorded["enableDiagnostics"] == {"type": "Bool", "value": True}
    assert recorded["extraTags"]["value"] == parameters["extraTags"]
    assert recorded["openPorts"]["value"] == [22, 443]
    assert "value" not in recorded["adminPassword"]
    # Template outputs, one variable each.
    assert outputs["description"] == parameters["description"]
    assert json.loads(outputs["vmIds"]) == vm_ids
    assert json.loads(outputs["settings"])["owner"] == "qa team"
    assert PASSWORD in out.secrets and not leaked(out, PASSWORD)
    # Tags: on the environment and on its resource group (pipeline, run, stage, expiry).
    env = state[outputs["environmentResourceId"].lower()]
    group = state[group_id.lower()]
    for tags in (env["tags"], group["tags"]):
        assert tags["team"] == "qa"
        assert tags["vmapp.run"] == "901" and tags["vmapp.stage"] == "test"
        assert tags["vmapp.pipeline"].endswith("/17") and "vmapp.expiresAt" in tags
    assert any(w.startswith("PUT") and "/environments/typed" in w for w in writes(requests))

    again, requests = run(cloud, env_inputs("typed", parameters))
    assert again.result == "Succeeded", again.errors
    assert writes(requests) == []
    assert "reused" in "\n".join(again.lines)
    for key in ("environmentResourceId", "environmentResourceGroupId", "vmResourceIds"):
        assert again.outputs[key] == outputs[key]


def test_recreate_replaces_the_environment(cloud: RunningSandbox) -> None:
    params = {"adminPassword": PASSWORD, "namePrefix": "rec"}
    first, _ = run(cloud, env_inputs("recreated", params))
    assert first.result == "Succeeded", first.errors
    old_group = first.outputs["environmentResourceGroupId"]
    second, requests = run(cloud, env_inputs("recreated", params, ifExists="recreate"))
    assert second.result == "Succeeded", second.errors
    new_group = second.outputs["environmentResourceGroupId"]
    assert new_group != old_group
    state = world(cloud)
    assert old_group.lower() not in state and new_group.lower() in state
    assert any(w.startswith("DELETE") for w in writes(requests))
    third, requests = run(cloud, env_inputs("recreated", params, ifExists="fail"))
    assert third.result == "Failed"
    assert "already exists" in third.errors[-1] and writes(requests) == []


def test_failed_deployment_shows_nested_errors_and_cleans_up(cloud: RunningSandbox) -> None:
    cloud.set_faults(
        "rules:\n"
        "  - {operation: Environments_CreateOrUpdate, inject: fail_operation, count: 2,\n"
        "     code: SkuNotAvailable, message: 'Size Standard_B2s is not available in eastus.'}\n"
    )
    try:
        params = {"adminPassword": PASSWORD, "namePrefix": "bad", "vmCount": 2}
        out, requests = run(cloud, env_inputs("broken", params))
        kept, _ = run(cloud, env_inputs("broken-kept", params, cleanupOnFailure="false"))
    finally:
        cloud.clear_faults()
    assert out.result == "Failed"
    errors = "\n".join(out.errors)
    assert "virtualMachines 'bad-vm2' failed: SkuNotAvailable" in errors
    assert "DeploymentFailed" in errors and "(target /subscriptions/" in errors
    assert "could not be created" in out.errors[-1]
    deleted = [w for w in writes(requests) if w.startswith("DELETE")]
    assert any("/environments/broken" in w for w in deleted)
    state = world(cloud)
    assert not [k for k in state if "/environments/broken" in k and "kept" not in k]
    assert not [k for k in state if "/resourcegroups/dtl-e2e-broken-" in k and "kept" not in k]
    # Without cleanup the half-created environment stays, with the VM that did deploy.
    assert kept.result == "Failed"
    assert any("left in place" in w for w in kept.warnings)
    assert [k for k in state if k.endswith("/virtualmachines/bad-vm1") and "broken-kept" in k]
    run(cloud, {"action": "delete", "name": "broken-kept"})


def test_delete_twice_succeeds(cloud: RunningSandbox) -> None:
    created, _ = run(cloud, env_inputs("gone", {"adminPassword": PASSWORD, "namePrefix": "gone"}))
    assert created.result == "Succeeded", created.errors
    group = created.outputs["environmentResourceGroupId"]
    env_id = created.outputs["environmentResourceId"]
    # By id, as another identity than the one that created it (an always() cleanup job).
    first, requests = run(cloud, {"action": "delete", "name": env_id}, auth="spnCertificate")
    assert first.result == "Succeeded", first.errors
    assert any(w.startswith("DELETE") and "/environments/gone" in w for w in writes(requests))
    assert group.lower() not in world(cloud)
    second, requests = run(cloud, {"action": "delete", "name": "gone"})
    assert second.result == "Succeeded", second.errors
    assert writes(requests) == []
    assert "nothing to delete" in "\n".join(second.lines)


# --- lab VMs -------------------------------------------------------------------------------
VM_INPUTS = {
    "kind": "vm",
    "image": "Canonical:ubuntu-24_04-lts:server",
    "size": "Standard_B2s",
    "userName": "azureuser",
    "password": PASSWORD,
    "expiresInHours": "6",
}


def test_lab_vms_with_artifacts(cloud: RunningSandbox) -> None:
    artifacts = (
        "- artifact: APT Package\n"
        "  parameters: {packages: 'curl jq', options: '-o Dpkg::Options::=--force-confold'}\n"
        "- artifact: app-prerequisites\n"
        "  parameters: {runtime: node20}\n"
    )
    out, _ = run(cloud, {**VM_INPUTS, "name": "tvm", "vmCount": "2", "artifacts": artifacts})
    assert out.result == "Succeeded", out.errors
    lab_vms = json.loads(out.outputs["labVmIds"])
    compute = json.loads(out.outputs["vmResourceIds"])
    assert [v.rsplit("/", 1)[-1] for v in lab_vms] == ["tvm-1", "tvm-2"]
    state = world(cloud)
    for lab_vm_id, vm_id in zip(lab_vms, compute, strict=True):
        lab_vm = state[lab_vm_id.lower()]
        assert lab_vm["properties"]["computeId"] == vm_id
        assert state[vm_id.lower()]["type"] == "Microsoft.Compute/virtualMachines"
        assert lab_vm["properties"]["expirationDate"]
        assert [a.get("_failure", "ok") for a in lab_vm["_artifacts"]] == ["ok", "ok"]
        assert lab_vm["tags"]["vmapp.run"] == "901"
    assert len(json.loads(out.outputs["privateIps"])) == 2
    assert any("artifact 'Application prerequisites': Succeeded" in x for x in out.lines)
    assert not leaked(out, PASSWORD)

    again, requests = run(cloud, {**VM_INPUTS, "name": "tvm", "vmCount": "2"})
    assert again.result == "Succeeded" and writes(requests) == []
    assert json.loads(again.outputs["vmResourceIds"]) == compute

    by_id, requests = run(cloud, {"action": "delete", "kind": "vm", "name": lab_vms[1]})
    assert by_id.result == "Succeeded", by_id.errors
    # (a set: under load the SDK may retry a DELETE, which is harmless)
    assert {w for w in writes(requests) if w.startswith("DELETE")} == {f"DELETE {lab_vms[1]}"}
    deleted, requests = run(cloud, {"action": "delete", "kind": "vm", "name": "tvm"})
    assert deleted.result == "Succeeded", deleted.errors
    assert {w for w in writes(requests) if w.startswith("DELETE")} == {f"DELETE {lab_vms[0]}"}
    assert not [k for k in world(cloud) if "/virtualmachines/tvm-" in k]
    twice, requests = run(cloud, {"action": "delete", "kind": "vm", "name": "tvm"})
    assert twice.result == "Succeeded" and writes(requests) == []


def test_lab_vms_from_a_custom_image_and_from_a_formula(cloud: RunningSandbox) -> None:
    subnet = f"Dtl{LAB}Subnet"
    custom, _ = run(
        cloud, {**VM_INPUTS, "name": "fromimg", "image": "golden-ubuntu", "subnet": subnet}
    )
    assert custom.result == "Succeeded", custom.errors
    state = world(cloud)
    lab_vm = state[json.loads(custom.outputs["labVmIds"])[0].lower()]
    assert lab_vm["properties"]["customImageId"].endswith("/customimages/golden-ubuntu")
    assert lab_vm["properties"]["networkInterface"]["subnetId"].endswith(f"/subnets/{subnet}")
    compute = state[json.loads(custom.outputs["vmResourceIds"])[0].lower()]
    assert compute["properties"]["storageProfile"]["imageReference"]["id"].endswith(
        "/customimages/golden-ubuntu"
    )
    # The formula sets image, size, user and an artifact; the inputs add another artifact.
    inputs = {**VM_INPUTS, "name": "fromfml", "image": "web-tester", "size": "", "userName": ""}
    inputs["artifacts"] = "- artifact: linux-run-command\n  parameters: {command: 'echo ok'}"
    formula, _ = run(cloud, inputs)
    assert formula.result == "Succeeded", formula.errors
    lab_vm = world(cloud)[json.loads(formula.outputs["labVmIds"])[0].lower()]
    assert lab_vm["properties"]["size"] == "Standard_D2s_v5"
    assert lab_vm["properties"]["userName"] == "tester"
    titles = [a["artifactTitle"] for a in lab_vm["_artifacts"]]
    assert titles == ["APT Package", "Run Bash Command"]
    for name in ("fromimg", "fromfml"):
        run(cloud, {"action": "delete", "kind": "vm", "name": name})


def test_failed_artifact_is_reported_and_the_vm_removed(cloud: RunningSandbox) -> None:
    cloud.set_faults(
        "rules:\n"
        "  - {operation: VirtualMachines_CreateOrUpdate, path: /labs/, inject: fail_operation,\n"
        "     count: 1, message: 'E: Unable to locate package nosuchpkg'}\n"
    )
    try:
        artifacts = "- artifact: linux-apt-package\n  parameters: {packages: nosuchpkg}\n"
        out, requests = run(cloud, {**VM_INPUTS, "name": "artfail", "artifacts": artifacts})
    finally:
        cloud.clear_faults()
    assert out.result == "Failed"
    assert any(
        "artifact 'APT Package' failed: E: Unable to locate package nosuchpkg" in e
        for e in out.errors
    )
    assert any(w.startswith("DELETE") and w.endswith("/artfail") for w in writes(requests))
    assert not [k for k in world(cloud) if k.endswith("/virtualmachines/artfail")]


# --- sweep -----------------------------------------------------------------------------------
def test_sweep_dry_run_then_real_only_touches_this_pipeline(cloud: RunningSandbox) -> None:
    other = {**PIPELINE, "System.DefinitionId": "99"}
    params = {"adminPassword": PASSWORD, "namePrefix": "sw"}
    for name, variables in (("sweep-mine", PIPELINE), ("sweep-other", other)):
        created, _ = run(cloud, env_inputs(name, params), variables)
        assert created.result == "Succeeded", created.errors

    not_expired, requests = run(cloud, {"action": "sweep"})
    assert not_expired.result == "Succeeded" and writes(requests) == []
    assert "sweep-mine" not in "\n".join(not_expired.lines)

    dry, requests = run(cloud, {"action": "sweep", "olderThanHours": "0", "dryRun": "true"})
    assert dry.result == "Succeeded", dry.errors
    assert writes(requests) == []
    text = "\n".join(dry.lines)
    assert "environment sweep-mine" in text and "sweep-other" not in text
    assert "Dry run" in text

    real, requests = run(cloud, {"action": "sweep", "olderThanHours": "0"})
    assert real.result == "Succeeded", real.errors
    assert any("/environments/sweep-mine" in w for w in writes(requests))
    assert not any("sweep-other" in w for w in writes(requests))
    names = [k for k in world(cloud) if "/environments/" in k]
    assert not [k for k in names if k.endswith("/sweep-mine")]
    assert [k for k in names if k.endswith("/sweep-other")]


# --- bad input: a clear error and no write ---------------------------------------------------
SECRET = "Secret-Pw-0"
GOOD_ENV = {
    "lab": LAB,
    "labResourceGroup": LAB_RG,
    "name": "never",
    "artifactSource": "team-repo",
    "template": "LinuxVMs",
    "parameters": json.dumps({"adminPassword": SECRET}),
}
VM = {"kind": "vm", "image": "Canonical:o:s", "size": "s", "userName": "u", "password": SECRET}


def with_params(**values: Any) -> dict[str, str]:
    return {"parameters": json.dumps({"adminPassword": SECRET, **values})}


CASES: list[tuple[str, dict[str, str], str]] = [
    ("unknown-parameter", with_params(vmcont=2), "'vmcont'"),
    ("wrong-type", with_params(vmCount="two"), "whole number"),
    ("bool-not-string", with_params(description=True), "string"),
    ("missing-required", {"parameters": '{"vmCount": 1}'}, "'adminPassword' is required"),
    ("not-allowed", with_params(vmSize="Huge"), "one of"),
    ("out-of-range", with_params(vmCount=11), "between 1"),
    ("parameters-not-object", {"parameters": "[1, 2]"}, "parameters"),
    ("unknown-template", {"template": "NoSuchTemplate"}, "LinuxVMs"),
    ("unknown-source", {"artifactSource": "nope"}, "Public Environment Repository"),
    ("missing-template", {"template": ""}, "template"),
    ("unknown-lab", {"lab": "nolab"}, "was not found"),
    ("bad-lab-id", {"lab": "/subscriptions/x/resourceGroups"}, "lab"),
    ("no-lab-group", {"labResourceGroup": ""}, "labResourceGroup"),
    ("bad-name", {"name": "bad name!"}, "name"),
    ("no-name", {"name": ""}, "name"),
    ("bad-tags", {"tags": "a/b: c"}, "tags"),
    ("bad-timeout", {"timeoutMinutes": "0"}, "timeoutMinutes"),
    ("bad-expiry", {"expiresInHours": "-3"}, "expiresInHours"),
    ("vm-no-image", {**VM, "image": ""}, "image"),
    ("vm-bad-image", {**VM, "image": "pub:offer"}, "publisher:offer:sku"),
    ("vm-unknown-image", {**VM, "image": "no-such-image"}, "formulas: web-tester"),
    ("vm-no-size", {**VM, "size": ""}, "size: required"),
    ("vm-unknown-subnet", {**VM, "subnet": "nope"}, "no subnet 'nope'"),
    ("vm-no-credentials", {**VM, "password": ""}, "password"),
    ("vm-count-zero", {**VM, "vmCount": "0"}, "vmCount"),
    ("vm-unknown-artifact", {**VM, "artifacts": "- no-such"}, "no artifact 'no-such'"),
    (
        "vm-artifact-bad-parameter",
        {**VM, "artifacts": "- artifact: linux-apt-package\n  parameters: {packages: x, nope: 1}"},
        "'nope' is not one of its parameters",
    ),
    ("vm-artifact-wrong-os", {**VM, "artifacts": "- windows-restart"}, "is for Windows"),
    ("vm-artifacts-not-a-list", {**VM, "artifacts": "artifact: x"}, "artifacts"),
]


@pytest.mark.parametrize(("inputs", "mentions"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_clearly_without_a_write(
    cloud: RunningSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    inputs: dict[str, str],
    mentions: str,
) -> None:
    for name, value in cloud.env.items():  # the in-process SDK clients trust the sandbox CA
        monkeypatch.setenv(name, value)
    endpoint = endpoint_from_json(cloud.ready["connection"])
    env = agent_environ(
        TASK_JSON,
        tmp_path,
        inputs={"azureSubscription": endpoint.id, **GOOD_ENV, **inputs},
        endpoints=(endpoint,),
        variables=PIPELINE,
    )
    before = len(cloud.requests_log())
    code, out = run_in_process("DevTestLabEnv", body, env, checks=CHECKS)
    assert code == 0
    assert out.result == "Failed"
    assert mentions in "\n".join(out.errors), out.errors
    assert not any("unexpectedly" in error for error in out.errors), out.errors
    assert writes(cloud.requests_log()[before:]) == []
