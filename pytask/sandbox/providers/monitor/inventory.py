"""Which machines report telemetry, and what each runs since when.

Machines come from the VM provider's state (VMs and scale-set instances: their application
actions, as the VMAppExtension reports them) and from machines the workspace seed declares.
A machine's history is a list of `Period`s in which its set of running application versions
is constant; the table generator turns each period into rows with that versions' model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pytask.sandbox.core.world import World
from pytask.sandbox.providers.compute.vm.machine import MachineApps

from .telemetry import DeclaredMachine, WorkspaceModel

VM_TYPE = "microsoft.compute/virtualmachines"
INSTANCE_KIND = "scaleSetVM"
# A machine created by the seed (within this many seconds of it) gets backfilled history.
SEED_SLACK = 5.0


@dataclass(frozen=True)
class Running:
    application: str
    version: str


@dataclass(frozen=True)
class Period:
    start: float
    end: float  # math.inf while it lasts
    running: tuple[Running, ...]


@dataclass(frozen=True)
class Machine:
    computer: str
    resource_id: str  # as ARM spells it; tables carry the lower-case form in _ResourceId
    os_type: str
    periods: tuple[Period, ...]

    @property
    def start(self) -> float:
        return self.periods[0].start if self.periods else math.inf


# (time, application, version or None for a removal)
Change = tuple[float, str, "str | None"]


def periods_from_changes(created: float, changes: Iterable[Change]) -> tuple[Period, ...]:
    """Split [created, inf) at every change of the running set."""
    running: dict[str, str] = {}
    periods: list[Period] = []
    start = created
    for at, application, version in sorted(changes, key=lambda c: c[0]):
        at = max(at, created)
        if at > start:
            periods.append(Period(start, at, _snapshot(running)))
            start = at
        if version is None:
            running.pop(application.lower(), None)
        else:
            running[application.lower()] = version
    periods.append(Period(start, math.inf, _snapshot(running)))
    return tuple(p for p in periods if p.end > p.start)


def _snapshot(running: Mapping[str, str]) -> tuple[Running, ...]:
    return tuple(Running(app, version) for app, version in sorted(running.items()))


def _backfill(created: float, model: WorkspaceModel) -> float:
    """Machines that existed when the world was seeded pretend to have run as seeded for
    `history` seconds before, so a baseline window has data from the start."""
    if model.seeded_at and created <= model.seeded_at + SEED_SLACK:
        return min(created, model.seeded_at) - model.history
    return created


def _vm_changes(doc: Mapping[str, Any]) -> list[Change]:
    """Successful install/update/remove actions change what runs when they end; failed ones
    change nothing (the extension keeps the previous version)."""
    changes: list[Change] = []
    for action in MachineApps.from_json(doc.get("_apps")).actions:
        if action.error is None:
            version = None if action.operation == "Remove" else action.version
            changes.append((action.end, action.application, version))
    return sorted(changes, key=lambda c: c[0])


def _from_the_start(changes: list[Change], start: float) -> list[Change]:
    """Each application's oldest remaining action moved back to `start` (backfilled history).
    The VM provider compacts superseded finished actions away, so this is the version the
    machine ran before its latest change: exact for the window just before a deployment."""
    seen: set[str] = set()
    moved: list[Change] = []
    for at, application, version in changes:
        first = application.lower() not in seen and version is not None
        seen.add(application.lower())
        moved.append((start if first else at, application, version))
    return moved


def machine_from_vm(doc: Mapping[str, Any], model: WorkspaceModel) -> Machine:
    """A VM or scale-set instance of the VM provider."""
    real_created = float(doc.get("_created", model.seeded_at))
    created = _backfill(real_created, model)
    changes = _vm_changes(doc)
    if created < real_created:
        changes = _from_the_start(changes, created)
    props = doc.get("properties") or {}
    computer = str((props.get("osProfile") or {}).get("computerName") or doc.get("name"))
    resource_id = str(doc["id"])
    if doc.get("_kind") == INSTANCE_KIND:
        # Scale-set instances report the scale set as their resource (as in Azure Monitor).
        resource_id = resource_id.rsplit("/virtualMachines/", 1)[0]
    os_type = str(doc.get("_os", "Linux"))
    return Machine(computer, resource_id, os_type, periods_from_changes(created, changes))


def machine_from_declaration(declared: DeclaredMachine, model: WorkspaceModel) -> Machine:
    created = declared.created
    if created is None:
        first = min((v.since for v in declared.versions), default=model.seeded_at)
        created = min(first, model.seeded_at - model.history)
    changes: list[Change] = [(v.since, v.application, v.version) for v in declared.versions]
    return Machine(
        declared.computer, declared.resource_id, "Linux", periods_from_changes(created, changes)
    )


def _is_machine(doc: Mapping[str, Any]) -> bool:
    return str(doc.get("type", "")).lower() == VM_TYPE and "_apps" in doc


def machines(world: World, model: WorkspaceModel) -> list[Machine]:
    """Every machine reporting to a workspace: the sandbox's VMs and scale-set instances, then
    the declared ones (a declaration wins over a VM with the same computer name)."""
    declared = [machine_from_declaration(m, model) for m in model.machines]
    names = {m.computer.lower() for m in declared}
    found = [machine_from_vm(doc, model) for doc in world.iter_resources() if _is_machine(doc)]
    return [m for m in found if m.computer.lower() not in names] + declared
