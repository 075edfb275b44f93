"""A task's own task.json: the single source of its inputs, defaults and output variables."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TASK_JSON_ENV = "PYTASK_TASK_JSON"
CONNECTED_SERVICE_PREFIX = "connectedService:"


class DefinitionError(Exception):
    """task.json missing or malformed: a packaging bug, not a user error."""


@dataclass(frozen=True)
class InputDefinition:
    name: str
    type: str
    label: str
    required: bool = False
    default_value: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    visible_rule: str = ""
    group_name: str = ""
    properties: Mapping[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The type without its connectedService qualifier: `connectedService:AzureRM` ->
        `connectedService`."""
        if self.type.lower().startswith(CONNECTED_SERVICE_PREFIX.lower()):
            return "connectedService"
        return self.type

    @property
    def editable_options(self) -> bool:
        return _flag(self.properties, "EditableOptions")

    @property
    def multi_select(self) -> bool:
        return _flag(self.properties, "MultiSelect")

    @property
    def display(self) -> str:
        """How errors name an input: the label the user sees and the name YAML uses."""
        return f"Input '{self.label}' ({self.name})"

    def answers_to(self, name: str) -> bool:
        wanted = name.lower()
        return self.name.lower() == wanted or any(a.lower() == wanted for a in self.aliases)


@dataclass(frozen=True)
class OutputVariable:
    name: str
    description: str = ""


@dataclass(frozen=True)
class TaskDefinition:
    name: str
    inputs: tuple[InputDefinition, ...]
    output_variables: tuple[OutputVariable, ...] = ()
    friendly_name: str = ""
    path: Path | None = None

    def input(self, name: str) -> InputDefinition:
        """The input called `name` or aliased as `name` (case-insensitive, as the agent)."""
        for item in self.inputs:
            if item.answers_to(name):
                return item
        known = ", ".join(i.name for i in self.inputs)
        raise KeyError(f"task {self.name} has no input {name!r} (inputs: {known})")

    def find_input(self, name: str) -> InputDefinition | None:
        try:
            return self.input(name)
        except KeyError:
            return None

    def output_variable(self, name: str) -> OutputVariable | None:
        for item in self.output_variables:
            if item.name.lower() == name.lower():
                return item
        return None


def load_definition(path: Path) -> TaskDefinition:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise DefinitionError(f"cannot read task definition {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise DefinitionError(f"task definition {path} has no task name")
    return parse_definition(data, path)


def parse_definition(data: Mapping[str, Any], path: Path | None = None) -> TaskDefinition:
    return TaskDefinition(
        name=str(data["name"]),
        friendly_name=str(data.get("friendlyName", "")),
        inputs=tuple(_parse_input(item) for item in data.get("inputs") or []),
        output_variables=tuple(
            OutputVariable(str(o["name"]), str(o.get("description", "")))
            for o in data.get("outputVariables") or []
        ),
        path=path,
    )


def find_task_json(task_name: str, environ: Mapping[str, str] | None = None) -> Path:
    """`PYTASK_TASK_JSON` (set by the launcher to the task.json beside it), else the dev
    checkout's `tasks/<TaskName>/task.json`."""
    env = os.environ if environ is None else environ
    explicit = env.get(TASK_JSON_ENV)
    if explicit:
        return Path(explicit)
    checkout = Path(__file__).resolve().parents[2] / "tasks" / task_name / "task.json"
    if checkout.is_file():
        return checkout
    raise DefinitionError(
        f"cannot find task.json for {task_name}: set {TASK_JSON_ENV} or run from a checkout "
        f"with {checkout}"
    )


def _parse_input(item: Mapping[str, Any]) -> InputDefinition:
    default = item.get("defaultValue", "")
    if isinstance(default, bool):
        default = "true" if default else "false"
    return InputDefinition(
        name=str(item["name"]),
        type=str(item.get("type", "string")),
        label=str(item.get("label") or item["name"]),
        required=bool(item.get("required", False)),
        default_value=str(default).strip(),
        options={str(k): str(v) for k, v in (item.get("options") or {}).items()},
        aliases=tuple(str(a) for a in item.get("aliases") or []),
        visible_rule=str(item.get("visibleRule", "")),
        group_name=str(item.get("groupName", "")),
        properties={str(k): str(v) for k, v in (item.get("properties") or {}).items()},
    )


def _flag(properties: Mapping[str, str], key: str) -> bool:
    return any(k.lower() == key.lower() and v.lower() == "true" for k, v in properties.items())
