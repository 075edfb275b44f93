"""Which VM application installs fail: the `vmApplicationFailures:` section of the faults file.

```yaml
vmApplicationFailures:
  - instances: [web-vm-1, "web-vmss/3"]   # VM names, or scaleSet/instanceId
  - fraction: 0.25                        # or a stable pseudo-random share of the machines
    application: myapp                    # optional: only this application
    version: 1.0.1                        # optional: only this version
    message: "custom install error"       # optional: what the instance view reports
```

A rule with neither `instances` nor `fraction` fails every matching install (e.g. a broken
version). The choice is a hash of the machine and the version, so the same machine fails the
same version every time: a retried deploy is as unlucky as the first one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytask.sandbox.providers.compute.vm.packages import PackageVersion


@dataclass(frozen=True)
class InstallFailureRule:
    instances: frozenset[str] = field(default_factory=frozenset)
    fraction: float | None = None
    application: str | None = None
    version: str | None = None
    message: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InstallFailureRule:
        fraction = data.get("fraction")
        if fraction is not None and not 0.0 <= float(fraction) <= 1.0:
            raise ValueError(f"vmApplicationFailures: fraction {fraction} is not within 0..1")
        return cls(
            instances=frozenset(str(i).lower() for i in data.get("instances") or ()),
            fraction=None if fraction is None else float(fraction),
            application=_opt_lower(data.get("application")),
            version=None if data.get("version") is None else str(data["version"]),
            message=None if data.get("message") is None else str(data["message"]),
        )

    def applies(self, machine: str, package: PackageVersion) -> bool:
        if self.application is not None and self.application != package.application.lower():
            return False
        if self.version is not None and self.version != package.version:
            return False
        if self.instances:
            return machine.lower() in self.instances
        if self.fraction is not None:
            return _share(machine, package.id) < self.fraction
        return True


def _opt_lower(value: Any) -> str | None:
    return None if value is None else str(value).lower()


def _share(machine: str, version_id: str) -> float:
    """A stable number in [0, 1) for this machine and version."""
    digest = hashlib.sha256(f"{machine.lower()}|{version_id.lower()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def command_failure(command: str) -> str:
    """The message the Linux VM application manager reports for a failing command."""
    return f"Error executing command '{command}': command terminated with exit status=1"


@dataclass(frozen=True)
class InstallFaults:
    rules: tuple[InstallFailureRule, ...] = ()

    @classmethod
    def from_json(cls, entries: Iterable[Mapping[str, Any]] | None) -> InstallFaults:
        return cls(tuple(InstallFailureRule.from_json(e) for e in entries or ()))

    def error_for(self, machine: str, package: PackageVersion, command: str) -> str | None:
        """The install error for `machine` installing `package` with `command`, or None."""
        for rule in self.rules:
            if rule.applies(machine, package):
                return rule.message or command_failure(command)
        return None
