"""Replication of a version to its target regions, computed from the clock when read.

A plan records, per region, when replication started and how long it takes (already scaled),
and optionally when and how it fails. `status(plan, now)` is the `replicationStatus` document
GalleryRP answers for `$expand=ReplicationStatus`. No threads: time does the work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pytask.sandbox.providers.compute.gallery import regions

# Real-Azure seconds (scaled by --time-scale): replication of a VM application to one region
# takes a couple of minutes; each further region and replica adds a little.
BASE_SECONDS = 90.0
PER_REGION_SECONDS = 30.0
PER_REPLICA_SECONDS = 15.0
# How long GalleryRP takes to notice an unreadable source and fail the version.
SOURCE_CHECK_SECONDS = 20.0


@dataclass
class RegionPlan:
    name: str  # display name, as Azure reports it
    start: float
    duration: float
    fail_at: float | None = None  # epoch seconds; None: it completes
    details: str = ""
    failed_progress: int = 0  # where the progress stops when it fails

    def state(self, now: float) -> tuple[str, int, str]:
        """(state, progress, details) at `now`."""
        if self.fail_at is not None and now >= self.fail_at:
            return "Failed", self.failed_progress, self.details
        progress = self._progress(now)
        if self.fail_at is not None:
            progress = min(progress, self.failed_progress)
        if progress >= 100:
            return "Completed", 100, ""
        return "Replicating", progress, ""

    def _progress(self, moment: float) -> int:
        if self.duration <= 0:
            return 100
        return max(0, min(100, int(100 * (moment - self.start) / self.duration)))


@dataclass
class Plan:
    regions: list[RegionPlan] = field(default_factory=list)

    @property
    def end(self) -> float:
        """When the version's operation ends: the last region done (or failed)."""
        ends = [r.fail_at if r.fail_at is not None else r.start + r.duration for r in self.regions]
        return max(ends, default=0.0)

    def to_json(self) -> dict[str, Any]:
        return {"regions": [asdict(r) for r in self.regions]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        return cls([RegionPlan(**r) for r in data.get("regions", [])])


def durations(targets: Sequence[Mapping[str, Any]]) -> list[float]:
    """Real-Azure seconds per target region, in order (later regions take a little longer)."""
    return [
        BASE_SECONDS
        + PER_REGION_SECONDS * index
        + PER_REPLICA_SECONDS * (int(t.get("regionalReplicaCount", 1)) - 1)
        for index, t in enumerate(targets)
    ]


def new_plan(
    targets: Sequence[Mapping[str, Any]],
    now: float,
    scaled: Sequence[float],
    previous: Plan | None = None,
) -> Plan:
    """A plan for `targets` starting at `now`; regions already in `previous` keep their
    timing (an update that adds a region replicates only that region)."""
    kept = {regions.canonical(r.name): r for r in (previous.regions if previous else [])}
    plan = Plan()
    for target, duration in zip(targets, scaled, strict=True):
        old = kept.get(regions.canonical(str(target["name"])))
        if old is not None and old.fail_at is None:
            plan.regions.append(old)
        else:
            plan.regions.append(RegionPlan(regions.display(str(target["name"])), now, duration))
    return plan


def fail(plan: Plan, at: float, details: str, only_last: bool) -> None:
    """Make the plan fail at `at`: every region at 0% (an unreadable source: nothing was
    copied) or only the slowest one, part-way (a replication failure)."""
    victims = plan.regions[-1:] if only_last else plan.regions
    for region in victims:
        region.fail_at = at
        region.details = details
        region.failed_progress = 0
        if only_last:
            region.failed_progress = min(99, region._progress(at) * 2 // 3)


def status(plan: Plan, now: float) -> dict[str, Any]:
    summary = []
    for region in plan.regions:
        state, progress, details = region.state(now)
        summary.append(
            {"region": region.name, "state": state, "details": details, "progress": progress}
        )
    return {"aggregatedState": aggregated(s["state"] for s in summary), "summary": summary}


def aggregated(states: Any) -> str:
    seen = set(states)
    if not seen:
        return "Unknown"
    if "Failed" in seen:
        return "Failed"
    if seen == {"Completed"}:
        return "Completed"
    return "InProgress"


def completed_regions(plan: Plan, now: float) -> tuple[str, ...]:
    return tuple(r.name for r in plan.regions if r.state(now)[0] == "Completed")
