"""KQL `let` statements that carry a check's scope into its query.

The Log Analytics query API has no query parameters, so values reach a query as a block of
`let name = <literal>;` statements prepended to the query text. Every value is rendered as a
typed KQL literal with its own escaping; queries refer to the names only and are never built
by pasting user values into their text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone

KqlValue = str | bool | int | float | datetime | timedelta | Sequence[str]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def kql_string(text: str) -> str:
    """A double-quoted KQL string literal."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            raise ValueError("control characters are not allowed in KQL parameters")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def kql_datetime(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("KQL datetimes must be timezone-aware (UTC is assumed by the service)")
    utc = moment.astimezone(timezone.utc)
    return f"datetime({utc.strftime('%Y-%m-%dT%H:%M:%S.%f')}Z)"


def kql_timespan(span: timedelta) -> str:
    # Whole ticks (100 ns) keep the literal exact.
    ticks = round(span.total_seconds() * 10_000_000)
    return f"{ticks / 10_000_000:.7f}".rstrip("0").rstrip(".") + "s"


def kql_literal(value: KqlValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"long({value})"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("KQL parameters must be finite numbers")
        return f"real({value!r})"
    if isinstance(value, str):
        return kql_string(value)
    if isinstance(value, datetime):
        return kql_datetime(value)
    if isinstance(value, timedelta):
        return kql_timespan(value)
    if isinstance(value, Sequence):
        if not all(isinstance(item, str) for item in value):
            raise TypeError("only lists of strings are supported as dynamic parameters")
        return "dynamic([" + ", ".join(kql_string(item) for item in value) + "])"
    raise TypeError(f"unsupported KQL parameter type {type(value).__name__}")


def let_block(parameters: Mapping[str, KqlValue]) -> str:
    """`let name = literal;` lines, one per parameter, in the mapping's order."""
    lines = []
    for name, value in parameters.items():
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not a valid KQL identifier")
        lines.append(f"let {name} = {kql_literal(value)};")
    return "\n".join(lines)


def with_parameters(query: str, parameters: Mapping[str, KqlValue]) -> str:
    """The query with its parameters declared in front of it."""
    block = let_block(parameters)
    return f"{block}\n{query}" if block else query
