"""DeployVmApp@1: apply a gallery application version to VMs and scale sets, watch every instance
install it, and roll back on failure.

Order of work, so that bad input never leaves a write behind and a failed rollout can always
be undone: inputs checked -> version and targets resolved and validated -> rollback state
recorded and output -> VMs in batches, then each scale set by its upgrade policy -> results
counted against maxFailures -> on failure, touched targets put back -> outputs and summary.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from azure.core.exceptions import AzureError

from pytask.agent import TaskContext, TaskError, run_task
from pytask.cloud import CloudSession
from pytask.tasks.deploy import report, trail
from pytask.tasks.deploy.compute import GALLERY_API, Compute
from pytask.tasks.deploy.profile import Entry, find_entry, new_entry
from pytask.tasks.deploy.rollout import (
    Budget,
    Deadline,
    InstanceResult,
    Plan,
    Rollout,
    RolloutTimeout,
)
from pytask.tasks.deploy.spec import CHECKS, DeploySpec, read_spec
from pytask.tasks.deploy.state import RollbackState
from pytask.tasks.deploy.targets import (
    AppVersion,
    Target,
    application_id_of,
    check_target,
    find_targets,
    load_target,
    resolve_version,
)
from pytask.tasks.refusals import permission_refusals

TASK_NAME = "DeployVmApp"
ROLES = (
    "Virtual Machine Contributor on the targets (or their resource group) and Reader on the "
    "Compute Gallery"
)


def body(ctx: TaskContext) -> None:
    spec = read_spec(ctx)
    deadline = Deadline(spec.timeout_minutes)
    session = CloudSession.from_connection(
        ctx.inputs.connection("azureSubscription"), job_folder=ctx.job_temp_dir
    )
    subscription = session.require_subscription()
    with session.arm() as arm, permission_refusals(ROLES):
        compute = Compute(arm)
        with ctx.group("Targets and version"):
            version, targets, state = _resolve(ctx, compute, spec, subscription)
        _start(ctx, state)
        plan = _plan(ctx, spec, version, state)
        rollout = _rollout(ctx, compute, spec, plan, targets, deadline)
        _run(rollout, targets)
        rollback: list[InstanceResult] | None = None
        if rollout.stopped and spec.rollback_on_failure and spec.action == "deploy":
            # The rollback gets its own time: the rollout may have used all of it.
            back_deadline = Deadline(spec.timeout_minutes)
            rollback = _roll_back(ctx, compute, version, state, rollout, back_deadline)
        outcome = report.Outcome(spec.action, version, targets, rollout, rollback)
        report.publish(ctx, outcome)
    if rollout.stopped:
        raise TaskError(report.failure_message(outcome))
    if outcome.failed:
        ctx.succeeded_with_issues(
            f"{len(outcome.failed)} instance(s) failed, within maxFailures "
            f"({rollout.budget.allowed})"
        )


def main() -> int:
    return run_task(TASK_NAME, body, checks=CHECKS)


# --- resolution --------------------------------------------------------------------------------
def _resolve(
    ctx: TaskContext, compute: Compute, spec: DeploySpec, subscription: str
) -> tuple[AppVersion, list[Target], RollbackState]:
    """Everything read and checked before the first write; all problems reported at once."""
    deployment_id = str(uuid.uuid4())
    if spec.action == "rollback":
        assert spec.rollback_state is not None
        recorded = spec.rollback_state
        version = _application_only(compute, recorded.application_id)
        ids = list(recorded.previous)
    elif spec.action == "remove":
        # Removing needs the application only: its versions may be gone already.
        version = _application_only(compute, application_id_of(spec.version, subscription))
        ids = find_targets(compute, spec, subscription)
    else:
        version = resolve_version(compute, spec.version, subscription)
        ids = find_targets(compute, spec, subscription)
    targets: list[Target] = []
    problems: list[str] = []
    for target_id in ids:
        try:
            target = load_target(compute, target_id)
        except TaskError as exc:
            problems.append(str(exc))
            continue
        if spec.action == "deploy":
            problems.extend(check_target(target, version))
        targets.append(target)
    if problems:
        raise TaskError("Nothing was changed. " + " ".join(problems))
    label = version.version or "(any version)"
    ctx.log(f"Application: {version.application} {label} ({version.os_type})")
    for target in targets:
        entry = find_entry(target.profile, version.application_id)
        kind = "VM" if target.kind == "vm" else f"scale set, {target.upgrade_mode}"
        ctx.log(f"Target: {target.id} ({kind}, {target.location}) now: {_label(entry)}")
    if spec.action == "rollback":
        assert spec.rollback_state is not None
        state = RollbackState(
            version.application_id, deployment_id, dict(spec.rollback_state.previous)
        )
    else:
        previous = {t.id: _previous(ctx, t, version) for t in targets}
        state = RollbackState(version.application_id, deployment_id, previous)
    return version, targets, state


def _previous(ctx: TaskContext, target: Target, version: AppVersion) -> Entry | None:
    """The target's entry before this pipeline run changed it: as it runs now, unless an
    interrupted earlier attempt of this run already wrote it (its trail tag says what was
    there before)."""
    current = find_entry(target.profile, version.application_id)
    run = trail.run_identity(ctx.variables)
    left = trail.left_by(
        target.model.get("tags"), version.application_id, run, version.version, current
    )
    if left is None:
        return current
    tag = trail.tag_name(version.application_id)
    ctx.log(
        f"{target.name}: {_label(current)} was written by an earlier attempt of this pipeline "
        f"run; its previous state was {_label(left.was)} (tag {tag})."
    )
    if left.partial:
        ctx.warning(
            f"{target.name}: the tag recording its previous entry could not hold its "
            "configurationReference or tags; rollbackState has its version and settings only."
        )
    return left.was


def _application_only(compute: Compute, application_id: str) -> AppVersion:
    application = compute.get(application_id, GALLERY_API)
    name = application["name"] if application else application_id.rstrip("/").rsplit("/", 1)[-1]
    os_type = str(((application or {}).get("properties") or {}).get("supportedOSType", ""))
    return AppVersion(application_id, name, os_type, None, None, frozenset())


def _one_line(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:300]


def _label(entry: Entry | None) -> str:
    if entry is None:
        return "not installed"
    return str(entry.get("packageReferenceId", "")).rsplit("/", 1)[-1]


# --- outputs before any change ---------------------------------------------------------------
def _start(ctx: TaskContext, state: RollbackState) -> None:
    """The rollback state and the deployment's identity, output before the first write."""
    started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ctx.set_output("rollbackState", state.to_json())
    ctx.set_output("deploymentStartTime", started)
    ctx.set_output("deploymentId", state.deployment_id)
    ctx.log(f"Deployment {state.deployment_id} started at {started}.")


def _plan(ctx: TaskContext, spec: DeploySpec, version: AppVersion, state: RollbackState) -> Plan:
    if spec.action == "rollback":
        return _back_plan(version, state)
    run = trail.run_identity(ctx.variables)
    previous = {k.lower(): v for k, v in state.previous.items()}

    def retag(target: Target, tags: dict[str, str]) -> dict[str, str] | None:
        """Record, with the write, what the target ran before this run (see trail.py)."""
        left = trail.Trail(run, version.version, previous.get(target.id.lower()))
        tagged = trail.with_trail(tags, version.application_id, left)
        if tagged is None:
            ctx.warning(
                f"{target.name}: no room to tag what it ran before (50 tags at most); "
                "if this run is interrupted, a re-run cannot name its previous state."
            )
        return tagged

    if spec.action == "deploy":
        assert version.version_id is not None
        entry = new_entry(
            version.version_id,
            order=spec.order,
            configuration_reference=spec.configuration_reference,
            treat_failure=spec.treat_failure,
            automatic_upgrade=spec.automatic_upgrade,
            tags=spec.tags,
        )
        return Plan(version.application_id, version.application, lambda _target: entry, retag)
    return Plan(version.application_id, version.application, lambda _target: None, retag)


def _back_plan(version: AppVersion, state: RollbackState) -> Plan:
    """Each target back to its recorded entry, its trail tag removed in the same write."""
    previous = {k.lower(): v for k, v in state.previous.items()}
    return Plan(
        version.application_id,
        version.application,
        lambda target: previous.get(target.id.lower()),
        lambda _target, tags: trail.without_trail(tags, version.application_id),
    )


def _rollout(
    ctx: TaskContext,
    compute: Compute,
    spec: DeploySpec,
    plan: Plan,
    targets: list[Target],
    deadline: Deadline,
) -> Rollout:
    vms = [t for t in targets if t.kind == "vm"]
    sets = [t for t in targets if t.kind == "scaleSet"]
    units = len(vms) + sum(int((t.model.get("sku") or {}).get("capacity", 0)) for t in sets)
    allowed = spec.max_failures.of(units)

    def batch_size(count: int) -> int:
        if spec.strategy == "allAtOnce":
            return max(1, count)
        return spec.batch.of(count, at_least=1)

    ctx.log(
        f"Rollout: {len(vms)} VM(s), {len(sets)} scale set(s), {units} instance(s); "
        f"strategy {spec.strategy}, batch {spec.batch}, at most {allowed} failure(s)."
    )
    budget = Budget(allowed)
    return Rollout(ctx, compute, plan, batch_size, spec.pause_seconds, budget, deadline, units)


def _run(rollout: Rollout, targets: list[Target]) -> None:
    try:
        vms = [t for t in targets if t.kind == "vm"]
        if vms and not rollout.run_vms(vms):
            return
        for target in (t for t in targets if t.kind == "scaleSet"):
            if not rollout.run_scale_set(target):
                return
    except RolloutTimeout as exc:
        rollout.stopped = str(exc)
        rollout.ctx.log(f"Stopping the rollout: {exc}.")
    except AzureError as exc:
        # Retries exhausted or a refused write half-way: stop, so that what was touched can
        # still be put back.
        rollout.stopped = f"Azure answered an error: {_one_line(str(exc))}"
        rollout.ctx.log(f"Stopping the rollout: {rollout.stopped}.")


# --- rollback ----------------------------------------------------------------------------------
def _roll_back(
    ctx: TaskContext,
    compute: Compute,
    version: AppVersion,
    state: RollbackState,
    failed: Rollout,
    deadline: Deadline,
) -> list[InstanceResult]:
    """Put every touched target back to its recorded entry, all at once; the results."""
    if not failed.touched:
        return []
    plan = _back_plan(version, state)
    fresh = [load_target(compute, t.id) for t in failed.touched]
    with ctx.group("Rollback"):
        ctx.log(f"Rolling back {', '.join(t.name for t in fresh)} to the recorded state.")
        units = sum(1 for r in failed.results)
        # Rollback failures are reported, not budgeted: every touched target goes back.
        back = Rollout(ctx, compute, plan, lambda n: max(1, n), 0, Budget(10**9), deadline, units)
        _run(back, fresh)
    failures = [r for r in back.results if r.outcome.value == "failed"]
    if failures:
        ctx.warning(
            "The rollback left failed instances: "
            + "; ".join(f"{r.instance}: {r.message}" for r in failures)
        )
    return back.results
