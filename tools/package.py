"""Builds the pytask wheel, stages build/extension/ and packages it into dist/*.vsix."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from project import (
    LAUNCHER,
    LOCK,
    MANIFEST,
    ROOT,
    TASK_NAMES,
    TASKS_DIR,
    package_version,
    read_json,
    stamp_manifest,
    stamp_task,
    task_json,
    write_json,
)

STAGE = ROOT / "build" / "extension"
DIST = ROOT / "dist"
# What a source build of the package needs: nothing else from the working tree goes in.
WHEEL_SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "pytask")
TFX = ROOT / "node_modules" / ".bin" / ("tfx.cmd" if sys.platform == "win32" else "tfx")


def build_wheel(out_dir: Path) -> Path:
    """Builds from a clean copy of the sources so no stale build/ or egg-info leaks in."""
    with tempfile.TemporaryDirectory(prefix="pytask-wheel-") as temp:
        source = Path(temp) / "src"
        source.mkdir()
        for name in WHEEL_SOURCES:
            path = ROOT / name
            if path.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
                shutil.copytree(path, source / name, ignore=ignore)
            else:
                shutil.copy2(path, source / name)
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet"]
        subprocess.run([*command, "--wheel-dir", str(out_dir), str(source)], check=True)
    wheels = sorted(out_dir.glob(f"pytask_vmapp-{package_version()}-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one pytask_vmapp {package_version()} wheel, found {wheels}")
    return wheels[0]


def stage_task(stage_dir: Path, name: str, wheel: Path, version: str) -> None:
    target = stage_dir / "tasks" / name
    target.mkdir(parents=True)
    write_json(target / "task.json", stamp_task(task_json(name), version))
    shutil.copy2(TASKS_DIR / name / "icon.png", target / "icon.png")
    shutil.copy2(LAUNCHER, target / "launcher.js")
    shutil.copy2(wheel, target / wheel.name)
    shutil.copy2(LOCK, target / "requirements.lock")


def stage(publisher: str | None = None, stage_dir: Path = STAGE) -> Path:
    version = package_version()
    shutil.rmtree(stage_dir, ignore_errors=True)
    stage_dir.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="pytask-dist-") as temp:
        wheel = build_wheel(Path(temp))
        for name in TASK_NAMES:
            stage_task(stage_dir, name, wheel, version)
    manifest = stamp_manifest(read_json(MANIFEST), version, publisher)
    write_json(stage_dir / MANIFEST.name, manifest)
    shutil.copy2(ROOT / "overview.md", stage_dir / "overview.md")
    shutil.copytree(ROOT / "images", stage_dir / "images")
    print(f"staged {stage_dir} (version {version})")
    return stage_dir


def vsix(publisher: str | None = None, stage_dir: Path = STAGE, dist_dir: Path = DIST) -> Path:
    staged = stage(publisher, stage_dir)
    if not TFX.exists():
        raise SystemExit(f"{TFX} is missing: run `npm install` (or `make install`) first")
    dist_dir.mkdir(parents=True, exist_ok=True)
    for old in dist_dir.glob("*.vsix"):
        old.unlink()
    command = [str(TFX), "extension", "create", "--no-prompt", "--manifest-globs"]
    command += [MANIFEST.name, "--root", str(staged), "--output-path", str(dist_dir)]
    subprocess.run(command, check=True, cwd=ROOT)
    (built,) = dist_dir.glob("*.vsix")
    print(f"wrote {built} ({built.stat().st_size / 1e6:.1f} MB)")
    return built
