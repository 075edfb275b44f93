"""The reliability suite's figures. Each part records its counts under its own name in one JSON
file (several pytest workers may write at once, so writes are locked and merged), and the
session ends with them printed as a table.

`make test` runs the quick slice and writes build/reliability.json; `make soak` runs the full
counts (RELIABILITY_MODE=soak) and writes bench/reliability.json, the committed figures."""

from __future__ import annotations

import fcntl
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def soak() -> bool:
    return os.environ.get("RELIABILITY_MODE", "quick") == "soak"


def scale(quick: int, soak_count: int) -> int:
    """How many repetitions a part makes: `quick` inside `make test`, `soak_count` in soak."""
    return soak_count if soak() else quick


def results_path() -> Path:
    default = REPO / ("bench" if soak() else "build") / "reliability.json"
    return Path(os.environ.get("RELIABILITY_RESULTS", default))


def record(part: str, **counts: Any) -> None:
    """Merge one part's counts (JSON values) into the results file."""
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        document = _read(path)
        document["mode"] = "soak" if soak() else "quick"
        document.setdefault("parts", {})[part] = {
            **counts,
            "recorded": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)


def _read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def table(path: Path | None = None) -> str:
    """One line per part: its name, then its counts as `key=value`, in recording order."""
    document = _read(path or results_path())
    parts: dict[str, dict[str, Any]] = document.get("parts", {})
    if not parts:
        return ""
    width = max(len(name) for name in parts)
    lines = [f"reliability ({document.get('mode', '?')}): {path or results_path()}"]
    for name in sorted(parts):
        counts = ", ".join(f"{k}={v}" for k, v in parts[name].items() if k != "recorded")
        lines.append(f"  {name.ljust(width)}  {counts}")
    return "\n".join(lines)
