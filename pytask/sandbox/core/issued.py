"""The issued-secrets file: a test aid, not an Azure behaviour.

Every secret the sandbox hands out or takes in (access, OIDC and job tokens, client secrets
and certificate keys in the ready-file, storage account keys from listKeys, user delegation
keys and SAS signatures seen by the blob gate, lab VM passwords) is appended to
`STATE/issued-secrets.jsonl`, one JSON object per line: `{"kind": ..., "value": ...}`.
The test suite scans every log and report for these values afterwards (docs/sandbox.md,
"Issued secrets"). The blob gate (a separate Node process) appends to the same file, whose
path it gets in SANDBOX_ISSUED_SECRETS; lines are short single writes in append mode, so the
two writers do not interleave.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

FILE_NAME = "issued-secrets.jsonl"
ENV_VAR = "SANDBOX_ISSUED_SECRETS"

_lock = threading.Lock()
_path: Path | None = None
_seen: set[tuple[str, str]] = set()


def open_registry(state_dir: Path) -> Path:
    """Record this process's secrets under `state_dir` from now on."""
    global _path
    _path = (state_dir / FILE_NAME).resolve()
    _path.touch()
    return _path


def child_env() -> dict[str, str]:
    """The environment a helper process (the blob gate) needs to record into the same file."""
    return {ENV_VAR: str(_path)} if _path is not None else {}


def record(kind: str, value: str | None) -> None:
    """Append one secret (each kind/value pair once); a no-op before open_registry."""
    if not value or _path is None:
        return
    with _lock:
        if (kind, value) in _seen:
            return
        _seen.add((kind, value))
        line = json.dumps({"kind": kind, "value": value}) + "\n"
        with open(_path, "a", encoding="utf-8") as registry:
            registry.write(line)
