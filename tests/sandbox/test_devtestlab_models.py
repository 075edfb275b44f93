"""The sandbox's DevTest Labs and deployment models without a server: the template engine
(expressions, parameters, copy loops, nested resources, dependencies, outputs), deployments
with injected failures, lab repositories and lab VM artifacts over time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.world import World
from pytask.sandbox.providers.deployments import models as deployments
from pytask.sandbox.providers.deployments import parameters as params
from pytask.sandbox.providers.deployments import template as templates
from pytask.sandbox.providers.deployments.expressions import TemplateError, parse
from pytask.sandbox.providers.deployments.functions import Scope
from pytask.sandbox.providers.devtestlab import failures, images, repository
from pytask.sandbox.providers.devtestlab import models as dtl

GROUP = "/subscriptions/sub/resourceGroups/rg-env"


def scope(**parameters: Any) -> Scope:
    found = Scope("sub", "tenant", {"id": GROUP, "name": "rg-env", "location": "eastus"}, "dep")
    found.parameters = dict(parameters)
    return found


def sample(name: str) -> dict[str, Any]:
    path = repository.DATA / "sample-repository" / "Environments" / name / "azuredeploy.json"
    return dict(json.loads(path.read_text()))


# --- expressions -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[concat('a', '-', parameters('p'))]", "a-x y"),
        ("[toLower(concat('AB', 'C'))]", "abc"),
        ("[take('abcdef', 3)]", "abc"),
        ("[resourceGroup().location]", "eastus"),
        ("[length(createArray(1, 2, 3))]", 3),
        ("[if(equals(parameters('p'), 'x y'), 'yes', 'no')]", "yes"),
        ("[format('{0}-{1}', 'a', 7)]", "a-7"),
        ("['it''s']", "it's"),
        ("[[not an expression]", "[not an expression]"),
        ("plain text", "plain text"),
        ("[createObject('k', 'v').k]", "v"),
        ("[createArray('a', 'b')[1]]", "b"),
    ],
)
def test_expressions(text: str, expected: Any) -> None:
    assert scope(p="x y").evaluate(text) == expected


def test_resource_id_and_unique_string_are_stable() -> None:
    s = scope()
    assert s.evaluate("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'v', 's')]") == (
        f"{GROUP}/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
    )
    first = s.evaluate("[uniqueString(resourceGroup().id)]")
    assert first == s.evaluate("[uniqueString(resourceGroup().id)]") and len(first) == 13


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[nosuch(1)]", "not known"),
        ("[parameters('missing')]", "not found"),
        ("[concat('a']", "not valid"),
        ("[copyIndex()]", "not expected"),
    ],
)
def test_bad_expressions(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        scope().evaluate(text)


def test_parse_tree_is_data() -> None:
    assert parse("concat('a', 1)").name == "concat"  # type: ignore[union-attr]


# --- parameters ------------------------------------------------------------------------------
DEFINITIONS = {
    "count": {"type": "int", "defaultValue": 1, "minValue": 1, "maxValue": 3},
    "size": {"type": "string", "allowedValues": ["S", "M"], "defaultValue": "S"},
    "secret": {"type": "securestring"},
    "flags": {"type": "array", "defaultValue": []},
}


def test_parameters_bind_defaults_and_typed_values() -> None:
    bound = params.bind(DEFINITIONS, {"SECRET": "s", "count": 2}, scope())
    assert bound == {"count": 2, "size": "S", "secret": "s", "flags": []}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"secret": "s", "nope": 1}, "'nope' in the parameters file are not valid"),
        ({}, "'secret' is not provided"),
        ({"secret": "s", "count": "2"}, "Expected 'Integer'. Actual 'String'"),
        ({"secret": "s", "count": True}, "Expected 'Integer'. Actual 'Boolean'"),
        ({"secret": "s", "size": "XL"}, "not part of the allowed value"),
        ({"secret": "s", "count": 9}, "between 1 and 3"),
        ({"secret": "s", "flags": {}}, "Expected 'Array'"),
    ],
)
def test_parameters_rejected_as_arm_does(given: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        params.bind(DEFINITIONS, given, scope())


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("int", "3", 3),
        ("bool", "True", True),
        ("object", '{"a": [1]}', {"a": [1]}),
        ("array", "[1, 2]", [1, 2]),
        ("string", '{"a": 1}', '{"a": 1}'),
        ("int", "three", "three"),  # left as it is: the type check then reports it
    ],
)
def test_devtest_labs_strings_become_template_types(kind: str, text: str, value: Any) -> None:
    assert params.from_text({"type": kind}, text) == value


# --- templates -------------------------------------------------------------------------------
def test_copy_loops_dependencies_and_outputs() -> None:
    s = scope()
    plan = templates.plan(sample("LinuxVMs"), {"vmCount": 2, "adminPassword": "pw"}, s)
    names = [f"{r.type.split('/')[-1]}:{r.name}" for r in plan.resources]
    assert names == [
        "virtualNetworks:test-vnet",
        "networkInterfaces:test-vm1-nic",
        "networkInterfaces:test-vm2-nic",
        "virtualMachines:test-vm1",
        "virtualMachines:test-vm2",
    ]
    assert plan.secure == frozenset({"adminPassword"})
    vm = plan.resources[3].body
    assert vm["properties"]["osProfile"]["adminPassword"] == "pw"
    s.lookup = lambda _id: {"properties": {"ipConfigurations": [
        {"properties": {"privateIPAddress": "10.10.0.4"}}]}}  # fmt: skip
    outputs = templates.evaluate_outputs(plan.outputs, s)
    assert outputs["vmIds"]["value"] == [plan.resources[3].id, plan.resources[4].id]
    assert outputs["firstPrivateIp"] == {"type": "String", "value": "10.10.0.4"}
    assert outputs["adminPasswordEcho"]["type"] == "SecureString"


def test_nested_resources_become_children() -> None:
    path = repository.DATA / "public-environments" / "WebApp-MySQL" / "azuredeploy.json"
    given = {"Database Administrator Login": "admin", "Database Administrator Login Password": "p"}
    plan = templates.plan(json.loads(path.read_text()), given, scope())
    types = [r.type for r in plan.resources]
    assert "Microsoft.DBforMySQL/servers/databases" in types
    assert "Microsoft.DBforMySQL/servers/firewallrules" in types
    server = types.index("Microsoft.DBforMySQL/servers")
    # dependsOn puts the server before the site's connection strings that need it.
    assert server < types.index("Microsoft.Web/sites/config")


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ([{"type": "A.B/c", "name": "x", "apiVersion": "1", "dependsOn": ["y"]}], "not defined"),
        (
            [
                {"type": "A.B/c", "name": "x", "apiVersion": "1", "dependsOn": ["A.B/c/y"]},
                {"type": "A.B/c", "name": "y", "apiVersion": "1", "dependsOn": ["A.B/c/x"]},
            ],
            "Circular",
        ),
        ([{"type": "A.B/c", "name": "x"}], "no apiVersion"),
    ],
)
def test_template_errors(resources: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        templates.plan({"resources": resources}, {}, scope())


# --- deployments ---------------------------------------------------------------------------
def _run(injected: dict[str, Any] | None) -> tuple[World, dict[str, Any], list[str]]:
    world = World("tenant", "sub")
    created: list[str] = []

    def create(resource: templates.PlannedResource) -> deployments.Created:
        created.append(resource.name)
        world.put({"id": resource.id, "name": resource.name, "type": resource.type,
                   "properties": {"ipConfigurations": [
                       {"properties": {"privateIPAddress": "10.10.0.9"}}]}})  # fmt: skip
        return deployments.Created(None, 150.0)

    s = scope()
    s.lookup = world.get
    plan = templates.plan(sample("LinuxVMs"), {"vmCount": 2, "adminPassword": "pw"}, s)
    doc = deployments.run(
        world, f"{GROUP}/providers/Microsoft.Resources/deployments/d", "d", plan, s, create,
        now=100.0, minimum_end=110.0, injected=injected,
    )  # fmt: skip
    return world, doc, created


def test_deployment_runs_then_reports_outputs() -> None:
    _, doc, created = _run(None)
    assert created == ["test-vnet", "test-vm1-nic", "test-vm2-nic", "test-vm1", "test-vm2"]
    assert deployments.view(doc, 120.0)["properties"]["provisioningState"] == "Running"
    done = deployments.view(doc, 150.0)["properties"]
    assert done["provisioningState"] == "Succeeded"
    assert done["outputs"]["vmCount"] == {"type": "Int", "value": 2}
    assert "value" not in done["outputs"]["adminPasswordEcho"]
    assert done["parameters"]["adminPassword"] == {"type": "SecureString"}
    assert len(done["outputResources"]) == 5


def test_injected_failure_hits_the_last_vm_with_nested_errors() -> None:
    _, doc, created = _run({"code": "SkuNotAvailable", "message": "no capacity"})
    assert created == ["test-vnet", "test-vm1-nic", "test-vm2-nic", "test-vm1"]
    view = deployments.view(doc, 1000.0)["properties"]
    assert view["provisioningState"] == "Failed"
    assert view["error"]["code"] == "DeploymentFailed"
    detail = view["error"]["details"][0]
    assert detail["code"] == "SkuNotAvailable" and detail["target"].endswith("/test-vm2")
    failed = [
        op["properties"]
        for op in deployments.operations_view(doc, 1000.0)
        if op["properties"]["provisioningState"] == "Failed"
    ]
    assert [f["targetResource"]["resourceName"] for f in failed] == ["test-vm2"]
    assert failed[0]["statusMessage"]["error"]["message"] == "no capacity"


# --- DevTest Labs --------------------------------------------------------------------------
def test_shipped_repositories() -> None:
    public = {t.name: t for t in repository.templates(repository.DATA / "public-environments")}
    assert set(public) == {"WebApp", "WebApp-MySQL"}
    assert public["WebApp-MySQL"].display_name == "Web App with MySQL"
    assert "Database Administrator Login Password" in public["WebApp-MySQL"].contents["parameters"]
    artifacts = {a.name: a for a in repository.artifacts(repository.DATA / "public-artifacts")}
    assert artifacts["linux-apt-package"].target_os == "Linux"
    assert repository.folder_of("builtin:public-artifacts") == repository.DATA / "public-artifacts"
    assert repository.folder_of("https://github.com/x/y.git") is None


def _lab_with_artifacts(world: World) -> dict[str, Any]:
    lab = dtl.lab_doc(dtl.lab_id("/subscriptions/sub/resourceGroups/rg", "lab"), "lab",
                      {"location": "eastus"}, 0.0)  # fmt: skip
    world.put(lab)
    for spec in dtl.default_sources():
        dtl.put_source(world, lab, spec, 0.0)
    return lab


def test_a_new_lab_has_the_public_repositories() -> None:
    world = World("tenant", "sub")
    lab = _lab_with_artifacts(world)
    names = {d["name"] for d in dtl.child(world, lab["id"], dtl.SOURCE_TYPE)}
    assert names == {dtl.PUBLIC_ARTIFACTS, dtl.PUBLIC_ENVIRONMENTS}
    source = f"{lab['id']}/artifactsources/{dtl.PUBLIC_ENVIRONMENTS}"
    assert {d["name"] for d in dtl.child(world, source, dtl.TEMPLATE_TYPE)} == {
        "WebApp",
        "WebApp-MySQL",
    }
    view = dtl.view(dtl.child(world, lab["id"], dtl.SOURCE_TYPE)[0])
    assert view["location"] == "eastus" and "_location" not in view


def test_artifacts_install_one_after_the_other() -> None:
    world = World("tenant", "sub")
    lab = _lab_with_artifacts(world)
    base = f"{lab['id']}/artifactsources/{dtl.PUBLIC_ARTIFACTS}/artifacts"
    requested = [
        {"artifactId": f"{base}/linux-apt-package",
         "parameters": [{"name": "packages", "value": "curl"}]},
        {"artifactId": f"{base}/linux-run-command",
         "parameters": [{"name": "command", "value": "echo hi"}]},
    ]  # fmt: skip
    runs = dtl.artifact_runs(world, lab, requested, "Linux", 10.0, 5.0)
    dtl.fail_last_artifact(runs, "exit code 1")
    doc = {"_ready": 10.0, "_artifacts": runs, "properties": {}, "id": "x"}
    assert [dtl.artifact_status(r, 12.0) for r in runs] == ["Installing", "Pending"]
    assert dtl.lab_vm_state(doc, 12.0) == "Creating"
    view = dtl.lab_vm_view(doc, 30.0, expand_artifacts=True)["properties"]
    assert [a["status"] for a in view["artifacts"]] == ["Succeeded", "Failed"]
    assert view["artifacts"][1]["deploymentStatusMessage"] == "exit code 1"
    assert view["artifactDeploymentStatus"] == {
        "deploymentStatus": "Failed",
        "artifactsApplied": 2,
        "totalArtifacts": 2,
    }


@pytest.mark.parametrize(
    ("artifact", "parameters", "code"),
    [
        ("linux-apt-package", [], "MissingArtifactParameter"),
        ("linux-apt-package", [{"name": "packages", "value": "x"}, {"name": "no", "value": "1"}],
         "InvalidArtifactParameter"),
        ("windows-restart", [], "ArtifactOsTypeMismatch"),
        ("nope", [], "InvalidArtifactId"),
    ],
)  # fmt: skip
def test_artifact_requests_checked(artifact: str, parameters: list[Any], code: str) -> None:
    world = World("tenant", "sub")
    lab = _lab_with_artifacts(world)
    artifact_id = f"{lab['id']}/artifactsources/{dtl.PUBLIC_ARTIFACTS}/artifacts/{artifact}"
    with pytest.raises(ArmError) as raised:
        dtl.artifact_runs(world, lab, [{"artifactId": artifact_id, "parameters": parameters}],
                          "Linux", 0.0, 1.0)  # fmt: skip
    assert raised.value.code == code


def test_custom_images_and_formulas() -> None:
    world = World("tenant", "sub")
    lab = _lab_with_artifacts(world)
    image_id = f"{lab['id']}/customimages/golden"
    image = images.custom_image_doc(
        world, image_id, "golden", lab, {"properties": {"vm": {"windowsOsInfo": {}}}}, 0.0
    )
    world.put(image)
    assert image["_os"] == "Windows" and dtl.view(image)["location"] == "eastus"
    with pytest.raises(ArmError, match="sourceVmId"):
        images.custom_image_doc(world, image_id, "x", lab, {"properties": {}}, 0.0)
    content = {"properties": {"customImageId": image_id, "size": "S", "password": "secret"}}
    formula = images.formula_doc(
        world, f"{lab['id']}/formulas/f", "f", lab, {"properties": {"formulaContent": content}}, 0.0
    )
    assert formula["properties"]["osType"] == "Windows"
    assert "password" not in formula["properties"]["formulaContent"]["properties"]
    missing = {"properties": {"customImageId": f"{lab['id']}/customimages/missing"}}
    with pytest.raises(ArmError) as bad:
        images.formula_doc(world, "x", "f", lab, {"properties": {"formulaContent": missing}}, 0.0)
    assert bad.value.code == "InvalidFormulaContent"


def test_fault_section_matching() -> None:
    sections = {
        failures.SECTION: {
            "deployments": [{"template": "Linux*", "resource": "*-nic", "code": "Conflict"}],
            "artifacts": [{"artifact": "APT Package", "vm": "qa-*", "message": "exit 100"}],
        }
    }
    found = failures.deployment_failure(sections, "LinuxVMs", "ci-1")
    assert found is not None and found.as_injected()["resource"] == "*-nic"
    assert failures.deployment_failure(sections, "WebApp", "ci-1") is None
    artifact = {"name": "linux-apt-package", "properties": {"title": "APT Package"}}
    assert failures.artifact_failure(sections, artifact, "QA-2") == "exit 100"
    assert failures.artifact_failure(sections, artifact, "dev-1") is None
    assert failures.artifact_failure({}, artifact, "qa-1") is None


def test_an_injected_failure_can_name_its_resource() -> None:
    _, doc, created = _run({"code": "Conflict", "message": "busy", "resource": "*-vm1-nic"})
    assert created == ["test-vnet"]
    detail = deployments.view(doc, 1000.0)["properties"]["error"]["details"][0]
    assert detail["target"].endswith("/networkInterfaces/test-vm1-nic")
    _, doc, created = _run({"code": "Conflict", "message": "busy", "resource": "nothing-*"})
    assert len(created) == 5
    assert deployments.view(doc, 1000.0)["properties"]["provisioningState"] == "Succeeded"
