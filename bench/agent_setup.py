"""What the launcher benchmarks (overhead, bootstrap) share: the extension staged as the vsix
ships it, a local wheelhouse of the hash-pinned lock, and an agent-like environment whose pip
may use only that wheelhouse (PIP_NO_INDEX + PIP_FIND_LINKS, as an offline agent is set up).

Also the one honest clock the launcher gives us: `spawn_marker.js`, loaded with
NODE_OPTIONS=--require, writes the epoch time at which the launcher spawns the task's Python.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "tasks" / "requirements.lock"
SPAWN_MARKER = Path(__file__).with_name("spawn_marker.js")
# Kept between runs (build/ is ignored by git): the wheelhouse is input, not what we time.
WHEELHOUSE_ROOT = REPO / "build" / "bench-wheelhouse"


def stage(stage_dir: Path) -> Path:
    """Stage the extension (tools/build.py stage); returns its tasks/ folder. Tried twice:
    the wheel build fetches its build dependencies from the package index, which can blip."""
    command = [sys.executable, str(REPO / "tools" / "build.py"), "stage"]
    for attempt in (1, 2):
        done = subprocess.run(
            [*command, "--stage-dir", str(stage_dir)], capture_output=True, text=True, timeout=600
        )
        if done.returncode == 0:
            return stage_dir / "tasks"
        print(f"staging failed (attempt {attempt}): {done.stderr.strip()[-1500:]}")
    raise RuntimeError("tools/build.py stage failed twice; see its output above")


def wheelhouse() -> Path:
    """A folder holding a wheel for every line of the lock (downloaded once per lock)."""
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:12]
    folder = WHEELHOUSE_ROOT / digest
    if (folder / ".complete").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    command = [*(sys.executable, "-m", "pip", "download", "--quiet", "--require-hashes")]
    command += ["--only-binary", ":all:", "-r", str(LOCK), "-d", str(folder)]
    subprocess.run(command, check=True, capture_output=True, timeout=900)
    (folder / ".complete").write_text("")
    return folder


def offline_pip(wheels: Path) -> dict[str, str]:
    """pip settings that allow only the local wheelhouse (environment beats pip.conf)."""
    return {
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def launcher_env(
    base: Mapping[str, str], tools_dir: Path, wheels: Path, mark: Path
) -> dict[str, str]:
    """`base` plus where the launcher keeps its environments, offline pip and the spawn mark."""
    env = {k: v for k, v in base.items() if k != "PYTASK_PYTHON"}
    env.update(offline_pip(wheels))
    env["AGENT_TOOLSDIRECTORY"] = str(tools_dir)
    env["NODE_OPTIONS"] = f"--require {SPAWN_MARKER}"
    env["BENCH_SPAWN_MARK"] = str(mark)
    return env


def host_base() -> dict[str, str]:
    """The few host variables an agent job has (PATH finds node and python3)."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    return {k: os.environ[k] for k in keep if k in os.environ}


def python3_folder(base: dict[str, str]) -> Path:
    """The folder of the interpreter PATH's `python3` runs (first on PATH, as UsePythonVersion
    puts a Python's folder): the launcher then finds the same interpreter with no shim."""
    done = subprocess.run(
        ["python3", "-c", "import sys; print(sys.executable)"],
        env=base,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip()).parent


def spawn_times(mark: Path) -> list[float]:
    """Epoch seconds of each task spawn the marker recorded."""
    if not mark.exists():
        return []
    return [float(line) / 1000.0 for line in mark.read_text().split()]


def run_launcher(task_dir: Path, env: Mapping[str, str], timeout: float = 900) -> float:
    """Run `node launcher.js` as the agent does; returns the epoch time just before starting
    it. Raises if the launcher itself reported a failure other than the task's own."""
    started = time.time()
    done = subprocess.run(
        ["node", str(task_dir / "launcher.js")],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0 or "Launcher error" in done.stdout:
        raise RuntimeError(f"the launcher failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return started


def task_result(stdout: str) -> str | None:
    """The result of the last task.complete command in a step's output."""
    found = None
    for line in stdout.splitlines():
        if "##vso[task.complete" in line:
            found = line.split("result=", 1)[1].split(";", 1)[0]
    return found


def launcher_venv_python(tools_dir: Path) -> Path:
    """The interpreter of the one environment the launcher built under `tools_dir`."""
    markers = list(tools_dir.glob("vm-application-release/*/.vmapp-complete.json"))
    if len(markers) != 1:
        raise RuntimeError(f"expected one launcher environment, found {markers}")
    json.loads(markers[0].read_text())
    return markers[0].parent / "bin" / "python"
