"""Log Analytics' documented query limits, kept on the client side: at most 5 queries at once
and 200 per 30 seconds per user. Also counts what the gate asked, for the report."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

MAX_CONCURRENT = 5
MAX_PER_WINDOW = 200
WINDOW_SECONDS = 30.0


@dataclass
class QueryLimiter:
    concurrent: int = MAX_CONCURRENT
    per_window: int = MAX_PER_WINDOW
    window: float = WINDOW_SECONDS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    counts: Counter[str] = field(default_factory=Counter)
    peak: int = 0
    _slots: threading.Semaphore = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _recent: deque[float] = field(default_factory=deque)
    _active: int = 0

    def __post_init__(self) -> None:
        self._slots = threading.Semaphore(self.concurrent)

    def _wait_for_rate(self) -> None:
        while True:
            with self._lock:
                now = self.clock()
                while self._recent and self._recent[0] <= now - self.window:
                    self._recent.popleft()
                if len(self._recent) < self.per_window:
                    self._recent.append(now)
                    return
                wait = self._recent[0] + self.window - now
            self.sleep(max(wait, 0.01))

    @contextmanager
    def slot(self, kind: str) -> Iterator[None]:
        """Hold one of the concurrent slots (and a place in the rate window) for a query."""
        with self._slots:
            self._wait_for_rate()
            with self._lock:
                self._active += 1
                self.peak = max(self.peak, self._active)
                self.counts[kind] += 1
            try:
                yield
            finally:
                with self._lock:
                    self._active -= 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())
