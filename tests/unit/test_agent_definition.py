"""task.json loading, discovery and visibleRule evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytask.agent.definition import (
    TASK_JSON_ENV,
    DefinitionError,
    find_task_json,
    load_definition,
)
from pytask.agent.visibility import is_visible

TASK_JSON = Path(__file__).parent / "agent_fixture" / "task.json"


def test_loads_inputs_with_their_attributes() -> None:
    definition = load_definition(TASK_JSON)
    assert definition.name == "AgentFixture"
    connection = definition.input("azureSubscription")  # by alias
    assert connection.name == "ConnectedServiceName"
    assert connection.kind == "connectedService"
    assert connection.type == "connectedService:AzureRM"
    assert connection.required is True
    dry_run = definition.input("DRYRUN")  # case-insensitive, as the agent
    assert dry_run.default_value == "false"  # a JSON boolean default
    assert definition.input("region").editable_options is True
    assert definition.input("zones").multi_select is True
    assert definition.input("osType").options == {"Linux": "Linux", "Windows": "Windows"}
    assert definition.input("package").visible_rule == 'packageUrl = ""'
    assert [v.name for v in definition.output_variables] == ["versionId", "token"]


def test_find_task_json_prefers_the_launcher_variable(tmp_path: Path) -> None:
    assert find_task_json("X", {TASK_JSON_ENV: str(TASK_JSON)}) == TASK_JSON


def test_find_task_json_in_a_checkout_or_a_clear_error() -> None:
    with pytest.raises(DefinitionError, match=r"cannot find task\.json for NoSuchTask"):
        find_task_json("NoSuchTask", {})


def test_malformed_task_json(tmp_path: Path) -> None:
    bad = tmp_path / "task.json"
    bad.write_text("{not json")
    with pytest.raises(DefinitionError, match="cannot read task definition"):
        load_definition(bad)
    bad.write_text(json.dumps({"inputs": []}))
    with pytest.raises(DefinitionError, match="no task name"):
        load_definition(bad)


@pytest.mark.parametrize(
    ("rule", "values", "visible"),
    [
        ("", {}, True),
        ('packageUrl = ""', {"packageurl": ""}, True),
        ('packageUrl = ""', {"packageurl": "https://x"}, False),
        ("dryRun = true", {"dryrun": "True"}, True),
        ("dryRun == true", {"dryrun": "false"}, False),
        ("mode != delete", {"mode": "create"}, True),
        ("mode = create || mode = reuse", {"mode": "reuse"}, True),
        ("mode = create && dryRun = true", {"mode": "create", "dryrun": "false"}, False),
        ("target EndsWith .zip", {"target": "app.ZIP"}, True),
        ("target NotEndsWith .zip", {"target": "app.zip"}, False),
        ("name Contains prod", {"name": "my-prod-1"}, True),
        ("name NotContains prod", {"name": "dev"}, True),
        ("count > 2", {"count": "10"}, True),
        ("count <= 2", {"count": "10"}, False),
        ("this is not a rule", {}, True),
    ],
)
def test_visible_rules(rule: str, values: dict[str, str], visible: bool) -> None:
    assert is_visible(rule, values) is visible
