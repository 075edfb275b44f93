"""Logging commands (`##vso[area.event k=v;]message`) and formatting lines (`##[group]`).

Escaping follows the agent exactly (Agent.Sdk CommandStringConvertor and task-lib's
taskcommand.ts): `%` becomes `%AZP25` first, so that no escape sequence we produce can be
mistaken for another; then CR, LF (and in property values also `]` and `;`) are encoded.
The agent unescapes `%3B`, `%0D`, `%0A`, `%5D` first and `%AZP25` last, which makes the
round trip exact for every string.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

COMMAND_PREFIX = "##vso["

_DATA_ESCAPES = (("\r", "%0D"), ("\n", "%0A"))
_PROPERTY_ESCAPES = (*_DATA_ESCAPES, ("]", "%5D"), (";", "%3B"))


class TaskResult(str, Enum):
    """The values `task.complete` accepts."""

    SUCCEEDED = "Succeeded"
    SUCCEEDED_WITH_ISSUES = "SucceededWithIssues"
    FAILED = "Failed"


class IssueType(str, Enum):
    ERROR = "error"
    WARNING = "warning"


def escape_data(text: str) -> str:
    """Escape a command's message (the text after `]`)."""
    escaped = text.replace("%", "%AZP25")
    for token, replacement in _DATA_ESCAPES:
        escaped = escaped.replace(token, replacement)
    return escaped


def escape_property(text: str) -> str:
    """Escape a property value (inside the brackets)."""
    escaped = text.replace("%", "%AZP25")
    for token, replacement in _PROPERTY_ESCAPES:
        escaped = escaped.replace(token, replacement)
    return escaped


def format_command(
    command: str, properties: Mapping[str, str | None] | None = None, message: str = ""
) -> str:
    """One `##vso[...]` line. Properties whose value is None or empty are left out, as task-lib
    does, so callers can pass optional properties unconditionally."""
    line = COMMAND_PREFIX + command
    props = [(k, v) for k, v in (properties or {}).items() if v]
    if props:
        line += " " + "".join(f"{key}={escape_property(value)};" for key, value in props)
    return line + "]" + escape_data(message)


def format_line(kind: str, text: str = "") -> str:
    """A formatting line such as `##[group]Name` or `##[debug]text` (single line only)."""
    return f"##[{kind}]{text}"


def bool_text(value: bool) -> str:
    """Booleans as task-lib writes them in command properties."""
    return "true" if value else "false"
