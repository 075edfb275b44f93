"""Waiting for a version to replicate to every target region, reporting as it goes.

Reads `$expand=ReplicationStatus`; logs one line per region whenever its state or progress
changes, drives `##vso[task.setprogress]` with the mean progress, and stops at Completed, at the
first Failed region (with its details), or at the deadline (monotonic clock). The SDK poller of
the create call, when there is one, is waited on too so its outcome is never lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.core.polling import LROPoller

from pytask.agent import TaskContext, TaskError

FIRST_INTERVAL = 0.5
MAX_INTERVAL = 15.0


@dataclass(frozen=True)
class RegionState:
    region: str
    state: str
    progress: int
    details: str = ""


@dataclass(frozen=True)
class Replication:
    aggregated: str  # Completed | InProgress | Failed | Unknown
    regions: tuple[RegionState, ...]
    provisioning_state: str = ""

    @property
    def output_state(self) -> str:
        """The task's `replicationState` output: Completed, Replicating or Failed."""
        return {"Completed": "Completed", "Failed": "Failed"}.get(self.aggregated, "Replicating")

    @property
    def mean_progress(self) -> int:
        if not self.regions:
            return 0
        return int(sum(r.progress for r in self.regions) / len(self.regions))


def read_replication(version: dict[str, Any]) -> Replication:
    status = version.get("properties", {}).get("replicationStatus") or {}
    regions = tuple(
        RegionState(
            str(s.get("region", "")),
            str(s.get("state", "Unknown")),
            int(s.get("progress") or 0),
            str(s.get("details") or ""),
        )
        for s in status.get("summary") or []
    )
    state = str(version.get("properties", {}).get("provisioningState", ""))
    return Replication(str(status.get("aggregatedState", "Unknown")), regions, state)


class Deadline:
    def __init__(self, minutes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + minutes * 60.0

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())

    def passed(self) -> bool:
        return self.remaining() <= 0.0


def _failure(replication: Replication, version_name: str) -> TaskError:
    failed = [r for r in replication.regions if r.state == "Failed"]
    lines = "; ".join(f"{r.region}: {(r.details or 'no details').rstrip('.')}" for r in failed)
    return TaskError(
        f"Replication of version {version_name} failed in {len(failed)} region(s): {lines}. "
        "Fix the cause, then publish again with ifVersionExists: overwrite (or a new version)."
    )


def wait(
    ctx: TaskContext,
    read: Callable[[], dict[str, Any]],
    poller: LROPoller[Any] | None,
    deadline: Deadline,
    version_name: str,
) -> Replication:
    """Poll until replication completes (and the poller, if any, is done)."""
    interval = FIRST_INTERVAL
    seen: dict[str, tuple[str, int]] = {}
    while True:
        replication = read_replication(read())
        _report(ctx, replication, seen)
        if replication.aggregated == "Failed":
            raise _failure(replication, version_name)
        poller_done = poller is None or poller.done()
        if poller is not None and poller_done:
            _result(poller, read, version_name)
        # The version's own state says the operation is over as soon as the poller would.
        settled = poller_done or replication.provisioning_state == "Succeeded"
        if replication.aggregated == "Completed" and settled:
            return replication
        if deadline.passed():
            pending = [r.region for r in replication.regions if r.state != "Completed"]
            raise TaskError(
                f"Timed out (timeoutMinutes) waiting for version {version_name} to replicate; "
                f"still pending: {', '.join(pending) or 'the create operation'}. The version "
                "keeps replicating in Azure: re-run the task to wait again, or raise "
                "timeoutMinutes."
            )
        pause = min(interval, deadline.remaining())
        if poller is not None and not poller_done:
            _pause_on(poller, pause, read, version_name)
        else:
            time.sleep(pause)
        interval = min(interval * 1.5, MAX_INTERVAL)


def _pause_on(
    poller: LROPoller[Any], pause: float, read: Callable[[], dict[str, Any]], version_name: str
) -> None:
    """Wait on the poller; its thread re-raises the operation's failure from `wait` too."""
    try:
        poller.wait(pause)
    except HttpResponseError as exc:
        raise _operation_failure(exc, read, version_name) from None


def _result(poller: LROPoller[Any], read: Callable[[], dict[str, Any]], version_name: str) -> None:
    try:
        poller.result()
    except HttpResponseError as exc:
        raise _operation_failure(exc, read, version_name) from None


def _operation_failure(
    exc: HttpResponseError, read: Callable[[], dict[str, Any]], version_name: str
) -> TaskError:
    """The same region-naming message whether the poller or the version read saw it first.

    A failed create operation usually means failed replication: the version then says which
    regions failed and why, which is what the user needs, not the operation's bare error.
    """
    replication = read_replication(read())
    if replication.aggregated == "Failed":
        return _failure(replication, version_name)
    return TaskError(
        f"Creating version {version_name} failed: {exc.message or exc}. Nothing was "
        "replicated; fix the cause and publish again (ifVersionExists: overwrite)."
    )


def _report(ctx: TaskContext, replication: Replication, seen: dict[str, tuple[str, int]]) -> None:
    changed = False
    for region in replication.regions:
        now = (region.state, region.progress)
        if seen.get(region.region) != now:
            seen[region.region] = now
            changed = True
            detail = f" ({region.details})" if region.details else ""
            ctx.log(f"  {region.region}: {region.state} {region.progress}%{detail}")
    if changed:
        ctx.progress(replication.mean_progress, "Replicating")
