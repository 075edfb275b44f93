"""Logging commands: the agent's exact escaping, checked against the agent-side parser."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from pytask.agent.commands import escape_data, escape_property, format_command, format_line
from pytask.agent.output import TaskOutput
from tests.helpers.vso import Output, parse_command

# Text rich in the characters that matter: escapes, their look-alikes and line breaks.
TRICKY = st.text(
    alphabet=st.sampled_from(list("%;]\r\n[=A Z P 2 5 0 D 3 B aé✓")) | st.characters(),
    max_size=60,
)


def test_escapes_percent_first_then_line_breaks_in_data() -> None:
    assert escape_data("100%\r\ndone") == "100%AZP25%0D%0Adone"
    # `]` and `;` are harmless in the message: the command already ended.
    assert escape_data("a;b]c") == "a;b]c"


def test_escapes_brackets_and_semicolons_in_properties() -> None:
    assert escape_property("a;b]c%\n") == "a%3Bb%5Dc%AZP25%0A"


def test_an_escape_sequence_in_the_text_survives_as_text() -> None:
    line = format_command("task.setvariable", {"variable": "x%3B"}, "%0A and %AZP25")
    command = parse_command(line)
    assert command is not None
    assert command.properties == {"variable": "x%3B"}
    assert command.message == "%0A and %AZP25"


def test_empty_properties_are_left_out_like_task_lib() -> None:
    line = format_command("task.logissue", {"type": "error", "sourcepath": None, "code": ""}, "m")
    assert line == "##vso[task.logissue type=error;]m"


def test_command_without_properties() -> None:
    line = format_command("task.uploadsummary", None, "/t/s.md")
    assert line == "##vso[task.uploadsummary]/t/s.md"


def test_formatting_lines() -> None:
    assert format_line("group", "Upload") == "##[group]Upload"
    assert format_line("endgroup") == "##[endgroup]"


@given(name=TRICKY, value=TRICKY, message=TRICKY)
def test_round_trip_through_the_agent_parser(name: str, value: str, message: str) -> None:
    line = format_command("task.setvariable", {"variable": name, "note": value}, message)
    assert "\n" not in line and "\r" not in line
    command = parse_command(line)
    assert command is not None
    assert command.name == "task.setvariable"
    expected = {k: v for k, v in {"variable": name, "note": value}.items() if v}
    assert command.properties == expected
    assert command.message == message


@given(value=TRICKY)
def test_round_trip_of_output_variables(value: str) -> None:
    stream = io.StringIO()
    TaskOutput(stream).set_variable("out", value, is_output=True)
    assert Output(stream.getvalue()).outputs == {"out": value}


@given(secret=TRICKY.filter(lambda s: s.strip() != ""))
def test_setsecret_round_trip(secret: str) -> None:
    stream = io.StringIO()
    TaskOutput(stream).add_secret(secret)
    assert secret.strip() in Output(stream.getvalue()).secrets
