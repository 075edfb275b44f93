"""DevTest Labs failures from the faults file's `devTestLabFailures:` section.

```yaml
devTestLabFailures:
  deployments:                  # an environment's template deployment fails on one resource
    - template: LinuxVMs        # optional: the ARM template's name
      environment: "ci-*"       # optional: environment name pattern
      resource: "*-vm2"         # optional: resource name pattern (default: its last VM)
      code: SkuNotAvailable
      message: "The requested size is not available in location 'eastus'."
  artifacts:                    # an artifact install on a lab VM fails
    - artifact: linux-apt-package   # the artifact's name (or title)
      vm: "qa-*"                # optional: lab VM name pattern
      message: "E: Unable to locate package nosuchpkg"
```

Patterns are shell-style (`*`, `?`) and case-insensitive. A `fail_operation` rule on
`Environments_CreateOrUpdate` or on a lab VM's `VirtualMachines_CreateOrUpdate` does the same
for one request (the last VM, the last artifact).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

SECTION = "devTestLabFailures"


def _matches(pattern: Any, value: str) -> bool:
    return pattern is None or fnmatchcase(value.lower(), str(pattern).lower())


@dataclass(frozen=True)
class DeploymentFailure:
    resource: str | None
    code: str
    message: str

    def as_injected(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "resource": self.resource}


def _entries(sections: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    section = sections.get(SECTION) or {}
    entries = section.get(key) if isinstance(section, Mapping) else None
    return [e for e in entries or [] if isinstance(e, Mapping)]


def deployment_failure(
    sections: Mapping[str, Any], template: str, environment: str
) -> DeploymentFailure | None:
    for entry in _entries(sections, "deployments"):
        if _matches(entry.get("template"), template) and _matches(
            entry.get("environment"), environment
        ):
            return DeploymentFailure(
                resource=None if entry.get("resource") is None else str(entry["resource"]),
                code=str(entry.get("code") or "ResourceDeploymentFailure"),
                message=str(entry.get("message") or "The resource operation completed with "
                            "terminal provisioning state 'Failed'."),
            )  # fmt: skip
    return None


def artifact_failure(
    sections: Mapping[str, Any], artifact: Mapping[str, Any], vm: str
) -> str | None:
    names = (str(artifact.get("name", "")), str(artifact.get("properties", {}).get("title", "")))
    for entry in _entries(sections, "artifacts"):
        wanted = entry.get("artifact")
        if wanted is not None and not any(_matches(wanted, n) for n in names):
            continue
        if _matches(entry.get("vm"), vm):
            return str(entry.get("message") or f"The artifact '{names[0]}' failed to install.")
    return None
