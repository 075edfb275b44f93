"""VM applications on one machine (a VM or a scale-set instance), derived from the clock.

Every change of the machine's application profile schedules `Action`s (install, update,
remove) with a start time and a scaled duration; the outcome (error or not) is decided when
the action is scheduled. Everything a client reads (the `VMAppExtension` status, the
provisioning state) is computed from those records at read time, so nothing runs in the
background and the state survives restarts.

The extension's status has Azure's documented shape: per-application results are a JSON
document inside `statuses[0].message`, after `Enable succeeded: `.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pytask.sandbox.providers.compute.vm.packages import PackageVersion

EXTENSION_NAME = "VMAppExtension"
EXTENSION_PUBLISHER = "Microsoft.CPlat.Core"
EXTENSION_VERSION = "1.0.9"


@dataclass
class Action:
    """One operation of the VM application manager for one application."""

    application: str
    version: str
    package_reference_id: str
    operation: str  # "Install" | "Update" | "Remove"
    start: float
    duration: float
    error: str | None = None
    treat_failure: bool = False

    @property
    def end(self) -> float:
        return self.start + self.duration

    @property
    def result(self) -> str:
        if self.error is None:
            return f"{self.operation} SUCCESS"
        return f"{self.operation} FAILED {self.error}"


@dataclass(frozen=True)
class Desired:
    """One entry of the machine's model: a resolved gallery application version."""

    package: PackageVersion
    package_reference_id: str
    order: int
    treat_failure: bool


@dataclass(frozen=True)
class AppState:
    """What the extension reports for one application."""

    application: str
    version: str
    result: str
    failed: bool
    treat_failure: bool


# Decides an action's error: (operation, package) -> error message or None.
Outcome = Callable[[str, PackageVersion], "str | None"]


@dataclass
class MachineApps:
    actions: list[Action] = field(default_factory=list)

    # --- persistence ---------------------------------------------------------------------
    def to_json(self) -> list[dict[str, Any]]:
        return [asdict(a) for a in self.actions]

    @classmethod
    def from_json(cls, data: Sequence[dict[str, Any]] | None) -> MachineApps:
        return cls([Action(**a) for a in data or ()])

    # --- scheduling ----------------------------------------------------------------------
    def targeted(self, now: float) -> dict[str, Action]:
        """Per application, the last action that has started: what the machine is heading to."""
        latest: dict[str, Action] = {}
        for action in sorted(self.actions, key=lambda a: a.start):
            if action.start <= now:
                latest[action.application.lower()] = action
        return {k: a for k, a in latest.items() if a.operation != "Remove"}

    def apply(
        self,
        desired: Sequence[Desired],
        now: float,
        start: float,
        duration: float,
        outcome: Outcome,
    ) -> list[Action]:
        """Make the machine converge on `desired`, starting at `start`.

        Actions not yet started are superseded (a newer model wins, as in Azure). The new
        actions run one after the other, in the model's `order`; returns them.
        """
        self.actions = self._compacted([a for a in self.actions if a.start <= now], now)
        current = self.targeted(now)
        wanted = {d.package.application.lower(): d for d in desired}
        planned: list[tuple[str, Desired | None, Action | None]] = []
        for key, entry in sorted(wanted.items(), key=lambda kv: kv[1].order):
            have = current.get(key)
            if have is None:
                planned.append(("Install", entry, None))
            elif have.version != entry.package.version:
                planned.append(("Update", entry, have))
        for key, gone in current.items():
            if key not in wanted:
                planned.append(("Remove", None, gone))
        new: list[Action] = []
        at = start
        for operation, wish, prior in planned:
            new.append(self._action(operation, wish, prior, at, duration, outcome))
            at += duration
        self.actions.extend(new)
        return new

    @staticmethod
    def _compacted(actions: list[Action], now: float) -> list[Action]:
        """Drop finished actions a later finished action of the same application supersedes:
        what is read (current and targeted state) stays the same, the history stays small."""
        latest: dict[str, Action] = {}
        for action in sorted(actions, key=lambda a: a.end):
            if action.end <= now:
                latest[action.application.lower()] = action
        keep = {id(a) for a in latest.values()}
        return [a for a in actions if a.end > now or id(a) in keep]

    @staticmethod
    def _action(
        operation: str,
        entry: Desired | None,
        have: Action | None,
        at: float,
        duration: float,
        outcome: Outcome,
    ) -> Action:
        if entry is None:
            assert have is not None
            return Action(
                have.application, have.version, have.package_reference_id, operation, at, duration
            )
        package = entry.package
        return Action(
            application=package.application,
            version=package.version,
            package_reference_id=entry.package_reference_id,
            operation=operation,
            start=at,
            duration=duration,
            error=outcome(operation, package),
            treat_failure=entry.treat_failure,
        )

    # --- reading -------------------------------------------------------------------------
    def busy(self, now: float) -> bool:
        return any(a.start <= now < a.end for a in self.actions)

    def done_at(self) -> float:
        return max((a.end for a in self.actions), default=0.0)

    def current(self, now: float) -> list[AppState]:
        """Per application, the result of its last finished action (removed ones left out)."""
        finished: dict[str, Action] = {}
        for action in sorted(self.actions, key=lambda a: a.end):
            if action.end <= now:
                finished[action.application.lower()] = action
        states = []
        for action in finished.values():
            if action.operation == "Remove" and action.error is None:
                continue
            states.append(
                AppState(
                    action.application,
                    action.version,
                    action.result,
                    action.error is not None,
                    action.treat_failure,
                )
            )
        return states

    def deployment_failed(self, now: float) -> bool:
        """Azure fails the VM's provisioning when a failed app asked for it."""
        return any(s.failed and s.treat_failure for s in self.current(now))

    def provisioning_state(self, now: float) -> str:
        if self.busy(now):
            return "Updating"
        return "Failed" if self.deployment_failed(now) else "Succeeded"

    def extension_status(self, now: float, os_type: str) -> dict[str, Any] | None:
        """The `VMAppExtension` entry of the instance view's `extensions`, or None if the
        machine never had an application."""
        if not self.actions:
            return None
        document = {
            "CurrentState": [
                {"applicationName": s.application, "version": s.version, "result": s.result}
                for s in self.current(now)
            ],
            "ActionsPerformed": [],
        }
        if self.busy(now):
            status = _status("transitioning", "Info", "Transitioning", "Enable in progress")
        elif self.deployment_failed(now):
            message = "Enable failed: " + json.dumps(document, indent=1)
            status = _status("failed", "Error", "Provisioning failed", message)
        else:
            message = "Enable succeeded: " + json.dumps(document, indent=1)
            status = _status("succeeded", "Info", "Provisioning succeeded", message)
        return {
            "name": EXTENSION_NAME,
            "type": f"{EXTENSION_PUBLISHER}.{extension_type(os_type)}",
            "typeHandlerVersion": EXTENSION_VERSION,
            "statuses": [status],
        }

    def failure_summary(self, now: float) -> str:
        """The error text ARM puts in a failed operation for this machine."""
        failed = [s for s in self.current(now) if s.failed and s.treat_failure]
        return "; ".join(f"{s.application} {s.version}: {s.result}" for s in failed)


def extension_type(os_type: str) -> str:
    suffix = "Windows" if os_type.lower() == "windows" else "Linux"
    return f"VMApplicationManager{suffix}"


def _status(code: str, level: str, display: str, message: str) -> dict[str, Any]:
    return {
        "code": f"ProvisioningState/{code}",
        "level": level,
        "displayStatus": display,
        "message": message,
    }
