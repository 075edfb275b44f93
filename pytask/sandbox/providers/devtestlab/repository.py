"""Lab repositories read from folders, laid out as DevTest Labs expects a Git repository:
`Environments/<name>/azuredeploy.json` (+ `metadata.json`) and `Artifacts/<name>/
artifactfile.json`. The default Public Environment and Public Artifact repositories are
folders shipped in `pytask/sandbox/data/dtl/`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

DATA = Path(__file__).resolve().parents[2] / "data" / "dtl"
BUILTIN_PREFIX = "builtin:"


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    display_name: str
    description: str
    publisher: str
    contents: dict[str, Any]
    parameter_files: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ArtifactSpec:
    name: str
    title: str
    description: str
    publisher: str
    target_os: str
    parameters: dict[str, Any]
    file_path: str


def folder_of(uri: str) -> Path | None:
    """The local folder a sandbox artifact source reads (`file://` URIs, `builtin:` names);
    None for remote repositories, which the sandbox cannot clone."""
    if uri.startswith(BUILTIN_PREFIX):
        return DATA / uri[len(BUILTIN_PREFIX) :]
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return None


def _read_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8-sig"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def templates(root: Path) -> list[TemplateSpec]:
    found: list[TemplateSpec] = []
    if not root.is_dir():
        return found
    for folder in sorted(p for p in root.iterdir() if (p / "azuredeploy.json").is_file()):
        meta_path = folder / "metadata.json"
        meta = _read_json(meta_path) if meta_path.is_file() else {}
        files = [
            {"fileName": p.name, "parametersValueInfo": _read_json(p)}
            for p in sorted(folder.glob("*.parameters*.json"))
        ]
        found.append(
            TemplateSpec(
                name=folder.name,
                display_name=str(meta.get("itemDisplayName") or folder.name),
                description=str(meta.get("description") or ""),
                publisher=str(meta.get("githubUsername") or ""),
                contents=_read_json(folder / "azuredeploy.json"),
                parameter_files=files,
            )
        )
    return found


def artifacts(root: Path) -> list[ArtifactSpec]:
    found: list[ArtifactSpec] = []
    if not root.is_dir():
        return found
    for folder in sorted(p for p in root.iterdir() if (p / "artifactfile.json").is_file()):
        data = _read_json(folder / "artifactfile.json")
        found.append(
            ArtifactSpec(
                name=folder.name,
                title=str(data.get("title") or folder.name),
                description=str(data.get("description") or ""),
                publisher=str(data.get("publisher") or ""),
                target_os=str(data.get("targetOsType") or "Linux"),
                parameters=dict(data.get("parameters") or {}),
                file_path=f"/Artifacts/{folder.name}",
            )
        )
    return found
