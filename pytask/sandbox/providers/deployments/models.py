"""Deployments on the World: run a template's plan through the sandbox's routes, and the
time-derived documents ARM answers (deployment, its operations, outputs, nested errors).

A deployment creates its resources when it is submitted (each with its own provider's
long-running operation) and reports Running until the slowest of them is done; its state is
computed from the clock when read.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from pytask.sandbox.core.clock import iso
from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.world import World
from pytask.sandbox.providers.deployments import template as templates
from pytask.sandbox.providers.deployments.expressions import TemplateError
from pytask.sandbox.providers.deployments.functions import Scope

TYPE = "Microsoft.Resources/deployments"
# A deployment takes at least this long in Azure (real seconds), whatever it deploys.
BASE_SECONDS = 15.0
DEPLOYMENT_FAILED = (
    "At least one resource deployment operation failed. Please list deployment operations for "
    "details. Please see https://aka.ms/arm-deployment-operations for usage details."
)


@dataclass(frozen=True)
class Created:
    """What creating one resource did: the error if it failed, and when it is done (epoch)."""

    error: dict[str, Any] | None
    done_at: float


# Creates one planned resource (through the routes); the World, now, and the resource.
Creator = Callable[[templates.PlannedResource], Created]


def deployment_id(group_id: str, name: str) -> str:
    return f"{group_id}/providers/{TYPE}/{name}"


def invalid_template(error: TemplateError) -> ArmError:
    return ArmError(400, "InvalidTemplate", f"Deployment template validation failed: '{error}'.")


def validate(template: Any, given: Mapping[str, Any], scope: Scope) -> templates.Plan:
    """ARM's synchronous validation; raises 400 InvalidTemplate (nothing written)."""
    try:
        return templates.plan(template, given, scope)
    except TemplateError as error:
        raise invalid_template(error) from error


def failing_resource(plan: templates.Plan, pattern: str | None = None) -> str | None:
    """Which resource an injected deployment failure hits: the first whose name matches
    `pattern` (shell-style; None if none does), else the last virtual machine, or the last
    resource (so that what came before it is left half-created, as in Azure)."""
    if pattern is not None:
        wanted = pattern.lower()
        for resource in plan.resources:
            names = (resource.name.lower(), resource.name.rsplit("/", 1)[-1].lower())
            if any(fnmatchcase(n, wanted) for n in names):
                return resource.id
        return None
    vms = [r for r in plan.resources if r.type.lower() == "microsoft.compute/virtualmachines"]
    chosen = vms[-1] if vms else (plan.resources[-1] if plan.resources else None)
    return None if chosen is None else chosen.id


def run(
    world: World,
    resource_id: str,
    name: str,
    plan: templates.Plan,
    scope: Scope,
    create: Creator,
    now: float,
    minimum_end: float,
    injected: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Deploy `plan` now; returns the stored deployment document."""
    pattern = injected.get("resource") if injected is not None else None
    target = failing_resource(plan, pattern) if injected is not None else None
    operations: list[dict[str, Any]] = []
    end = minimum_end
    error: dict[str, Any] | None = None
    for resource in plan.resources:
        if resource.id == target and injected is not None:
            error = _injected_error(injected, resource.id)
            operations.append(_operation(resource, now, end, error))
            break
        created = create(resource)
        end = max(end, created.done_at)
        operations.append(_operation(resource, now, created.done_at, created.error))
        if created.error is not None:
            error = {**created.error, "target": resource.id}
            break
    for op in operations:
        if op["_state"] == "Failed":
            op["_end"] = end
    outputs: dict[str, Any] = {}
    if error is None:
        try:
            outputs = templates.evaluate_outputs(plan.outputs, scope)
        except TemplateError as problem:
            error = {"code": "DeploymentOutputEvaluationFailed", "message": str(problem)}
    doc: dict[str, Any] = {
        **_deployment(resource_id, name, plan),
        "_start": now,
        "_end": end,
        "_outputs": outputs,
        "_error": None if error is None else _deployment_error(error),
        "_operations": operations,
        "_resources": [
            o["properties"]["targetResource"]["id"] for o in operations if o["_state"] != "Failed"
        ],
    }
    if tags:
        doc["tags"] = dict(tags)
    world.put(doc)
    return doc


def _injected_error(injected: Mapping[str, Any], target: str) -> dict[str, Any]:
    return {
        "code": injected.get("code") or "ResourceDeploymentFailure",
        "message": injected.get("message")
        or "The resource operation completed with terminal provisioning state 'Failed'.",
        "target": target,
    }


def _deployment_error(error: Mapping[str, Any]) -> dict[str, Any]:
    detail = {k: error[k] for k in ("code", "message", "target", "details") if k in error}
    return {"code": "DeploymentFailed", "message": DEPLOYMENT_FAILED, "details": [detail]}


def _operation(
    resource: templates.PlannedResource, start: float, end: float, error: Any
) -> dict[str, Any]:
    op_id = uuid.uuid4().hex[:16].upper()
    return {
        "operationId": op_id,
        "_start": start,
        "_end": end,
        "_state": "Failed" if error else "Succeeded",
        "properties": {
            "provisioningOperation": "Create",
            "targetResource": {
                "id": resource.id,
                "resourceType": resource.type,
                "resourceName": resource.name,
            },
            **({"statusCode": "BadRequest" if error else "OK"}),
            **({"statusMessage": {"status": "Failed", "error": dict(error)}} if error else {}),
        },
    }


def validation_view(
    resource_id: str, name: str, plan: templates.Plan, now: float
) -> dict[str, Any]:
    """Deployments_Validate's answer: the deployment as it would be, nothing written."""
    doc = _deployment(resource_id, name, plan)
    doc["properties"].update(
        provisioningState="Succeeded",
        timestamp=iso(now),
        duration="PT0S",
        validatedResources=[{"id": r.id} for r in plan.resources],
    )
    return doc


def _deployment(resource_id: str, name: str, plan: templates.Plan) -> dict[str, Any]:
    """What a deployment and its validation both say of the plan."""
    return {
        "id": resource_id,
        "name": name,
        "type": TYPE,
        "properties": {
            "templateHash": _hash(plan),
            "parameters": _parameter_view(plan),
            "mode": "Incremental",
            "correlationId": str(uuid.uuid4()),
            "dependencies": [],
            "providers": _providers(plan),
        },
    }


def _parameter_view(plan: templates.Plan) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for name, value in plan.parameters.items():
        if name in plan.secure:
            view[name] = {"type": "SecureString"}
        else:
            view[name] = {"type": _kind(value), "value": copy.deepcopy(value)}
    return view


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int"
    if isinstance(value, list):
        return "Array"
    return "Object" if isinstance(value, dict) else "String"


def _providers(plan: templates.Plan) -> list[dict[str, Any]]:
    namespaces: dict[str, list[str]] = {}
    for resource in plan.resources:
        namespace, _, rest = resource.type.partition("/")
        kinds = namespaces.setdefault(namespace, [])
        if rest not in kinds:
            kinds.append(rest)
    return [
        {"namespace": ns, "resourceTypes": [{"resourceType": t, "locations": []} for t in kinds]}
        for ns, kinds in namespaces.items()
    ]


def _hash(plan: templates.Plan) -> str:
    text = json.dumps([r.body for r in plan.resources], sort_keys=True, default=str)
    return str(int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:15], 16))


# --- views (time-derived) -----------------------------------------------------------------
def state(doc: Mapping[str, Any], now: float) -> str:
    if now < doc["_end"]:
        return "Running"
    return "Failed" if doc.get("_error") else "Succeeded"


def view(doc: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The deployment as GET answers it at `now`."""
    current = state(doc, now)
    props = copy.deepcopy(doc["properties"])
    props["provisioningState"] = current
    props["timestamp"] = iso(min(now, doc["_end"]))
    props["duration"] = _duration(min(now, doc["_end"]) - doc["_start"])
    if current == "Succeeded":
        props["outputs"] = _visible_outputs(doc["_outputs"])
        props["outputResources"] = [{"id": rid} for rid in doc["_resources"]]
    if current == "Failed":
        props["error"] = copy.deepcopy(doc["_error"])
    result = {k: copy.deepcopy(v) for k, v in doc.items() if not k.startswith("_")}
    result["properties"] = props
    return result


def _visible_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Secure outputs are reported by type only, as ARM does."""
    return {
        name: ({"type": o["type"]} if o["type"].startswith("Secure") else copy.deepcopy(o))
        for name, o in outputs.items()
    }


def operations_view(doc: Mapping[str, Any], now: float) -> list[dict[str, Any]]:
    views = []
    for op in doc["_operations"]:
        done = now >= op["_end"]
        props = copy.deepcopy(op["properties"])
        props["provisioningState"] = op["_state"] if done else "Running"
        props["timestamp"] = iso(min(now, op["_end"]))
        props["duration"] = _duration(min(now, op["_end"]) - op["_start"])
        if not done:
            props.pop("statusMessage", None)
            props.pop("statusCode", None)
        views.append(
            {
                "id": f"{doc['id']}/operations/{op['operationId']}",
                "operationId": op["operationId"],
                "properties": props,
            }
        )
    return views


def _duration(seconds: float) -> str:
    return f"PT{max(0.0, seconds):.7f}S"


def in_group(world: World, group_id: str) -> list[dict[str, Any]]:
    return world.children(group_id, TYPE)
