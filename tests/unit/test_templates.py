"""The shipped templates and examples, checked offline.

Each example is expanded as the service would (tests/unit/test_templates_engine.py), then:
validated against the official Azure Pipelines YAML schema with our four tasks added from
their task.json; every use of our tasks names only inputs that exist and gives every required
one; no job uses the reserved name `deploy`; every `stageDependencies` reference names a stage
the referring stage depends on, a job of that stage, and an output its step declares.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytask.demo.expand import Expander, load_yaml12
from tests.helpers.schemas import official_schema

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
EXAMPLES = sorted((TEMPLATES / "examples").glob("*.yml"))
# The demo runs the release template through its own pipeline file: checked the same way.
PIPELINES = [*EXAMPLES, ROOT / "pytask" / "demo" / "pipeline.yml"]
SCHEMA = official_schema("azure-pipelines.service-schema.json")
OUR_TASKS = ("PublishVmApp", "DevTestLabEnv", "DeployVmApp", "HealthGate")
RUNTIME = re.compile(r"\$\(|\$\[")


@functools.cache
def task_definitions() -> dict[str, dict[str, Any]]:
    out = {}
    for name in OUR_TASKS:
        definition = json.loads((ROOT / "tasks" / name / "task.json").read_text("utf-8"))
        out[f"{name}@{definition['version']['Major']}"] = definition
    return out


def _input_names(definition: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for item in definition["inputs"]:
        names.add(item["name"])
        names.update(item.get("aliases", []))
    return names


def _task_schema(reference: str, definition: dict[str, Any]) -> dict[str, Any]:
    properties = {
        name: {"type": ["string", "number", "boolean"]} for name in _input_names(definition)
    }
    return {
        "properties": {
            "task": {"pattern": f"^{re.escape(reference)}$"},
            "inputs": {"type": "object", "properties": properties, "additionalProperties": False},
        }
    }


@functools.cache
def schema_with_our_tasks() -> dict[str, Any]:
    schema = json.loads(SCHEMA.read_text("utf-8"))
    extended: dict[str, Any] = copy.deepcopy(schema)
    task = extended["definitions"]["task"]
    ours = [_task_schema(ref, d) for ref, d in task_definitions().items()]
    task["anyOf"] = ours + task["anyOf"]
    task["properties"]["task"]["anyOf"] = [
        {"enum": list(task_definitions())},
        *task["properties"]["task"]["anyOf"],
    ]
    return extended


def expand(example: Path) -> dict[str, Any]:
    expander = Expander(repositories={"vmapp": ROOT, "self": ROOT})
    pipeline = expander.expand_pipeline(example)
    assert isinstance(pipeline, dict)
    return pipeline


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def our_task_steps(pipeline: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in walk(pipeline) if n.get("task") in task_definitions()]


def jobs_of(stage: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {j.get("job") or j.get("deployment"): j for j in stage.get("jobs", [])}


def test_there_are_examples() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"azure-pipelines.yml", "scale-set-only.yml", "canary-prod.yml"} <= names


def _deepest(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """The errors of the branch that got furthest: the one that names the real problem."""
    leaves: list[jsonschema.ValidationError] = []
    pending = [error]
    while pending:
        current = pending.pop()
        pending.extend(current.context or [])
        if not current.context:
            leaves.append(current)
    depth = max(len(leaf.absolute_path) for leaf in leaves)
    return [leaf for leaf in leaves if len(leaf.absolute_path) == depth][:5]


@pytest.mark.parametrize("example", PIPELINES, ids=lambda p: p.name)
def test_example_matches_the_official_schema(example: Path) -> None:
    pipeline = expand(example)
    validator = jsonschema.Draft7Validator(schema_with_our_tasks())
    errors = [leaf for error in validator.iter_errors(pipeline) for leaf in _deepest(error)]
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors)


def test_schema_check_can_fail() -> None:
    validator = jsonschema.Draft7Validator(schema_with_our_tasks())
    bad = {
        "stages": [
            {
                "stage": "A",
                "jobs": [
                    {
                        "job": "j",
                        "steps": [
                            {
                                "task": "DeployVmApp@1",
                                "inputs": {"azureSubscription": "c", "noSuchInput": "x"},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    assert list(validator.iter_errors(bad))


@pytest.mark.parametrize("example", PIPELINES, ids=lambda p: p.name)
def test_our_tasks_get_existing_and_required_inputs(example: Path) -> None:
    steps = our_task_steps(expand(example))
    assert steps, "the example uses none of our tasks"
    for step in steps:
        definition = task_definitions()[step["task"]]
        inputs = step.get("inputs") or {}
        unknown = set(inputs) - _input_names(definition)
        assert not unknown, f"{step['task']} ({step.get('name')}): unknown inputs {unknown}"
        given = {k: v for k, v in inputs.items() if v not in (None, "")}
        for item in definition["inputs"]:
            names = {item["name"], *item.get("aliases", [])}
            if item.get("required") and not item.get("visibleRule"):
                has_default = item.get("defaultValue") not in (None, "")
                assert names & set(given) or has_default, (
                    f"{step['task']} ({step.get('name')}) lacks required {item['name']}"
                )
            picked = next((given[n] for n in names if n in given), None)
            if item.get("options") and isinstance(picked, str) and not RUNTIME.search(picked):
                assert picked in item["options"], f"{item['name']}={picked!r}"


@pytest.mark.parametrize("example", PIPELINES, ids=lambda p: p.name)
def test_no_job_uses_the_reserved_name_deploy(example: Path) -> None:
    for stage in expand(example)["stages"]:
        assert "deploy" not in {name.lower() for name in jobs_of(stage)}


_REF = re.compile(r"stageDependencies\.(\w+)\.(\w+)\.outputs\['([^']+)'\]")


def _declared_outputs(job: dict[str, Any]) -> dict[str, set[str]]:
    """Step name -> output variables its task declares."""
    out: dict[str, set[str]] = {}
    for step in walk(job):
        definition = task_definitions().get(str(step.get("task")))
        if definition and step.get("name"):
            out[step["name"]] = {o["name"] for o in definition.get("outputVariables", [])}
    return out


def _check_reference(stages: dict[str, Any], stage: dict[str, Any], match: re.Match[str]) -> None:
    source, job_name, output = match.groups()
    assert source in (stage.get("dependsOn") or []), f"{stage['stage']} must depend on {source}"
    job = jobs_of(stages[source]).get(job_name)
    assert job is not None, f"no job {job_name} in stage {source}"
    parts = output.split(".")
    if "deployment" in job:
        # runOnce deployment job: '<job>.<step>.<variable>'
        assert len(parts) == 3 and parts[0] == job_name, f"{output}: must start with {job_name}."
        parts = parts[1:]
    assert len(parts) == 2, f"{output}: expected '<step>.<variable>'"
    declared = _declared_outputs(job)
    assert parts[1] in declared.get(parts[0], set()), f"{output}: no such step output"


@pytest.mark.parametrize("example", PIPELINES, ids=lambda p: p.name)
def test_stage_dependencies_name_real_outputs(example: Path) -> None:
    pipeline = expand(example)
    stages = {s["stage"]: s for s in pipeline["stages"]}
    found = 0
    for stage in stages.values():
        for value in (stage.get("variables") or {}).values():
            for match in _REF.finditer(str(value)):
                _check_reference(stages, stage, match)
                found += 1
    assert found


def test_release_template_shape() -> None:
    """Publish, then per environment: a deployment job with the lifecycle hooks, a lab
    cleanup that always runs, rollback on failure from the recorded state."""
    pipeline = expand(TEMPLATES / "examples" / "azure-pipelines.yml")
    stages = {s["stage"]: s for s in pipeline["stages"]}
    assert list(stages) == ["Publish", "dev", "test", "prod"]
    assert stages["prod"]["dependsOn"] == ["Publish", "test"]
    test_jobs = jobs_of(stages["test"])
    run_once = test_jobs["release"]["strategy"]["runOnce"]
    assert set(run_once) == {"preDeploy", "deploy", "postRouteTraffic", "on"}
    assert test_jobs["release"]["environment"] == "test"
    assert test_jobs["labCleanup"]["condition"] == "always()"
    assert [s["task"] for s in run_once["preDeploy"]["steps"]] == ["DevTestLabEnv@1"]
    rollback = [s for s in run_once["on"]["failure"]["steps"] if s.get("task")]
    assert rollback[0]["inputs"]["action"] == "rollback"
    assert rollback[0]["inputs"]["rollbackState"] == "$(rollbackState)"
    dev_hooks = jobs_of(stages["dev"])["release"]["strategy"]["runOnce"]
    assert set(dev_hooks) == {"deploy", "on"}  # no lab, no gate
    assert "labCleanup" not in jobs_of(stages["prod"])


@pytest.mark.parametrize("example", PIPELINES, ids=lambda p: p.name)
def test_rollback_goes_in_the_batches_the_environment_deploys_in(example: Path) -> None:
    checked = 0
    for stage in expand(example)["stages"]:
        release = jobs_of(stage).get("release")
        if release is None or "failure" not in release["strategy"]["runOnce"].get("on", {}):
            continue
        run_once = release["strategy"]["runOnce"]
        deploy = next(s for s in run_once["deploy"]["steps"] if s.get("name") == "deployApp")
        rollback = next(
            s for s in run_once["on"]["failure"]["steps"] if s.get("name") == "rollback"
        )
        for name in ("strategy", "batchSize", "pauseBetweenBatchesSeconds"):
            assert rollback["inputs"][name] == deploy["inputs"][name], (stage["stage"], name)
        checked += 1
    assert checked


def test_every_template_is_used_by_an_example() -> None:
    expander = Expander(repositories={"vmapp": ROOT})
    for example in EXAMPLES:
        expander.expand_pipeline(example)
    shipped = {p.resolve() for p in TEMPLATES.rglob("*.yml")}
    assert shipped - expander.files == set()


def test_templates_load_as_yaml12_with_on_as_a_key() -> None:
    text = (TEMPLATES / "jobs" / "deploy-environment.yml").read_text("utf-8")
    run_once = load_yaml12(text)["jobs"][0]["strategy"]["runOnce"]
    assert "on" in run_once and True not in run_once
