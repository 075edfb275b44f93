"""The gate's scope: which machines (computer names, resource ids, regions) the targets are,
and which time windows each evaluation looks at."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pytask.agent import TaskError
from pytask.gate.kql import KqlValue
from pytask.tasks.deploy.compute import Compute

VM = "microsoft.compute/virtualmachines"
SCALE_SET = "microsoft.compute/virtualmachinescalesets"


@dataclass(frozen=True)
class Target:
    id: str
    namespace: str  # "Microsoft.Compute/virtualMachines" or ".../virtualMachineScaleSets"
    location: str
    computers: tuple[str, ...]


def _namespace(resource_id: str) -> str:
    parts = resource_id.strip("/").split("/")
    return "/".join(parts[5:7]) if len(parts) >= 8 else ""


def _computer(model: dict[str, Any]) -> str | None:
    props = model.get("properties") or {}
    name = (props.get("osProfile") or {}).get("computerName")
    return str(name) if name else None


def load_target(compute: Compute, resource_id: str) -> Target:
    namespace = _namespace(resource_id)
    if namespace.lower() not in (VM, SCALE_SET):
        raise TaskError(
            f"Target {resource_id} is not a VM or VM scale set "
            "(Microsoft.Compute/virtualMachines or virtualMachineScaleSets)."
        )
    model = compute.get(resource_id)
    if model is None:
        raise TaskError(f"Target {resource_id} was not found.")
    if namespace.lower() == VM:
        computers = tuple(c for c in [_computer(model)] if c)
    else:
        found = compute.pages(f"{resource_id}/virtualMachines")
        computers = tuple(c for c in (_computer(i) for i in found) if c)
    return Target(str(model.get("id", resource_id)), namespace, str(model["location"]), computers)


def load_targets(compute: Compute, ids: Sequence[str]) -> list[Target]:
    targets: list[Target] = []
    problems: list[str] = []
    for resource_id in ids:
        try:
            targets.append(load_target(compute, resource_id))
        except TaskError as exc:
            problems.append(str(exc))
    if problems:
        raise TaskError(" ".join(problems))
    return targets


@dataclass(frozen=True)
class Scope:
    """One side of a comparison: these machines, in this window."""

    start: datetime
    end: datetime
    targets: tuple[Target, ...]

    @property
    def computers(self) -> list[str]:
        return sorted({c for t in self.targets for c in t.computers})

    @property
    def resource_ids(self) -> list[str]:
        return sorted({t.id.lower() for t in self.targets})

    def kql_parameters(self) -> dict[str, KqlValue]:
        """The `let` values every KQL check sees (pytask.gate.SCOPE_PARAMETERS)."""
        return {
            "windowStart": self.start,
            "windowEnd": self.end,
            "computers": self.computers,
            "resourceIds": self.resource_ids,
        }


def candidate(start: datetime, at: datetime, targets: Sequence[Target]) -> Scope:
    return Scope(start, at, tuple(targets))


def previous_window(start: datetime, at: datetime, targets: Sequence[Target]) -> Scope:
    """The same machines over an equally long window just before the deployment."""
    length = max(at - start, timedelta(seconds=1))
    return Scope(start - length, start, tuple(targets))
