"""The four task.json files: the contract with the agent and with the task code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import pytask
from pytask.cli import TASK_MODULES
from tests.helpers.schemas import official_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = official_schema("tasks.schema.json")
TASK_NAMES = ["PublishVmApp", "DevTestLabEnv", "DeployVmApp", "HealthGate"]

# Ids are the tasks' identity on every organisation that installs the extension: never change.
STABLE_IDS = {
    "PublishVmApp": "92efa82b-36b9-44e1-8ea0-ce48620a0bae",
    "DevTestLabEnv": "b2a5fd4c-0bbc-4854-9938-b8134c821e0d",
    "DeployVmApp": "84034e56-79b9-4cf6-aa10-e05dbfbe6cb0",
    "HealthGate": "1238b425-292a-4d4f-a952-f60c1eb38c15",
}

# Names released in task.json only grow (DESIGN.md 3.4): these must always be present.
RELEASED_INPUTS = {
    "PublishVmApp": """azureSubscription resourceGroup galleryName applicationName version osType
        createApplication package packageUrl configFile storageAccount storageContainer
        storageResourceGroup installCommand removeCommand updateCommand packageFileName
        configFileName scriptBehaviorAfterReboot targetRegions replicaCount storageAccountType
        excludeFromLatest endOfLifeDate allowDeletionOfReplicatedLocations tags ifVersionExists
        waitForReplication timeoutMinutes""",
    "DeployVmApp": """azureSubscription targets resourceGroup tagFilter applicationVersionId
        galleryName applicationName version order configurationReference
        treatFailureAsDeploymentFailure enableAutomaticUpgrade tags strategy batchSize
        maxFailures pauseBetweenBatchesSeconds rollbackOnFailure action rollbackState
        timeoutMinutes""",
    "DevTestLabEnv": """azureSubscription lab labResourceGroup action kind name artifactSource
        template parameters parametersFile vmCount image size userName password sshKey
        artifacts allowClaim subnet expiresInHours tags ifExists timeoutMinutes olderThanHours""",
    "HealthGate": """azureSubscription targets deploymentStartTime workspace checks checksFile
        initialDelaySeconds intervalSeconds durationMinutes failureLimit
        consecutiveSuccessesToPass inconclusiveLimit mode windowStart windowEnd""",
}
RELEASED_OUTPUTS = {
    "PublishVmApp": "applicationVersionId packageBlobUrl packageSha256 replicationState",
    "DeployVmApp": "deployedTargets failedInstances rollbackState deploymentStartTime deploymentId",
    "DevTestLabEnv": """environmentResourceId environmentResourceGroupId vmResourceIds labVmIds
        fqdns privateIps""",
    "HealthGate": "verdict failedChecks report",
}
RELEASED_PICKLISTS = {
    ("PublishVmApp", "ifVersionExists"): ("skipIfIdentical", "fail", "overwrite"),
    ("DeployVmApp", "strategy"): ("allAtOnce", "batched"),
    ("DeployVmApp", "action"): ("deploy", "rollback", "remove"),
    ("DevTestLabEnv", "action"): ("create", "delete", "sweep"),
    ("DevTestLabEnv", "kind"): ("environment", "vm"),
    ("DevTestLabEnv", "ifExists"): ("reuse", "recreate", "fail"),
    ("HealthGate", "mode"): ("enforce", "dryRun"),
}
# The first agent with the Node20_1 handler; agents without Node24 fall back to Node20_1.
MINIMUM_AGENT = "3.232.1"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "tasks" / name / "task.json").read_text("utf-8"))
    return data


def inputs(task: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in task["inputs"]}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA.read_text("utf-8"))
    return data


@pytest.mark.parametrize("name", TASK_NAMES)
def test_validates_against_official_schema(name: str, schema: dict[str, Any]) -> None:
    jsonschema.validate(load(name), schema)


def test_task_folders_are_exactly_the_cli_tasks() -> None:
    folders = sorted(p.parent.name for p in (ROOT / "tasks").glob("*/task.json"))
    assert folders == sorted(TASK_NAMES) == sorted(TASK_MODULES)


@pytest.mark.parametrize("name", TASK_NAMES)
def test_identity(name: str) -> None:
    task = load(name)
    assert task["name"] == name
    assert task["id"] == STABLE_IDS[name]
    assert len(task["friendlyName"]) <= 40
    assert task["category"] in ("Deploy", "Utility")
    assert task["minimumAgentVersion"] == MINIMUM_AGENT


def test_ids_unique() -> None:
    ids = [load(n)["id"].lower() for n in TASK_NAMES]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("name", TASK_NAMES)
def test_version_is_the_package_version(name: str) -> None:
    version = load(name)["version"]
    stamped = f"{version['Major']}.{version['Minor']}.{version['Patch']}"
    assert stamped == pytask.__version__


@pytest.mark.parametrize("name", TASK_NAMES)
def test_both_node_handlers_run_the_launcher(name: str) -> None:
    execution = load(name)["execution"]
    assert set(execution) == {"Node20_1", "Node24"}
    assert execution["Node20_1"]["target"] == execution["Node24"]["target"] == "launcher.js"


@pytest.mark.parametrize("name", TASK_NAMES)
def test_released_names_are_present(name: str) -> None:
    task = load(name)
    assert set(RELEASED_INPUTS[name].split()) <= set(inputs(task))
    assert set(RELEASED_OUTPUTS[name].split()) <= {o["name"] for o in task["outputVariables"]}


@pytest.mark.parametrize(("name", "field"), sorted(RELEASED_PICKLISTS))
def test_released_picklist_options(name: str, field: str) -> None:
    declared = inputs(load(name))[field]
    assert declared["type"] == "pickList"
    assert set(RELEASED_PICKLISTS[(name, field)]) <= set(declared["options"])
    assert declared["defaultValue"] in declared["options"]


@pytest.mark.parametrize("name", TASK_NAMES)
def test_connection_input(name: str) -> None:
    conn = inputs(load(name))["azureSubscription"]
    assert conn["type"] == "connectedService:AzureRM"
    assert conn["required"] is True
    assert conn["aliases"] == ["ConnectedServiceName"]


@pytest.mark.parametrize("name", TASK_NAMES)
def test_every_input_and_output_is_documented(name: str) -> None:
    task = load(name)
    for declared in task["inputs"]:
        assert declared["helpMarkDown"].strip(), declared["name"]
        assert declared["label"].strip(), declared["name"]
    for output in task["outputVariables"]:
        assert output.get("description", "").strip(), output["name"]


@pytest.mark.parametrize("name", TASK_NAMES)
def test_names_unique_including_aliases(name: str) -> None:
    seen: list[str] = []
    for declared in load(name)["inputs"]:
        seen += [declared["name"], *declared.get("aliases", [])]
    lowered = [s.lower() for s in seen]  # INPUT_<NAME> is case-insensitive
    assert len(set(lowered)) == len(lowered)


RULE_TERM = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*)\s*(=|!=|NotEndsWith|EndsWith)\s*(.+?)\s*$")


@pytest.mark.parametrize("name", TASK_NAMES)
def test_visible_rules_reference_existing_inputs(name: str) -> None:
    task = load(name)
    declared = inputs(task)
    rules = [i["visibleRule"] for i in task["inputs"] if "visibleRule" in i]
    rules += [g["visibleRule"] for g in task["groups"] if "visibleRule" in g]
    for rule in rules:
        for term in re.split(r"&&|\|\|", rule):
            match = RULE_TERM.match(term)
            assert match, f"unparsable visibleRule {rule!r}"
            target, value = match.group(1), match.group(3)
            assert target in declared, f"{rule!r} names unknown input {target}"
            options = declared[target].get("options")
            if options and value != '""':
                assert value in options, f"{rule!r}: {value} is not an option of {target}"


@pytest.mark.parametrize("name", TASK_NAMES)
def test_groups_and_defaults_consistent(name: str) -> None:
    task = load(name)
    groups = {g["name"] for g in task["groups"]}
    for declared in task["inputs"]:
        assert declared.get("groupName", next(iter(groups))) in groups, declared["name"]
        default = declared.get("defaultValue", "")
        if declared["type"] == "boolean":
            assert default in ("true", "false"), declared["name"]
        if declared["type"] == "int" and default != "":
            assert str(default).isdigit(), declared["name"]


@pytest.mark.parametrize("name", TASK_NAMES)
def test_instance_name_format_uses_declared_inputs(name: str) -> None:
    task = load(name)
    for ref in re.findall(r"\$\(([^)]+)\)", task["instanceNameFormat"]):
        assert ref in inputs(task)
