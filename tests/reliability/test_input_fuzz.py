"""Reliability 5, property-based: the input layer (pytask.agent.inputs against each task's own
task.json and task-specific checks) turns any value of any input into either a typed value or
one input error naming that input; never another exception.

In-process (no sandbox): an input value cannot reach the cloud before this layer has judged
it, and the corpus in test_bad_input.py covers the way through `pytask run`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytask.agent.definition import InputDefinition, TaskDefinition, load_definition
from pytask.agent.environment import AgentEnvironment
from pytask.agent.errors import InputErrors
from pytask.agent.inputs import Check, Inputs
from pytask.tasks.deploy.spec import CHECKS as DEPLOY_CHECKS
from pytask.tasks.devtestlab.spec import CHECKS as LAB_CHECKS
from pytask.tasks.healthgate.spec import TIME_CHECKS
from pytask.tasks.publish.rules import CHECKS as PUBLISH_CHECKS
from tests.helpers.agent_env import CONNECTION_ID, REPO, agent_environ, spn_key_endpoint
from tests.reliability import ledger
from tests.reliability.bad_inputs import BASE

pytestmark = [pytest.mark.reliability]

CHECKS: dict[str, tuple[Check[Any], ...]] = {
    "PublishVmApp": tuple(PUBLISH_CHECKS),
    "DeployVmApp": tuple(DEPLOY_CHECKS),
    "HealthGate": tuple(TIME_CHECKS),
    "DevTestLabEnv": tuple(LAB_CHECKS),
}
DEFINITIONS: dict[str, TaskDefinition] = {
    task: load_definition(REPO / "tasks" / task / "task.json") for task in CHECKS
}
SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa"

# What a pipeline can put in an input: any text the agent can pass in an environment variable
# (no NUL), and the shapes that reach the parsers' corners.
_TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
_NUMBERS = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=4000, max_value=6000).map(lambda n: "9" * n),  # past int()'s limit
    st.sampled_from(["٣", "²", "1_000", "0x10", "1e3", " 7 ", "+0", "-0", "%", "20 %", "1%%"]),
)
_STRUCTURED = st.one_of(
    st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n),  # nesting depth
    st.integers(min_value=1, max_value=3000).map(lambda n: "{a: " * n),
    st.sampled_from(
        [
            "{",
            "[]",
            "{}",
            "null",
            "~",
            "- ",
            "a: b: c",
            "!!python/object:os.system x",
            "&a [*a]",
            '{"a": 1',
            "[1, [2]]",
            "{a: {b: 1}}",
            "---\n...",
            "\t",
            "\r\n",
            "true",
            "FALSE",
            "yes",
        ]
    ),
)
_DATES = st.one_of(
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["2026-02-30", "9999-12-31T23:59:59Z", "0001-01-01", "2026-01-01T25:00"]),
)
_IDS = st.sampled_from(
    [
        "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/v",
        "/subscriptions//resourceGroups//providers/Microsoft.Compute/virtualMachines/",
        '["/subscriptions/s", 1]',
        "/subscriptions/s/resourceGroups/g/providers/Microsoft.DevTestLab/labs/l/extra",
    ]
)


def option_variants(item: InputDefinition) -> st.SearchStrategy[str]:
    keys = list(item.options) or ["x"]
    return st.sampled_from(keys).flatmap(
        lambda key: st.sampled_from([key, key.upper(), key.lower(), f" {key} ", key + "x"])
    )


def values_for(item: InputDefinition) -> st.SearchStrategy[str]:
    return st.one_of(_TEXT, _NUMBERS, _STRUCTURED, _DATES, _IDS, option_variants(item))


examples = {"count": 0}


@pytest.fixture(scope="module")
def work() -> Iterator[Path]:
    """A job folder for the agent-like environments; records the examples tried at the end."""
    with tempfile.TemporaryDirectory(prefix="input-fuzz-") as folder:
        yield Path(folder)
    if examples["count"]:
        ledger.record("input_fuzz", examples=examples["count"], tasks=len(CHECKS))


def make_inputs(task: str, name: str, value: str, work: Path) -> Inputs:
    given_inputs = {k: v.replace("{sub}", SUBSCRIPTION) for k, v in BASE[task].items()}
    given_inputs.update({"azureSubscription": CONNECTION_ID, name: value})
    env = agent_environ(
        REPO / "tasks" / task / "task.json",
        work,
        inputs=given_inputs,
        endpoints=(spn_key_endpoint(),),
    )
    return Inputs(DEFINITIONS[task], AgentEnvironment.capture(env), CHECKS[task])


def typed_read(inputs: Inputs, item: InputDefinition, checks: tuple[Check[Any], ...]) -> None:
    """Read the input as its task does: by its task.json type, then its task-specific rule."""
    kind = item.kind.lower()
    if kind == "boolean":
        inputs.boolean(item.name)
    elif kind == "int":
        inputs.optional_integer(item.name)
    elif kind in ("picklist", "radio"):
        inputs.picks(item.name) if item.multi_select else inputs.pick(item.name)
    elif kind == "filepath":
        inputs.path(item.name)
    elif kind == "connectedservice":
        inputs.connection(item.name)
    elif kind == "multiline":
        inputs.lines(item.name)
    else:
        inputs.string(item.name, required=False)
    for check in checks:
        if check.name == item.name:
            inputs.value(check)


@settings(
    max_examples=ledger.scale(300, 5000),
    deadline=None,
    derandomize=not ledger.soak(),  # the quick slice is the same every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_value_of_any_input_is_a_typed_value_or_one_error_naming_it(
    work: Path, data: st.DataObject
) -> None:
    task = data.draw(st.sampled_from(sorted(CHECKS)))
    item = data.draw(st.sampled_from(DEFINITIONS[task].inputs), label="input")
    value = data.draw(values_for(item), label="value")
    examples["count"] += 1
    inputs = make_inputs(task, item.name, value, work)

    problems = inputs.problems()  # never raises
    assert len(problems) <= 1, problems
    for problem in problems:
        assert item.display in problem, problem
    try:
        typed_read(inputs, item, CHECKS[task])
    except InputErrors as error:
        assert len(error.messages) == 1 and item.display in error.messages[0], error.messages
