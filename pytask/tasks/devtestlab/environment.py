"""Environments: create (or reuse, recreate, refuse), wait, explain failures from the ARM
deployment's nested errors and clean up, delete by name whoever created it.

Outputs come from the deployment DevTest Labs ran for this environment (found by its name and
the parameters sent), never from whichever deployment a resource group lists first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from azure.mgmt.devtestlabs import models as dtl

from pytask.agent import TaskContext, TaskError
from pytask.tasks.devtestlab import compute
from pytask.tasks.devtestlab import parameters as params
from pytask.tasks.devtestlab.lab import RESOURCES_API, Lab, user_of
from pytask.tasks.devtestlab.report import Outcome
from pytask.tasks.devtestlab.spec import DtlSpec, EnvSpec
from pytask.tasks.devtestlab.waiting import Deadline, wait_all

TERMINAL = ("Succeeded", "Failed")


@dataclass(frozen=True)
class Prepared:
    template: dtl.ArmTemplate
    bound: params.BoundParameters


# --- before any write ------------------------------------------------------------------------
def prepare(ctx: TaskContext, lab: Lab, env: EnvSpec) -> Prepared:
    """Source, template and parameters checked; TaskError (nothing written) otherwise."""
    source = lab.source(env.source)
    template = lab.template(source, env.template)
    contents: Mapping[str, Any] = template.contents or {}
    definitions = contents.get("parameters") or {}
    given: dict[str, Any] = {}
    try:
        if env.parameters_file is not None:
            given.update(params.read_file(env.parameters_file))
        given.update(env.parameters)
        bound = params.bind(definitions, given)
    except params.ParameterProblems as problems:
        listing = "\n".join(f"  - {p}" for p in problems.problems)
        raise TaskError(
            f"The parameters do not fit template '{template.name}' "
            f"({len(problems.problems)} problem(s)); nothing was created:\n{listing}"
        ) from None
    for secret in bound.secret_texts():
        ctx.add_secret(secret)
    ctx.log(f"Template: {template.display_name or template.name} ({template.id})")
    for name in bound.values:
        ctx.log(f"  {name} = {bound.display(name)}")
    return Prepared(template, bound)


# --- create ---------------------------------------------------------------------------------
def create(
    ctx: TaskContext,
    lab: Lab,
    spec: DtlSpec,
    prepared: Prepared,
    tags: dict[str, str],
    deadline: Deadline,
) -> Outcome:
    existing = lab.environments_named(spec.name)
    action = "created"
    current = _settled(ctx, lab, existing[0], deadline) if existing else None
    if current is not None:
        state = current.provisioning_state
        if spec.if_exists == "fail":
            raise TaskError(
                f"Environment '{spec.name}' already exists ({state}) and ifExists is 'fail'. "
                "Choose another name, or set ifExists to reuse or recreate."
            )
        if spec.if_exists == "reuse" and state == "Succeeded":
            ctx.log(f"Environment '{spec.name}' exists (Succeeded): reused, nothing created.")
            _warn_if_different(ctx, current, prepared)
            # A run killed between creating the environment and tagging its group left the
            # group untagged: finish that, with the environment's own tags.
            _tag_group(ctx, lab, current, dict(current.tags or {}))
            return outputs(ctx, lab, current, prepared, "reused")
        if spec.if_exists == "reuse":
            raise TaskError(
                f"Environment '{spec.name}' exists but is {state}; it cannot be reused. Set "
                "ifExists: recreate to replace it, or delete it first."
            )
        for environment in lab.environments_named(spec.name):
            delete_one(ctx, lab, environment, deadline)
        action = "recreated"
    created = _submit(ctx, lab, spec, prepared, tags, deadline)
    _tag_group(ctx, lab, created, tags)
    return outputs(ctx, lab, created, prepared, action)


def _warn_if_different(ctx: TaskContext, env: dtl.DtlEnvironment, prepared: Prepared) -> None:
    deployed = env.deployment_properties
    template_id = str(deployed.arm_template_id if deployed else "")
    if template_id.lower() != str(prepared.template.id).lower():
        ctx.warning(
            f"Environment '{env.name}' was made from another template ({template_id}); it is "
            "reused as it is. Set ifExists: recreate to replace it."
        )


def _settled(
    ctx: TaskContext, lab: Lab, env: dtl.DtlEnvironment, deadline: Deadline
) -> dtl.DtlEnvironment | None:
    """An existing environment once it is no longer changing (Creating/Deleting waited for)."""
    while env.provisioning_state not in TERMINAL:
        if deadline.passed():
            raise deadline.expired(f"environment '{env.name}' ({env.provisioning_state})")
        ctx.log(f"Environment '{env.name}' is {env.provisioning_state}; waiting for it.")
        deadline.sleep(2.0)
        found = [e for e in lab.environments_named(str(env.name)) if e.id == env.id]
        if not found:
            return None  # gone while we waited (a delete finished)
        env = found[0]
    return env


def _submit(
    ctx: TaskContext,
    lab: Lab,
    spec: DtlSpec,
    prepared: Prepared,
    tags: dict[str, str],
    deadline: Deadline,
) -> dtl.DtlEnvironment:
    body = dtl.DtlEnvironment(
        deployment_properties=dtl.EnvironmentDeploymentProperties(
            arm_template_id=prepared.template.id,
            parameters=[
                dtl.ArmTemplateParameterProperties(name=p["name"], value=p["value"])
                for p in prepared.bound.as_strings()
            ],
        ),
        tags=tags,
    )
    rg, name = lab.ref.resource_group, lab.ref.name
    ctx.log(f"Creating environment '{spec.name}' in lab {lab.ref.display}...")
    poller = lab.client.environments.begin_create_or_update(rg, name, "@me", spec.name, body)
    progress = _Progress(ctx, lab, spec.name)
    errors = wait_all(
        {spec.name: poller},
        deadline,
        f"environment '{spec.name}'",
        progress.tick,
        lambda name: _state(lab, name) in TERMINAL,
    )
    found = lab.environments_named(spec.name)
    env = found[0] if found else None
    if errors[spec.name] is None and env is not None and env.provisioning_state == "Succeeded":
        ctx.log(f"Environment '{spec.name}' created.")
        return env
    _explain_failure(ctx, lab, env, prepared, errors[spec.name])
    if env is not None and spec.cleanup_on_failure:
        ctx.log("Deleting the half-created environment and its resource group (cleanupOnFailure).")
        delete_one(ctx, lab, env, deadline)
    elif env is not None:
        ctx.warning(
            f"The failed environment '{spec.name}' was left in place (cleanupOnFailure: false)."
        )
    raise TaskError(f"Environment '{spec.name}' could not be created; see the errors above.")


class _Progress:
    """Logs the environment's resources as the deployment completes them."""

    def __init__(self, ctx: TaskContext, lab: Lab, name: str) -> None:
        self.ctx, self.lab, self.name = ctx, lab, name
        self.seen: set[str] = set()
        self.percent = -1

    def tick(self) -> None:
        found = self.lab.environments_named(self.name)
        group = found[0].resource_group_id if found else None
        deployment = _deployment(self.lab, str(group), self.name, None) if group else None
        if deployment is None:
            return
        operations = _operations(self.lab, deployment)
        done = 0
        for op in operations:
            props = op.get("properties") or {}
            state = str(props.get("provisioningState"))
            target = props.get("targetResource") or {}
            key = f"{target.get('id')}:{state}"
            if state in TERMINAL:
                done += 1
            if key not in self.seen and state in TERMINAL:
                self.seen.add(key)
                self.ctx.log(
                    f"  {target.get('resourceType')}/{target.get('resourceName')}: {state}"
                )
        percent = int(100 * done / len(operations)) if operations else 0
        if percent != self.percent:
            self.percent = percent
            self.ctx.progress(percent, f"environment {self.name}")


def _state(lab: Lab, name: str) -> str | None:
    found = lab.environments_named(name)
    return str(found[0].provisioning_state) if found else None


def _gone(lab: Lab, environment_id: str) -> bool:
    return not [e for e in lab.environments() if str(e.id).lower() == environment_id.lower()]


# --- failures -------------------------------------------------------------------------------
def _explain_failure(
    ctx: TaskContext,
    lab: Lab,
    env: dtl.DtlEnvironment | None,
    prepared: Prepared,
    error: BaseException | None,
) -> None:
    group = env.resource_group_id if env is not None else None
    deployment = _deployment(lab, str(group), str(env.name), prepared) if env and group else None
    if deployment is None:
        ctx.error(f"The environment failed: {error or 'no details from DevTest Labs'}")
        return
    props = deployment.get("properties") or {}
    for op in _operations(lab, deployment):
        op_props = op.get("properties") or {}
        if op_props.get("provisioningState") != "Failed":
            continue
        target = op_props.get("targetResource") or {}
        failure = (op_props.get("statusMessage") or {}).get("error") or {}
        ctx.error(
            f"Resource {target.get('resourceType')} '{target.get('resourceName')}' failed: "
            f"{failure.get('code', 'Failed')}: {failure.get('message', '')}"
        )
    for line in nested_errors(props.get("error") or {}):
        ctx.error(line)


def nested_errors(error: Mapping[str, Any], depth: int = 0) -> list[str]:
    """ARM's error with its `details`, one line each, indented by depth."""
    if not error:
        return []
    target = f" (target {error['target']})" if error.get("target") else ""
    lines = [f"{'  ' * depth}{error.get('code', 'Error')}: {error.get('message', '')}{target}"]
    for detail in error.get("details") or []:
        lines.extend(nested_errors(detail, depth + 1))
    return lines


# --- the environment's deployment -------------------------------------------------------------
def _deployment(
    lab: Lab, group_id: str, env_name: str, prepared: Prepared | None
) -> dict[str, Any] | None:
    """The deployment DevTest Labs ran for this environment: named after it, with the
    parameters this task sent (when known), the earliest such."""
    listing = lab.get(f"{group_id}/providers/Microsoft.Resources/deployments", RESOURCES_API)
    deployments = [d for d in (listing or {}).get("value", []) if isinstance(d, dict)]
    named = [d for d in deployments if _named_after(str(d.get("name", "")), env_name)]
    candidates = named or deployments
    if prepared is not None:
        matching = [d for d in candidates if _same_parameters(d, prepared.bound)]
        candidates = matching or candidates
    candidates.sort(key=lambda d: str((d.get("properties") or {}).get("timestamp", "")))
    return candidates[0] if candidates else None


def _named_after(deployment: str, env_name: str) -> bool:
    lowered, env = deployment.lower(), env_name.lower()
    return lowered == env or lowered.startswith(env + "-")


def _same_parameters(deployment: Mapping[str, Any], bound: params.BoundParameters) -> bool:
    recorded = (deployment.get("properties") or {}).get("parameters") or {}
    for name, value in bound.values.items():
        if name in bound.secure:
            continue
        entry = recorded.get(name)
        if entry is not None and "value" in entry and entry["value"] != value:
            return False
    return True


def _operations(lab: Lab, deployment: Mapping[str, Any]) -> list[dict[str, Any]]:
    listing = lab.get(f"{deployment['id']}/operations", RESOURCES_API)
    return [op for op in (listing or {}).get("value", []) if isinstance(op, dict)]


# --- outputs --------------------------------------------------------------------------------
def outputs(
    ctx: TaskContext, lab: Lab, env: dtl.DtlEnvironment, prepared: Prepared | None, action: str
) -> Outcome:
    group = str(env.resource_group_id or "")
    machines = compute.vms_in_group(lab, group) if group else compute.Machines()
    outcome = Outcome(
        action=action,
        kind="environment",
        name=str(env.name),
        environment_id=str(env.id),
        group_id=group,
        vm_ids=machines.vm_ids,
        fqdns=machines.fqdns,
        private_ips=machines.private_ips,
    )
    deployment = _deployment(lab, group, str(env.name), prepared) if group else None
    recorded = ((deployment or {}).get("properties") or {}).get("outputs") or {}
    for name, entry in recorded.items():
        outcome.template_outputs[name] = (str(entry.get("type", "")), entry.get("value"))
    ctx.log(f"Environment: {outcome.environment_id}")
    ctx.log(f"Resource group: {group}")
    for vm in outcome.vm_ids:
        ctx.log(f"  VM: {vm}")
    return outcome


def _tag_group(ctx: TaskContext, lab: Lab, env: dtl.DtlEnvironment, tags: dict[str, str]) -> None:
    """The environment's resource group carries the run's tags too (sweep and cost reports)."""
    group = str(env.resource_group_id or "")
    if not group:
        return
    current = lab.get(group, RESOURCES_API) or {}
    merged = {**(current.get("tags") or {}), **tags}
    if merged != (current.get("tags") or {}):  # a reuse of a tagged group writes nothing
        # Idempotent: the whole merged tag set, the same however often it is sent.
        lab.arm.request("PATCH", group, RESOURCES_API, body={"tags": merged}, idempotent=True)


# --- delete ---------------------------------------------------------------------------------
def delete_one(ctx: TaskContext, lab: Lab, env: dtl.DtlEnvironment, deadline: Deadline) -> None:
    rg, name = lab.ref.resource_group, lab.ref.name
    owner = user_of(str(env.id))
    ctx.log(f"Deleting environment '{env.name}' (owner {owner}) and its resource group...")
    poller = lab.client.environments.begin_delete(rg, name, owner, str(env.name))
    errors = wait_all(
        {str(env.name): poller},
        deadline,
        f"deletion of '{env.name}'",
        settled=lambda _name: _gone(lab, str(env.id)),
    )
    error = errors[str(env.name)]
    if error is not None and getattr(error, "status_code", None) != 404:
        raise TaskError(f"Deleting environment '{env.name}' failed: {error}")
    ctx.log(f"Environment '{env.name}' deleted.")


def delete(ctx: TaskContext, lab: Lab, spec: DtlSpec, deadline: Deadline) -> Outcome:
    """By name (whoever created it) or by id; already gone is success."""
    wanted = spec.name
    if wanted.startswith("/"):
        found = [e for e in lab.environments() if str(e.id).lower() == wanted.lower()]
        display = wanted.rstrip("/").rsplit("/", 1)[-1]
    else:
        found = lab.environments_named(wanted)
        display = wanted
    if not found:
        ctx.log(f"Environment '{display}' does not exist: nothing to delete.")
        return Outcome("already gone", "environment", display)
    for env in found:
        delete_one(ctx, lab, env, deadline)
    return Outcome("deleted", "environment", display, environment_id=str(found[0].id),
                   group_id=str(found[0].resource_group_id or ""))  # fmt: skip
