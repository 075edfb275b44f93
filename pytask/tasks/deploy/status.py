"""Reading one machine's VM application result from its instance view.

Azure reports VM applications through the `VMAppExtension` (VMApplicationManagerLinux /
...Windows) extension: per-application results are a JSON document inside
`statuses[].message`, after a prefix such as `Enable succeeded: `::

    {"CurrentState": [{"applicationName": "app", "version": "1.0.0",
                       "result": "Install SUCCESS"}], "ActionsPerformed": []}
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EXTENSION_NAME = "VMAppExtension"
_MANAGER_TYPE = "vmapplicationmanager"


class Outcome(enum.Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class AppResult:
    outcome: Outcome
    version: str | None  # what the machine reports for the application (None: not listed)
    message: str


def _extension(view: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for extension in view.get("extensions") or []:
        kind = str(extension.get("type", "")).lower()
        if extension.get("name") == EXTENSION_NAME or _MANAGER_TYPE in kind:
            return extension  # type: ignore[no-any-return]
    return None


def current_state(message: str) -> list[dict[str, Any]] | None:
    """The `CurrentState` list inside a status message, or None if there is no document."""
    start = message.find("{")
    if start < 0:
        return None
    try:
        document = json.loads(message[start:])
    except ValueError:
        return None
    state = document.get("CurrentState") if isinstance(document, dict) else None
    return [s for s in state if isinstance(s, dict)] if isinstance(state, list) else None


def read(view: Mapping[str, Any], application: str, version: str | None) -> AppResult:
    """The result for `application` at `version` (None: the application must be absent)."""
    extension = _extension(view)
    if extension is None:
        # Never had an application: absent is already true, anything else has not started.
        if version is None:
            return AppResult(Outcome.SUCCEEDED, None, "not installed")
        return AppResult(Outcome.PENDING, None, "the VM application extension has not reported")
    statuses = extension.get("statuses") or []
    status = statuses[0] if statuses else {}
    code = str(status.get("code", "")).lower()
    if code.endswith("/transitioning") or code.endswith("/creating") or not statuses:
        return AppResult(Outcome.PENDING, None, str(status.get("displayStatus", "transitioning")))
    state = current_state(str(status.get("message", "")))
    if state is None:
        return AppResult(Outcome.PENDING, None, "no application state reported yet")
    entry = next(
        (s for s in state if str(s.get("applicationName", "")).lower() == application.lower()),
        None,
    )
    if version is None:
        if entry is None:
            return AppResult(Outcome.SUCCEEDED, None, "removed")
        return _result(entry, pending_if_other=False, wanted=None)
    if entry is None or str(entry.get("version")) != version:
        got = None if entry is None else str(entry.get("version"))
        return AppResult(Outcome.PENDING, got, "waiting for the new version to be reported")
    return _result(entry, pending_if_other=True, wanted=version)


def _result(entry: Mapping[str, Any], pending_if_other: bool, wanted: str | None) -> AppResult:
    result = str(entry.get("result", ""))
    version = str(entry.get("version"))
    upper = result.upper()
    if " FAILED" in upper or upper.startswith("FAILED"):
        return AppResult(Outcome.FAILED, version, result)
    if "SUCCESS" in upper:
        if wanted is None:  # still listed after a remove
            return AppResult(Outcome.PENDING, version, "waiting for the application to be removed")
        return AppResult(Outcome.SUCCEEDED, version, result)
    return AppResult(Outcome.PENDING, version, result or "in progress")
