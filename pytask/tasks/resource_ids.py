"""Resource-id lists as pipeline authors write them: one per line, comma-separated, or the JSON
array another task output (DevTestLabEnv's `vmResourceIds`, DeployVmApp's `deployedTargets`)."""

from __future__ import annotations

import json

from pytask.agent import TaskError


def parse_targets(lines: list[str]) -> list[str]:
    """The ids in input order, without duplicates (ARM ids compare case-insensitively)."""
    text = "\n".join(lines).strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise TaskError(f"targets: not a valid JSON array ({exc}).") from exc
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise TaskError("targets: the JSON must be an array of resource id strings.")
        found = [i.strip() for i in items if i.strip()]
    else:
        found = [part.strip() for line in lines for part in line.split(",") if part.strip()]
    unique: dict[str, str] = {}
    for item in found:
        unique.setdefault(item.lower().rstrip("/"), item.rstrip("/"))
    return list(unique.values())
