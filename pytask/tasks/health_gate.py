"""HealthGate@1: watch Azure Monitor after a deployment and pass, fail or report inconclusive,
explaining every verdict.

Order of work: inputs and checks validated -> targets resolved to machines (computer names,
regions) through ARM -> evaluations every interval (Log Analytics, metrics, alerts; scope as
KQL `let` parameters; at most five queries at once) fed to run control (pytask.gate) ->
outputs, JSON report and summary -> task result from the verdict (never Failed in a dry run).
"""

from __future__ import annotations

from pytask.agent import TaskContext, run_task
from pytask.cloud import CloudSession
from pytask.tasks.deploy.compute import Compute
from pytask.tasks.healthgate import report
from pytask.tasks.healthgate.limits import QueryLimiter
from pytask.tasks.healthgate.run import Gate, baseline_target_ids, utc_now
from pytask.tasks.healthgate.scope import Target, load_targets
from pytask.tasks.healthgate.sources import Sources
from pytask.tasks.healthgate.spec import TIME_CHECKS, GateSpec, read_spec
from pytask.tasks.refusals import permission_refusals

TASK_NAME = "HealthGate"
ROLES = (
    "Monitoring Reader on the targets (or their resource group) and Log Analytics Reader on "
    "the workspace"
)


def body(ctx: TaskContext) -> None:
    started = utc_now()
    spec = read_spec(ctx)
    session = CloudSession.from_connection(
        ctx.inputs.connection("azureSubscription"), job_folder=ctx.job_temp_dir
    )
    with ctx.group("Scope"), permission_refusals(ROLES):
        targets, baselines = _resolve(ctx, session, spec)
    start_at = spec.window_start or spec.deployment_start or started
    _describe(ctx, spec, start_at)
    limiter = QueryLimiter()
    gate = Gate(ctx, spec, Sources(session, spec.workspace, limiter), targets, baselines)
    run = gate.run(start_at)
    report.publish(ctx, run, targets, limiter)


def _resolve(
    ctx: TaskContext, session: CloudSession, spec: GateSpec
) -> tuple[list[Target], dict[str, list[Target]]]:
    with session.arm() as arm:
        compute = Compute(arm)
        targets = load_targets(compute, spec.targets)
        baselines = {
            name: load_targets(compute, ids)
            for name, ids in baseline_target_ids(spec.checks).items()
        }
    for target in targets:
        computers = ", ".join(target.computers) or "(no machines)"
        ctx.log(f"Target {target.id} ({target.location}): {computers}")
    return targets, baselines


def _describe(ctx: TaskContext, spec: GateSpec, start_at: object) -> None:
    mode = "dry run" if spec.policy.dry_run else "enforce"
    what = "replay of a past window" if spec.replay else "live"
    ctx.log(
        f"Gate ({mode}, {what}) from {start_at}: {len(spec.checks)} check(s), "
        f"{spec.policy.intervals} evaluation(s) every {spec.interval:g} s after "
        f"{spec.initial_delay:g} s, failure limit {spec.policy.failure_limit}, "
        f"inconclusive limit {spec.policy.inconclusive_limit}."
    )
    for check in spec.checks:
        critical = " [critical]" if check.critical else ""
        ctx.log(f"Check {check.name}{critical}: {check.source}, {type(check.rule).__name__}")


def main() -> int:
    return run_task(TASK_NAME, body, checks=TIME_CHECKS)
