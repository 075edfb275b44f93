"""The shipped templates, examples and the demo pipeline, checked as the VS Code Azure Pipelines
extension checks them: tools/validate_pipelines.js runs the azure-pipelines-language-service
(which understands `${{ }}` blocks) with the official schema plus our four tasks from task.json.

The only diagnostic tolerated is the documented false positive (a whole `${{ }}` expression as a
pick-list value, docs/templates.md); the negative cases below prove each kind of mistake fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.schemas import COMMITTED

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "validate_pipelines.js"
SCHEMA_NAME = "azure-pipelines.service-schema.json"
COMMITTED_SCHEMA = COMMITTED / SCHEMA_NAME
TEMPLATES = ROOT / "templates"
PIPELINES = sorted(
    {
        *TEMPLATES.glob("**/*.yml"),
        *(TEMPLATES / "examples").glob("*.yml"),
        ROOT / "pytask" / "demo" / "pipeline.yml",
    }
)
KNOWN_FALSE_POSITIVE = "(known false positive: expression value in a pick list)"


@dataclass(frozen=True)
class Run:
    returncode: int
    lines: list[str]
    stderr: str

    def problems(self) -> list[str]:
        return [line for line in self.lines if " note: " not in line]


def _node() -> str:
    node = shutil.which("node")
    assert node, "node is required"
    assert (ROOT / "node_modules" / "azure-pipelines-language-service").is_dir(), "make install"
    return node


def validate(*files: Path, script: Path = SCRIPT) -> Run:
    result = subprocess.run(
        [_node(), str(script), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    return Run(result.returncode, result.stdout.splitlines(), result.stderr)


def test_every_template_example_and_the_demo_pipeline_validates() -> None:
    assert len(PIPELINES) >= 12, PIPELINES
    run = validate(*PIPELINES)
    assert run.problems() == [], "\n".join(run.lines)
    assert run.returncode == 0, run.stderr
    assert all(line.endswith(KNOWN_FALSE_POSITIVE) for line in run.lines), run.lines
    assert f"{len(PIPELINES)} file(s) checked, 0 problem(s)" in run.stderr


@dataclass(frozen=True)
class Broken:
    name: str
    yaml: str
    line: int
    message: str


STEP = "steps:\n  - task: DeployVmApp@1\n    inputs:\n"
BROKEN = [
    Broken(
        "unknown input",
        STEP + "      azureSubscription: conn\n      colour: blue\n",
        5,
        "Unexpected property colour",
    ),
    Broken(
        "unknown input inside a ${{ if }} block",
        "steps:\n  - ${{ if eq(parameters.x, true) }}:\n    - task: DeployVmApp@1\n"
        "      inputs:\n        azureSubscription: conn\n        colour: blue\n",
        6,
        "Unexpected property colour",
    ),
    Broken(
        "unknown key hoisted from a ${{ if }} mapping",
        "jobs:\n  - job: a\n    ${{ if parameters.pool }}:\n      poool: x\n"
        "    steps:\n      - script: echo hi\n",
        4,
        "Unexpected property poool",
    ),
    Broken(
        "missing required input",
        STEP + "      action: deploy\n",
        3,
        'Missing property "ConnectedServiceName"',
    ),
    Broken(
        "bad pick-list value",
        STEP + "      azureSubscription: conn\n      strategy: sideways\n",
        5,
        'Valid values: "batched", "allAtOnce"',
    ),
    Broken(
        "wrong integer",
        STEP + "      azureSubscription: conn\n      pauseBetweenBatchesSeconds: ten\n",
        5,
        'Incorrect type. Expected "integer"',
    ),
    Broken(
        "unknown task version",
        "steps:\n  - task: DeployVmApp@2\n",
        2,
        "Value is not accepted",
    ),
    Broken(
        "syntax error",
        STEP + "      azureSubscription: [conn\n  - script: echo hi\n",
        5,
        "error: missed comma between flow collection entries",
    ),
]


@pytest.mark.parametrize("case", BROKEN, ids=lambda case: case.name)
def test_each_kind_of_mistake_is_reported_with_its_position(case: Broken, tmp_path: Path) -> None:
    pipeline = tmp_path / "broken.yml"
    pipeline.write_text(case.yaml, "utf-8")
    run = validate(pipeline)
    assert run.returncode == 1, run.lines
    expected = f"{pipeline}:{case.line}:"
    assert any(line.startswith(expected) and case.message in line for line in run.problems()), (
        run.lines
    )


def test_a_literal_case_insensitive_pick_list_value_and_an_alias_are_accepted(
    tmp_path: Path,
) -> None:
    pipeline = tmp_path / "ok.yml"
    pipeline.write_text(
        "steps:\n  - task: deployvmapp@1\n    inputs:\n      ConnectedServiceName: conn\n"
        "      strategy: ALLATONCE\n      pauseBetweenBatchesSeconds: 30\n"
        "      targets: $(targets)\n",
        "utf-8",
    )
    run = validate(pipeline)
    assert (run.returncode, run.lines) == (0, [])


def test_an_expression_in_a_pick_list_is_the_only_excused_diagnostic(tmp_path: Path) -> None:
    pipeline = tmp_path / "expression.yml"
    pipeline.write_text(
        STEP + "      azureSubscription: conn\n      strategy: ${{ parameters.strategy }}\n"
        "      rollbackOnFailure: maybe\n",
        "utf-8",
    )
    run = validate(pipeline)
    assert run.returncode == 1
    assert [
        line.split(": ", 1)[0] for line in run.lines if line.endswith(KNOWN_FALSE_POSITIVE)
    ] == [f"{pipeline}:5:17"]
    assert any('Expected "boolean"' in line for line in run.problems()), run.lines


def test_usage_error_without_files() -> None:
    assert validate().returncode == 2


def test_the_committed_schema_is_used_when_the_shared_one_is_absent(tmp_path: Path) -> None:
    # A lone clone: the repository without a ../shared next to it.
    repo = tmp_path / "clone"
    (repo / "tools").mkdir(parents=True)
    shutil.copy2(SCRIPT, repo / "tools")
    shutil.copytree(ROOT / "tasks", repo / "tasks", ignore=shutil.ignore_patterns("launcher"))
    (repo / "tests" / "schemas").mkdir(parents=True)
    shutil.copy2(COMMITTED_SCHEMA, repo / "tests" / "schemas")
    os.symlink(ROOT / "node_modules", repo / "node_modules")
    bad = tmp_path / "bad.yml"
    bad.write_text(STEP + "      azureSubscription: conn\n      colour: blue\n", "utf-8")
    good = validate(TEMPLATES / "vm-app-release.yml", script=repo / "tools" / SCRIPT.name)
    assert (good.returncode, good.lines) == (0, []), good.stderr
    assert validate(bad, script=repo / "tools" / SCRIPT.name).returncode == 1
    (repo / "tests" / "schemas" / SCHEMA_NAME).unlink()
    missing = validate(bad, script=repo / "tools" / SCRIPT.name)
    assert missing.returncode == 2 and "official schema not found" in missing.stderr
