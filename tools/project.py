"""Facts about the repository that the build tools share: paths, tasks, the one version."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TASKS_DIR = ROOT / "tasks"
LAUNCHER = TASKS_DIR / "launcher" / "launcher.js"
LOCK = TASKS_DIR / "requirements.lock"
MANIFEST = ROOT / "vss-extension.json"
DOCS_TASKS = ROOT / "docs" / "tasks"

# The shipped tasks, in the order the docs and the manifest list them.
TASK_NAMES = ("PublishVmApp", "DevTestLabEnv", "DeployVmApp", "HealthGate")

JsonObject = dict[str, Any]


def package_version() -> str:
    """`pytask.__version__`, read from the source so the build never imports the package."""
    text = (ROOT / "pytask" / "__init__.py").read_text("utf-8")
    match = re.search(r'^__version__\s*=\s*"(\d+)\.(\d+)\.(\d+)"', text, re.MULTILINE)
    if not match:
        raise SystemExit("pytask/__init__.py must define __version__ = 'Major.Minor.Patch'")
    return ".".join(match.groups())


def read_json(path: Path) -> JsonObject:
    data: JsonObject = json.loads(path.read_text("utf-8"))
    return data


def write_json(path: Path, data: JsonObject) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")


def task_json(name: str) -> JsonObject:
    return read_json(TASKS_DIR / name / "task.json")


def stamp_task(task: JsonObject, version: str) -> JsonObject:
    major, minor, patch = (int(part) for part in version.split("."))
    return {**task, "version": {"Major": major, "Minor": minor, "Patch": patch}}


def stamp_manifest(manifest: JsonObject, version: str, publisher: str | None) -> JsonObject:
    stamped = {**manifest, "version": version}
    if publisher:
        stamped["publisher"] = publisher
    return stamped
