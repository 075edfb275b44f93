"""Sweep: delete this pipeline's environments and lab VMs whose expiry has passed (or, with
`olderThanHours`, that are older than that), and say what was (or would be) deleted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from azure.core.polling import LROPoller

from pytask.agent import TaskContext, TaskError
from pytask.tasks.devtestlab import tagging
from pytask.tasks.devtestlab.lab import Lab, user_of
from pytask.tasks.devtestlab.report import Outcome
from pytask.tasks.devtestlab.waiting import Deadline, wait_all


@dataclass(frozen=True)
class Target:
    kind: str  # environment | vm
    name: str
    id: str
    reason: str


def due(
    tags: Mapping[str, str] | None,
    expiration: datetime | None,
    now: datetime,
    older_than: timedelta | None,
) -> str | None:
    """Why a resource is due for deletion, or None."""
    tags = tags or {}
    expires = tagging.parse_stamp(tags.get(tagging.EXPIRES)) or expiration
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=timezone.utc)
    if older_than is not None:
        created = tagging.parse_stamp(tags.get(tagging.CREATED))
        if created is not None and created <= now - older_than:
            return f"created {tagging.stamp(created)}, older than {_hours(older_than)} h"
    if expires is not None and expires <= now:
        return f"expired {tagging.stamp(expires)}"
    return None


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g}"


def targets(
    lab: Lab, origin: tagging.Origin, now: datetime, older_than: timedelta | None
) -> list[Target]:
    found: list[Target] = []
    for env in lab.environments():
        reason = due(env.tags, None, now, older_than) if origin.owns(env.tags) else None
        if reason and env.provisioning_state != "Deleting":
            found.append(Target("environment", str(env.name), str(env.id), reason))
    for vm in lab.lab_vms():
        owned = origin.owns(vm.tags)
        reason = due(vm.tags, vm.expiration_date, now, older_than) if owned else None
        if reason and vm.provisioning_state != "Deleting":
            found.append(Target("vm", str(vm.name), str(vm.id), reason))
    return found


def sweep(
    ctx: TaskContext,
    lab: Lab,
    origin: tagging.Origin,
    older_than_hours: int | None,
    dry_run: bool,
    deadline: Deadline,
) -> tuple[Outcome, list[str]]:
    now = datetime.now(timezone.utc)
    older = timedelta(hours=older_than_hours) if older_than_hours is not None else None
    found = targets(lab, origin, now, older)
    lines = [f"{t.kind} {t.name}: {t.reason}" for t in found]
    ctx.log(f"Pipeline {origin.pipeline}: {len(found)} environment(s)/VM(s) due in the lab.")
    for line in lines:
        ctx.log(f"  {line}")
    outcome = Outcome("dry run" if dry_run else "swept", "sweep", "")
    outcome.lab_vm_ids = [t.id for t in found if t.kind == "vm"]
    if dry_run or not found:
        if dry_run:
            ctx.log("Dry run: nothing was deleted.")
        return outcome, lines
    pollers: dict[str, LROPoller[Any]] = {}
    rg, name = lab.ref.resource_group, lab.ref.name
    for target in found:
        if target.kind == "environment":
            owner = user_of(target.id)
            pollers[target.name] = lab.client.environments.begin_delete(
                rg, name, owner, target.name
            )
        else:
            pollers[target.name] = lab.client.virtual_machines.begin_delete(rg, name, target.name)
    remaining = {t.name: t.id.lower() for t in found}

    def gone(name: str) -> bool:
        present = {str(e.id).lower() for e in lab.environments()}
        present |= {str(v.id).lower() for v in lab.lab_vms()}
        return remaining[name] not in present

    errors = wait_all(pollers, deadline, "the sweep's deletions", settled=gone)
    failed = {n: e for n, e in errors.items() if e is not None}
    if failed:
        raise TaskError(
            "The sweep could not delete: " + "; ".join(f"{n}: {e}" for n, e in failed.items())
        )
    ctx.log(f"Deleted {len(found)}.")
    return outcome, lines
