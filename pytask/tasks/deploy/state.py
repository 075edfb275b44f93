"""The rollback state: each target's entry for the application before the deploy changed it.

Output (as `rollbackState`) before anything changes, so a later step (or a person) can put
every target back with `action: rollback`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytask.tasks.deploy.profile import Entry

FORMAT_VERSION = 1


@dataclass
class RollbackState:
    application_id: str
    deployment_id: str
    # target resource id -> its previous entry (None: the application was absent)
    previous: dict[str, Entry | None] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "formatVersion": FORMAT_VERSION,
                "applicationId": self.application_id,
                "deploymentId": self.deployment_id,
                "targets": [{"id": t, "previous": e} for t, e in self.previous.items()],
            },
            separators=(",", ":"),
        )

    @classmethod
    def parse(cls, text: str) -> RollbackState:
        """Raises ValueError for anything that is not a deploy step's rollbackState."""
        data = json.loads(text)
        if not isinstance(data, Mapping) or data.get("formatVersion") != FORMAT_VERSION:
            raise ValueError("not a rollbackState document")
        targets = data.get("targets")
        if not isinstance(targets, list) or not isinstance(data.get("applicationId"), str):
            raise ValueError("rollbackState needs applicationId and targets")
        previous: dict[str, Entry | None] = {}
        for item in targets:
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                raise ValueError("each rollbackState target needs an id")
            entry: Any = item.get("previous")
            if entry is not None and not isinstance(entry, Mapping):
                raise ValueError("a previous entry must be an object or null")
            previous[item["id"]] = None if entry is None else dict(entry)
        return cls(data["applicationId"], str(data.get("deploymentId", "")), previous)
