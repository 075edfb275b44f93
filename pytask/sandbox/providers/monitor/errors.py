"""The Log Analytics / Azure Monitor data planes' error shape: `{"error": {"message", "code",
"correlationId", "innererror"}}` (not ARM's `details`). Raised like any ArmError."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pytask.sandbox.core import ArmError


@dataclass
class DataPlaneError(ArmError):
    inner: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "code": self.code,
            "correlationId": str(uuid.uuid4()),
        }
        if self.inner is not None:
            error["innererror"] = self.inner
        return {"error": error}


def bad_argument(inner_code: str, message: str, detail: dict[str, Any] | None = None) -> ArmError:
    inner: dict[str, Any] = {"code": inner_code, "message": message}
    if detail:
        inner["innererror"] = detail
    return DataPlaneError(
        400, "BadArgumentError", "The request had some invalid properties", inner=inner
    )
