"""docs/tasks/<Task>.md are generated from task.json: they must never drift from it."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
TASK_NAMES = ("PublishVmApp", "DevTestLabEnv", "DeployVmApp", "HealthGate")


@pytest.fixture(scope="module")
def taskdocs() -> Iterator[ModuleType]:
    sys.path.insert(0, str(TOOLS))
    import taskdocs

    yield taskdocs
    sys.path.remove(str(TOOLS))


def committed(name: str) -> str:
    return (ROOT / "docs" / "tasks" / f"{name}.md").read_text("utf-8")


def test_generated_docs_match_task_json() -> None:
    result = subprocess.run(
        [sys.executable, str(TOOLS / "build.py"), "docs", "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", TASK_NAMES)
def test_every_input_and_output_is_documented(name: str) -> None:
    task = json.loads((ROOT / "tasks" / name / "task.json").read_text("utf-8"))
    page = committed(name)
    assert f"- task: {name}@{task['version']['Major']}" in page
    for field in task["inputs"]:
        assert f"| `{field['name']}`" in page, field["name"]
        assert f"    {field['name']}:" in page, field["name"]
    for output in task["outputVariables"]:
        assert f"| `{output['name']}` |" in page, output["name"]


@pytest.mark.parametrize("name", TASK_NAMES)
def test_hand_written_examples_are_kept(name: str) -> None:
    examples = ROOT / "docs" / "tasks" / f"{name}.examples.md"
    if not examples.exists():
        pytest.skip("no hand-written examples for this task")
    assert examples.read_text("utf-8").strip() in committed(name)


def test_a_changed_task_json_is_detected(taskdocs: ModuleType) -> None:
    """The drift check can fail: a new input changes the page that would be generated."""
    name = "DeployVmApp"
    task = taskdocs.stamp_task(taskdocs.task_json(name), taskdocs.package_version())
    examples_file = ROOT / "docs" / "tasks" / f"{name}.examples.md"
    examples = examples_file.read_text("utf-8") if examples_file.exists() else None
    assert taskdocs.render(task, examples) == committed(name)
    changed = copy.deepcopy(task)
    changed["inputs"].append(
        {"name": "newKnob", "type": "string", "label": "New knob", "helpMarkDown": "x|y"}
    )
    page = taskdocs.render(changed, examples)
    assert page != committed(name)
    assert "| `newKnob` | New knob | `string` |  | no | x\\|y |" in page
