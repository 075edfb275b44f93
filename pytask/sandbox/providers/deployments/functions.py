"""Evaluating ARM template expressions: the template functions a deployment can call.

Only the functions the sandbox's templates and the documented DevTest Labs environments use;
any other name is ARM's "The template function 'x' is not known".
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytask.sandbox.providers.deployments.expressions import (
    Call,
    Index,
    Literal,
    Member,
    Node,
    TemplateError,
    is_expression,
    parse,
    unescape,
)

# Reads a resource's document by id (for reference()); None if it does not exist.
Lookup = Callable[[str], "Mapping[str, Any] | None"]


@dataclass
class Scope:
    """What a template's expressions can see."""

    subscription_id: str
    tenant_id: str
    resource_group: Mapping[str, Any]  # the target group's document (id, name, location)
    deployment_name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    raw_variables: Mapping[str, Any] = field(default_factory=dict)
    lookup: Lookup = lambda _id: None
    copy_index: int | None = None
    _resolving: set[str] = field(default_factory=set)

    def evaluate(self, value: Any) -> Any:
        """A template value with every expression in it evaluated (recursively)."""
        if isinstance(value, str):
            return self._call_tree(parse(value[1:-1])) if is_expression(value) else unescape(value)
        if isinstance(value, list):
            return [self.evaluate(item) for item in value]
        if isinstance(value, dict):
            return {key: self.evaluate(item) for key, item in value.items()}
        return value

    def with_copy_index(self, index: int) -> Scope:
        clone = Scope(**{**self.__dict__, "copy_index": index})
        clone._resolving = self._resolving
        return clone

    # --- evaluation --------------------------------------------------------------------
    def _call_tree(self, node: Node) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Member):
            return _member(self._call_tree(node.target), node.name)
        if isinstance(node, Index):
            return _index(self._call_tree(node.target), self._call_tree(node.key))
        return self._call(node)

    def _call(self, node: Call) -> Any:
        args = [self._call_tree(arg) for arg in node.args]
        special: dict[str, Callable[..., Any]] = {
            "parameters": self._parameter,
            "variables": self._variable,
            "resourcegroup": lambda: dict(self.resource_group),
            "subscription": lambda: {
                "id": f"/subscriptions/{self.subscription_id}",
                "subscriptionId": self.subscription_id,
                "tenantId": self.tenant_id,
            },
            "deployment": lambda: {"name": self.deployment_name},
            "resourceid": self._resource_id,
            "reference": self._reference,
            "copyindex": self._copy_index,
            "uniquestring": self._unique_string,
        }
        function: Callable[..., Any] | None = special.get(node.name) or _PURE.get(node.name)
        if function is None:
            raise TemplateError(f"The template function '{node.name}' is not known.")
        try:
            return function(*args)
        except TypeError as error:
            raise TemplateError(
                f"Unable to evaluate template language function '{node.name}': {error}."
            ) from error

    def _parameter(self, name: str) -> Any:
        if name not in self.parameters:
            raise TemplateError(f"The template parameter '{name}' is not found.")
        return self.parameters[name]

    def _variable(self, name: str) -> Any:
        if name in self.variables:
            return self.variables[name]
        if name not in self.raw_variables:
            raise TemplateError(f"The template variable '{name}' is not found.")
        if name in self._resolving:
            raise TemplateError(f"The template variable '{name}' refers to itself.")
        self._resolving.add(name)
        try:
            self.variables[name] = self.evaluate(self.raw_variables[name])
        finally:
            self._resolving.discard(name)
        return self.variables[name]

    def _resource_id(self, *parts: str) -> str:
        if len(parts) < 2:
            raise TemplateError("resourceId() needs a resource type and a name.")
        group_id = str(self.resource_group["id"])
        first = parts[0]
        if "/" not in first:  # resourceId(resourceGroupName, type, names...)
            group_id = f"/subscriptions/{self.subscription_id}/resourceGroups/{first}"
            parts = parts[1:]
        return resource_id(group_id, parts[0], list(parts[1:]))

    def _reference(self, target: str, *_rest: Any) -> Any:
        resource = self.lookup(target)
        if resource is None:
            raise TemplateError(f"The Resource '{target}' was not found (reference()).")
        full = len(_rest) > 1 and str(_rest[1]).lower() == "full"
        return dict(resource) if full else dict(resource.get("properties") or {})

    def _copy_index(self, offset: int = 0) -> int:
        if self.copy_index is None:
            raise TemplateError(
                "The template function 'copyIndex' is not expected at this location."
            )
        return self.copy_index + int(offset)

    def _unique_string(self, *values: str) -> str:
        digest = hashlib.sha256("|".join(str(v) for v in values).encode("utf-8")).digest()
        alphabet = "abcdefghijklmnopqrstuvwxyz234567"
        number = int.from_bytes(digest[:8], "big")
        return "".join(alphabet[(number >> (5 * i)) & 31] for i in range(13))


def resource_id(group_id: str, full_type: str, names: list[str]) -> str:
    """`Microsoft.Network/virtualNetworks/subnets` + [vnet, sub] -> the ARM id in the group."""
    namespace, *types = full_type.split("/")
    if len(names) == 1 and len(types) > 1 and "/" in names[0]:
        names = names[0].split("/")
    if len(types) != len(names):
        raise TemplateError(
            f"Unable to evaluate resourceId: type '{full_type}' needs {len(types)} name "
            f"segment(s), got {len(names)}."
        )
    tail = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
    return f"{group_id}/providers/{namespace}/{tail}"


def _member(value: Any, name: str) -> Any:
    if isinstance(value, Mapping):
        for key in value:
            if key.lower() == name.lower():
                return value[key]
    raise TemplateError(f"The language expression property '{name}' doesn't exist.")


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, list) and isinstance(key, int):
        if not 0 <= key < len(value):
            raise TemplateError(f"The language expression index '{key}' is out of range.")
        return value[key]
    if isinstance(value, Mapping) and isinstance(key, str):
        return _member(value, key)
    raise TemplateError("The language expression index is not valid for this value.")


def _concat(*values: Any) -> Any:
    if values and all(isinstance(v, list) for v in values):
        return [item for v in values for item in v]
    return "".join(_text(v) for v in values)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _format(template: str, *values: Any) -> str:
    return template.format(*(_text(v) for v in values))


def _length(value: Any) -> int:
    return len(value)


def _guid(*values: Any) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join(_text(v) for v in values)))


def _union(*values: Any) -> Any:
    if all(isinstance(v, Mapping) for v in values):
        merged: dict[str, Any] = {}
        for value in values:
            merged.update(value)
        return merged
    seen: list[Any] = []
    for value in values:
        seen.extend(item for item in value if item not in seen)
    return seen


_PURE: dict[str, Callable[..., Any]] = {
    "concat": _concat,
    "format": _format,
    "string": _text,
    "int": int,
    "bool": lambda v: v if isinstance(v, bool) else str(v).lower() == "true",
    "json": json.loads,
    "tolower": lambda s: str(s).lower(),
    "toupper": lambda s: str(s).upper(),
    "trim": lambda s: str(s).strip(),
    "replace": lambda s, old, new: str(s).replace(old, new),
    "take": lambda v, n: v[: int(n)],
    "skip": lambda v, n: v[int(n) :],
    "first": lambda v: v[0],
    "last": lambda v: v[-1],
    "length": _length,
    "empty": lambda v: v is None or len(v) == 0,
    "contains": lambda container, item: item in container,
    "equals": lambda a, b: a == b,
    "not": lambda v: not v,
    "and": lambda *v: all(v),
    "or": lambda *v: any(v),
    "if": lambda condition, yes, no: yes if condition else no,
    "true": lambda: True,
    "false": lambda: False,
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a // b,
    "greater": lambda a, b: a > b,
    "less": lambda a, b: a < b,
    "createarray": lambda *v: list(v),
    "createobject": lambda *kv: {kv[i]: kv[i + 1] for i in range(0, len(kv), 2)},
    "union": _union,
    "guid": _guid,
    "range": lambda start, count: list(range(int(start), int(start) + int(count))),
}
