"""Template parameters, typed: read from YAML/JSON (and an optional parameters file), checked
against the template's own parameter definitions, and turned into the strings DevTest Labs
takes, one per parameter (never split on spaces).

Every problem is found before anything is written: unknown names, wrong types, values outside
`allowedValues` or the template's bounds, and required parameters left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pytask.tasks.devtestlab import yamlcore

SECURE = ("securestring", "secureobject")
_TYPES: dict[str, tuple[str, Any]] = {
    "string": ("a string", lambda v: isinstance(v, str)),
    "securestring": ("a string", lambda v: isinstance(v, str)),
    "int": ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
    "object": ("an object", lambda v: isinstance(v, dict)),
    "secureobject": ("an object", lambda v: isinstance(v, dict)),
    "array": ("an array", lambda v: isinstance(v, list)),
}


class ParameterProblems(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class BoundParameters:
    values: dict[str, Any]  # by the template's own spelling of each name
    secure: frozenset[str]

    def as_strings(self) -> list[dict[str, str]]:
        """DevTest Labs' `[{name, value}]`: strings as they are, the rest as JSON text."""
        return [{"name": name, "value": to_text(value)} for name, value in self.values.items()]

    def secret_texts(self) -> list[str]:
        return [to_text(self.values[name]) for name in self.secure if name in self.values]

    def display(self, name: str) -> str:
        return "***" if name in self.secure else json.dumps(self.values[name])


def to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"))


def read_file(path: Path) -> dict[str, Any]:
    """An ARM parameters file (`{"parameters": {"name": {"value": v}}}`) or a plain object."""
    try:
        data = yamlcore.load(path.read_text(encoding="utf-8-sig"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise ParameterProblems([f"parametersFile {path}: cannot be read: {error}"]) from error
    if not isinstance(data, dict):
        raise ParameterProblems([f"parametersFile {path}: expected an object"])
    if isinstance(data.get("parameters"), dict) and ("$schema" in data or _all_wrapped(data)):
        values: dict[str, Any] = {}
        for name, entry in data["parameters"].items():
            if not isinstance(entry, dict) or "value" not in entry:
                raise ParameterProblems(
                    [f"parametersFile {path}: parameter '{name}' has no 'value' "
                     "(Key Vault references are not supported)"]
                )  # fmt: skip
            values[name] = entry["value"]
        return values
    return data


def _all_wrapped(data: Mapping[str, Any]) -> bool:
    entries = data["parameters"].values()
    return bool(entries) and all(isinstance(e, dict) and "value" in e for e in entries)


def bind(definitions: Mapping[str, Any], given: Mapping[str, Any]) -> BoundParameters:
    """Check `given` against the template's parameter definitions; ParameterProblems lists
    every problem. Parameters left out keep the template's default (not sent)."""
    by_lower = {name.lower(): name for name in definitions}
    problems: list[str] = []
    values: dict[str, Any] = {}
    for name, value in given.items():
        canonical = by_lower.get(name.lower())
        if canonical is None:
            known = ", ".join(f"'{n}'" for n in definitions) or "none"
            problems.append(f"'{name}' is not a parameter of this template (it has: {known})")
            continue
        problem = check(canonical, definitions[canonical], value)
        if problem:
            problems.append(problem)
        values[canonical] = value
    for name, definition in definitions.items():
        if name not in values and "defaultValue" not in definition:
            kind = str(definition.get("type", "")).lower()
            problems.append(f"'{name}' is required ({_TYPES.get(kind, ('a value',))[0]})")
    if problems:
        raise ParameterProblems(problems)
    secure = frozenset(
        n for n, d in definitions.items() if str(d.get("type", "")).lower() in SECURE
    )
    return BoundParameters(values, secure)


def check(name: str, definition: Mapping[str, Any], value: Any) -> str | None:
    kind = str(definition.get("type", "")).lower()
    if kind not in _TYPES:
        return f"'{name}' has a type the task does not know ('{kind}')"
    expected, accepts = _TYPES[kind]
    if not accepts(value):
        hint = " (quote it to pass it as a string)" if kind in ("string", "securestring") else ""
        shown = "a secret value" if kind in SECURE else f"{_kind(value)} {_short(value)}"
        return f"'{name}' must be {expected}; got {shown}{hint}"
    allowed = definition.get("allowedValues")
    if allowed is not None and value not in allowed:
        options = ", ".join(json.dumps(a) for a in allowed)
        return f"'{name}' must be one of {options}; got {_short(value)}"
    return _bounds(name, definition, value)


def _bounds(name: str, definition: Mapping[str, Any], value: Any) -> str | None:
    low, high = definition.get("minValue"), definition.get("maxValue")
    number = isinstance(value, int) and not isinstance(value, bool)
    if number and ((low is not None and value < low) or (high is not None and value > high)):
        return f"'{name}' must be between {low} and {high}; got {value}"
    low, high = definition.get("minLength"), definition.get("maxLength")
    if isinstance(value, (str, list)):
        if low is not None and len(value) < low:
            return f"'{name}' must have at least {low} characters/items"
        if high is not None and len(value) > high:
            return f"'{name}' must have at most {high} characters/items"
    return None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
