"""Azurite (Blob service only) as a child process of the sandbox.

Generic process management: where Azurite listens (HTTPS with the sandbox's certificate, OAuth
"basic"), where it keeps its data, how it is stopped (SIGTERM, so that Azurite saves its metadata
store). What Azurite serves (accounts, token checks) is the storage provider's business: it
passes a preload script and environment (see providers/storage/service.py).

No orphans: Azurite runs with a small preload script that watches its stdin, a pipe whose write
end only the sandbox holds. When the sandbox dies, even by SIGKILL, the kernel closes that pipe
and the preload stops Azurite gracefully (SIGTERM to itself, so the metadata store is saved).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

# The preload: stop gracefully when stdin reaches EOF (the parent is gone); exit hard if the
# graceful stop hangs.
WATCHDOG_JS = """\
'use strict';
const stop = () => {
  process.kill(process.pid, 'SIGTERM');
  setTimeout(() => process.exit(0), 5000).unref();
};
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
// Watching must not keep Node alive once Azurite has closed its servers.
if (typeof process.stdin.unref === 'function') process.stdin.unref();
"""

_LISTENING = re.compile(r"successfully listens on https?://[^:\s]+:(\d+)")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class AzuriteError(RuntimeError):
    pass


def default_main_js(root: Path | None = None) -> Path:
    """Azurite's blob entry point in the project's node_modules."""
    base = root or Path(__file__).resolve().parents[2]
    return base / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"


@dataclass
class AzuriteConfig:
    location: Path  # Azurite's workspace: metadata and blob extents (STATE/azurite)
    cert_file: Path  # PEM chain of the sandbox's server certificate
    key_file: Path
    main_js: Path = field(default_factory=default_main_js)
    node: str = field(default_factory=lambda: shutil.which("node") or "node")
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port on first start, then kept across restarts
    preloads: tuple[Path, ...] = ()  # more `node --require` scripts (e.g. the blob gate)
    env: dict[str, str] = field(default_factory=dict)  # e.g. AZURITE_ACCOUNTS


class Azurite:
    """One Azurite blob server; thread-safe start/stop."""

    def __init__(self, config: AzuriteConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.port: int = config.port
        self.restarts = 0
        self._listening = False

    @property
    def url(self) -> str:
        return f"https://{self.config.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def ready(self) -> bool:
        """Running and listening (a start in progress is running but not ready)."""
        return self._listening and self.running

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start Azurite and wait until it listens; restart it if it is already running."""
        with self._lock:
            if self._process is not None:
                self._stop_locked()
                self.restarts += 1
            self._start_locked()

    def stop(self) -> None:
        with self._lock:
            self._stop_locked()

    # --- internals ------------------------------------------------------------------------
    def _command(self, watchdog: Path) -> list[str]:
        c = self.config
        preloads = [arg for p in (watchdog, *c.preloads) for arg in ("--require", str(p.resolve()))]
        return [
            c.node,
            *preloads,
            str(c.main_js.resolve()),
            "--blobHost",
            c.host,
            "--blobPort",
            str(self.port),
            "--cert",
            str(c.cert_file.resolve()),
            "--key",
            str(c.key_file.resolve()),
            "--oauth",
            "basic",
            "--location",
            str(c.location.resolve()),
            "--disableProductStyleUrl",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--silent",
        ]

    def _start_locked(self) -> None:
        c = self.config
        if not c.main_js.exists():
            raise AzuriteError(f"Azurite not found at {c.main_js}: run `npm ci` first")
        c.location.mkdir(parents=True, exist_ok=True)
        watchdog = c.location / "watchdog.js"
        watchdog.write_text(WATCHDOG_JS, encoding="utf-8")
        log_path = c.location / "azurite.log"
        offset = log_path.stat().st_size if log_path.exists() else 0
        self._log = open(log_path, "ab")  # noqa: SIM115 (lives as long as the process)
        env = {**os.environ, **c.env}
        env.pop("NODE_OPTIONS", None)
        self._process = subprocess.Popen(
            self._command(watchdog),
            stdin=subprocess.PIPE,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=c.location,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the sandbox only
        )
        self.port = self._wait_listening(log_path, offset)
        self._listening = True

    def _wait_listening(self, log_path: Path, offset: int) -> int:
        deadline = time.monotonic() + START_TIMEOUT
        assert self._process is not None
        while time.monotonic() < deadline:
            text = _read_from(log_path, offset)
            found = _LISTENING.search(text)
            if found:
                return int(found.group(1))
            if self._process.poll() is not None:
                self._close_log()
                self._process = None
                raise AzuriteError(f"Azurite exited at start:\n{text[-2000:]}")
            time.sleep(0.02)
        self._stop_locked()
        raise AzuriteError(f"Azurite did not start within {START_TIMEOUT:.0f}s")

    def _stop_locked(self) -> None:
        process, self._process = self._process, None
        self._listening = False
        if process is not None and process.poll() is None:
            # SIGTERM: Azurite closes its servers and saves its metadata store.
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None and process.stdin is not None:
            process.stdin.close()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def _read_from(path: Path, offset: int) -> str:
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", "replace")
