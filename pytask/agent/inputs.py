"""Task inputs, typed and validated against the task's own task.json.

The agent sets `INPUT_<NAME>` for every input of the task (defaults already merged, values
trimmed). `Inputs.problems()` checks all of them at once before the task body runs, so the
user sees every problem in one go; the typed accessors then only convert.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from pytask.agent.connection import ServiceConnection
from pytask.agent.definition import InputDefinition, TaskDefinition
from pytask.agent.environment import AgentEnvironment
from pytask.agent.errors import InputErrors
from pytask.agent.visibility import is_visible

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

# At most 18 digits: any whole-number input is far smaller, and int() refuses strings of more
# than 4300 digits with a ValueError the accessors would not expect.
_INTEGER = re.compile(r"^[+-]?\d{1,18}$")
# What a task-specific parser may raise for text it cannot make a value of: ValueError by
# contract, and what parsing pathological text raises (nesting deeper than the recursion
# limit in JSON or YAML, numbers beyond float range).
_NOT_A_VALUE = (ValueError, OverflowError, RecursionError)
_MAX_QUOTED = 200


@dataclass(frozen=True)
class Check(Generic[T_co]):
    """A task-specific rule for one input, checked with all the others before the task starts.

    `parse` turns the text into a value and raises ValueError when it is not valid;
    `expected` says what is valid, e.g. "a whole number or a percentage like 20%".
    """

    name: str
    parse: Callable[[str], T_co]
    expected: str


class Inputs:
    def __init__(
        self,
        definition: TaskDefinition,
        environment: AgentEnvironment,
        checks: Iterable[Check[object]] = (),
    ) -> None:
        self.definition = definition
        self._env = environment
        self._checks = tuple(checks)

    # -- raw access ----------------------------------------------------------------------
    def get(self, name: str) -> str:
        """The trimmed text of an input (default from task.json when the agent set none)."""
        item = self.definition.input(name)
        for key in (item.name, *item.aliases):
            value = self._env.input_value(key)
            if value is not None:
                return value.strip()
        return item.default_value

    def visible(self, name: str) -> bool:
        """Whether the input's visibleRule shows it, given the other inputs' values."""
        return is_visible(self.definition.input(name).visible_rule, self._values())

    def supplied(self, name: str) -> bool:
        item = self.definition.input(name)
        if item.kind == "filePath":
            return self._file_path(item) is not None
        return self.get(name) != ""

    # -- typed accessors -----------------------------------------------------------------
    def string(self, name: str, *, required: bool | None = None) -> str:
        item = self._required_check(name, required)
        return self.get(item.name)

    def optional_string(self, name: str) -> str | None:
        return self.get(name) or None

    def boolean(self, name: str) -> bool:
        item = self.definition.input(name)
        value = self.get(name)
        if value and value.lower() not in ("true", "false"):
            raise InputErrors([invalid(item, value, "true or false")])
        return value.lower() == "true"

    def integer(self, name: str, *, minimum: int | None = None) -> int:
        value = self.optional_integer(name, minimum=minimum)
        if value is None:
            raise InputErrors([missing(self.definition.input(name))])
        return value

    def optional_integer(self, name: str, *, minimum: int | None = None) -> int | None:
        item = self.definition.input(name)
        value = self.get(name)
        if not value:
            self._required_check(name, None)
            return None
        if not _INTEGER.match(value):
            raise InputErrors([invalid(item, value, _whole_number(minimum))])
        number = int(value)
        if minimum is not None and number < minimum:
            raise InputErrors([invalid(item, value, _whole_number(minimum))])
        return number

    def pick(self, name: str) -> str:
        """A pickList/radio value, as the option key spelled in task.json."""
        item = self._required_check(name, None)
        value = self.get(name)
        if not value:
            return ""
        problem = _pick_problem(item, value)
        if problem:
            raise InputErrors([problem])
        return _canonical_option(item, value)

    def picks(self, name: str) -> list[str]:
        """A MultiSelect pickList: comma-separated option keys."""
        item = self._required_check(name, None)
        problem = _pick_problem(item, self.get(name))
        if problem:
            raise InputErrors([problem])
        return [_canonical_option(item, part) for part in _split_csv(self.get(name))]

    def lines(self, name: str) -> list[str]:
        """A multiLine input as its non-empty, trimmed lines."""
        self._required_check(name, None)
        return [line.strip() for line in self.get(name).splitlines() if line.strip()]

    def path(self, name: str, *, must_exist: bool = False) -> Path | None:
        """A filePath input, or None when no path was supplied (the agent turns an empty
        filePath into the repository root, which therefore also counts as not supplied)."""
        item = self._required_check(name, None)
        path = self._file_path(item)
        if path is not None and must_exist and not path.exists():
            raise InputErrors([invalid(item, str(path), "an existing file or folder")])
        return path

    def connection(self, name: str) -> ServiceConnection:
        """The service connection named by a connectedService input."""
        item = self._required_check(name, True)
        connection = self._connection(item)
        if connection is None:
            raise InputErrors([_unknown_connection(item, self.get(item.name))])
        return connection

    def value(self, check: Check[T]) -> T | None:
        """The parsed value of a task-specific rule, or None when the input is empty."""
        item = self._required_check(check.name, None)
        text = self.get(check.name)
        if not text:
            return None
        try:
            return check.parse(text)
        except _NOT_A_VALUE:
            raise InputErrors([invalid(item, text, check.expected)]) from None

    # -- validation of everything at once ------------------------------------------------
    def problems(self) -> list[str]:
        """Every input problem, one message each, in task.json order."""
        values = self._values()
        found: dict[str, str] = {}
        for item in self.definition.inputs:
            if not is_visible(item.visible_rule, values):
                continue
            problem = self._problem(item)
            if problem:
                found[item.name] = problem
        for check in self._checks:
            item = self.definition.input(check.name)
            text = self.get(item.name)
            # One problem per input: a task-specific rule adds nothing to a type error.
            if item.name in found or not text or not is_visible(item.visible_rule, values):
                continue
            if not _parses(check, text):
                found[item.name] = invalid(item, text, check.expected)
        return list(found.values())

    def validate(self) -> None:
        found = self.problems()
        if found:
            raise InputErrors(found)

    def _problem(self, item: InputDefinition) -> str | None:
        value = self.get(item.name)
        supplied = self._file_path(item) is not None if item.kind == "filePath" else bool(value)
        if not supplied:
            return missing(item) if item.required else None
        kind = item.kind.lower()
        if kind == "boolean" and value.lower() not in ("true", "false"):
            return invalid(item, value, "true or false")
        if kind == "int" and not _INTEGER.match(value):
            return invalid(item, value, "a whole number")
        if kind in ("picklist", "radio"):
            return _pick_problem(item, value)
        if kind == "connectedservice" and self._connection(item) is None:
            return _unknown_connection(item, value)
        return None

    # -- helpers -------------------------------------------------------------------------
    def _values(self) -> dict[str, str]:
        return {item.name.lower(): self.get(item.name) for item in self.definition.inputs}

    def _required_check(self, name: str, required: bool | None) -> InputDefinition:
        item = self.definition.input(name)
        needed = item.required and self.visible(name) if required is None else required
        if needed and not self.supplied(item.name):
            raise InputErrors([missing(item)])
        return item

    def _file_path(self, item: InputDefinition) -> Path | None:
        value = self.get(item.name)
        if not value:
            return None
        root = self._env.variable("Build.SourcesDirectory") or self._env.variable(
            "System.DefaultWorkingDirectory"
        )
        base = Path(root) if root else Path.cwd()
        path = Path(os.path.normpath(base / value))
        if root and path == Path(os.path.normpath(root)):
            return None
        return path

    def _connection(self, item: InputDefinition) -> ServiceConnection | None:
        endpoint_id = self.get(item.name)
        connection = self._env.endpoint(endpoint_id) if endpoint_id else None
        if connection is None:
            return None
        return ServiceConnection(
            id=connection.id,
            url=connection.url,
            scheme=connection.scheme,
            parameters=connection.parameters,
            data=connection.data,
            access_token=self._env.access_token,
        )


def missing(item: InputDefinition) -> str:
    return f"{item.display} is required; expected {_expected(item)}."


def invalid(item: InputDefinition, value: str, expected: str) -> str:
    shown = value if len(value) <= _MAX_QUOTED else value[:_MAX_QUOTED] + "..."
    return f'{item.display}: "{shown}" is not valid; expected {expected}.'


def _expected(item: InputDefinition) -> str:
    kind = item.kind.lower()
    if kind == "boolean":
        return "true or false"
    if kind == "int":
        return "a whole number"
    if kind in ("picklist", "radio") and item.options:
        return _options_text(item)
    if kind == "connectedservice":
        return "the name or id of a service connection"
    if kind == "filepath":
        return "a path to a file or folder"
    return "a value"


def _options_text(item: InputDefinition) -> str:
    keys = list(item.options)
    prefix = "one or more of" if item.multi_select else "one of"
    return f"{prefix}: {', '.join(keys)}"


def _pick_problem(item: InputDefinition, value: str) -> str | None:
    if item.editable_options or not item.options or not value:
        return None
    parts = _split_csv(value) if item.multi_select else [value]
    known = {key.lower() for key in item.options}
    bad = [part for part in parts if part.lower() not in known]
    return invalid(item, value, _options_text(item)) if bad else None


def _canonical_option(item: InputDefinition, value: str) -> str:
    for key in item.options:
        if key.lower() == value.lower():
            return key
    return value


def _split_csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _unknown_connection(item: InputDefinition, value: str) -> str:
    return (
        f'{item.display}: no service connection "{value}" is available to this job; expected '
        "the name or id of a service connection this pipeline is authorized to use."
    )


def _whole_number(minimum: int | None) -> str:
    return "a whole number" if minimum is None else f"a whole number of at least {minimum}"


def _parses(check: Check[object], text: str) -> bool:
    try:
        check.parse(text)
    except _NOT_A_VALUE:
        return False
    return True
