"""Long-running operations whose status is computed from the clock when read.

An operation records its start, its scaled duration and its outcome. The core serves the polling
URLs (`Azure-AsyncOperation` status documents and `Location` results) for every provider; effects
scheduled with the operation (e.g. "delete this resource") run when its time has come.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from pytask.sandbox.core.clock import iso


class OperationKind(enum.Enum):
    """Which polling headers the initial response carries (Azure differs per operation)."""

    ASYNC_OPERATION = "azure-asyncoperation"  # e.g. gallery application version create
    LOCATION = "location"  # e.g. resource group delete
    BOTH = "both"  # e.g. gallery application version delete


@dataclass
class Operation:
    id: str
    namespace: str
    location: str
    api_version: str
    start: float
    duration: float  # already scaled by the clock
    outcome: str = "Succeeded"  # or "Failed" / "Canceled"
    error: dict[str, Any] | None = None
    # What the Location URL answers once done: a body (200) or nothing (204).
    result: Any = None
    error_status: int = 400
    # Status of the Location URL once done without a result body (ARM: 200 for resource
    # group deletes, 204 for many providers' deletes).
    done_status: int = 204
    # Path segments of the polling URLs under .../providers/{ns}/locations/{loc}/
    status_segment: str = "operations"
    result_segment: str = "operationResults"
    # Set for subscription-level operations (resource groups): /subscriptions/{s}/operationresults/
    subscription_level: bool = False
    subscription_id: str = ""

    @classmethod
    def new(cls, **fields: Any) -> Operation:
        return cls(id=str(uuid.uuid4()), **fields)

    @property
    def end(self) -> float:
        return self.start + self.duration

    def status(self, now: float) -> str:
        return "InProgress" if now < self.end else self.outcome

    def done(self, now: float) -> bool:
        return now >= self.end

    def status_document(self, now: float) -> dict[str, Any]:
        """The Azure-AsyncOperation status resource."""
        doc: dict[str, Any] = {
            "name": self.id,
            "status": self.status(now),
            "startTime": iso(self.start),
        }
        if self.done(now):
            doc["endTime"] = iso(self.end)
            if self.outcome != "Succeeded" and self.error is not None:
                doc["error"] = self.error
        return doc

    def status_url(self, base_url: str) -> str:
        return (
            f"{base_url}/subscriptions/{self.subscription_id}/providers/{self.namespace}"
            f"/locations/{self.location}/{self.status_segment}/{self.id}"
            f"?api-version={self.api_version}"
        )

    def result_url(self, base_url: str) -> str:
        if self.subscription_level:
            return (
                f"{base_url}/subscriptions/{self.subscription_id}/operationresults/{self.id}"
                f"?api-version={self.api_version}"
            )
        return (
            f"{base_url}/subscriptions/{self.subscription_id}/providers/{self.namespace}"
            f"/locations/{self.location}/{self.result_segment}/{self.id}"
            f"?api-version={self.api_version}"
        )

    def headers(self, base_url: str, kind: OperationKind, retry_after: int) -> dict[str, str]:
        headers = {"Retry-After": str(retry_after)}
        if kind in (OperationKind.ASYNC_OPERATION, OperationKind.BOTH):
            headers["Azure-AsyncOperation"] = self.status_url(base_url)
        if kind in (OperationKind.LOCATION, OperationKind.BOTH):
            headers["Location"] = self.result_url(base_url)
        return headers

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def timing(
        self, azure_seconds: float, started_by: str, method: str, path: str
    ) -> dict[str, Any]:
        """The line operations.jsonl keeps for this operation: when it started and how long
        it was scheduled to take (scaled, and as Azure would take it), and what started it.
        The outcome is decided at the start (a fault rule may fail it), so it is known now."""
        return {
            "id": self.id,
            "start": self.start,
            "duration": self.duration,
            "end": self.end,
            "azure_seconds": azure_seconds,
            "outcome": self.outcome,
            "namespace": self.namespace,
            "operation": started_by,
            "method": method,
            "path": path,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Operation:
        return cls(**data)
