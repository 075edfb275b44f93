"""What a handler returns: a status, a JSON body (or none) and extra headers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Non-JSON payloads (e.g. a PEM or a text document); when set, `body` is ignored.
    raw: bytes | None = None
    media_type: str = "application/json; charset=utf-8"


def reply(body: Any = None, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status=status, body=body, headers=dict(headers or {}))
