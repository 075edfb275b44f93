"""Time for the sandbox: real UTC, with operation durations scaled by --time-scale.

State that changes over time (an operation finishing, a replication completing) records a start
time and a scaled duration and is computed from the clock when read, so it survives restarts and
needs no background threads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone


@dataclass(frozen=True)
class Clock:
    time_scale: float = 1.0

    def now(self) -> float:
        """Real UTC time as epoch seconds."""
        return time.time()

    def scaled(self, seconds: float) -> float:
        """How long a `seconds`-long Azure operation takes in this sandbox."""
        return seconds * self.time_scale

    def retry_after(self, seconds: float) -> int:
        """A Retry-After value in whole seconds for a real-world poll interval.

        Never 0: ARM does not send it, and azure-core reads 0 as "no hint" and falls back
        to its default polling interval (tens of seconds).
        """
        return max(1, round(self.scaled(seconds)))


def iso(epoch: float) -> str:
    """ARM's timestamp format: ISO 8601 UTC with 7 fractional digits and `Z`."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"
