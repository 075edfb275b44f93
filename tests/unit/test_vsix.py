"""The extension package: manifest, icons, and the .vsix built by `tools/build.py vsix`.

The vsix is built into a temporary folder (never the shared build/ and dist/), then opened
as the Marketplace would open it.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import pytask

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
TASK_NAMES = ("PublishVmApp", "DevTestLabEnv", "DeployVmApp", "HealthGate")
# The upload limit of Azure DevOps Server 2019, the strictest place the vsix may go.
MAX_VSIX_BYTES = 25 * 1024 * 1024
TASK_FILES = {"task.json", "icon.png", "launcher.js", "requirements.lock"}
VSIX_NS = {"v": "http://schemas.microsoft.com/developer/vsx-schema/2011"}


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "vss-extension.json").read_text("utf-8"))
    return data


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture(scope="module")
def tools() -> Iterator[None]:
    sys.path.insert(0, str(TOOLS))
    yield
    sys.path.remove(str(TOOLS))


@pytest.fixture(scope="module")
def vsix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (ROOT / "node_modules" / ".bin" / "tfx").exists():
        pytest.fail("tfx-cli is not installed: run `make install`")
    out = tmp_path_factory.mktemp("vsix")
    command = [sys.executable, str(TOOLS / "build.py"), "vsix"]
    command += ["--stage-dir", str(out / "stage"), "--dist-dir", str(out / "dist")]
    subprocess.run(command, check=True, cwd=ROOT, timeout=240)
    (built,) = (out / "dist").glob("*.vsix")
    return built


@pytest.fixture(scope="module")
def archive(vsix: Path) -> Iterator[zipfile.ZipFile]:
    with zipfile.ZipFile(vsix) as opened:
        yield opened


def test_manifest_declares_one_task_contribution_per_folder() -> None:
    data = manifest()
    assert data["version"] == pytask.__version__
    assert data["categories"] == ["Azure Pipelines"]
    assert data["targets"] == [{"id": "Microsoft.VisualStudio.Services"}]
    assert data["content"]["details"]["path"] == "overview.md"
    assert {"home", "getstarted", "support", "repository"} <= set(data["links"])
    contributions = data["contributions"]
    assert [c["properties"]["name"] for c in contributions] == [f"tasks/{n}" for n in TASK_NAMES]
    for contribution in contributions:
        assert contribution["type"] == "ms.vss-distributed-task.task"
        assert contribution["targets"] == ["ms.vss-distributed-task.tasks"]
    shipped = {f["path"] for f in data["files"]}
    assert {f"tasks/{n}" for n in TASK_NAMES} <= shipped
    for referenced in (data["icons"]["default"], data["content"]["details"]["path"]):
        assert (ROOT / referenced).is_file(), referenced


@pytest.mark.parametrize("relative", [f"tasks/{n}/icon.png" for n in TASK_NAMES])
def test_task_icons_are_32px(relative: str) -> None:
    assert png_size((ROOT / relative).read_bytes()) == (32, 32)


def test_extension_icon_is_128px() -> None:
    assert png_size((ROOT / manifest()["icons"]["default"]).read_bytes()) == (128, 128)


def test_icons_are_reproduced_by_our_drawing_code(tools: None) -> None:
    import icons

    for relative in icons.ICONS:
        assert (ROOT / relative).read_bytes() == icons.draw(relative), relative


def test_vsix_size_and_identity(vsix: Path, archive: zipfile.ZipFile) -> None:
    assert vsix.stat().st_size <= MAX_VSIX_BYTES
    root = ElementTree.fromstring(archive.read("extension.vsixmanifest"))
    identity = root.find("v:Metadata/v:Identity", VSIX_NS)
    assert identity is not None
    assert identity.get("Version") == pytask.__version__
    assert identity.get("Id") == manifest()["id"]


def test_vsix_contributions_point_at_packaged_folders(archive: zipfile.ZipFile) -> None:
    contributions = json.loads(archive.read("extension.vsomanifest"))["contributions"]
    names = sorted(c["properties"]["name"] for c in contributions)
    assert names == sorted(f"tasks/{n}" for n in TASK_NAMES)
    for name in names:
        assert f"{name}/task.json" in archive.namelist()


@pytest.mark.parametrize("name", TASK_NAMES)
def test_each_task_folder_holds_what_the_launcher_needs(
    name: str, archive: zipfile.ZipFile
) -> None:
    prefix = f"tasks/{name}/"
    files = {n[len(prefix) :] for n in archive.namelist() if n.startswith(prefix)} - {""}
    wheel = f"pytask_vmapp-{pytask.__version__}-py3-none-any.whl"
    assert files == TASK_FILES | {wheel}
    task = json.loads(archive.read(prefix + "task.json"))
    stamped = "{Major}.{Minor}.{Patch}".format(**task["version"])
    assert (task["name"], stamped) == (name, pytask.__version__)
    source = ROOT / "tasks"
    assert (
        archive.read(prefix + "launcher.js") == (source / "launcher" / "launcher.js").read_bytes()
    )
    assert archive.read(prefix + "requirements.lock") == (source / "requirements.lock").read_bytes()
    assert png_size(archive.read(prefix + "icon.png")) == (32, 32)


def test_the_wheel_is_the_package_and_only_the_package(archive: zipfile.ZipFile) -> None:
    wheel_name = f"tasks/PublishVmApp/pytask_vmapp-{pytask.__version__}-py3-none-any.whl"
    digests = {
        hashlib.sha256(archive.read(f"tasks/{n}/{wheel_name.split('/')[-1]}")).hexdigest()
        for n in TASK_NAMES
    }
    assert len(digests) == 1, "every task ships the same wheel"
    with zipfile.ZipFile(archive.open(wheel_name)) as wheel:
        names = wheel.namelist()
        assert "pytask/__main__.py" in names and "pytask/cli.py" in names
        assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]
        init = wheel.read("pytask/__init__.py").decode()
        assert f'__version__ = "{pytask.__version__}"' in init


def pinned(lock: str) -> dict[str, tuple[str, list[str]]]:
    """Requirement name -> (pinned version, its hashes), from a pip-compile lock."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current = ""
    for line in lock.splitlines():
        text = line.strip().rstrip("\\").strip()
        if "==" in text and not text.startswith(("#", "--")):
            name, version = text.split("==")
            current = canonicalize_name(name)
            pins[current] = (version.strip(), [])
        elif text.startswith("--hash=sha256:") and current:
            pins[current][1].append(text)
    return pins


def test_lock_pins_every_runtime_requirement_with_hashes() -> None:
    """Fails when setup.cfg's install_requires changed without `make lock`."""
    lock = (ROOT / "tasks" / "requirements.lock").read_text("utf-8")
    assert "--index-url" not in lock and "--find-links" not in lock
    pins = pinned(lock)
    assert pins and all(hashes for _, hashes in pins.values()), "every pin carries hashes"
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    declared = config["options"]["install_requires"].splitlines()
    for requirement in (Requirement(line) for line in declared if line.strip()):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in the lock: run `make lock`"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"lock pins {name}=={version}, setup.cfg wants {requirement}: run `make lock`"
        )


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
@pytest.mark.parametrize("name", TASK_NAMES)
def test_packaged_launcher_reports_a_missing_input_as_the_agent_sees_it(
    vsix: Path, name: str
) -> None:
    stage = vsix.parent.parent / "stage" / "tasks" / name
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "ENDPOINT_"))}
    env["PYTASK_PYTHON"] = sys.executable
    node = shutil.which("node")
    assert node, "node is required"
    result = subprocess.run(
        [node, str(stage / "launcher.js")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=vsix.parent,
    )
    assert result.returncode == 0, result.stderr
    completes = [line for line in result.stdout.splitlines() if "##vso[task.complete" in line]
    assert len(completes) == 1, result.stdout
    assert completes[0].startswith("##vso[task.complete result=Failed;]")
    errors = [line for line in result.stdout.splitlines() if "task.logissue type=error" in line]
    assert any("(azureSubscription)" in line for line in errors), result.stdout
