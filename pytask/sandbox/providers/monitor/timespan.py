"""ISO 8601 timespans as the Log Analytics and metrics APIs take them: a duration (`PT12H`,
ending now), `start/end`, `start/duration` or `duration/end`."""

from __future__ import annotations

import re
from datetime import datetime, timezone

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)


class TimespanError(ValueError):
    pass


def duration_seconds(text: str) -> float:
    found = _DURATION.match(text.strip())
    if not found or text.strip().upper() in ("P", "PT"):
        raise TimespanError(f"'{text}' is not an ISO 8601 duration")
    parts = {k: float(v) for k, v in found.groupdict().items() if v}
    return (
        parts.get("d", 0.0) * 86400
        + parts.get("h", 0.0) * 3600
        + parts.get("m", 0.0) * 60
        + parts.get("s", 0.0)
    )


def moment(text: str) -> float:
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise TimespanError(f"'{text}' is not an ISO 8601 date and time") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _point(text: str) -> bool:
    return not text.strip().upper().startswith("P")


def parse_timespan(text: str, now: float) -> tuple[float, float]:
    """(start, end) epoch seconds."""
    if "/" not in text:
        return now - duration_seconds(text), now
    first, second = (part.strip() for part in text.split("/", 1))
    if _point(first) and _point(second):
        start, end = moment(first), moment(second)
    elif _point(first):
        start = moment(first)
        end = start + duration_seconds(second)
    else:
        end = moment(second)
        start = end - duration_seconds(first)
    if end < start:
        raise TimespanError(f"the timespan '{text}' ends before it starts")
    return start, end


def iso_z(epoch: float) -> str:
    """Azure Monitor's datetime rendering: UTC, 7 fractional digits at most, `Z`."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"
