"""Template parameters as ARM checks them: known names, JSON types, allowed values, bounds,
defaults (which may themselves be expressions). Messages are ARM's."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pytask.sandbox.providers.deployments.expressions import TemplateError
from pytask.sandbox.providers.deployments.functions import Scope

HELP = "Please see https://aka.ms/resource-manager-parameter-files for usage details."

# template type (lower-case) -> (ARM's JToken name, accepts value?)
_TYPES: dict[str, tuple[str, Any]] = {
    "string": ("String", lambda v: isinstance(v, str)),
    "securestring": ("String", lambda v: isinstance(v, str)),
    "int": ("Integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    "bool": ("Boolean", lambda v: isinstance(v, bool)),
    "object": ("Object", lambda v: isinstance(v, dict)),
    "secureobject": ("Object", lambda v: isinstance(v, dict)),
    "array": ("Array", lambda v: isinstance(v, list)),
}
SECURE_TYPES = ("securestring", "secureobject")


def jtoken_name(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    return "Null"


def unwrap(parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """`{"name": {"value": v}}` (a deployment's parameters) -> `{"name": v}`."""
    values: dict[str, Any] = {}
    for name, entry in (parameters or {}).items():
        if not isinstance(entry, Mapping) or "value" not in entry:
            raise TemplateError(
                f"The template parameter '{name}' has no 'value'. Parameters are given as "
                '{"name": {"value": ...}}.'
            )
        values[name] = entry["value"]
    return values


def bind(definitions: Mapping[str, Any], given: Mapping[str, Any], scope: Scope) -> dict[str, Any]:
    """The parameter values a deployment runs with, or TemplateError with ARM's message."""
    by_lower = {name.lower(): name for name in definitions}
    unknown = [name for name in given if name.lower() not in by_lower]
    if unknown:
        raise TemplateError(
            f"The template parameters '{', '.join(unknown)}' in the parameters file are not "
            "valid; they are not present in the original template and can therefore not be "
            "provided at deployment time. The only supported parameters for this template are "
            f"'{', '.join(definitions)}'. {HELP}"
        )
    supplied = {by_lower[name.lower()]: value for name, value in given.items()}
    bound: dict[str, Any] = {}
    scope.parameters = bound
    for name, definition in definitions.items():
        if name in supplied:
            value = supplied[name]
        elif "defaultValue" in definition:
            value = scope.evaluate(definition["defaultValue"])
        else:
            raise TemplateError(
                f"The value for the template parameter '{name}' is not provided. {HELP}"
            )
        check(name, definition, value)
        bound[name] = value
    return bound


def check(name: str, definition: Mapping[str, Any], value: Any) -> None:
    kind = str(definition.get("type", "")).lower()
    if kind not in _TYPES:
        raise TemplateError(f"The template parameter '{name}' has an unknown type '{kind}'.")
    expected, accepts = _TYPES[kind]
    if not accepts(value):
        raise TemplateError(
            f"Template parameter JToken type is not valid. Expected '{expected}'. Actual "
            f"'{jtoken_name(value)}'. {HELP}"
        )
    allowed = definition.get("allowedValues")
    if allowed is not None and value not in allowed:
        raise TemplateError(
            f"The provided value '{value}' for the template parameter '{name}' is not valid. "
            f"The parameter value is not part of the allowed value(s): "
            f"'{','.join(str(a) for a in allowed)}'."
        )
    _bounds(name, definition, value)


def _bounds(name: str, definition: Mapping[str, Any], value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        low, high = definition.get("minValue"), definition.get("maxValue")
        if (low is not None and value < low) or (high is not None and value > high):
            raise TemplateError(
                f"The provided value '{value}' for the template parameter '{name}' is not "
                f"valid. It must be between {low} and {high}."
            )
    if isinstance(value, (str, list)):
        low, high = definition.get("minLength"), definition.get("maxLength")
        if low is not None and len(value) < low:
            raise TemplateError(
                f"The provided value for the template parameter '{name}' is not valid. The "
                f"length of the value must be at least {low}."
            )
        if high is not None and len(value) > high:
            raise TemplateError(
                f"The provided value for the template parameter '{name}' is not valid. The "
                f"length of the value must be at most {high}."
            )


def from_text(definition: Mapping[str, Any], text: str) -> Any:
    """A DevTest Labs parameter (always a string on the wire) as the template's type: DTL
    converts `"3"` for an int, `"true"` for a bool and JSON text for objects and arrays."""
    kind = str(definition.get("type", "")).lower()
    if kind == "int":
        try:
            return int(text.strip())
        except ValueError:
            return text
    if kind == "bool":
        lowered = text.strip().lower()
        return {"true": True, "false": False}.get(lowered, text)
    if kind in ("object", "secureobject", "array"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
