"""Inputs typed and validated against the task's own task.json, every error path."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytask.agent.definition import load_definition
from pytask.agent.environment import AgentEnvironment
from pytask.agent.errors import InputErrors
from pytask.agent.inputs import Check, Inputs
from tests.helpers.agent_env import CONNECTION_ID, agent_environ, spn_key_endpoint

TASK_JSON = Path(__file__).parent / "agent_fixture" / "task.json"
VALID = {
    "ConnectedServiceName": CONNECTION_ID,
    "resourceGroup": "rg-app",
    "osType": "Linux",
    "package": "app.zip",
}


def make_inputs(tmp_path: Path, checks: tuple[Check[object], ...] = (), **given: str) -> Inputs:
    values = {**VALID, **given}
    env = agent_environ(TASK_JSON, tmp_path, inputs=values, endpoints=(spn_key_endpoint(),))
    return Inputs(load_definition(TASK_JSON), AgentEnvironment.capture(env), checks)


def only_problem(inputs: Inputs) -> str:
    problems = inputs.problems()
    assert len(problems) == 1, problems
    return problems[0]


def test_valid_inputs_have_no_problems_and_read_typed(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path, regions=" westeurope \n\n eastus ", dryRun="TRUE", notes="n")
    assert inputs.problems() == []
    assert inputs.string("resourceGroup") == "rg-app"
    assert inputs.boolean("dryRun") is True
    assert inputs.integer("retries") == 3  # task.json default
    assert inputs.pick("osType") == "Linux"
    assert inputs.lines("regions") == ["westeurope", "eastus"]
    assert inputs.string("batchSize") == "20%"


def test_values_are_trimmed_and_defaults_apply_when_the_agent_set_nothing(tmp_path: Path) -> None:
    env = agent_environ(TASK_JSON, tmp_path, inputs={**VALID, "resourceGroup": "  rg  "})
    del env["INPUT_RETRIES"]
    inputs = Inputs(load_definition(TASK_JSON), AgentEnvironment.capture(env))
    assert inputs.string("resourceGroup") == "rg"
    assert inputs.integer("retries") == 3


def test_boolean_is_case_insensitive_and_empty_is_false(tmp_path: Path) -> None:
    assert make_inputs(tmp_path, dryRun="True", notes="x").boolean("dryRun") is True
    assert make_inputs(tmp_path, dryRun="FALSE").boolean("dryRun") is False
    assert make_inputs(tmp_path, dryRun="").boolean("dryRun") is False


def test_boolean_error(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path, dryRun="yes")
    assert only_problem(inputs) == (
        "Input 'Dry run' (dryRun): \"yes\" is not valid; expected true or false."
    )
    with pytest.raises(InputErrors):
        inputs.boolean("dryRun")


@pytest.mark.parametrize("value", ["abc", "1.5", "2e3", "3 4"])
def test_int_error(tmp_path: Path, value: str) -> None:
    inputs = make_inputs(tmp_path, retries=value)
    assert only_problem(inputs) == (
        f"Input 'Retries' (retries): \"{value}\" is not valid; expected a whole number."
    )
    with pytest.raises(InputErrors):
        inputs.integer("retries")


def test_int_minimum(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path, retries="-2")
    assert inputs.integer("retries") == -2
    with pytest.raises(InputErrors, match="a whole number of at least 0"):
        inputs.integer("retries", minimum=0)


def test_optional_int_is_none_when_empty(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path, retries="")
    assert inputs.optional_integer("retries") is None
    with pytest.raises(InputErrors, match=r"Input 'Retries' \(retries\) is required"):
        inputs.integer("retries")


def test_picklist_membership_is_case_insensitive_and_canonical(tmp_path: Path) -> None:
    assert make_inputs(tmp_path, osType="windows").pick("osType") == "Windows"


def test_picklist_error_lists_the_options(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path, osType="Solaris")
    assert only_problem(inputs) == (
        "Input 'OS type' (osType): \"Solaris\" is not valid; expected one of: Linux, Windows."
    )
    with pytest.raises(InputErrors):
        inputs.pick("osType")


def test_editable_picklist_accepts_any_value(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path, region="northeurope")
    assert inputs.problems() == []
    assert inputs.pick("region") == "northeurope"


def test_multiselect_picklist(tmp_path: Path) -> None:
    assert make_inputs(tmp_path, zones="1, 3").picks("zones") == ["1", "3"]
    inputs = make_inputs(tmp_path, zones="1,4")
    assert "expected one or more of: 1, 2, 3" in only_problem(inputs)


def test_required_error_names_label_and_yaml_name(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path, resourceGroup="")
    assert only_problem(inputs) == (
        "Input 'Resource group' (resourceGroup) is required; expected a value."
    )
    with pytest.raises(InputErrors):
        inputs.string("resourceGroup")


def test_required_input_hidden_by_its_visible_rule_is_not_required(tmp_path: Path) -> None:
    # notes is required only when dryRun = true; package only when packageUrl is empty.
    inputs = make_inputs(tmp_path, package="", packageUrl="https://x/p.zip")
    assert inputs.problems() == []
    assert inputs.path("package") is None
    assert "Input 'Dry-run notes' (notes) is required" in only_problem(
        make_inputs(tmp_path, dryRun="true")
    )


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path, resourceGroup="", retries="x", osType="Mac", dryRun="maybe")
    problems = inputs.problems()
    assert [p.split(" ")[1] for p in problems] == ["'Resource", "'Dry", "'Retries'", "'OS"]
    with pytest.raises(InputErrors) as caught:
        inputs.validate()
    assert list(caught.value.messages) == problems


def test_file_path_relative_to_the_sources_directory(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path, package="out/app.zip")
    assert inputs.path("package") == tmp_path / "s" / "out" / "app.zip"


def test_file_path_equal_to_repo_root_counts_as_not_supplied(tmp_path: Path) -> None:
    # The agent turns an empty filePath into the sources directory.
    inputs = make_inputs(tmp_path, package=str(tmp_path / "s") + "/")
    assert inputs.supplied("package") is False
    with pytest.raises(InputErrors):
        inputs.path("package")
    assert only_problem(inputs) == (
        "Input 'Package' (package) is required; expected a path to a file or folder."
    )


def test_file_path_must_exist_when_asked(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path, package="missing.zip")
    with pytest.raises(InputErrors, match="expected an existing file or folder"):
        inputs.path("package", must_exist=True)
    (tmp_path / "s" / "missing.zip").write_text("x")
    assert inputs.path("package", must_exist=True) == tmp_path / "s" / "missing.zip"


def test_connection_by_alias_reads_the_endpoint(tmp_path: Path) -> None:
    connection = make_inputs(tmp_path).connection("azureSubscription")
    assert connection.id == CONNECTION_ID
    assert connection.scheme == "ServicePrincipal"
    assert connection.parameter("serviceprincipalkey") == "s3cr3t-Key~value"
    assert connection.data_value("subscriptionid") == "00000000-0000-0000-0000-0000000000aa"
    assert "s3cr3t" not in repr(connection)


def test_connection_that_the_job_does_not_have(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path, ConnectedServiceName="other-id")
    assert only_problem(inputs) == (
        "Input 'Azure subscription' (ConnectedServiceName): no service connection \"other-id\" "
        "is available to this job; expected the name or id of a service connection this "
        "pipeline is authorized to use."
    )
    with pytest.raises(InputErrors):
        inputs.connection("ConnectedServiceName")


def test_alias_value_is_read_when_only_the_alias_is_set(tmp_path: Path) -> None:
    env = agent_environ(TASK_JSON, tmp_path, inputs=VALID, endpoints=(spn_key_endpoint(),))
    env["INPUT_AZURESUBSCRIPTION"] = env.pop("INPUT_CONNECTEDSERVICENAME")
    inputs = Inputs(load_definition(TASK_JSON), AgentEnvironment.capture(env))
    assert inputs.connection("ConnectedServiceName").id == CONNECTION_ID


def _batch(text: str) -> int:
    if text.endswith("%") and text[:-1].isdigit():
        return -int(text[:-1])
    if text.isdigit():
        return int(text)
    raise ValueError(text)


BATCH = Check("batchSize", _batch, "a whole number or a percentage like 20%")


def test_task_specific_check_is_validated_with_the_rest(tmp_path: Path) -> None:
    inputs = make_inputs(tmp_path, (BATCH,), batchSize="abc", retries="x")
    assert inputs.problems() == [
        "Input 'Retries' (retries): \"x\" is not valid; expected a whole number.",
        "Input 'Batch size' (batchSize): \"abc\" is not valid; expected a whole number or a "
        "percentage like 20%.",
    ]
    good = make_inputs(tmp_path, (BATCH,), batchSize="25%")
    assert good.value(BATCH) == -25
    with pytest.raises(InputErrors):
        inputs.value(BATCH)


def test_unknown_input_name_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="no input 'nope'"):
        make_inputs(tmp_path).string("nope")


def test_one_problem_per_input_even_with_a_task_specific_check(tmp_path: Path) -> None:
    retries = Check("retries", int, "a small number")
    inputs = make_inputs(tmp_path, (retries,), retries="x")
    assert inputs.problems() == [
        "Input 'Retries' (retries): \"x\" is not valid; expected a whole number."
    ]
