"""A small Azure Pipelines template expander: what the service does at compile time, enough
for the shipped templates (the demo runs what it produces; tests/unit/test_templates.py
validates it).

It does what the service does at compile time for the features our templates use:
`${{ parameters.x }}` values and interpolation, `${{ if }}` / `${{ elseif }}` / `${{ else }}`
and `${{ each }}` in mappings and sequences, `- template:` for stages, jobs and steps (with
declared parameters, defaults and `values`, and `path@repository`), and the expression
functions coalesce, convertToJson, eq, ne, and, or, not, format, join, contains, length.
Runtime syntax (`$(var)`, `$[ ... ]`, `condition:` strings) is left as written.

Loading is YAML 1.2 (core schema booleans only): `on:` is the key "on", not `true`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_BOOL_12 = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (PyYAML resolves yes/no/on/off as 1.1 does)."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_12, list("tTfF"))


def load_yaml12(text: str) -> Any:
    return yaml.load(text, Loader=Yaml12Loader)  # a SafeLoader subclass


class TemplateError(Exception):
    pass


# ---------------------------------------------------------------- expressions

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][\w.\-]*)"
    r"|(?P<punct>[(),\[\]]))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise TemplateError(f"cannot parse expression {text!r} at {pos}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value != ""
    return bool(value) if value is not None else False


def _as_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (dict, list)):
        raise TemplateError(f"an object cannot be inserted into a string: {value!r}")
    return str(value)


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return bool(a == b)


def _format(fmt: str, *args: Any) -> str:
    return re.sub(r"\{(\d+)\}", lambda m: _as_string(args[int(m.group(1))]), fmt)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    # ADO's coalesce skips only null and the empty string (0 and false are values).
    "coalesce": lambda *a: next((v for v in a if v is not None and v != ""), a[-1]),
    "convertToJson": lambda v: json.dumps(v, indent=2),
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "and": lambda *a: all(_truthy(v) for v in a),
    "or": lambda *a: any(_truthy(v) for v in a),
    "not": lambda v: not _truthy(v),
    "format": _format,
    "join": lambda sep, items: sep.join(_as_string(i) for i in items or []),
    "contains": lambda hay, needle: _as_string(needle).lower() in _as_string(hay).lower(),
    "length": lambda v: len(v or []),
}


class _Parser:
    def __init__(
        self,
        text: str,
        scope: Mapping[str, Any],
        functions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.scope = scope
        self.functions = {**FUNCTIONS, **(functions or {})}
        self.text = text

    def parse(self) -> Any:
        value = self._value()
        if self.pos != len(self.tokens):
            raise TemplateError(f"unexpected {self.tokens[self.pos][1]!r} in {self.text!r}")
        return value

    def _next(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise TemplateError(f"expression {self.text!r} ends early")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _peek(self) -> str:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""

    def _value(self) -> Any:
        kind, text = self._next()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind != "name":
            raise TemplateError(f"unexpected {text!r} in {self.text!r}")
        if self._peek() == "(":
            return self._call(text)
        lowered = text.lower()
        if lowered in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[lowered]
        return self._path(text)

    def _call(self, name: str) -> Any:
        if name not in self.functions:
            raise TemplateError(f"unknown function {name} in {self.text!r}")
        self._next()
        args: list[Any] = []
        while self._peek() != ")":
            args.append(self._value())
            if self._peek() == ",":
                self._next()
        self._next()
        return self.functions[name](*args)

    def _path(self, dotted: str) -> Any:
        head, *rest = dotted.split(".")
        if head not in self.scope:
            raise TemplateError(f"{head!r} is not known in {self.text!r}")
        value = self.scope[head]
        for part in rest:
            value = value.get(part) if isinstance(value, dict) else None
        while self._peek() == "[":
            self._next()
            key = self._value()
            self._next()
            value = value.get(key) if isinstance(value, dict) else None
        return value


def evaluate(
    expression: str,
    scope: Mapping[str, Any],
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> Any:
    """Value of an expression; `functions` adds to (or overrides) the built-in ones, e.g. the
    status functions of runtime conditions."""
    return _Parser(expression, scope, functions).parse()


# ---------------------------------------------------------------- expansion

_WHOLE = re.compile(r"^\s*\$\{\{(.*)\}\}\s*$", re.S)
_INLINE = re.compile(r"\$\{\{(.*?)\}\}", re.S)
_DIRECTIVE = re.compile(r"^\$\{\{\s*(if|elseif|else|each)\b(.*)\}\}$", re.S)
_EACH = re.compile(r"^\s*(\w+)\s+in\s+(.+)$", re.S)


@dataclass
class Expander:
    """Expands one pipeline file; `repositories` maps `@alias` to a checkout root."""

    repositories: dict[str, Path] = field(default_factory=dict)
    files: set[Path] = field(default_factory=set)

    def expand_pipeline(self, path: Path) -> Any:
        document = self._load(path)
        return self._node(document, {"parameters": {}}, path)

    def expand_template(self, path: Path, given: Mapping[str, Any]) -> Any:
        document = self._load(path)
        declared = document.get("parameters") or []
        scope = {"parameters": _bind_parameters(declared, given, path)}
        body = {k: v for k, v in document.items() if k != "parameters"}
        return self._node(body, scope, path)

    def _load(self, path: Path) -> Any:
        self.files.add(path.resolve())
        document = load_yaml12(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict):
            raise TemplateError(f"{path}: not a mapping")
        return document

    def _resolve(self, ref: str, current: Path) -> Path:
        if "@" in ref:
            relative, alias = ref.rsplit("@", 1)
            if alias not in self.repositories:
                raise TemplateError(f"{current}: unknown repository {alias!r}")
            return self.repositories[alias] / relative
        return (current.parent / ref).resolve()

    def _node(self, node: Any, scope: dict[str, Any], path: Path) -> Any:
        if isinstance(node, str):
            return self._string(node, scope)
        if isinstance(node, list):
            return self._sequence(node, scope, path)
        if isinstance(node, dict):
            return self._mapping(node, scope, path)
        return node

    def _string(self, text: str, scope: dict[str, Any]) -> Any:
        whole = _WHOLE.match(text)
        if whole and "${{" not in whole.group(1):
            return evaluate(whole.group(1), scope)
        return _INLINE.sub(lambda m: _as_string(evaluate(m.group(1), scope)), text)

    def _sequence(self, items: list[Any], scope: dict[str, Any], path: Path) -> list[Any]:
        out: list[Any] = []
        chain = _Chain()
        for item in items:
            directive = _single_directive(item)
            if directive:
                for part in self._directive(directive, item, scope, path, chain):
                    out.extend(part if isinstance(part, list) else [part])
                continue
            chain.reset()
            if isinstance(item, dict) and "template" in item:
                out.extend(self._include(item, scope, path))
            else:
                out.append(self._node(item, scope, path))
        return out

    def _mapping(self, node: dict[str, Any], scope: dict[str, Any], path: Path) -> Any:
        out: dict[str, Any] = {}
        chain = _Chain()
        for key, value in node.items():
            directive = _DIRECTIVE.match(key) if isinstance(key, str) else None
            if directive:
                for part in self._directive(directive, {key: value}, scope, path, chain):
                    if not isinstance(part, dict):
                        raise TemplateError(f"{path}: {key} must insert a mapping here")
                    out.update(part)
                continue
            chain.reset()
            out[self._string(key, scope) if isinstance(key, str) else key] = self._node(
                value, scope, path
            )
        return out

    def _directive(
        self,
        match: re.Match[str],
        item: dict[str, Any],
        scope: dict[str, Any],
        path: Path,
        chain: _Chain,
    ) -> list[Any]:
        kind, expression = match.group(1), match.group(2)
        body = next(iter(item.values()))
        if kind == "each":
            each = _EACH.match(expression)
            if not each:
                raise TemplateError(f"{path}: bad each {expression!r}")
            values = evaluate(each.group(2), scope) or []
            if isinstance(values, dict):  # each over a mapping yields key/value pairs
                values = [{"key": k, "value": v} for k, v in values.items()]
            return [self._node(body, {**scope, each.group(1): value}, path) for value in values]
        if kind == "if":
            chain.start()
        elif not chain.open:
            raise TemplateError(f"{path}: {kind} without if")
        if chain.taken:
            return []
        if kind == "else" or _truthy(evaluate(expression, scope)):
            chain.taken = True
            return [self._node(body, scope, path)]
        return []

    def _include(self, item: dict[str, Any], scope: dict[str, Any], path: Path) -> list[Any]:
        target = self._resolve(self._string(item["template"], scope), path)
        given = self._node(item.get("parameters") or {}, scope, path)
        expanded = self.expand_template(target, given)
        for kind in ("stages", "jobs", "steps"):
            if kind in expanded:
                return list(expanded[kind])
        raise TemplateError(f"{target}: no stages, jobs or steps")


class _Chain:
    """State of an if/elseif/else chain among siblings."""

    def __init__(self) -> None:
        self.open = False
        self.taken = False

    def start(self) -> None:
        self.open, self.taken = True, False

    def reset(self) -> None:
        self.open = self.taken = False


def _single_directive(item: Any) -> re.Match[str] | None:
    if isinstance(item, dict) and len(item) == 1:
        key = next(iter(item))
        return _DIRECTIVE.match(key) if isinstance(key, str) else None
    return None


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str, int, float, bool),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict, list, str, int, float, bool),
    "stepList": (list,),
    "jobList": (list,),
    "stageList": (list,),
}


def _bind_parameters(
    declared: list[dict[str, Any]], given: Mapping[str, Any], path: Path
) -> dict[str, Any]:
    names = {p["name"] for p in declared}
    unknown = set(given) - names
    if unknown:
        raise TemplateError(f"{path}: unexpected parameters {sorted(unknown)}")
    bound: dict[str, Any] = {}
    for spec in declared:
        name, kind = spec["name"], spec.get("type", "string")
        if name in given:
            value = given[name]
        elif "default" in spec:
            value = spec["default"]
        else:
            raise TemplateError(f"{path}: parameter {name!r} is required")
        if value is not None and not isinstance(value, _TYPES.get(kind, (object,))):
            raise TemplateError(f"{path}: parameter {name!r} must be a {kind}, not {value!r}")
        if "values" in spec and value not in spec["values"]:
            raise TemplateError(f"{path}: parameter {name!r} must be one of {spec['values']}")
        bound[name] = value
    return bound
