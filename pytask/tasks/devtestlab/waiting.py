"""Waiting with a monotonic deadline: each wait stops at the task's own time limit, whatever
Retry-After or the service says, and tells what it was waiting for when time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from azure.core.polling import LROPoller

from pytask.agent import TaskError

MIN_SLEEP = 0.1
MAX_SLEEP = 10.0


class Deadline:
    def __init__(self, minutes: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + minutes * 60.0
        self.minutes = minutes

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())

    def passed(self) -> bool:
        return self.remaining() <= 0.0

    def sleep(self, seconds: float) -> None:
        """Sleep, but never past the deadline."""
        time.sleep(min(seconds, self.remaining()))

    def expired(self, what: str) -> TaskError:
        return TaskError(
            f"Timed out after {self.minutes:g} minute(s) waiting for {what}. Raise "
            "timeoutMinutes, or look at the resource in the portal to see why it is slow."
        )


def wait_all(
    pollers: dict[str, LROPoller[Any]],
    deadline: Deadline,
    what: str,
    on_tick: Callable[[], None] | None = None,
    settled: Callable[[str], bool] | None = None,
) -> dict[str, BaseException | None]:
    """Wait for every operation (until the deadline); returns each one's error or None.

    An operation is over when its poller is done, or when `settled(key)` says the resource
    itself shows the outcome (the SDK poller falls back to a 10 s poll interval whenever
    Retry-After is 0, so reading the resource is often quicker). `on_tick` runs between
    waits (progress reports)."""
    pending = dict(pollers)
    results: dict[str, BaseException | None] = {}
    sleep = MIN_SLEEP
    while pending:
        for key, poller in list(pending.items()):
            if poller.done():
                results[key] = _outcome(poller)
                del pending[key]
            elif settled is not None and settled(key):
                results[key] = None
                del pending[key]
        if not pending:
            break
        if deadline.passed():
            raise deadline.expired(f"{what} ({', '.join(pending)})")
        if on_tick is not None:
            on_tick()
        deadline.sleep(sleep)
        sleep = min(MAX_SLEEP, sleep * 1.5)
    return results


def _outcome(poller: LROPoller[Any]) -> BaseException | None:
    try:
        poller.result(timeout=0)
    except Exception as error:  # the poller re-raises the LRO's own error
        return error
    return None
