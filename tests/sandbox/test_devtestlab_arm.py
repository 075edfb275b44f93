"""Microsoft.DevTestLab on the wire: the DevTest Labs x-ms-examples replayed against the sandbox
(status codes, polling headers, body shapes), then the behaviour the task relies on through
the real azure-mgmt-devtestlabs client: owners (`@me`/`@all`), environments deploying real
Microsoft.Compute VMs with their deployment's outputs, lab VMs with `computeId`, failures with
nested errors, deletes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.devtestlabs import DevTestLabsClient
from azure.mgmt.devtestlabs import models as dtl

from pytask.cloud import CloudSession
from pytask.cloud.arm import ArmClient
from pytask.localrun import read_connection_file
from tests.conftest import RunningSandbox
from tests.helpers.replay import cloud_session, load_example, seeded_sandbox

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parent / "examples" / "devtestlab"
API = "2018-09-15"
RG, LAB = "rg-dtl", "replaylab"
SEED = {
    "resourceGroups": [{"name": RG, "location": "eastus"}],
    "labs": [
        {
            "name": "seeded",
            "resourceGroup": RG,
            "repositories": [{"name": "team", "path": "builtin:sample-repository"}],
        }
    ],
}
# Keys of the examples the sandbox leaves out on purpose: tags the requests never set, the
# repository's secret token (never echoed), and artifact parameters (named per artifact).
POLL = 0.05  # the SDK otherwise waits its 10 s default whenever Retry-After is 0
UNSHAPED = {"tags", "securityToken", "parameters"}


def example(name: str) -> dict[str, Any]:
    return load_example(EXAMPLES, name)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with seeded_sandbox(tmp_path_factory, "dtl-arm", SEED) as running:
        yield running


@pytest.fixture(scope="module")
def session(cloud: RunningSandbox) -> Iterator[CloudSession]:
    with cloud_session(cloud) as opened:
        yield opened


@pytest.fixture(scope="module")
def arm(session: CloudSession) -> ArmClient:
    return session.arm()


@pytest.fixture(scope="module")
def client(session: CloudSession) -> DevTestLabsClient:
    return session.devtestlabs()


def lab_path(session: CloudSession, lab: str = LAB, *parts: str) -> str:
    base = (
        f"/subscriptions/{session.subscription_id}/resourceGroups/{RG}"
        f"/providers/Microsoft.DevTestLab/labs/{lab}"
    )
    return "/".join([base, *parts])


def same_shape(ours: Any, theirs: Any, where: str = "body") -> None:
    """Every key of the example is in ours with a value of the same JSON type."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{where}: expected an object, got {ours!r}"
        for key, value in theirs.items():
            if key in UNSHAPED:
                continue
            assert key in ours, f"{where}.{key} missing (have {sorted(ours)})"
            same_shape(ours[key], value, f"{where}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list), f"{where}: expected a list"
        if theirs and ours:
            same_shape(ours[0], theirs[0], f"{where}[0]")
    elif isinstance(theirs, bool):
        assert isinstance(ours, bool), where
    elif isinstance(theirs, (int, float)):
        assert isinstance(ours, (int, float)) and not isinstance(ours, bool), where
    elif theirs is not None:
        assert isinstance(ours, str), f"{where}: expected a string, got {ours!r}"


def send(arm: ArmClient, method: str, path: str, body: Any = None) -> Any:
    response = arm.send(method, path, API, body=body)
    text = response.text()
    return response.status_code, response.headers, json.loads(text) if text.strip() else None


def settle(arm: ArmClient, path: str) -> dict[str, Any]:
    for _ in range(400):
        status, _, body = send(arm, "GET", path)
        if status == 404:
            return {}
        if body["properties"].get("provisioningState") not in ("Creating", "Deleting"):
            return dict(body)
        time.sleep(0.02)
    raise AssertionError(f"{path} never settled")


def filled(value: Any, names: dict[str, Any]) -> Any:
    """An example's request body with its `{placeholders}` replaced."""
    text = json.dumps(value)
    for key, real in names.items():
        text = text.replace("{" + key + "}", str(real))
    return json.loads(text)


def test_replay_devtestlab_examples(session: CloudSession, arm: ArmClient) -> None:
    names = {"azure-location": "eastus", "location": "eastus", "subscriptionId":
             session.subscription_id, "resourceGroupName": RG, "labName": LAB,
             "virtualNetworkName": f"Dtl{LAB}", "userName": "azureuser",
             "userPassword": "Pa55-word!"}  # fmt: skip
    # Labs_CreateOrUpdate: 201 Creating with an operation to poll; then Labs_Get.
    ex = example("Labs_CreateOrUpdate")
    status, headers, body = send(arm, "PUT", lab_path(session), filled(ex["parameters"]["lab"],
                                                                        names))  # fmt: skip
    assert status == 201 and "Azure-AsyncOperation" in headers
    same_shape(body, ex["responses"]["201"]["body"])
    assert body["properties"]["provisioningState"] == "Creating"
    got = settle(arm, lab_path(session))
    same_shape(got, example("Labs_Get")["responses"]["200"]["body"])
    assert got["properties"]["provisioningState"] == "Succeeded"

    # The default repositories, their templates and artifacts.
    status, _, sources = send(arm, "GET", lab_path(session, LAB, "artifactsources"))
    assert status == 200
    by_name = {s["name"]: s for s in sources["value"]}
    assert by_name["public environment repo"]["properties"]["displayName"] == (
        "Public Environment Repository"
    )
    same_shape(by_name["public repo"], example("ArtifactSources_List")["responses"]["200"]
               ["body"]["value"][0] | {"properties": {}})  # fmt: skip
    source = lab_path(session, LAB, "artifactsources", "public environment repo")
    status, _, listing = send(arm, "GET", source + "/armtemplates")
    assert status == 200 and {t["name"] for t in listing["value"]} == {"WebApp", "WebApp-MySQL"}
    same_shape(listing["value"][0], example("ArmTemplates_List")["responses"]["200"]["body"]
               ["value"][0])  # fmt: skip
    status, _, template = send(arm, "GET", source + "/armtemplates/WebApp-MySQL")
    same_shape(template, example("ArmTemplates_Get")["responses"]["200"]["body"])
    artifacts = lab_path(session, LAB, "artifactsources", "public repo", "artifacts")
    status, _, listing = send(arm, "GET", artifacts)
    same_shape(listing["value"][0], example("Artifacts_List")["responses"]["200"]["body"]
               ["value"][0])  # fmt: skip

    # Environments_CreateOrUpdate under @me: 201 Creating, id under the caller's object id.
    ex = example("Environments_CreateOrUpdate")
    env_body = filled(ex["parameters"]["dtlEnvironment"], names)
    env_body["properties"]["deploymentProperties"]["armTemplateId"] = (
        source + "/armtemplates/WebApp"
    )
    env = lab_path(session, LAB, "users", "@me", "environments", "webenv")
    status, headers, body = send(arm, "PUT", env, env_body)
    assert status == 201 and "Azure-AsyncOperation" in headers
    same_shape(body, ex["responses"]["201"]["body"])
    assert "/users/@me/" not in body["id"] and body["id"].endswith("/environments/webenv")
    got = settle(arm, env)
    same_shape(got, example("Environments_Get")["responses"]["200"]["body"])
    assert got["properties"]["provisioningState"] == "Succeeded"
    status, _, listing = send(arm, "GET", lab_path(session, LAB, "users", "@all", "environments"))
    same_shape(listing, example("Environments_List")["responses"]["200"]["body"])

    # VirtualMachines_CreateOrUpdate / Get: a lab VM backed by a Microsoft.Compute VM.
    ex = example("VirtualMachines_CreateOrUpdate")
    vm = lab_path(session, LAB, "virtualmachines", "replayvm")
    status, headers, body = send(arm, "PUT", vm, filled(ex["parameters"]["labVirtualMachine"],
                                                         names))  # fmt: skip
    assert status == 201 and "Azure-AsyncOperation" in headers
    same_shape(body, ex["responses"]["201"]["body"])
    got = settle(arm, vm)
    same_shape(got, example("VirtualMachines_Get")["responses"]["200"]["body"])
    compute = arm.request("GET", got["properties"]["computeId"], "2024-07-01")
    assert compute["type"] == "Microsoft.Compute/virtualMachines"
    assert compute["properties"]["hardwareProfile"]["vmSize"] == "Standard_A2_v2"

    # VirtualMachines_ApplyArtifacts (a Windows artifact, so on a Windows lab VM).
    windows = filled(ex["parameters"]["labVirtualMachine"], names)
    windows["properties"]["galleryImageReference"] = {"publisher": "MicrosoftWindowsServer",
        "offer": "WindowsServer", "sku": "2022-datacenter", "osType": "Windows",
        "version": "latest"}  # fmt: skip
    winvm = lab_path(session, LAB, "virtualmachines", "winvm")
    send(arm, "PUT", winvm, windows)
    settle(arm, winvm)
    ex = example("VirtualMachines_ApplyArtifacts")
    request = filled(ex["parameters"]["applyArtifactsRequest"], names)
    request["artifacts"][0]["artifactId"] = request["artifacts"][0]["artifactId"].replace(
        "resourceGroupName", RG
    )
    status, headers, _ = send(arm, "POST", winvm + "/applyArtifacts", request)
    assert status in (200, 202) and "Location" in headers
    got = settle(arm, winvm)
    status, _, expanded = send(arm, "GET", winvm + "?$expand=properties($expand=artifacts)")
    assert [a["status"] for a in expanded["properties"]["artifacts"]] == ["Succeeded"]
    assert got["properties"]["artifactDeploymentStatus"]["artifactsApplied"] == 1

    # Deletes: 202 with a Location; the resource then 404s; a second delete is 204.
    for path, name in ((env, "Environments_Delete"), (vm, "VirtualMachines_Delete")):
        status, headers, _ = send(arm, "DELETE", path)
        assert str(status) in example(name)["responses"] and status == 202
        assert "Location" in headers
        assert settle(arm, path) == {}
        assert send(arm, "DELETE", path)[0] == 204


def test_owners_me_and_all(cloud: RunningSandbox, client: DevTestLabsClient) -> None:
    lab = client.labs.get(RG, "seeded")
    template = f"{lab.id}/artifactsources/public environment repo/armtemplates/WebApp"
    env = dtl.DtlEnvironment(
        deployment_properties=dtl.EnvironmentDeploymentProperties(arm_template_id=template)
    )
    created = client.environments.begin_create_or_update(
        RG, "seeded", "@me", "mine", env, polling_interval=POLL
    )
    mine = created.result()
    owner = cloud.ready["principals"]["spnKey"]["object_id"]
    assert f"/users/{owner}/environments/mine" in str(mine.id)
    assert client.environments.get(RG, "seeded", owner, "mine").id == mine.id
    other = _other_client(cloud)
    with pytest.raises(ResourceNotFoundError):
        other.environments.get(RG, "seeded", "@me", "mine")
    assert [e.name for e in other.environments.list(RG, "seeded", "@me")] == []
    assert "mine" in [e.name for e in other.environments.list(RG, "seeded", "@all")]
    # Anyone allowed on the lab deletes it by its owner's id.
    other.environments.begin_delete(RG, "seeded", owner, "mine", polling_interval=POLL).result()
    assert [e.name for e in client.environments.list(RG, "seeded", "@all")] == []


def _other_client(cloud: RunningSandbox) -> DevTestLabsClient:
    """Another identity: the certificate service principal."""
    source = read_connection_file(cloud.ready_file, "spnCertificate")
    return CloudSession.from_connection(source.connection).devtestlabs()


def test_environment_deployment_outputs_and_compute_vms(
    client: DevTestLabsClient, arm: ArmClient
) -> None:
    lab = client.labs.get(RG, "seeded")
    template = f"{lab.id}/artifactsources/team/armtemplates/LinuxVMs"
    values = {"vmCount": "2", "adminPassword": "pw 1=2", "extraTags": '{"a": "b c"}'}
    env = dtl.DtlEnvironment(
        deployment_properties=dtl.EnvironmentDeploymentProperties(
            arm_template_id=template,
            parameters=[dtl.ArmTemplateParameterProperties(name=k, value=v)
                        for k, v in values.items()],
        )
    )  # fmt: skip
    result = client.environments.begin_create_or_update(
        RG, "seeded", "@me", "vms", env, polling_interval=POLL
    ).result()
    assert result.provisioning_state == "Succeeded"
    assert result.deployment_properties is not None
    shown = {p.name: p.value for p in result.deployment_properties.parameters or []}
    assert shown["vmCount"] == "2" and shown["adminPassword"] is None  # secure: not echoed
    group = str(result.resource_group_id)
    deployments = arm.request("GET", f"{group}/providers/Microsoft.Resources/deployments",
                              "2024-11-01")["value"]  # fmt: skip
    assert len(deployments) == 1 and deployments[0]["name"].startswith("vms-")
    props = deployments[0]["properties"]
    assert props["provisioningState"] == "Succeeded"
    assert props["parameters"]["extraTags"] == {"type": "Object", "value": {"a": "b c"}}
    vm_ids = props["outputs"]["vmIds"]["value"]
    for vm_id in vm_ids:
        vm = arm.request("GET", vm_id, "2024-07-01")
        assert vm["properties"]["provisioningState"] == "Succeeded"
        assert vm["tags"]["a"] == "b c"
    operations = arm.request("GET", f"{deployments[0]['id']}/operations", "2024-11-01")["value"]
    assert {o["properties"]["provisioningState"] for o in operations} == {"Succeeded"}
    client.environments.begin_delete(RG, "seeded", "@me", "vms", polling_interval=POLL).result()
    with pytest.raises(HttpResponseError) as gone:
        arm.request("GET", group, "2024-11-01")
    assert gone.value.status_code == 404


def test_bad_parameters_are_refused_before_anything_exists(
    client: DevTestLabsClient, arm: ArmClient, session: CloudSession
) -> None:
    lab = client.labs.get(RG, "seeded")
    template = f"{lab.id}/artifactsources/team/armtemplates/LinuxVMs"
    before = [g["name"] for g in arm.request("GET", f"/subscriptions/{session.subscription_id}"
                                             "/resourcegroups", "2024-11-01")["value"]]  # fmt: skip
    for parameters, message in (
        ([], "'adminPassword' is not provided"),
        ([("adminPassword", "x"), ("vmCount", "many")], "Expected 'Integer'"),
        ([("adminPassword", "x"), ("bogus", "1")], "'bogus' in the parameters file"),
    ):
        env = dtl.DtlEnvironment(
            deployment_properties=dtl.EnvironmentDeploymentProperties(
                arm_template_id=template,
                parameters=[dtl.ArmTemplateParameterProperties(name=n, value=v)
                            for n, v in parameters],
            )
        )  # fmt: skip
        with pytest.raises(HttpResponseError) as refused:
            client.environments.begin_create_or_update(
                RG, "seeded", "@me", "bad", env, polling_interval=POLL
            )
        assert refused.value.status_code == 400 and message in str(refused.value)
    after = [g["name"] for g in arm.request("GET", f"/subscriptions/{session.subscription_id}"
                                            "/resourcegroups", "2024-11-01")["value"]]  # fmt: skip
    assert after == before


def test_injected_failure_fails_the_operation_with_nested_errors(
    cloud: RunningSandbox, client: DevTestLabsClient
) -> None:
    cloud.set_faults(
        "rules:\n  - {operation: Environments_CreateOrUpdate, inject: fail_operation, count: 1,"
        " code: QuotaExceeded, message: 'Operation could not be completed as it results in "
        "exceeding approved Total Regional Cores quota.'}\n"
    )
    lab = client.labs.get(RG, "seeded")
    template = f"{lab.id}/artifactsources/team/armtemplates/LinuxVMs"
    env = dtl.DtlEnvironment(
        deployment_properties=dtl.EnvironmentDeploymentProperties(
            arm_template_id=template,
            parameters=[dtl.ArmTemplateParameterProperties(name="adminPassword", value="x")],
        )
    )
    try:
        poller = client.environments.begin_create_or_update(
            RG, "seeded", "@me", "quota", env, polling_interval=POLL
        )
        with pytest.raises(HttpResponseError) as failed:
            poller.result()
    finally:
        cloud.clear_faults()
    assert failed.value.error is not None and failed.value.error.code == "DeploymentFailed"
    details = failed.value.error.details
    assert details[0].code == "QuotaExceeded" and str(details[0].target).endswith("/test-vm1")
    assert client.environments.get(RG, "seeded", "@me", "quota").provisioning_state == "Failed"
    client.environments.begin_delete(RG, "seeded", "@me", "quota", polling_interval=POLL).result()


def test_fault_section_fails_a_named_resource_and_an_artifact(
    cloud: RunningSandbox, client: DevTestLabsClient
) -> None:
    cloud.set_faults(
        "devTestLabFailures:\n"
        "  deployments:\n"
        "    - {template: LinuxVMs, resource: '*-vm1-nic', code: SubnetIsFull,\n"
        "       message: 'Subnet default has no free address.'}\n"
        "  artifacts:\n"
        "    - {artifact: linux-run-command, vm: 'sec-*', message: 'exit status 2'}\n"
    )
    lab = client.labs.get(RG, "seeded")
    template = f"{lab.id}/artifactsources/team/armtemplates/LinuxVMs"
    env = dtl.DtlEnvironment(
        deployment_properties=dtl.EnvironmentDeploymentProperties(
            arm_template_id=template,
            parameters=[dtl.ArmTemplateParameterProperties(name="adminPassword", value="x")],
        )
    )
    run_command = f"{lab.id}/artifactsources/public repo/artifacts/linux-run-command"
    vm = dtl.LabVirtualMachine(
        location="eastus", size="Standard_B2s", user_name="u", password="Pw-12345678",
        gallery_image_reference=dtl.GalleryImageReference(
            publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", os_type="Linux"),
        artifacts=[dtl.ArtifactInstallProperties(artifact_id=run_command, parameters=[
            dtl.ArtifactParameterProperties(name="command", value="false")])],
    )  # fmt: skip
    try:
        poller = client.environments.begin_create_or_update(
            RG, "seeded", "@me", "subnetfull", env, polling_interval=POLL
        )
        with pytest.raises(HttpResponseError) as failed:
            poller.result()
        created = client.virtual_machines.begin_create_or_update(
            RG, "seeded", "sec-1", vm, polling_interval=POLL
        ).result()
    finally:
        cloud.clear_faults()
    assert failed.value.error is not None
    detail = failed.value.error.details[0]
    assert detail.code == "SubnetIsFull" and str(detail.target).endswith("/test-vm1-nic")
    assert created.provisioning_state == "Succeeded"
    expanded = client.virtual_machines.get(RG, "seeded", "sec-1", expand="artifacts")
    assert [(a.status, a.deployment_status_message) for a in expanded.artifacts or []] == [
        ("Failed", "exit status 2")
    ]
    client.environments.begin_delete(RG, "seeded", "@me", "subnetfull", polling_interval=POLL)
    client.virtual_machines.begin_delete(RG, "seeded", "sec-1", polling_interval=POLL)


def test_a_lab_vm_is_deleted_at_its_expiration_date(client: DevTestLabsClient) -> None:
    expires = datetime.now(timezone.utc) + timedelta(seconds=3)
    vm = dtl.LabVirtualMachine(
        location="eastus", size="Standard_B2s", user_name="u", password="Pw-12345678",
        gallery_image_reference=dtl.GalleryImageReference(
            publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", os_type="Linux"),
        expiration_date=expires,
    )  # fmt: skip
    created = client.virtual_machines.begin_create_or_update(
        RG, "seeded", "shortlived", vm, polling_interval=POLL
    ).result()
    assert created.compute_id
    deadline = time.monotonic() + 30
    while any(v.name == "shortlived" for v in client.virtual_machines.list(RG, "seeded")):
        assert time.monotonic() < deadline, "the expired lab VM is still there"
        time.sleep(0.5)
    assert datetime.now(timezone.utc) >= expires
