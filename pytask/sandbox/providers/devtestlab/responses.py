"""HTTP handlers for Microsoft.DevTestLab (2018-09-15): labs, artifact sources, ARM templates,
artifacts, virtual networks, environments and lab VMs.

Environments and lab VMs create their Azure resources through the sandbox's own routes (a
resource group, the template's deployment, NICs and Microsoft.Compute VMs), so what they make
is what a client's PUT would have made.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from pytask.sandbox.core import OperationKind, Reply, RequestContext, reply
from pytask.sandbox.core.arm import request_resource_id, require_resource_group
from pytask.sandbox.core.errors import ArmError, not_found
from pytask.sandbox.core.world import Effect, World
from pytask.sandbox.identity.state import identity, save_identity
from pytask.sandbox.providers.deployments import internal
from pytask.sandbox.providers.deployments import models as deployments
from pytask.sandbox.providers.deployments import responses as deploying
from pytask.sandbox.providers.deployments.parameters import from_text
from pytask.sandbox.providers.devtestlab import failures, images, machines
from pytask.sandbox.providers.devtestlab import models as m
from pytask.sandbox.providers.resources.urls import SEED_API_VERSION as GROUP_API

NETWORK_API = "2024-05-01"
DELETE_ENVIRONMENT = "dtl_delete_environment"
DELETE_LAB_VM = "dtl_delete_lab_vm"
DELETE_LAB = "dtl_delete_lab"
EXPIRE_LAB_VM = "dtl_expire_lab_vm"


# --- shared ---------------------------------------------------------------------------------
def _lab(ctx: RequestContext) -> dict[str, Any]:
    group = require_resource_group(ctx)
    name = ctx.params["labName"]
    doc = ctx.world.get(m.lab_id(group["id"], name))
    if doc is None or doc.get("type") != m.LAB_TYPE:
        raise not_found(m.LAB_TYPE, name, ctx.params["resourceGroupName"])
    return doc


def _found(ctx: RequestContext, full_type: str, name: str) -> dict[str, Any]:
    doc = ctx.world.get(request_resource_id(ctx))
    if doc is None or doc.get("type", "").lower() != full_type.lower():
        raise not_found(full_type, name, ctx.params["resourceGroupName"])
    return doc


def _owner(ctx: RequestContext) -> str:
    """`@me` is the caller's object id; any other value names a user."""
    user = ctx.params["userName"]
    if user.lower() == "@me":
        return ctx.principal.object_id if ctx.principal and ctx.principal.object_id else "@me"
    return user


def _caller(ctx: RequestContext) -> str:
    principal = ctx.principal
    if principal is None:
        return ""
    return str(principal.claims.get("upn") or principal.claims.get("appid") or principal.object_id)


def _grant_creator(ctx: RequestContext, lab: Mapping[str, Any], group_id: str) -> None:
    """DevTest Labs gives whoever creates an environment the lab's `environmentPermission`
    role (Reader unless the lab says Contributor) on the environment's resource group. A
    principal without assignments is unconstrained already; one more would constrain it."""
    principal = ctx.principal
    state = identity(ctx.world)
    oid = principal.object_id.lower() if principal is not None else ""
    if not any(a["principal"].lower() == oid for a in state.role_assignments):
        return
    role = str(lab["properties"].get("environmentPermission") or "Reader")
    state.role_assignments.append({"principal": oid, "role": role, "scope": group_id})
    save_identity(ctx.world, state)


def _random_group_name(lab: str, name: str) -> str:
    """As DevTest Labs names them: `<lab>-<name>-<6 digits>`."""
    return f"{lab}-{name}-{random.randrange(100000, 999999)}"[:90]


def _create_group(ctx: RequestContext, group_id: str, location: str, tags: dict[str, str]) -> None:
    answer = internal.request(ctx, "PUT", group_id, GROUP_API, {"location": location, "tags": tags})
    if not answer.ok:
        error = answer.error()
        raise ArmError(answer.status, str(error.get("code")), str(error.get("message")))


def _lro(
    ctx: RequestContext,
    location: str,
    seconds_from_now: float,
    kind: OperationKind,
    error: Mapping[str, Any] | None = None,
    on_success: tuple[str, dict[str, Any]] | None = None,
) -> dict[str, str]:
    """An operation ending `seconds_from_now` sandbox seconds from now (failed with `error`)."""
    ctx.fail_operation = dict(error) if error else None
    scale = ctx.clock.time_scale or 1.0
    op, headers = ctx.start_operation(
        max(0.0, seconds_from_now) / scale,
        location=location,
        kind=kind,
        on_success=on_success,
        poll_interval=10.0,
    )
    if error:
        ctx.world.operations[op.id]["error"] = dict(error)
    return headers


def _group_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    return "/".join(parts[:5])


# --- labs -----------------------------------------------------------------------------------
def put_lab(ctx: RequestContext) -> Reply:
    group = require_resource_group(ctx)
    body = ctx.json_object()
    name = ctx.params["labName"]
    location = str(body.get("location") or group["location"])
    now = ctx.clock.now()
    with ctx.world.lock:
        existing = ctx.world.get(request_resource_id(ctx))
        if existing is not None:
            if "tags" in body:
                existing["tags"] = dict(body.get("tags") or {})
            ctx.world.put(existing)
            return reply(m.lab_view(existing, now), 200)
        doc = m.lab_doc(m.lab_id(group["id"], name), name, {**body, "location": location}, now)
        ready = now + ctx.clock.scaled(m.LAB_CREATE_SECONDS)
        doc["_ready"] = ready
        ctx.world.put(doc)
        for spec in m.default_sources():
            m.put_source(ctx.world, doc, spec, now)
        _lab_network(ctx, group, doc)
        headers = _lro(ctx, location, ready - now, OperationKind.ASYNC_OPERATION)
    return reply(m.lab_view(doc, now), 201, headers)


def _lab_network(ctx: RequestContext, group: Mapping[str, Any], lab: Mapping[str, Any]) -> None:
    """The lab's virtual network, `Dtl<lab>` with subnet `Dtl<lab>Subnet`, as Azure makes it."""
    vnet_name = f"Dtl{lab['name']}"
    vnet_id = f"{group['id']}/providers/Microsoft.Network/virtualNetworks/{vnet_name}"
    subnet = f"{vnet_name}Subnet"
    body = {
        "location": lab["location"],
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/20"]},
            "subnets": [{"name": subnet, "properties": {"addressPrefix": "10.0.0.0/20"}}],
        },
    }
    answer = internal.request(ctx, "PUT", vnet_id, NETWORK_API, body)
    if not answer.ok:
        raise ArmError(answer.status, str(answer.error().get("code")), "lab network failed")
    ctx.world.put(
        {
            "id": f"{lab['id']}/virtualnetworks/{vnet_name}",
            "name": vnet_name,
            "type": m.VNET_TYPE,
            "_location": lab["location"],
            "properties": {
                "externalProviderResourceId": vnet_id,
                "subnetOverrides": [
                    {
                        "resourceId": f"{vnet_id}/subnets/{subnet}",
                        "labSubnetName": subnet,
                        "useInVmCreationPermission": "Allow",
                        "usePublicIpAddressPermission": "Allow",
                    }
                ],
                "provisioningState": "Succeeded",
                "uniqueIdentifier": m.new_identifier(),
            },
        }
    )


def get_lab(ctx: RequestContext) -> dict[str, Any]:
    return m.lab_view(_lab(ctx), ctx.clock.now())


def list_labs(ctx: RequestContext) -> dict[str, Any]:
    if "resourceGroupName" in ctx.params:
        parent = require_resource_group(ctx)["id"]
    else:
        parent = f"/subscriptions/{ctx.subscription_id}"
    now = ctx.clock.now()
    return ctx.page([m.lab_view(d, now) for d in ctx.world.children(parent, m.LAB_TYPE)])


def delete_lab(ctx: RequestContext) -> Reply:
    require_resource_group(ctx)
    doc = ctx.world.get(request_resource_id(ctx))
    if doc is None or doc.get("type") != m.LAB_TYPE:
        return reply(None, 204)
    headers = _lro(
        ctx,
        doc["location"],
        ctx.clock.scaled(m.DELETE_SECONDS),
        OperationKind.LOCATION,
        on_success=(DELETE_LAB, {"id": doc["id"]}),
    )
    return reply(None, 202, headers)


def delete_lab_effect(world: World, args: dict[str, Any]) -> None:
    world.delete(args["id"])


# --- artifact sources, templates, artifacts, networks ---------------------------------------
def put_source(ctx: RequestContext) -> Reply:
    lab = _lab(ctx)
    spec = m.source_spec(ctx.params["artifactSourceName"], ctx.json_object())
    try:
        doc, created = m.put_source(ctx.world, lab, spec, ctx.clock.now())
    except (OSError, ValueError) as error:
        raise ArmError(
            400, "InvalidArtifactSource", f"The repository could not be read: {error}"
        ) from error
    return reply(m.view(doc), 201 if created else 200)


def get_source(ctx: RequestContext) -> dict[str, Any]:
    _lab(ctx)
    return m.view(_found(ctx, m.SOURCE_TYPE, ctx.params["artifactSourceName"]))


def list_sources(ctx: RequestContext) -> dict[str, Any]:
    lab = _lab(ctx)
    return ctx.page([m.view(d) for d in m.child(ctx.world, lab["id"], m.SOURCE_TYPE)])


def delete_source(ctx: RequestContext) -> Reply:
    _lab(ctx)
    doc = ctx.world.get(request_resource_id(ctx))
    if doc is None or doc.get("type") != m.SOURCE_TYPE:
        return reply(None, 204)
    ctx.world.delete(doc["id"])
    return reply(None, 200)


def _source(ctx: RequestContext) -> dict[str, Any]:
    lab = _lab(ctx)
    name = ctx.params["artifactSourceName"]
    doc = ctx.world.get(f"{lab['id']}/artifactsources/{name}")
    if doc is None:
        raise not_found(m.SOURCE_TYPE, f"{lab['name']}/{name}", ctx.params["resourceGroupName"])
    return doc


def list_templates(ctx: RequestContext) -> dict[str, Any]:
    source = _source(ctx)
    return ctx.page([m.view(d) for d in m.child(ctx.world, source["id"], m.TEMPLATE_TYPE)])


def get_template(ctx: RequestContext) -> dict[str, Any]:
    _source(ctx)
    return m.view(_found(ctx, m.TEMPLATE_TYPE, ctx.params["name"]))


def list_artifacts(ctx: RequestContext) -> dict[str, Any]:
    source = _source(ctx)
    return ctx.page([m.view(d) for d in m.child(ctx.world, source["id"], m.ARTIFACT_TYPE)])


def get_artifact(ctx: RequestContext) -> dict[str, Any]:
    _source(ctx)
    return m.view(_found(ctx, m.ARTIFACT_TYPE, ctx.params["name"]))


def list_networks(ctx: RequestContext) -> dict[str, Any]:
    lab = _lab(ctx)
    return ctx.page([m.view(d) for d in m.child(ctx.world, lab["id"], m.VNET_TYPE)])


def get_network(ctx: RequestContext) -> dict[str, Any]:
    _lab(ctx)
    return m.view(_found(ctx, m.VNET_TYPE, ctx.params["name"]))


# --- environments ---------------------------------------------------------------------------
def _environment_path(ctx: RequestContext, lab: Mapping[str, Any]) -> str:
    return m.environment_id(lab, _owner(ctx), ctx.params["name"])


def put_environment(ctx: RequestContext) -> Reply:
    lab = _lab(ctx)
    body = ctx.json_object()
    name = ctx.params["name"]
    now = ctx.clock.now()
    resource_id = _environment_path(ctx, lab)
    with ctx.world.lock:
        existing = ctx.world.get(resource_id)
        if existing is not None:
            return _update_environment(ctx, existing, body)
        props = body.get("properties") or {}
        deployment = props.get("deploymentProperties") or {}
        template = _template_of(ctx, lab, deployment.get("armTemplateId"))
        given = _parameter_list(deployment.get("parameters"))
        definitions = template["properties"]["contents"].get("parameters") or {}
        group_name = _random_group_name(lab["name"], name)
        group_id = f"/subscriptions/{ctx.subscription_id}/resourceGroups/{group_name}"
        group = {"id": group_id, "name": group_name, "location": lab["location"]}
        dep_name = f"{name}-{m.new_identifier()[:8]}"
        scope = deploying.scope_for(ctx, group, dep_name)
        values = {
            p["name"]: from_text(_definition(definitions, p["name"]), p["value"]) for p in given
        }
        plan = deployments.validate(template["properties"]["contents"], values, scope)
        tags = {
            "hidden-DevTestLabs-LabUId": lab["properties"]["uniqueIdentifier"],
            "hidden-DevTestLabs-EnvironmentResourceId": resource_id,
        }
        _create_group(ctx, group_id, lab["location"], tags)
        _grant_creator(ctx, lab, group_id)
        stored_group = ctx.world.get(group_id) or group
        doc = m.environment_doc(resource_id, name, lab, template, given, plan.secure, group_id,
                                _caller(ctx), body.get("tags"))  # fmt: skip
        injected = ctx.fail_operation
        if injected is None:
            failure = failures.deployment_failure(ctx.fault_sections, template["name"], name)
            injected = failure.as_injected() if failure else None
        result = deploying.deploy(ctx, stored_group, dep_name, plan, scope, injected)
        doc["_deployment"] = result["id"]
        ctx.world.put(doc)
        headers = _lro(
            ctx,
            lab["location"],
            float(result["_end"]) - now,
            OperationKind.ASYNC_OPERATION,
            result.get("_error"),
        )
    return reply(m.environment_view(ctx.world, doc, now), 201, headers)


def _definition(definitions: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    for key, value in definitions.items():
        if key.lower() == name.lower() and isinstance(value, Mapping):
            return value
    return {}


def _update_environment(ctx: RequestContext, doc: dict[str, Any], body: dict[str, Any]) -> Reply:
    if "tags" in body:
        doc["tags"] = dict(body.get("tags") or {})
        ctx.world.put(doc)
    return reply(m.environment_view(ctx.world, doc, ctx.clock.now()), 200)


def _template_of(ctx: RequestContext, lab: Mapping[str, Any], template_id: Any) -> dict[str, Any]:
    target = "properties.deploymentProperties.armTemplateId"
    if not isinstance(template_id, str) or not template_id:
        raise ArmError(400, "MissingArmTemplateId", "The ARM template id is required.", target)
    doc = ctx.world.get(template_id)
    inside = template_id.lower().startswith(lab["id"].lower() + "/")
    if doc is None or doc.get("type") != m.TEMPLATE_TYPE or not inside:
        raise ArmError(
            400,
            "InvalidArmTemplateId",
            f"The ARM template '{template_id}' was not found in lab '{lab['name']}'.",
            target,
        )
    return doc


def _parameter_list(raw: Any) -> list[dict[str, str]]:
    """DevTest Labs passes every template parameter as a string."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ArmError(400, "InvalidRequestContent", "deploymentProperties.parameters: array")
    result: list[dict[str, str]] = []
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise ArmError(400, "InvalidRequestContent", "Each parameter needs a name.")
        value = item.get("value")
        if value is not None and not isinstance(value, str):
            raise ArmError(
                400,
                "InvalidRequestContent",
                f"The value of parameter '{item['name']}' must be a string.",
            )
        result.append({"name": item["name"], "value": value or ""})
    return result


def get_environment(ctx: RequestContext) -> dict[str, Any]:
    lab = _lab(ctx)
    doc = ctx.world.get(_environment_path(ctx, lab))
    if doc is None:
        raise not_found(m.ENVIRONMENT_TYPE, ctx.params["name"], ctx.params["resourceGroupName"])
    return m.environment_view(ctx.world, doc, ctx.clock.now())


def list_environments(ctx: RequestContext) -> dict[str, Any]:
    lab = _lab(ctx)
    user = ctx.params["userName"]
    owner = None if user.lower() == "@all" else _owner(ctx)
    now = ctx.clock.now()
    docs = m.environments(ctx.world, lab, owner)
    return ctx.page([m.environment_view(ctx.world, d, now) for d in docs])


def delete_environment(ctx: RequestContext) -> Reply:
    lab = _lab(ctx)
    with ctx.world.lock:
        doc = ctx.world.get(_environment_path(ctx, lab))
        if doc is None:
            return reply(None, 204)
        group_id = doc["properties"]["resourceGroupId"]
        resources = len(ctx.world.children(group_id))
        doc["_deleting"] = True
        ctx.world.put(doc)
        headers = _lro(
            ctx,
            lab["location"],
            ctx.clock.scaled(m.DELETE_SECONDS + 10.0 * resources),
            OperationKind.LOCATION,
            on_success=(DELETE_ENVIRONMENT, {"id": doc["id"], "group": group_id}),
        )
    return reply(None, 202, headers)


def delete_environment_effect(world: World, args: dict[str, Any]) -> None:
    world.delete(args["group"])
    world.delete(args["id"])


# --- lab virtual machines -------------------------------------------------------------------
def put_lab_vm(ctx: RequestContext) -> Reply:
    lab = _lab(ctx)
    body = ctx.json_object()
    name = ctx.params["name"]
    now = ctx.clock.now()
    resource_id = f"{lab['id']}/virtualmachines/{name}"
    with ctx.world.lock:
        existing = ctx.world.get(resource_id)
        if existing is not None:
            machines.update(existing, body, now)
            ctx.world.put(existing)
            _schedule_expiry(ctx, existing)
            return reply(m.lab_vm_view(existing, now, False), 200)
        request = machines.check(ctx.world, lab, name, body, now)
        group_name = _random_group_name(lab["name"], name)
        group_id = f"/subscriptions/{ctx.subscription_id}/resourceGroups/{group_name}"
        tags = {
            "hidden-DevTestLabs-LabUId": lab["properties"]["uniqueIdentifier"],
            "hidden-DevTestLabs-LogicalResourceUId": resource_id,
        }
        _create_group(ctx, group_id, request.location, tags)
        compute = _create_compute_vm(ctx, lab, request, group_id, tags)
        step = ctx.clock.scaled(m.ARTIFACT_SECONDS)
        ready = compute.done_at + ctx.clock.scaled(m.LAB_VM_OVERHEAD_SECONDS)
        doc = machines.lab_vm_doc(resource_id, lab, request, compute, ready, now, _caller(ctx),
                                  ctx.principal.object_id if ctx.principal else "")  # fmt: skip
        doc["_artifacts"] = m.artifact_runs(
            ctx.world, lab, request.artifacts, request.os_type, ready, step
        )
        _artifact_faults(ctx, doc["_artifacts"], name)
        error = _inject_vm_failure(ctx, doc)
        ctx.world.put(doc)
        _schedule_expiry(ctx, doc)
        end = max([ready, *(r["_end"] for r in doc["_artifacts"])])
        headers = _lro(ctx, request.location, end - now, OperationKind.ASYNC_OPERATION, error)
    return reply(m.lab_vm_view(doc, now, False), 201, headers)


def _artifact_faults(ctx: RequestContext, runs: list[dict[str, Any]], vm: str) -> None:
    """Artifact installs the faults file's `devTestLabFailures.artifacts` fails."""
    for run in runs:
        artifact = ctx.world.get(run["artifactId"]) or {}
        message = failures.artifact_failure(ctx.fault_sections, artifact, vm)
        if message:
            run["_failure"] = message


def _inject_vm_failure(ctx: RequestContext, doc: dict[str, Any]) -> dict[str, Any] | None:
    """A fault rule that fails this request: the last artifact fails, or (with no artifacts)
    the machine's provisioning does."""
    injected = ctx.fail_operation
    if injected is None:
        return None
    message = str(injected.get("message") or "The artifact failed (injected by the sandbox).")
    if doc["_artifacts"]:
        m.fail_last_artifact(doc["_artifacts"], message)
        return None
    doc["_failure"] = {"code": injected.get("code") or "VmProvisioningFailed", "message": message}
    return dict(doc["_failure"])


def _create_compute_vm(
    ctx: RequestContext,
    lab: Mapping[str, Any],
    request: machines.LabVmRequest,
    group_id: str,
    tags: dict[str, str],
) -> machines.ComputeVm:
    subnet_id = machines.subnet_of(ctx.world, lab, request)
    nic_id = f"{group_id}/providers/Microsoft.Network/networkInterfaces/{request.name}"
    nic_body = {
        "location": request.location,
        "tags": tags,
        "properties": {"ipConfigurations": [{"name": "ipconfig1",
                                             "properties": {"subnet": {"id": subnet_id}}}]},
    }  # fmt: skip
    steps = [
        (nic_id, NETWORK_API, nic_body),
        (
            f"{group_id}/providers/Microsoft.Compute/virtualMachines/{request.name}",
            machines.COMPUTE_API,
            machines.compute_body(request, nic_id, {**tags, **request.tags}),
        ),
    ]
    done_at = ctx.clock.now()
    for path, api_version, body in steps:
        answer = internal.request(ctx, "PUT", path, api_version, body)
        if not answer.ok:
            ctx.world.delete(group_id)
            error = answer.error()
            raise ArmError(answer.status, str(error.get("code")), str(error.get("message")))
        done_at = max(done_at, deploying.operation_end(ctx.world, answer.headers, done_at))
    nic = ctx.world.get(nic_id) or {}
    return machines.ComputeVm(steps[1][0], nic_id, machines.private_ip(nic), subnet_id, done_at)


def get_lab_vm(ctx: RequestContext) -> dict[str, Any]:
    _lab(ctx)
    doc = _found(ctx, m.LAB_VM_TYPE, ctx.params["name"])
    expand = "artifacts" in ctx.query.get("$expand", "").lower()
    return m.lab_vm_view(doc, ctx.clock.now(), expand)


def list_lab_vms(ctx: RequestContext) -> dict[str, Any]:
    lab = _lab(ctx)
    expand = "artifacts" in ctx.query.get("$expand", "").lower()
    now = ctx.clock.now()
    return ctx.page([m.lab_vm_view(d, now, expand) for d in m.lab_vms(ctx.world, lab)])


def delete_lab_vm(ctx: RequestContext) -> Reply:
    lab = _lab(ctx)
    with ctx.world.lock:
        doc = ctx.world.get(f"{lab['id']}/virtualmachines/{ctx.params['name']}")
        if doc is None:
            return reply(None, 204)
        doc["_deleting"] = True
        ctx.world.put(doc)
        group = _group_of(doc["properties"]["computeId"])
        headers = _lro(
            ctx,
            doc["location"],
            ctx.clock.scaled(m.DELETE_SECONDS),
            OperationKind.LOCATION,
            on_success=(DELETE_LAB_VM, {"id": doc["id"], "group": group}),
        )
    return reply(None, 202, headers)


def delete_lab_vm_effect(world: World, args: dict[str, Any]) -> None:
    world.delete(args["group"])
    world.delete(args["id"])


def _schedule_expiry(ctx: RequestContext, doc: dict[str, Any]) -> None:
    """DevTest Labs deletes a lab VM (and its compute resources) at its expiration date."""
    when = machines.expiry_epoch(doc["properties"].get("expirationDate"))
    if when is None:
        return
    args = {"id": doc["id"], "group": _group_of(doc["properties"]["computeId"]),
            "expirationDate": doc["properties"]["expirationDate"]}  # fmt: skip
    ctx.world.schedule(Effect(when, ctx.namespace, EXPIRE_LAB_VM, args))


def expire_lab_vm_effect(world: World, args: dict[str, Any]) -> None:
    """Only if the date is still the one scheduled (a later PUT may have moved it)."""
    doc = world.get(args["id"])
    if doc is not None and doc["properties"].get("expirationDate") == args["expirationDate"]:
        delete_lab_vm_effect(world, args)


def apply_artifacts(ctx: RequestContext) -> Reply:
    lab = _lab(ctx)
    body = ctx.json_object()
    now = ctx.clock.now()
    with ctx.world.lock:
        doc = ctx.world.get(f"{lab['id']}/virtualmachines/{ctx.params['name']}")
        if doc is None:
            raise not_found(m.LAB_VM_TYPE, ctx.params["name"], ctx.params["resourceGroupName"])
        if m.lab_vm_state(doc, now) != "Succeeded":
            raise ArmError(
                409,
                "VmNotReady",
                f"The virtual machine '{doc['name']}' is {m.lab_vm_state(doc, now)}; artifacts "
                "can be applied once it has been created.",
            )
        step = ctx.clock.scaled(m.ARTIFACT_SECONDS)
        runs = m.artifact_runs(ctx.world, lab, body.get("artifacts"), doc["properties"]["osType"],
                               now, step)  # fmt: skip
        _artifact_faults(ctx, runs, doc["name"])
        if ctx.fail_operation is not None:
            m.fail_last_artifact(runs, str(ctx.fail_operation.get("message") or "failed"))
        doc["_artifacts"] = [*doc.get("_artifacts", []), *runs]
        ctx.world.put(doc)
        end = max([now, *(r["_end"] for r in runs)])
        headers = _lro(ctx, doc["location"], end - now, OperationKind.LOCATION)
    return reply(None, 202, headers)


# --- custom images and formulas -------------------------------------------------------------
def _put_lab_child(ctx: RequestContext, make: Any) -> Reply:
    lab = _lab(ctx)
    body = ctx.json_object()
    resource_id = request_resource_id(ctx)
    with ctx.world.lock:
        existing = ctx.world.get(resource_id)
        doc = make(ctx.world, resource_id, ctx.params["name"], lab, body, ctx.clock.now())
        if existing is not None:
            doc["properties"]["uniqueIdentifier"] = existing["properties"]["uniqueIdentifier"]
        ctx.world.put(doc)
    return reply(m.view(doc), 200 if existing else 201)


def put_custom_image(ctx: RequestContext) -> Reply:
    return _put_lab_child(ctx, images.custom_image_doc)


def put_formula(ctx: RequestContext) -> Reply:
    return _put_lab_child(ctx, images.formula_doc)


def get_custom_image(ctx: RequestContext) -> dict[str, Any]:
    _lab(ctx)
    return m.view(_found(ctx, images.CUSTOM_IMAGE_TYPE, ctx.params["name"]))


def get_formula(ctx: RequestContext) -> dict[str, Any]:
    _lab(ctx)
    return m.view(_found(ctx, images.FORMULA_TYPE, ctx.params["name"]))


def list_custom_images(ctx: RequestContext) -> dict[str, Any]:
    lab = _lab(ctx)
    docs = m.child(ctx.world, lab["id"], images.CUSTOM_IMAGE_TYPE)
    return ctx.page([m.view(d) for d in docs])


def list_formulas(ctx: RequestContext) -> dict[str, Any]:
    lab = _lab(ctx)
    return ctx.page([m.view(d) for d in m.child(ctx.world, lab["id"], images.FORMULA_TYPE)])


def delete_lab_child(ctx: RequestContext) -> Reply:
    _lab(ctx)
    doc = ctx.world.get(request_resource_id(ctx))
    if doc is None:
        return reply(None, 204)
    ctx.world.delete(doc["id"])
    return reply(None, 200)
