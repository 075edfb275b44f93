"""DevTestLabEnv@1: DevTest Labs environments and lab VMs that appear for a stage and always
go away.

Order of work, so that a bad input never leaves a write behind: inputs checked -> lab,
repository, template and parameters (or artifacts) checked against the lab -> existing
resources read -> decision (create, reuse, recreate, fail) -> create and wait (monotonic
deadline) -> on failure the nested errors, then cleanup -> outputs.
"""

from __future__ import annotations

from datetime import datetime, timezone

from pytask.agent import TaskContext, TaskError, run_task
from pytask.cloud import CloudSession
from pytask.tasks.devtestlab import environment, machines, sweep, tagging
from pytask.tasks.devtestlab.lab import Lab
from pytask.tasks.devtestlab.report import Outcome, publish_outputs, write_summary
from pytask.tasks.devtestlab.spec import CHECKS, DtlSpec, read_spec
from pytask.tasks.devtestlab.waiting import Deadline
from pytask.tasks.refusals import permission_refusals

TASK_NAME = "DevTestLabEnv"
ROLES = "DevTest Labs User on the lab (Contributor on the lab to delete or sweep what others made)"


def body(ctx: TaskContext) -> None:
    spec = read_spec(ctx)
    deadline = Deadline(spec.timeout_minutes)
    session = CloudSession.from_connection(
        ctx.inputs.connection("azureSubscription"), job_folder=ctx.job_temp_dir
    )
    if spec.lab.subscription and spec.lab.subscription.lower() != (
        session.require_subscription().lower()
    ):
        raise TaskError(
            f"lab: the lab is in subscription {spec.lab.subscription}, but the connection is "
            f"for {session.require_subscription()}. Use a connection for the lab's subscription."
        )
    with session.devtestlabs() as client, session.arm() as arm, permission_refusals(ROLES):
        with ctx.group("Lab"):
            lab = Lab.open(client, arm, spec.lab)
            ctx.log(f"Lab: {lab.id} ({lab.location})")
        origin = tagging.Origin.from_variables(ctx.variables)
        lines: list[str] = []
        if spec.action == "sweep":
            with ctx.group("Sweep"):
                outcome, lines = sweep.sweep(
                    ctx, lab, origin, spec.older_than_hours, spec.dry_run, deadline
                )
        elif spec.action == "delete":
            with ctx.group("Delete"):
                outcome = _delete(ctx, lab, spec, deadline)
        else:
            outcome = _create(ctx, lab, spec, origin, deadline)
    publish_outputs(ctx, outcome)
    write_summary(ctx, outcome, lines)


def _create(
    ctx: TaskContext, lab: Lab, spec: DtlSpec, origin: tagging.Origin, deadline: Deadline
) -> Outcome:
    tags = tagging.tags_for(origin, spec.tags, datetime.now(timezone.utc), spec.expires_in_hours)
    if spec.kind == "environment":
        assert spec.env is not None
        with ctx.group("Template"):
            prepared = environment.prepare(ctx, lab, spec.env)
        with ctx.group("Environment"):
            return environment.create(ctx, lab, spec, prepared, tags, deadline)
    with ctx.group("Artifacts"):
        vms = machines.prepare(ctx, lab, spec)
    with ctx.group("Lab VMs"):
        return machines.create(ctx, lab, spec, vms, tags, deadline)


def _delete(ctx: TaskContext, lab: Lab, spec: DtlSpec, deadline: Deadline) -> Outcome:
    if spec.kind == "environment":
        return environment.delete(ctx, lab, spec, deadline)
    return machines.delete(ctx, lab, spec, deadline)


def main() -> int:
    return run_task(TASK_NAME, body, checks=CHECKS)
