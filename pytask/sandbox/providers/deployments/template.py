"""A template turned into a plan: bound parameters, the resources to create in dependency
order (copy loops expanded, ids resolved), and the outputs to evaluate once they exist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytask.sandbox.providers.deployments import parameters as params
from pytask.sandbox.providers.deployments.expressions import TemplateError
from pytask.sandbox.providers.deployments.functions import Scope, resource_id

# Keys of a template resource that are instructions to ARM, not part of the resource body.
_CONTROL_KEYS = (
    "name",
    "type",
    "apiVersion",
    "dependsOn",
    "copy",
    "condition",
    "comments",
    "resources",
)


@dataclass(frozen=True)
class PlannedResource:
    id: str
    type: str
    name: str
    api_version: str
    body: dict[str, Any]
    depends_on: tuple[str, ...] = ()


@dataclass
class Plan:
    parameters: dict[str, Any]
    secure: frozenset[str]
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: Mapping[str, Any] = field(default_factory=dict)


def check_shape(template: Any) -> Mapping[str, Any]:
    if not isinstance(template, Mapping):
        raise TemplateError("The template must be a JSON object.")
    for key, kind in (("parameters", dict), ("variables", dict), ("outputs", dict)):
        if not isinstance(template.get(key, {}), kind):
            raise TemplateError(f"The template '{key}' section must be an object.")
    if not isinstance(template.get("resources", []), list):
        raise TemplateError("The template 'resources' section must be an array.")
    return template


def plan(template: Any, given: Mapping[str, Any], scope: Scope) -> Plan:
    """Validate and expand a template (ARM's validation phase: nothing is written)."""
    template = check_shape(template)
    definitions: Mapping[str, Any] = template.get("parameters") or {}
    bound = params.bind(definitions, given, scope)
    scope.raw_variables = template.get("variables") or {}
    secure = frozenset(
        name
        for name, definition in definitions.items()
        if str(definition.get("type", "")).lower() in params.SECURE_TYPES
    )
    result = Plan(bound, secure, outputs=template.get("outputs") or {})
    for raw in template.get("resources") or []:
        result.resources.extend(_expand(raw, scope))
    result.resources = _ordered(result.resources)
    return result


def _expand(raw: Any, scope: Scope) -> list[PlannedResource]:
    if not isinstance(raw, Mapping) or "type" not in raw or "name" not in raw:
        raise TemplateError("Each template resource needs a 'type' and a 'name'.")
    copy = raw.get("copy")
    scopes = (
        [scope] if copy is None else [scope.with_copy_index(i) for i in range(_count(copy, scope))]
    )
    found: list[PlannedResource] = []
    for each in scopes:
        resource = _one(raw, each)
        if resource is None:
            continue
        found.append(resource)
        for child in raw.get("resources") or []:
            found.extend(_expand(_as_child(child, resource), each))
    return found


def _count(copy: Mapping[str, Any], scope: Scope) -> int:
    count = scope.evaluate(copy.get("count"))
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise TemplateError(f"The copy count of '{copy.get('name')}' must be a whole number.")
    return count


def _as_child(child: Any, parent: PlannedResource) -> dict[str, Any]:
    """A nested resource as a top-level one: `databases` in `Microsoft.DBforMySQL/servers`
    named `db` becomes `Microsoft.DBforMySQL/servers/databases` named `server/db`."""
    if not isinstance(child, Mapping) or "type" not in child or "name" not in child:
        raise TemplateError("Each template resource needs a 'type' and a 'name'.")
    flat = dict(child)
    if "/" not in str(child["type"]):
        flat["type"] = f"{parent.type}/{child['type']}"
        flat["name"] = f"[concat('{_quote(parent.name)}/', {_name_expr(child['name'])})]"
    return flat


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _name_expr(name: Any) -> str:
    text = str(name)
    if text.startswith("[") and text.endswith("]") and not text.startswith("[["):
        return text[1:-1]
    return f"'{_quote(text)}'"


def _one(raw: Mapping[str, Any], scope: Scope) -> PlannedResource | None:
    if "condition" in raw and not scope.evaluate(raw["condition"]):
        return None
    full_type = str(raw["type"])
    name = str(scope.evaluate(raw["name"]))
    body = {k: scope.evaluate(v) for k, v in raw.items() if k not in _CONTROL_KEYS}
    api_version = str(raw.get("apiVersion") or "")
    if not api_version:
        raise TemplateError(f"The resource '{full_type}/{name}' has no apiVersion.")
    depends = tuple(str(scope.evaluate(d)) for d in raw.get("dependsOn") or [])
    rid = resource_id(str(scope.resource_group["id"]), full_type, name.split("/"))
    return PlannedResource(rid, full_type, name, api_version, body, depends)


def _matches(reference: str, resource: PlannedResource) -> bool:
    """dependsOn entries are ids, `type/name` or a bare name."""
    ref = reference.rstrip("/").lower()
    return ref in (
        resource.id.lower(),
        f"{resource.type}/{resource.name}".lower(),
        resource.name.lower(),
    ) or resource.id.lower().endswith("/" + ref)


def _ordered(resources: list[PlannedResource]) -> list[PlannedResource]:
    """Dependencies first; template order otherwise (ARM deploys independents in parallel;
    the sandbox creates them one by one)."""
    done: list[PlannedResource] = []
    visiting: set[str] = set()

    def visit(resource: PlannedResource) -> None:
        if resource in done:
            return
        if resource.id in visiting:
            raise TemplateError(f"Circular dependency detected on resource: '{resource.id}'.")
        visiting.add(resource.id)
        for reference in resource.depends_on:
            needed = [r for r in resources if _matches(reference, r)]
            if not needed:
                raise TemplateError(f"The resource '{reference}' is not defined in the template.")
            for other in needed:
                visit(other)
        visiting.discard(resource.id)
        done.append(resource)

    for resource in resources:
        visit(resource)
    return done


def evaluate_outputs(outputs: Mapping[str, Any], scope: Scope) -> dict[str, dict[str, Any]]:
    """`{"name": {"type": "String", "value": v}}` as a deployment reports them."""
    result: dict[str, dict[str, Any]] = {}
    for name, definition in outputs.items():
        kind = str(definition.get("type", "string"))
        copy = definition.get("copy")
        if copy is not None:
            value = [
                scope.with_copy_index(i).evaluate(copy.get("input"))
                for i in range(_count(copy, scope))
            ]
        else:
            value = scope.evaluate(definition.get("value"))
        result[name] = {"type": _output_type(kind), "value": value}
    return result


def _output_type(kind: str) -> str:
    names = {"securestring": "SecureString", "secureobject": "SecureObject", "int": "Int"}
    return names.get(kind.lower(), kind[:1].upper() + kind[1:].lower())
