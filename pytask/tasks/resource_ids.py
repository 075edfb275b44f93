"""Resource-id lists as pipeline authors write them: one per line, comma-separated, or the JSON
array another task output (DevTestLabEnv's `vmResourceIds`, DeployVmApp's `deployedTargets`)."""

from __future__ import annotations

import json
import re

from pytask.agent import TaskError

# A VM or scale set id: what both DeployVmApp and HealthGate act on. Checked with the other
# inputs, so that a typo is named as the input's problem before any request is made.
_VM_OR_SCALE_SET = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute"
    r"/(virtualMachines|virtualMachineScaleSets)/[^/]+$",
    re.IGNORECASE,
)
VM_ID_FORM = (
    "/subscriptions/SUBSCRIPTION/resourceGroups/GROUP/providers/Microsoft.Compute/"
    "virtualMachines/NAME (or virtualMachineScaleSets/NAME)"
)


def parse_targets(lines: list[str], label: str = "targets") -> list[str]:
    """The ids in input order, without duplicates (ARM ids compare case-insensitively).
    `label` names the input in errors."""
    text = "\n".join(lines).strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise TaskError(f"{label}: not a valid JSON array ({exc}).") from exc
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise TaskError(f"{label}: the JSON must be an array of resource id strings.")
        found = [i.strip() for i in items if i.strip()]
    else:
        found = [part.strip() for line in lines for part in line.split(",") if part.strip()]
    unique: dict[str, str] = {}
    for item in found:
        unique.setdefault(item.lower().rstrip("/"), item.rstrip("/"))
    return list(unique.values())


def parse_vm_targets(lines: list[str], label: str) -> list[str]:
    """parse_targets, and every id must be a VM's or a scale set's."""
    targets = parse_targets(lines, label)
    bad = [target for target in targets if not _VM_OR_SCALE_SET.match(target)]
    if bad:
        shown = ", ".join(f"'{b}'" for b in bad[:3]) + (" ..." if len(bad) > 3 else "")
        raise TaskError(
            f"{label}: {shown} {'is not a' if len(bad) == 1 else 'are not'} virtual machine "
            f"or scale set id{'' if len(bad) == 1 else 's'}; expected resource ids like "
            f"{VM_ID_FORM}."
        )
    return targets
