"""The job's copy of each cloud's ARM metadata document, so a job's tasks discover it once.

Kept in Agent.TempDirectory, which the agent empties after every job: a document is never
older than the job that fetched it (the Azure CLI likewise keeps a cloud's metadata once
fetched). A deployment job with a lab runs DevTestLabEnv then DeployVmApp against one
connection; the second saves a request to ARM before its first call. An unreadable entry is
fetched again; a cache that cannot be written costs nothing but the saving.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

FOLDER = "vm-application-release-arm-metadata"


def entry_path(folder: Path, arm_url: str) -> Path:
    digest = hashlib.sha256(arm_url.encode()).hexdigest()[:24]
    return folder / FOLDER / f"{digest}.json"


def cached_metadata(arm_url: str, fetch: Callable[[], Any], folder: Path | None) -> Any:
    """The metadata document of `arm_url` from the job's cache in `folder`, else `fetch()`
    (and kept). Without a job folder (`pytask run` outside an agent), always `fetch()`."""
    if folder is None:
        return fetch()
    path = entry_path(folder, arm_url)
    found = _read(path, arm_url)
    if found is not None:
        return found
    document = fetch()
    _write(path, arm_url, document)
    return document


def _read(path: Path, arm_url: str) -> Any:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("armUrl") != arm_url:
        return None
    return entry.get("document")


def _write(path: Path, arm_url: str, document: Any) -> None:
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps({"armUrl": arm_url, "document": document}), "utf-8")
        temporary.replace(path)  # atomic: a concurrent reader sees all of it or nothing
    except OSError:
        temporary.unlink(missing_ok=True)
