"""Rolling upgrades of a scale set: batches planned when the model changes, revealed by the clock.

When a Rolling scale set's model changes, the platform upgrades the instances in batches of
`maxBatchInstancePercent`, pausing `pauseTimeBetweenBatches` between them, and stops (Faulted)
when more than `maxUnhealthyUpgradedInstancePercent` of the instances are unhealthy after their
upgrade. Install outcomes are decided when the actions are scheduled, so the whole plan,
including where it stops, is known up front; `document(now)` shows how far it has got.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pytask.sandbox.core.clock import iso

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> float:
    """Seconds in an ISO 8601 duration such as `PT0S` or `PT1M30S`."""
    match = _DURATION.match(text.strip().upper())
    if match is None or text.strip().upper() in ("P", "PT"):
        raise ValueError(f"'{text}' is not an ISO 8601 duration")
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


@dataclass(frozen=True)
class RollingPolicy:
    max_batch_instance_percent: int = 20
    max_unhealthy_instance_percent: int = 20
    max_unhealthy_upgraded_instance_percent: int = 20
    pause_time_between_batches: str = "PT0S"
    # Reported as set (the sandbox does not act on them).
    enable_cross_zone_upgrade: bool = False
    prioritize_unhealthy_instances: bool = False
    rollback_failed_on_breach: bool = False
    max_surge: bool = False

    @classmethod
    def from_model(cls, policy: Mapping[str, Any] | None) -> RollingPolicy:
        policy = policy or {}
        default = cls()
        return cls(
            int(policy.get("maxBatchInstancePercent", default.max_batch_instance_percent)),
            int(policy.get("maxUnhealthyInstancePercent", default.max_unhealthy_instance_percent)),
            int(
                policy.get(
                    "maxUnhealthyUpgradedInstancePercent",
                    default.max_unhealthy_upgraded_instance_percent,
                )
            ),
            str(policy.get("pauseTimeBetweenBatches", default.pause_time_between_batches)),
            bool(policy.get("enableCrossZoneUpgrade", False)),
            bool(policy.get("prioritizeUnhealthyInstances", False)),
            bool(policy.get("rollbackFailedInstancesOnPolicyBreach", False)),
            bool(policy.get("maxSurge", False)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "maxBatchInstancePercent": self.max_batch_instance_percent,
            "maxUnhealthyInstancePercent": self.max_unhealthy_instance_percent,
            "maxUnhealthyUpgradedInstancePercent": self.max_unhealthy_upgraded_instance_percent,
            "pauseTimeBetweenBatches": self.pause_time_between_batches,
            "enableCrossZoneUpgrade": self.enable_cross_zone_upgrade,
            "prioritizeUnhealthyInstances": self.prioritize_unhealthy_instances,
            "rollbackFailedInstancesOnPolicyBreach": self.rollback_failed_on_breach,
            "maxSurge": self.max_surge,
        }

    def batch_size(self, instances: int) -> int:
        return max(1, math.ceil(instances * self.max_batch_instance_percent / 100))


@dataclass
class Batch:
    instance_ids: list[str]
    start: float
    ends: dict[str, float] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    @property
    def end(self) -> float:
        return max(self.ends.values(), default=self.start)


# Upgrades one instance from `start`: returns (when it is done, whether it is unhealthy).
UpgradeInstance = Callable[[str, float], "tuple[float, bool]"]


@dataclass
class RollingUpgrade:
    start: float
    policy: dict[str, Any]
    instance_count: int
    batches: list[Batch] = field(default_factory=list)
    faulted: bool = False

    @classmethod
    def plan(
        cls,
        policy: RollingPolicy,
        instance_ids: Sequence[str],
        start: float,
        scaled_pause: float,
        upgrade: UpgradeInstance,
    ) -> RollingUpgrade:
        rolling = cls(start, policy.to_json(), len(instance_ids))
        size = policy.batch_size(len(instance_ids))
        limit = len(instance_ids) * policy.max_unhealthy_upgraded_instance_percent / 100
        at, unhealthy = start, 0
        for first in range(0, len(instance_ids), size):
            batch = Batch(list(instance_ids[first : first + size]), at)
            for instance_id in batch.instance_ids:
                end, failed = upgrade(instance_id, at)
                batch.ends[instance_id] = end
                if failed:
                    batch.failed.append(instance_id)
            rolling.batches.append(batch)
            unhealthy += len(batch.failed)
            if unhealthy > limit:
                rolling.faulted = True
                break
            at = batch.end + scaled_pause
        return rolling

    @property
    def end(self) -> float:
        return max((b.end for b in self.batches), default=self.start)

    def progress(self, now: float) -> dict[str, int]:
        succeeded = failed = running = 0
        for batch in self.batches:
            for instance_id in batch.instance_ids:
                if now < batch.start:
                    continue
                if now < batch.ends[instance_id]:
                    running += 1
                elif instance_id in batch.failed:
                    failed += 1
                else:
                    succeeded += 1
        return {
            "successfulInstanceCount": succeeded,
            "failedInstanceCount": failed,
            "inProgressInstanceCount": running,
            "pendingInstanceCount": self.instance_count - succeeded - failed - running,
        }

    def running_code(self, now: float) -> str:
        if now < self.end:
            return "RollingForward"
        return "Faulted" if self.faulted else "Completed"

    def document(self, now: float, scale_set: Mapping[str, Any]) -> dict[str, Any]:
        """The `rollingUpgrades/latest` resource (RollingUpgradeStatusInfo)."""
        code = self.running_code(now)
        last_time = self.start if code == "RollingForward" else self.end
        properties: dict[str, Any] = {
            "policy": self.policy,
            "runningStatus": {
                "code": code,
                "startTime": iso(self.start),
                "lastAction": "Start",
                "lastActionTime": iso(last_time),
            },
            "progress": self.progress(now),
        }
        if code == "Faulted":
            properties["error"] = self._error()
        return {
            "id": f"{scale_set['id']}/rollingUpgrades/latest",
            "name": "latest",
            "type": "Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades",
            "location": scale_set["location"],
            "properties": properties,
        }

    def _error(self) -> dict[str, Any]:
        failed = sum(len(b.failed) for b in self.batches)
        percent = round(100 * failed / max(1, self.instance_count))
        threshold = self.policy["maxUnhealthyUpgradedInstancePercent"]
        details = [
            {
                "code": "VMExtensionProvisioningError",
                "target": instance_id,
                "message": f"Instance {instance_id} is unhealthy after its upgrade.",
            }
            for batch in self.batches
            for instance_id in batch.failed
        ]
        return {
            "code": "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade",
            "details": details,
            "message": (
                "Rolling Upgrade failed after exceeding the MaxUnhealthyUpgradedInstancePercent "
                f"value defined in the RollingUpgradePolicy. {percent}% of instances are in an "
                f"unhealthy state after being upgraded - more than the threshold of {threshold}% "
                "configured in the RollingUpgradePolicy."
            ),
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RollingUpgrade:
        batches = [Batch(**b) for b in data["batches"]]
        return cls(
            data["start"], dict(data["policy"]), data["instance_count"], batches, data["faulted"]
        )
