"""What DeployVmApp tells the pipeline when it is done: output variables, summary, verdict."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pytask.agent import TaskContext
from pytask.tasks.deploy.rollout import InstanceResult, Rollout
from pytask.tasks.deploy.status import Outcome as Result
from pytask.tasks.deploy.targets import AppVersion, Target

_VERBS = {"deploy": "Deployed", "rollback": "Rolled back", "remove": "Removed"}


@dataclass
class Outcome:
    action: str
    version: AppVersion
    targets: list[Target]
    rollout: Rollout
    rollback: list[InstanceResult] | None  # None: no automatic rollback happened

    @property
    def failed(self) -> list[InstanceResult]:
        return [r for r in self.rollout.results if r.outcome is Result.FAILED]

    def deployed_targets(self) -> list[str]:
        """Targets that now carry the change: none when it was rolled back."""
        if self.rollback is not None:
            return []
        done = {r.target.lower() for r in self.rollout.results}
        return [t.id for t in self.targets if t.id.lower() in done]


def publish(ctx: TaskContext, outcome: Outcome) -> None:
    failed = [
        {"target": r.target, "instance": r.instance, "message": r.message} for r in outcome.failed
    ]
    ctx.set_output("deployedTargets", json.dumps(outcome.deployed_targets()))
    ctx.set_output("failedInstances", json.dumps(failed))
    _table(ctx, outcome)


def _rows(results: list[InstanceResult]) -> list[list[str]]:
    return [
        [
            r.target.rsplit("/", 1)[-1],
            r.instance,
            f"{r.previous} → {r.new}",
            r.outcome.value,
            r.message,
        ]
        for r in results
    ]


def _table(ctx: TaskContext, outcome: Outcome) -> None:
    rollout = outcome.rollout
    header = ["target", "instance", "previous → new", "result", "message"]
    rows = _rows(rollout.results)
    with ctx.group("Summary"):
        ctx.log(" | ".join(header))
        for row in rows:
            ctx.log(" | ".join(row))
        ctx.log(
            f"{len(rollout.results)} instance(s), {len(outcome.failed)} failed; "
            f"{rollout.writes} write(s), {rollout.conflicts} concurrent change(s) retried."
        )
    summary = ctx.summary
    label = outcome.version.version or ""
    summary.heading(f"{_VERBS[outcome.action]} {outcome.version.application} {label}".strip())
    if rollout.stopped:
        summary.paragraph(f"The rollout stopped: {rollout.stopped}.")
    summary.table(header, rows)
    if outcome.rollback is not None:
        summary.heading("Rollback", level=3)
        summary.table(header, _rows(outcome.rollback))


def failure_message(outcome: Outcome) -> str:
    rollout = outcome.rollout
    failed = "; ".join(f"{r.instance}: {r.message}" for r in outcome.failed[:10])
    more = f" (and {len(outcome.failed) - 10} more)" if len(outcome.failed) > 10 else ""
    back = ""
    if outcome.rollback is not None:
        left = [r.instance for r in outcome.rollback if r.outcome is Result.FAILED]
        back = (
            f" The rollback left failed instances: {', '.join(left)}."
            if left
            else " The touched targets were rolled back to their recorded state."
        )
    return f"The rollout stopped: {rollout.stopped}. Failed instances: {failed}{more}.{back}"
