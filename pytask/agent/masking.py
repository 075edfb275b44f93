"""Secret masking in our own output path.

The agent masks every value registered with `##vso[task.setsecret]`; this is defence in
depth for the same values, so that a secret never reaches the log even if a line escapes the
agent's masker (for example a multi-line secret split across lines, or a log read before the
agent processed the registration).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable
from typing import TextIO

MASK = "***"

# PEM armour lines are registered with a multi-line secret but are not secret themselves:
# masking them would only hide which kind of key failed to load.
_PEM_ARMOUR_PREFIX = "-----"
_MIN_LINE_SECRET = 6


def secret_parts(value: str) -> list[str]:
    """The strings to mask for one secret: the value and, when it spans lines, each
    substantial line (the agent masks line by line, so a whole multi-line value never
    matches a single log line)."""
    stripped = value.strip()
    if not stripped:
        return []
    parts = [stripped]
    if "\n" in stripped or "\r" in stripped:
        for line in stripped.splitlines():
            line = line.strip()
            if len(line) >= _MIN_LINE_SECRET and not line.startswith(_PEM_ARMOUR_PREFIX):
                parts.append(line)
    return parts


class SecretMasker:
    """Replaces every registered secret with `***`, longest first so that a secret that
    contains another is masked whole."""

    def __init__(self) -> None:
        self._secrets: list[str] = []
        self._lock = threading.Lock()

    def add(self, value: str) -> list[str]:
        """Register a secret; returns the parts that were new (to announce to the agent)."""
        new = [part for part in secret_parts(value) if part not in self._secrets]
        if new:
            with self._lock:
                self._secrets = sorted({*self._secrets, *new}, key=len, reverse=True)
        return new

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(self._secrets)

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


class MaskingStream(io.TextIOBase):
    """A text stream that masks secrets line by line before writing to `target`.

    Buffers until a newline so that a secret written in several pieces is still seen whole.
    Installed over sys.stdout and sys.stderr while a task runs.
    """

    def __init__(self, target: TextIO, masker: SecretMasker) -> None:
        super().__init__()
        self._target = target
        self._masker = masker
        self._pending = ""
        self._lock = threading.Lock()

    @property
    def target(self) -> TextIO:
        return self._target

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                complete, _, self._pending = self._pending.rpartition("\n")
                self._target.write(self._masker.mask(complete + "\n"))
                self._target.flush()
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:  # type: ignore[override]
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._target.write(self._masker.mask(self._pending))
                self._pending = ""
            self._target.flush()

    def fileno(self) -> int:
        return self._target.fileno()

    def isatty(self) -> bool:
        return self._target.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", "utf-8") or "utf-8"
