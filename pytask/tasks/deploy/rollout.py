"""Driving a change of one application's entry to the end, instance by instance.

VMs go in batches; scale sets follow their upgrade policy: Manual -> `manualupgrade` of the
instances in batches, Rolling -> the platform's rolling upgrade (followed and reported),
Automatic -> every instance at once. After each batch the per-instance results are read from
the instance views and counted against the failure budget; over budget, the rollout stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytask.agent import TaskContext, TaskError
from pytask.tasks.deploy import status
from pytask.tasks.deploy.compute import Compute, Write
from pytask.tasks.deploy.profile import Entry, find_entry, same_entry, version_of, with_entry
from pytask.tasks.deploy.targets import Target

POLL_START = 0.25
POLL_MAX = 10.0


@dataclass(frozen=True)
class InstanceResult:
    target: str  # target resource id
    instance: str  # VM name, or the scale-set instance's name
    previous: str
    new: str
    outcome: status.Outcome
    message: str


@dataclass
class Plan:
    """What the rollout is asked to do: per target, the wanted entry and what to observe."""

    application_id: str
    application: str  # the name instance views report
    wanted: Callable[[Target], Entry | None]
    # The target's tags to write with its entry (from the tags as read; None: leave them).
    retag: Callable[[Target, dict[str, str]], dict[str, str] | None] | None = None


@dataclass
class Budget:
    allowed: int
    failed: int = 0

    @property
    def exceeded(self) -> bool:
        return self.failed > self.allowed


class Deadline:
    def __init__(self, minutes: int) -> None:
        self.minutes = minutes
        self.end = time.monotonic() + minutes * 60

    def left(self) -> float:
        return self.end - time.monotonic()

    def check(self, waiting_for: str) -> None:
        if self.left() <= 0:
            raise RolloutTimeout(
                f"timed out after {self.minutes} minutes waiting for {waiting_for}"
            )


class RolloutTimeout(TaskError):
    """The rollout ran out of time (timeoutMinutes); it stops like an exceeded budget."""


def expected_version(entry: Entry | None) -> str | None:
    """The version instance views should report (None: absent; `latest`: any)."""
    return None if entry is None else version_of(str(entry.get("packageReferenceId", "")))


def batches(items: Sequence[Any], size: int) -> list[list[Any]]:
    size = max(1, size)
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def poll(
    check: Callable[[], bool], deadline: Deadline, waiting_for: str, expected: float = 0.0
) -> None:
    """Call `check` until it says done, backing off from a quarter second to ten seconds.

    `expected`: how long this is likely to take (learned from the previous batch); the first
    look comes a little before that, so a long install costs a few requests, not dozens.
    """
    if expected > 0:
        time.sleep(min(0.8 * expected, max(0.0, deadline.left())))
    delay = POLL_START
    while not check():
        deadline.check(waiting_for)
        time.sleep(min(delay, max(0.0, deadline.left())))
        delay = min(POLL_MAX, delay * 2)


@dataclass
class Rollout:
    ctx: TaskContext
    compute: Compute
    plan: Plan
    batch_size: Callable[[int], int]
    pause_seconds: int
    budget: Budget
    deadline: Deadline
    total_units: int
    results: list[InstanceResult] = field(default_factory=list)
    touched: list[Target] = field(default_factory=list)
    writes: int = 0
    conflicts: int = 0
    stopped: str | None = None  # why the rollout stopped early
    done_units: int = 0
    _batch_number: int = 0
    # How long the last batch that changed something took to settle (seconds).
    _typical: float = 0.0

    # --- common ------------------------------------------------------------------------
    def _mutation(self, target: Target) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
        wanted = self.plan.wanted(target)

        def mutate(profile: dict[str, Any]) -> dict[str, Any] | None:
            current = find_entry(profile, self.plan.application_id)
            if same_entry(current, wanted):
                return None
            return with_entry(profile, self.plan.application_id, wanted)

        return mutate

    def _write(self, target: Target) -> Write | None:
        retag = self.plan.retag
        write = self.compute.update_profile(
            target.id,
            self._mutation(target),
            target.model,
            None if retag is None else (lambda tags: retag(target, tags)),
        )
        if write is not None:
            self.writes += 1
            self.conflicts += write.conflicts
            if write.conflicts:
                self.ctx.log(
                    f"{target.name}: changed by someone else while we wrote it "
                    f"({write.conflicts}x 412 Precondition Failed); re-applied on the fresh model."
                )
            if all(t.id.lower() != target.id.lower() for t in self.touched):
                self.touched.append(target)
        return write

    def _versions(self, target: Target) -> tuple[str, str]:
        before = find_entry(target.profile, self.plan.application_id)
        return _describe(before), _describe(self.plan.wanted(target))

    def _record(self, results: Iterable[InstanceResult]) -> None:
        for result in results:
            self.results.append(result)
            self.done_units += 1
            if result.outcome is status.Outcome.FAILED:
                self.budget.failed += 1
                self.ctx.log(f"  FAILED  {result.instance}: {result.message}")
            else:
                self.ctx.log(f"  ok      {result.instance}: {result.message}")
        percent = int(100 * self.done_units / max(1, self.total_units))
        self.ctx.progress(min(100, percent), "instances done")

    def _after_batch(self, last: bool) -> bool:
        """Stop when over budget; otherwise pause between batches. True to go on."""
        if self.budget.exceeded:
            self.stopped = (
                f"{self.budget.failed} instance(s) failed, more than maxFailures allows "
                f"({self.budget.allowed})"
            )
            self.ctx.log(f"Stopping the rollout: {self.stopped}.")
            return False
        if not last and self.pause_seconds:
            self.ctx.log(f"Pausing {self.pause_seconds} s before the next batch.")
            time.sleep(self.pause_seconds)
        return True

    def _group(self, title: str) -> Any:
        self._batch_number += 1
        return self.ctx.group(f"Batch {self._batch_number}: {title}")

    # --- VMs ---------------------------------------------------------------------------
    def run_vms(self, vms: Sequence[Target]) -> bool:
        groups = batches(vms, self.batch_size(len(vms)))
        for index, batch in enumerate(groups):
            with self._group(", ".join(t.name for t in batch)):
                wrote = [self._write(target) is not None for target in batch]
                # The instance views are the truth about each install: they are polled
                # directly rather than waiting on each update's operation.
                self._record(self._vm_results(batch, changed=any(wrote)))
            if not self._after_batch(index == len(groups) - 1):
                return False
        return True

    def _vm_results(self, vms: Sequence[Target], changed: bool) -> list[InstanceResult]:
        found: dict[str, status.AppResult] = {}

        def check() -> bool:
            for target in vms:
                if target.id in found:
                    continue
                view = self.compute.instance_view(target.id)
                want = expected_version(self.plan.wanted(target))
                result = _read(view, self.plan.application, want)
                if result.outcome is not status.Outcome.PENDING:
                    found[target.id] = result
            return len(found) == len(vms)

        self._timed(check, "the VM application status of " + _names(vms), changed)
        return [self._result(t, t.name, found[t.id]) for t in vms]

    def _timed(self, check: Callable[[], bool], waiting_for: str, changed: bool) -> None:
        """Poll until done; batches that changed something teach the next one how long
        installs take."""
        started = time.monotonic()
        poll(check, self.deadline, waiting_for, self._typical if changed else 0.0)
        if changed:
            self._typical = time.monotonic() - started

    def _result(self, target: Target, instance: str, result: status.AppResult) -> InstanceResult:
        previous, new = self._versions(target)
        message = result.message if len(result.message) < 500 else result.message[:497] + "..."
        return InstanceResult(target.id, instance, previous, new, result.outcome, message)

    # --- scale sets --------------------------------------------------------------------
    def run_scale_set(self, target: Target) -> bool:
        write = self._write(target)
        mode = target.upgrade_mode.lower()
        if mode == "manual":
            if write is not None:
                self._settle(target)
            return self._manual(target)
        halted = None
        with self._group(f"{target.name} ({target.upgrade_mode} upgrade policy)"):
            if mode == "rolling" and write is not None:
                halted = self._follow_rolling(target)
            self._record(self._scale_set_results(target, None, changed=False))
        if halted is not None:
            self.stopped = f"the platform stopped the rolling upgrade of {target.name}: {halted}"
            self.ctx.log(f"Stopping the rollout: {self.stopped}.")
            return False
        return self._after_batch(True)

    def _manual(self, target: Target) -> bool:
        want = expected_version(self.plan.wanted(target))
        instances = self.compute.instances(target.id)
        pending = [i for i in instances if not _settled(i, self.plan.application, want)]
        if not pending:
            with self._group(f"{target.name}: every instance already runs the wanted model"):
                self._record(self._scale_set_results(target, None, changed=False))
            return self._after_batch(True)
        if len(pending) < len(instances):
            self.ctx.log(
                f"{target.name}: {len(instances) - len(pending)} instance(s) already run the "
                f"wanted model; upgrading the other {len(pending)}."
            )
        groups = batches(pending, self.batch_size(len(instances)))
        for index, batch in enumerate(groups):
            ids = [str(i["instanceId"]) for i in batch]
            with self._group(f"{target.name} instances {', '.join(ids)}"):
                self.compute.manual_upgrade(target.id, ids)
                self.writes += 1
                self._record(self._scale_set_results(target, set(ids), changed=True))
            if not self._after_batch(index == len(groups) - 1):
                return False
        return True

    def _settle(self, target: Target) -> None:
        """Wait until the scale set's model update is done (its provisioning state)."""

        def check() -> bool:
            model = self.compute.get(target.id) or {}
            state = (model.get("properties") or {}).get("provisioningState", "Succeeded")
            return str(state) not in ("Updating", "Creating")

        poll(check, self.deadline, f"the model update of {target.name}")

    def _follow_rolling(self, target: Target) -> str | None:
        """Report the platform's rolling upgrade until it ends; why it stopped, if it did."""
        seen: list[Any] = [None]
        halted: list[str] = []

        def check() -> bool:
            latest = self.compute.rolling_latest(target.id) or {}
            props = latest.get("properties") or {}
            code = (props.get("runningStatus") or {}).get("code", "")
            progress = props.get("progress") or {}
            if progress != seen[0]:
                seen[0] = progress
                self.ctx.log(
                    f"{target.name} rolling upgrade {code}: "
                    f"{progress.get('successfulInstanceCount', 0)} succeeded, "
                    f"{progress.get('failedInstanceCount', 0)} failed, "
                    f"{progress.get('inProgressInstanceCount', 0)} in progress, "
                    f"{progress.get('pendingInstanceCount', 0)} pending"
                )
            if code in ("Faulted", "Cancelled") and not halted:
                error = (props.get("error") or {}).get("message", "")
                halted.append(f"{code}. {error}".strip())
                self.ctx.log(f"{target.name}: the platform stopped the rolling upgrade: {error}")
            return bool(code) and code != "RollingForward"

        poll(check, self.deadline, f"the rolling upgrade of {target.name}")
        return halted[0] if halted else None

    def _scale_set_results(
        self, target: Target, only: set[str] | None, changed: bool
    ) -> list[InstanceResult]:
        """Results of the instances (all, or `only` these ids) once each has settled; in a
        Rolling scale set, instances the platform did not reach are reported as not updated."""
        want = expected_version(self.plan.wanted(target))
        found: dict[str, InstanceResult] = {}

        def check() -> bool:
            instances = self.compute.instances(target.id)
            rolling_over: list[bool] = []  # asked at most once per look
            for item in instances:
                number = str(item["instanceId"])
                if (only is not None and number not in only) or number in found:
                    continue
                props = item.get("properties") or {}
                view = props.get("instanceView") or {}
                latest = bool(props.get("latestModelApplied", True))
                result = _read(view, self.plan.application, want)
                if not latest and target.upgrade_mode.lower() == "rolling":
                    result = status.AppResult(
                        status.Outcome.PENDING, None, "not updated by the rolling upgrade"
                    )
                    if not rolling_over:
                        rolling_over.append(self._rolling_over(target))
                    if rolling_over[0]:
                        found[number] = self._result(target, item["name"], result)
                    continue
                if latest and result.outcome is not status.Outcome.PENDING:
                    found[number] = self._result(target, item["name"], result)
            wanted = len(only) if only is not None else len(instances)
            return len(found) >= wanted

        self._timed(check, f"the instances of {target.name}", changed)
        return sorted(found.values(), key=lambda r: _instance_order(r.instance))

    def _rolling_over(self, target: Target) -> bool:
        latest = self.compute.rolling_latest(target.id) or {}
        code = ((latest.get("properties") or {}).get("runningStatus") or {}).get("code")
        return code not in (None, "RollingForward")


def _instance_order(name: str) -> tuple[str, int]:
    """`ss_10` after `ss_9`: scale-set instance names end with their instance id."""
    head, _, number = name.rpartition("_")
    return (head, int(number)) if number.isdigit() else (name, -1)


def _settled(instance: dict[str, Any], application: str, want: str | None) -> bool:
    props = instance.get("properties") or {}
    if not props.get("latestModelApplied", False):
        return False
    result = _read(props.get("instanceView") or {}, application, want)
    return result.outcome is status.Outcome.SUCCEEDED


def _read(view: dict[str, Any], application: str, want: str | None) -> status.AppResult:
    if want is not None and want.lower() == "latest":
        result = status.read(view, application, None)
        # Any reported version will do; absent means still pending.
        if result.version is None:
            return status.AppResult(status.Outcome.PENDING, None, "waiting for a version")
        return status.read(view, application, result.version)
    return status.read(view, application, want)


def _describe(entry: Entry | None) -> str:
    return "absent" if entry is None else version_of(str(entry.get("packageReferenceId", "")))


def _names(targets: Sequence[Target]) -> str:
    return ", ".join(t.name for t in targets)
